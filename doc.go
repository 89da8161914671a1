// Package secrets keeps each workspace's secrets encrypted in the host's
// database and hands them to child processes as environment variables.
//
// A backend builds one [Manager] with [New] from a [Store] (where
// ciphertext lives) and a [Cipher] (the master key). Editors' calls map to
// [Manager.Set], [Manager.SetInfo], [Manager.Rename], [Manager.Rollback],
// [Manager.Delete] (undone by [Manager.Undelete], made final by
// [Manager.Destroy]) and [Manager.List]; a build or job gets its
// environment from [Manager.EnvFor], or runs through [Manager.Run] with
// its output redacted.
//
//	m, err := secrets.New(secrets.NewMemoryStore(), cipher, nil)
//	ctx = secrets.WithActor(ctx, "user:42")
//	meta, err := m.Set(ctx, "ws-1", "AUTH_TOKEN", []byte("s3cr3t"), nil)
//	env, err := m.EnvFor(ctx, "ws-1") // ["AUTH_TOKEN=s3cr3t"]
//
// # Editing
//
// Every secret has a revision that every change increases; every write
// takes the revision the editor saw and fails with a *[ConflictError] if
// someone else changed the secret since. Values are versioned (the last
// Config.KeepVersions are kept); metadata ([Info]) and names change without
// pushing values out. Names are unique ignoring case and keep the spelling
// they were created with: only Rename renames. Delete is soft: a deleted
// secret is not injected, holds its name, and can be restored until it is
// destroyed ([Manager.Purge] destroys those deleted longer than
// Config.DeleteRetention). [Manager.Diff] and [Manager.Apply] preview and
// apply a .env text as one change.
//
// # Backends
//
// [MemoryStore] keeps everything in process memory: for tests and for
// single-process use. [PostgresStore] keeps it in the host's Postgres
// database, shared by any number of replicas. Any other [Store] should
// pass the conformance suite in package storetest.
//
// # Encryption
//
// Envelope encryption with Tink. Every workspace has its own AES-256-GCM
// keyset (its data key), stored wrapped by the [Cipher] with associated
// data naming the workspace and the Cipher's ID. Every version of every
// secret is encrypted with the workspace's data key and associated data
// that binds it to the workspace, the secret's ID, its name (with its
// environment scope), its version number and its write-only, file,
// protected and expand flags, so a ciphertext copied to any other row, or
// a flag flipped in the database, fails to decrypt. (Versions written by
// the first releases, in associated data format 1, bind no flag: until
// [Manager.RotateKey] re-encrypts them, a flag flipped on them goes
// unnoticed.)
// Unwrapped data keys are cached (Config.KeyCacheSize, KeyCacheTTL) and
// checked on every read against the generation the Store read with the
// rows: a replica never decrypts or writes with a keyset that another
// replica changed.
//
// # Key lifecycle
//
// [Manager.RotateKey] gives a workspace a new data key and re-encrypts its
// versions while the platform serves; [Manager.SetKeyEnabled] is the kill
// switch for one key, effective on every replica at its next read;
// [Manager.Rewrap] moves every workspace key to a new master key (a
// [RemoteCipher] over a KMS, say; package github.com/dataspace/secrets/kms
// builds one from a key URI). All of them can be interrupted and resumed,
// and go on past items they cannot handle, which their results list. The
// Store records which master keys it has seen: a Manager with a master key
// the Store does not know refuses to create workspace keys (see
// Config.AddMasterKey).
//
// # Access control and audit
//
// Config.Authorize is asked before every operation, with the names of
// secrets as stored, and every operation leaves an [Event] in the Store: a
// write's in the same transaction, an injection's in the same statement
// as the read for a default job (no parents, environment, protection or
// PrepareOptions.Names, no Config.Withhold or ExpiredOmit) and right after
// the read, before any value is returned, for any other
// ([Config.AuditReads] chooses what a read does when it cannot record). With an [AuditKey], the Store's ledger holds keyed fingerprints
// of values, so [Manager.Events] can find every injection of a leaked
// token. [Info] marks secrets write-only or to be delivered as files, and
// records their expiry and rotation dates ([Manager.Due]).
//
// # Environment injection
//
// [Manager.EnvFor] returns a workspace's "NAME=value" strings from one
// consistent read. [Environ] merges them onto an explicit base environment
// (never the backend's own, which holds its database password and master
// key). [Manager.Prepare] makes everything a job needs from one read: its
// environment, its file secrets in a private directory, and a [Redactor]
// that masks exactly those values (and their common encodings) in its
// output; [Manager.Run] runs one. [Manager.Import] and [Manager.Export]
// read and write .env text.
// Names and values are validated when they are saved, not when a build
// starts: see [Manager.Set].
//
// # Errors
//
// Every refusal matches exactly one of the Err values below with
// [errors.Is]; [ConflictError], [ExistsError], [DecryptError],
// [DotenvError], [MasterKeyError], [ReferenceError] and
// [MigratePrivilegeError] carry details for [errors.As].
// Messages are one line and may be shown to the caller. No error text ever
// contains a secret value, key material or a connection string; names of
// secrets do appear, except names that failed validation (users paste
// values into name fields).
//
// Values are returned as [Value], which prints as "[redacted]" in fmt, log
// and JSON output; [Value.Reveal] returns the bytes.
package secrets
