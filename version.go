package secrets

// ReleaseVersion is this library's version: the next release's with "-dev"
// until it is tagged. The exported API is recorded in api.txt, which CI
// (.ci/run, scripts/api --check) compares with the code: a change of the
// API updates api.txt and CHANGELOG.md in the same commit.
const ReleaseVersion = "0.1.0-dev"
