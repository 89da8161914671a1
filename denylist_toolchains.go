package secrets

import "slices"

// The language toolchains' part of the deny-list: the helpers a package
// manager or build runs for the job (node-gyp under npm install, cargo's
// build scripts and the cc crate, go/packages under go generate, pip's
// constraints, Maven's launch script) and the tools a job runs beside them
// (rsync, docker, terraform). An outside trial found each reproduced name
// accepted by Set with the default configuration and running the editor's
// code in a job that runs the program normally.
//
// The cc crate, which most cargo build scripts compiling C use, also reads
// CC, CXX, AR, CFLAGS, CXXFLAGS and ARFLAGS suffixed with the target
// triple (CC_x86_64_unknown_linux_gnu). A bare CC_ prefix would refuse
// ordinary names (CC_EMAIL), so the list holds these six followed by the
// common architectures of ccTargetArchs only: a triple of another
// architecture is not covered (the README says so).

// Sources used by several entries.
const (
	srcNodeGyp = "node-gyp README, Configuring Python Dependency and Environment variables (npm_config_<option>); https://github.com/nodejs/node-gyp#configuring-python-dependency"
	srcCcCrate = "cc crate: External configuration via environment variables (<var>_<target>, HOST_<var>, TARGET_<var>); https://docs.rs/cc/latest/cc/#external-configuration-via-environment-variables"
	srcGcloud  = "gcloud's launcher, bin/gcloud of the Google Cloud CLI (its preamble lists the CLOUDSDK_ variables it reads); https://cloud.google.com/sdk/docs/properties"
	srcRsync   = "rsync(1) ENVIRONMENT VARIABLES, --rsh, CONNECTING TO AN RSYNC DAEMON; https://download.samba.org/pub/rsync/rsync.1"
	srcClang   = "clang-sys README, Environment Variables (bindgen loads libclang through it); https://github.com/KyleMayes/clang-sys#environment-variables"
)

// ccTargetArchs are the architectures whose target triples the cc crate's
// per-target names are refused for, with - as _ as a variable name has
// it: each ends with _ where the architecture is one word (x86_64_...),
// and not where triples extend it (armv7a, thumbv7em, riscv64gc,
// powerpc64le, mips64el, sparcv9, loongarch64).
var ccTargetArchs = []string{
	"X86_64_", "AARCH64_", "I686_", "I586_", "ARM_", "ARMV7", "THUMBV", "RISCV",
	"WASM32_", "WASM64_", "POWERPC", "S390X_", "MIPS", "SPARC", "LOONGARCH",
}

// ccVars are the cc crate's variables, with what each makes a build script
// do.
var ccVars = []struct{ name, what string }{
	{"CC", "the C compiler the cc crate runs in a build script"},
	{"CXX", "the C++ compiler the cc crate runs in a build script"},
	{"AR", "the archiver the cc crate runs in a build script"},
	{"CFLAGS", "C compiler flags the cc crate passes: -wrapper runs a program around every compile, -fplugin loads a shared object"},
	{"CXXFLAGS", "C++ compiler flags the cc crate passes: -wrapper runs a program around every compile, -fplugin loads a shared object"},
	{"ARFLAGS", "archiver flags the cc crate passes: GNU ar's --plugin option loads a shared object"},
}

// toolchainHijacks are the toolchains' entries of the default deny-list.
var toolchainHijacks = slices.Concat([]hijack{
	// node-gyp, which npm install runs for a package with a binding.gyp.
	{"PYTHON", false, "node-gyp (npm install of a native module)", "the python node-gyp runs to generate a native module's build files (a trial reproduced it with npm 11 and node-gyp 12)", srcNodeGyp},
	{"NPM_CONFIG_PYTHON", false, "node-gyp (npm install of a native module)", "npm hands it to node-gyp as --python, the python it runs (a trial reproduced it, as npm_config_python)", srcNodeGyp + "; " + srcNpm},
	{"NODE_GYP_FORCE_PYTHON", false, "node-gyp (npm install of a native module)", "the python node-gyp runs, ahead of every other setting (a trial reproduced it)", srcNodeGyp},
	{"NPM_CONFIG_MAKE", false, "node-gyp (npm install of a native module)", "node-gyp's --make: the make command it runs to build a native module (a trial reproduced it, as npm_config_make)", "node-gyp README, Command Options (--make); https://github.com/nodejs/node-gyp#command-options"},

	// Maven's launch script.
	{"MAVEN_BASEDIR", false, "mvn (Maven 3 launch script)", "the project base directory the mvn script reads .mvn/jvm.config from, whose -javaagent the JVM loads (a trial reproduced it with Debian's mvn -v), and .mvn/maven.config, whose arguments Maven adds", "/usr/share/maven/bin/mvn (Maven 3 script, MAVEN_BASEDIR); https://maven.apache.org/configure.html"},

	// Go tools built on golang.org/x/tools/go/packages.
	{"GOPACKAGESDRIVER", false, "go/packages (stringer under go generate, gopls, golangci-lint)", "a program go/packages runs in place of go list to load packages (a trial reproduced it with stringer under go generate)", "https://pkg.go.dev/golang.org/x/tools/go/packages (the driver, GOPACKAGESDRIVER)"},

	// Cargo's build scripts: the cc crate for the host (build scripts,
	// proc macros) and the target.
	{"HOST_CC", false, "cargo build scripts (cc crate)", "the C compiler the cc crate runs for the host, ahead of CC (a trial reproduced it)", srcCcCrate},
	{"HOST_CXX", false, "cargo build scripts (cc crate)", "the C++ compiler the cc crate runs for the host, ahead of CXX", srcCcCrate},
	{"HOST_AR", false, "cargo build scripts (cc crate)", "the archiver the cc crate runs for the host, ahead of AR (a trial reproduced it)", srcCcCrate},
	{"HOST_CFLAGS", false, "cargo build scripts (cc crate)", "C flags for the host, ahead of CFLAGS: -wrapper runs a program around every compile", srcCcCrate},
	{"HOST_CXXFLAGS", false, "cargo build scripts (cc crate)", "C++ flags for the host, ahead of CXXFLAGS: -wrapper runs a program around every compile", srcCcCrate},
	{"HOST_ARFLAGS", false, "cargo build scripts (cc crate)", "archiver flags for the host, ahead of ARFLAGS", srcCcCrate},
	{"TARGET_CC", false, "cargo build scripts (cc crate)", "the C compiler the cc crate runs for the target, ahead of CC (a trial reproduced it)", srcCcCrate},
	{"TARGET_CXX", false, "cargo build scripts (cc crate)", "the C++ compiler the cc crate runs for the target, ahead of CXX", srcCcCrate},
	{"TARGET_AR", false, "cargo build scripts (cc crate)", "the archiver the cc crate runs for the target, ahead of AR", srcCcCrate},
	{"TARGET_CFLAGS", false, "cargo build scripts (cc crate)", "C flags for the target, ahead of CFLAGS: -wrapper runs a program around every compile", srcCcCrate},
	{"TARGET_CXXFLAGS", false, "cargo build scripts (cc crate)", "C++ flags for the target, ahead of CXXFLAGS: -wrapper runs a program around every compile", srcCcCrate},
	{"TARGET_ARFLAGS", false, "cargo build scripts (cc crate)", "archiver flags for the target, ahead of ARFLAGS", srcCcCrate},
	{"PYO3_PYTHON", false, "cargo build scripts (pyo3-build-config)", "the Python interpreter PyO3's build script runs to learn the build settings", "https://pyo3.rs/latest/building-and-distribution.html#configuring-the-python-version"},
	{"PROTOC", false, "cargo build scripts (prost-build, tonic-build)", "the protoc program prost-build runs to compile .proto files", "https://docs.rs/prost-build/latest/prost_build/#sourcing-protoc"},
	{"LIBCLANG_PATH", false, "cargo build scripts (bindgen, clang-sys)", "the libclang shared object, or the directory of one, that bindgen loads into the build script", srcClang},
	{"LLVM_CONFIG_PATH", false, "cargo build scripts (bindgen, clang-sys)", "the llvm-config program clang-sys runs to find libclang", srcClang},

	// Cargo itself.
	{"CARGO_ALIAS_", true, "cargo", "alias.<name>: an alias replaces an external subcommand and may carry --config options, so CARGO_ALIAS_CLIPPY='check --config=build.rustc-wrapper=<program>' runs the program on cargo clippy (reproduced)", srcCargoConf + "; https://doc.rust-lang.org/cargo/reference/config.html#alias"},

	// pip.
	{"PIP_CONSTRAINT", false, "pip", "a constraints file for every pip install: a local directory or URL named there is built, running its build backend, and its --index-url lines change where packages come from (a trial reproduced it)", srcPip + "; https://pip.pypa.io/en/stable/cli/pip_install/#cmdoption-c"},
	{"PIP_BUILD_CONSTRAINT", false, "pip (25.3 and later)", "a constraints file, as PIP_CONSTRAINT's, that pip applies when it installs the build dependencies of isolated builds", srcPip + "; https://pip.pypa.io/en/stable/user_guide/#build-constraints"},

	// .NET.
	{"DOTNET_ADDITIONAL_DEPS", false, ".NET host (dotnet)", "more .deps.json files the host reads at start: the assemblies and native libraries they list are added to those the app loads", "https://learn.microsoft.com/en-us/dotnet/core/tools/dotnet-environment-variables#dotnet_additional_deps"},

	// Tools a job runs beside the build.
	{"RSYNC_RSH", false, "rsync", "the remote shell rsync runs in place of ssh for host:path transfers (reproduced)", srcRsync},
	{"SVN_SSH", false, "svn", "the command svn runs in place of ssh for svn+ssh:// URLs", "https://svnbook.red-bean.com/en/1.7/svn.serverconfig.svnserve.html#svn.serverconfig.svnserve.sshtricks"},
	{"CVS_RSH", false, "cvs", "the remote shell cvs runs for :ext: repositories", "cvs(1) ENVIRONMENT; https://www.gnu.org/software/trans-coord/manual/cvs/html_node/Environment-variables.html"},
	{"BZR_SSH", false, "bzr", "the ssh client bzr runs for bzr+ssh:// and sftp:// URLs: a vendor's name or a program's path", "https://www.breezy-vcs.org/doc/en/user-reference/env-variables-help.html"},
	{"BRZ_SSH", false, "brz (Breezy, bzr's successor)", "as BZR_SSH, for brz", "https://www.breezy-vcs.org/doc/en/user-reference/env-variables-help.html"},
	{"CLOUDSDK_PYTHON", false, "gcloud, gsutil, bq", "the interpreter gcloud's launcher script runs, the editor's program in its place (reproduced)", srcGcloud},
	{"CLOUDSDK_PYTHON_ARGS", false, "gcloud, gsutil, bq", "words the launcher script puts before gcloud's own program: -c<code> runs Python code of the editor's (reproduced)", srcGcloud},
	{"CLOUDSDK_GSUTIL_PYTHON", false, "gsutil", "the interpreter gsutil's launcher runs (reproduced)", srcGcloud},
	{"CLOUDSDK_BQ_PYTHON", false, "bq", "the interpreter bq's launcher runs (reproduced)", srcGcloud},
	{"CLOUDSDK_CONFIG", false, "gcloud", "gcloud's configuration directory: without a bundled Python (not x86-64, or it fails to start) the launcher sources its virtenv/bin/activate when virtenv/enabled exists; its properties also set proxies, API endpoints and CA files", srcGcloud + "; https://cloud.google.com/sdk/docs/configurations"},
	{"RSYNC_CONNECT_PROG", false, "rsync", "a command rsync runs in place of connecting to an rsync:// daemon (reproduced)", srcRsync},
	{"DOCKER_CONFIG", false, "docker CLI", "the CLI's configuration directory: docker runs the plugins of its cli-plugins/ for docker compose and docker build (reproduced)", "https://docs.docker.com/reference/cli/docker/#environment-variables; https://docs.docker.com/engine/extend/cli_plugins/"},
	{"TF_CLI_CONFIG_FILE", false, "terraform", "the CLI configuration file: its provider_installation dev_overrides make terraform run provider binaries from a directory of the editor's (reproduced)", "https://developer.hashicorp.com/terraform/cli/config/config-file"},
	{"TF_DATA_DIR", false, "terraform", "the working data folder: a planted modules/modules.json that records the configuration's module as installed, in a folder of the editor's, makes init keep it and apply run its provisioners; modules have no lock-file hashes (reproduced)", "https://developer.hashicorp.com/terraform/cli/config/environment-variables#tf_data_dir"},
	{"TERRAFORM_CONFIG", false, "terraform", "the older name of TF_CLI_CONFIG_FILE, read when that one is unset, with the same dev_overrides (reproduced)", "https://developer.hashicorp.com/terraform/cli/config/config-file#locations"},
	{"TF_CLI_ARGS", false, "terraform", "options added to every terraform command, as TF_CLI_ARGS_<command> to one", "https://developer.hashicorp.com/terraform/cli/config/environment-variables#tf_cli_args-and-tf_cli_args_name"},
	{"TF_CLI_ARGS_", true, "terraform", "options added to one terraform command: TF_CLI_ARGS_init=-plugin-dir=<dir> makes init install the editor's provider binaries, which plan then runs (reproduced)", "https://developer.hashicorp.com/terraform/cli/config/environment-variables#tf_cli_args-and-tf_cli_args_name"},
	{"SYSTEMD_LESS", false, "systemctl, journalctl", "the options systemd's tools give their less pager in place of LESS: --lesskey-src=<file> makes less run a LESSOPEN command", srcSystemd + "; " + srcLesskey},
}, ccTargetHijacks())

// ccTargetHijacks are the prefix entries of the cc crate's per-target
// variables (CC_x86_64_unknown_linux_gnu) for ccTargetArchs.
func ccTargetHijacks() []hijack {
	out := make([]hijack, 0, len(ccVars)*len(ccTargetArchs))
	for _, v := range ccVars {
		for _, arch := range ccTargetArchs {
			out = append(out, hijack{
				name:    v.name + "_" + arch,
				prefix:  true,
				program: "cargo build scripts (cc crate)",
				reason:  v.what + ", for targets of this architecture, ahead of " + v.name + " (" + v.name + "_<target>, the triple's - as _)" + ccReproduced(v.name, arch),
				source:  srcCcCrate,
			})
		}
	}
	return out
}

// ccReproduced marks the per-target entry the trial reproduced.
func ccReproduced(name, arch string) string {
	if name == "CC" && arch == "X86_64_" {
		return "; a trial reproduced it with CC_x86_64_unknown_linux_gnu"
	}
	return ""
}
