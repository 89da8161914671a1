package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"
)

// BackupVersion is the version of the backup document [Manager.Backup]
// writes. [Manager.PreviewRestore] reads this version and version 1 (an
// encrypted version-1 document only with RestoreOptions.TrustVersion1),
// and refuses any other with ErrInvalidBackup: a later format gets a new
// number.
//
// Version 2 seals with each encrypted value the secret it belongs to,
// with its Info (see valueHeader); version 1 encrypted the bare value.
const BackupVersion = 2

// backupFormat names the document kind, so that another JSON file given
// by mistake is refused as such.
const backupFormat = "secrets-backup"

// The values of backupDoc.Encryption.
const (
	encryptionNone = "none"
	encryptionAge  = "age"
)

// backupDoc is the backup document, version 2. It is JSON:
//
//	{"format": "secrets-backup", "version": 2,
//	 "container": "ws-1", "parents": ["group-1"], "created": "2026-...Z",
//	 "encryption": "age" | "none",
//	 "secrets": [{"name": "API_TOKEN", "description": "...", "expires": "...",
//	              "rotate_by": "...", "write_only": true, "file": true,
//	              "version": 3, "value": "<base64>", "withheld": true}]}
//
// value is the base64 of the value's bytes with encryption "none", of an
// age file (binary) holding a valueHeader and them with "age"; a
// write-only secret of an unencrypted backup has no value and withheld
// set. container, parents,
// created and version (the source's current version) are for the reader:
// restore does not use them.
type backupDoc struct {
	Format     string         `json:"format"`
	Version    int            `json:"version"`
	Container  string         `json:"container"`
	Parents    []string       `json:"parents,omitempty"`
	Created    time.Time      `json:"created"`
	Encryption string         `json:"encryption"`
	Secrets    []backupSecret `json:"secrets"`
	// digest is the SHA-256 of the document's bytes, in hex, as read by
	// restore: what ties a RestorePlan to its document.
	digest string
}

// backupSecret is one secret of a backupDoc.
type backupSecret struct {
	backupInfo
	Version  int64  `json:"version"`
	Value    []byte `json:"value,omitempty"`
	Withheld bool   `json:"withheld,omitempty"`
}

// backupInfo is what a backup holds of a secret besides its value: the
// fields of its entry in the document, and what an encrypted value's
// valueHeader binds to it (one type, so that no field is added to one
// and not the other).
type backupInfo struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Expires     time.Time `json:"expires,omitzero"`
	RotateBy    time.Time `json:"rotate_by,omitzero"`
	WriteOnly   bool      `json:"write_only,omitempty"`
	File        bool      `json:"file,omitempty"`
	Protected   bool      `json:"protected,omitempty"`
	Expand      bool      `json:"expand,omitempty"`
}

// BackupOptions tune a [Manager.Backup]. A nil *BackupOptions means the
// zero value: an unencrypted document without the write-only values.
type BackupOptions struct {
	// Recipients, if not empty, are the age recipients (X25519 public
	// keys, say, from age.ParseX25519Recipient) every value is encrypted
	// to, write-only ones included: only the holder of a matching
	// identity can restore the document. Without recipients the values are
	// in the clear in the document, except write-only ones, which are
	// left out (marked withheld): such a document cannot restore them.
	Recipients []age.Recipient
}

// Backup returns a backup of the workspace: a JSON document (see the
// README's "Backup and restore") of each of its live secrets, of every
// scope, with its Info (description, expiry, rotation date, and the
// write-only, file, protected and expand flags) and current value; deleted
// secrets, past versions and times are not kept.
// The workspace's parents (Config.Parents) are named in it for
// information; their secrets are not included.
//
// The values are read in one snapshot, expired ones included. The backup
// is authorized as ActionExport; with recipients, if the workspace holds
// write-only secrets, the authorizer is also asked ActionExportWriteOnly
// with their names (a refusal is recorded as a denied event of that
// action; an allowed backup records none). It is audited as one
// ActionExport event, recorded as a read is (Config.AuditReads) right
// after the values are read and before the document is returned, with a
// detail that says whether the document
// is encrypted. The event's Secrets list every secret of the document, a
// write-only one marked withheld when its value was left out (no
// recipients): the detail says so. With opts.Recipients every value is
// encrypted to them; without, the document holds the values in the clear
// (write-only ones excepted): treat it as a secret.
func (m *Manager) Backup(ctx context.Context, ws string, opts *BackupOptions) ([]byte, error) {
	var o BackupOptions
	if opts != nil {
		o = *opts
	}
	if err := validWorkspace(ws); err != nil {
		return nil, err
	}
	e := m.event(ctx, ActionExport, ws)
	if err := m.authorize(ctx, e); err != nil {
		return nil, err
	}
	parents, err := m.parents(ctx, ws)
	if err != nil {
		return nil, m.failed(ctx, e, err)
	}
	doc := backupDoc{Format: backupFormat, Version: BackupVersion, Container: ws, Parents: parents,
		Created: m.now(), Encryption: encryptionNone, Secrets: []backupSecret{}}
	e.Detail = "backup, unencrypted: write-only values withheld"
	if len(o.Recipients) > 0 {
		doc.Encryption = encryptionAge
		// The event lists the write-only secrets as held, not withheld:
		// the detail says that the document holds their values, encrypted.
		e.Detail = fmt.Sprintf("backup encrypted to %d age recipient(s): write-only values included", len(o.Recipients))
	}
	for attempt := 0; ; attempt++ {
		ev := *e
		secrets, err := m.backupRead(ctx, &ev, &o, doc.Created)
		if errors.Is(err, errStale) && attempt < maxAttempts {
			continue // a write between the two reads: read again
		}
		if err != nil {
			return nil, m.failed(ctx, &ev, err)
		}
		doc.Secrets = append(doc.Secrets, secrets...)
		break
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	for _, s := range doc.Secrets {
		clear(s.Value)
	}
	if err != nil {
		return nil, m.failed(ctx, e, wrapf(err, "backup of %q", ws))
	}
	return append(out, '\n'), nil
}

// backupRead reads and decrypts the workspace's live secrets of every
// scope, protected or not, in one snapshot, and their descriptions and
// rotation dates from a listing; errStale if a secret changed between the
// two. It records e, listing every secret it holds (write-only ones
// without a recipient as withheld), before it returns.
func (m *Manager) backupRead(ctx context.Context, e *Event, o *BackupOptions, created time.Time) ([]backupSecret, error) {
	ws := e.Workspace
	snap, err := m.store.Env(ctx, ws, EnvQuery{})
	if err != nil {
		return nil, err
	}
	// Names are unique ignoring case: two rows of one name were changed
	// outside the library, and a document holding both would be refused
	// by Restore (a trial).
	seen := make(map[string]bool, len(snap.Entries))
	var twice []string
	for i := range snap.Entries {
		if n := sameNameKey(snap.Entries[i].Name); seen[n] {
			twice = append(twice, snap.Entries[i].Name)
		} else {
			seen[n] = true
		}
	}
	if twice != nil {
		return nil, &DecryptError{Workspace: ws, Names: twice, Cause: errTwice}
	}
	var k *dataKey
	if len(snap.Entries) > 0 {
		if k, err = m.keyFor(ctx, ws, snap.KeyGen); errors.Is(err, errStale) {
			m.keys.Remove(ws)
			return nil, errStale
		} else if err != nil {
			return nil, &DecryptError{Workspace: ws, Names: entryNames(snap.Entries), Cause: err}
		}
	}
	info := map[string]Entry{}
	for after := ""; ; {
		es, err := m.store.List(ctx, ws, ListQuery{After: after, Limit: maxPage})
		if err != nil {
			return nil, err
		}
		for _, en := range es {
			info[en.SecretID] = en
		}
		if len(es) < maxPage {
			break
		}
		after = es[len(es)-1].Name
	}
	if len(o.Recipients) > 0 {
		var writeOnly []string
		for _, en := range snap.Entries {
			if en.WriteOnly {
				writeOnly = append(writeOnly, en.Name)
			}
		}
		if len(writeOnly) > 0 {
			if err := m.authorize(ctx, m.event(ctx, ActionExportWriteOnly, ws), writeOnly...); err != nil {
				return nil, err // recorded by authorize
			}
		}
	}
	out := make([]backupSecret, 0, len(snap.Entries))
	events := make([]EventSecret, 0, len(snap.Entries))
	var failed []string
	var ad []byte
	for i := range snap.Entries {
		en := &snap.Entries[i]
		cur, ok := info[en.SecretID]
		if !ok || cur.Name != en.Name || cur.Current.Version != en.Version {
			return nil, errStale
		}
		s := backupSecret{backupInfo: backupInfo{Name: en.Name, Description: cur.Description, Expires: en.Expires, RotateBy: cur.RotateBy,
			WriteOnly: en.WriteOnly, File: en.File, Protected: en.Protected, Expand: en.Expand}, Version: en.Version}
		if en.WriteOnly && len(o.Recipients) == 0 {
			s.Withheld = true
			out = append(out, s)
			events = append(events, EventSecret{Name: en.Name, Version: en.Version, Withheld: true})
			continue
		}
		ad = appendEntryAD(ad[:0], ws, en)
		p, err := k.aead.Decrypt(en.Ciphertext, ad)
		if err != nil {
			failed = append(failed, en.Name)
			continue
		}
		events = append(events, EventSecret{Name: en.Name, Version: en.Version, Fingerprint: m.Fingerprint(p)})
		s.Value = p
		if len(o.Recipients) > 0 {
			sealed := sealValue(headerOf(ws, created, &s), p)
			s.Value, err = ageSeal(sealed, o.Recipients)
			clear(sealed)
			clear(p)
			if err != nil {
				return nil, err
			}
		}
		out = append(out, s)
	}
	if failed != nil {
		for _, s := range out {
			clear(s.Value)
		}
		return nil, &DecryptError{Workspace: ws, Names: failed}
	}
	e.State, e.Secrets = snap.State, events
	if e.Parents == nil {
		e.Parents = []string{} // the event lists what it holds
	}
	if err := m.recordRead(ctx, e); err != nil {
		for _, s := range out {
			clear(s.Value)
		}
		return nil, err
	}
	return out, nil
}

// ageSeal encrypts value to the recipients, as a binary age file.
func ageSeal(value []byte, recipients []age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, recipients...)
	if err != nil {
		return nil, wrapf(err, "backup: age recipients")
	}
	if _, err := w.Write(value); err != nil {
		return nil, wrapf(err, "backup: age")
	}
	if err := w.Close(); err != nil {
		return nil, wrapf(err, "backup: age")
	}
	return buf.Bytes(), nil
}

// RestoreOptions tune a [Manager.PreviewRestore] and [Manager.Restore]. A
// nil *RestoreOptions means the zero value.
type RestoreOptions struct {
	// Identities are the age identities (X25519 private keys, say, from
	// age.ParseIdentities) that open an encrypted document: one of them
	// must match its recipients (ErrBackupIdentity otherwise). An
	// unencrypted document needs none, and is refused if some are given
	// (ErrInvalidBackup): whoever expects an encrypted backup is not
	// handed one that anyone able to write backups could have made.
	Identities []age.Identity
	// Remove makes the workspace become the document: its live secrets
	// that the document does not name are removed (soft-deleted) by
	// Restore. Only PreviewRestore reads it; the plan carries it.
	Remove bool
	// SkipWithheld restores a document made without recipients although
	// it lacks the values of its write-only secrets: they are listed as
	// Skipped and left as they are in the workspace (created nowhere,
	// removed nowhere). Without it such a document is refused with
	// ErrWriteOnly, so that a restore that loses a write-only secret is
	// always asked for. Only PreviewRestore reads it.
	SkipWithheld bool
	// TrustVersion1 restores an encrypted document of version 1, whose
	// values were encrypted alone, not bound to their secrets: anyone who
	// could edit such a document could have given a write-only value a
	// readable secret's name, or cleared a secret's write-only or
	// protected flag or its scope. Without it such a document is refused
	// with ErrInvalidBackup. Set it only for a document kept where no one
	// could change it, and take a new backup. PreviewRestore and Restore
	// both read it.
	TrustVersion1 bool
	// MaxBytes bounds the document's size; larger ones are ErrTooLarge.
	// 0 means the default, 4 × Config.MaxEnvBytes + 4 MiB (64 MiB if
	// the budget is unlimited): room for base64, age's overhead per value
	// and descriptions.
	MaxBytes int64
}

// restoreEntry is a secret of a parsed document, its value decrypted (nil
// when withheld).
type restoreEntry struct {
	index    int
	name     string
	info     Info
	value    []byte
	withheld bool
}

func clearRestore(es []restoreEntry) {
	for _, e := range es {
		clear(e.value)
	}
}

// maxBackup returns the largest document o accepts.
func (m *Manager) maxBackup(o *RestoreOptions) int64 {
	switch {
	case o.MaxBytes > 0:
		return o.MaxBytes
	case m.cfg.MaxEnvBytes > 0:
		return 4*m.cfg.MaxEnvBytes + 4<<20
	}
	return 64 << 20
}

// readBackup parses a document, asks the authorizer with its names (as
// stored in the workspace; with none if it does not parse), then checks
// and decrypts it. Nothing in its errors comes from a value.
func (m *Manager) readBackup(ctx context.Context, e *Event, raw []byte, o *RestoreOptions) (*backupDoc, []restoreEntry, error) {
	if max := m.maxBackup(o); int64(len(raw)) > max {
		if err := m.authorize(ctx, e); err != nil {
			return nil, nil, err
		}
		return nil, nil, m.failed(ctx, e, errorf(ErrTooLarge, "the backup takes %d bytes, over the %d allowed (RestoreOptions.MaxBytes)", len(raw), max))
	}
	doc, perr := decodeBackup(raw, m.maxBackupSecrets())
	var names []string
	if perr == nil {
		for _, s := range doc.Secrets {
			names = append(names, s.Name)
		}
	}
	names, err := m.storedNames(ctx, e.Workspace, m.askable(names))
	if err != nil {
		return nil, nil, m.failed(ctx, e, err)
	}
	if err := m.authorize(ctx, e, names...); err != nil {
		return nil, nil, err
	}
	if perr != nil {
		return nil, nil, m.failed(ctx, e, perr)
	}
	sum := sha256.Sum256(raw)
	doc.digest = hex.EncodeToString(sum[:])
	entries, err := m.checkBackup(doc, o)
	if err != nil {
		return nil, nil, m.failed(ctx, e, err)
	}
	return doc, entries, nil
}

// maxRestoreSecrets bounds the secrets of a document a restore reads,
// whatever the budget: a restore writes them in one transaction (on
// Postgres one statement), whose size grows with their number.
const maxRestoreSecrets = 100_000

// maxBackupSecrets returns the most secrets a document may hold: each
// live secret takes at least 3 bytes of Config.MaxEnvBytes (a one-letter
// name, "=" and the NUL), a workspace holds Config.MaxSecrets, and
// maxRestoreSecrets at most.
func (m *Manager) maxBackupSecrets() int {
	n := maxRestoreSecrets
	if m.cfg.MaxEnvBytes > 0 && m.cfg.MaxEnvBytes/3 < int64(n) {
		n = int(m.cfg.MaxEnvBytes / 3)
	}
	if m.cfg.MaxSecrets > 0 && m.cfg.MaxSecrets < n {
		n = m.cfg.MaxSecrets
	}
	return n
}

// decodeBackup parses the JSON of a document and checks its kind and
// version. Unknown fields are refused: a later format that adds one gets
// a new version. A document of more than maxSecrets secrets is refused
// with ErrTooLarge as its list is read, before the rest is decoded.
func decodeBackup(raw []byte, maxSecrets int) (*backupDoc, error) {
	// The document first, its secrets left as JSON (the outer field
	// hides the embedded one), then the secrets one by one.
	var head struct {
		backupDoc
		Secrets json.RawMessage `json:"secrets"`
	}
	defer func() { clear(head.Secrets) }() // the values, unencrypted ones in base64
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&head); err != nil {
		return nil, errorf(ErrInvalidBackup, "the backup is not a valid document: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errorf(ErrInvalidBackup, "the backup has data after its document")
	}
	doc := &head.backupDoc
	switch {
	case doc.Format != backupFormat:
		return nil, errorf(ErrInvalidBackup, "the document is not a backup (format is not %q)", backupFormat)
	case doc.Version != BackupVersion && doc.Version != 1:
		return nil, errorf(ErrInvalidBackup, "backup version %d is not supported (this release reads versions 1 and %d)", doc.Version, BackupVersion)
	case doc.Encryption != encryptionNone && doc.Encryption != encryptionAge:
		return nil, errorf(ErrInvalidBackup, "the backup's encryption is neither %q nor %q", encryptionNone, encryptionAge)
	}
	if len(head.Secrets) == 0 || string(head.Secrets) == "null" {
		return doc, nil
	}
	dec = json.NewDecoder(bytes.NewReader(head.Secrets))
	dec.DisallowUnknownFields()
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return nil, errorf(ErrInvalidBackup, "the backup is not a valid document: field \"secrets\" has the wrong type")
	}
	for dec.More() {
		if len(doc.Secrets) == maxSecrets {
			return nil, errorf(ErrTooLarge, "the backup holds more than %d secrets, more than a workspace may hold (Config.MaxSecrets, and Config.MaxEnvBytes at least 3 bytes a secret; at most %d)", maxSecrets, maxRestoreSecrets)
		}
		var s backupSecret
		if err := dec.Decode(&s); err != nil {
			return nil, errorf(ErrInvalidBackup, "the backup is not a valid document: secret %d: %s", len(doc.Secrets)+1, jsonProblem(err))
		}
		doc.Secrets = append(doc.Secrets, s)
	}
	return doc, nil
}

// jsonProblem describes a JSON error without quoting the input: a syntax
// error's offset, a type error's field.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field"
	}
	return "malformed"
}

// checkBackup checks every secret of doc as Set would, and decrypts the
// values.
func (m *Manager) checkBackup(doc *backupDoc, o *RestoreOptions) ([]restoreEntry, error) {
	out := make([]restoreEntry, 0, len(doc.Secrets))
	seen := map[string]bool{}
	fail := func(err error) ([]restoreEntry, error) {
		clearRestore(out)
		return nil, err
	}
	if len(o.Identities) > 0 && doc.Encryption != encryptionAge {
		// Whoever gives identities expects the values to be sealed to
		// them: an unencrypted document in its place could have been
		// written by anyone who can write where backups are kept.
		return nil, errorf(ErrInvalidBackup, "the backup is not encrypted, but identities were given: it may not be the backup you mean "+
			"(anyone who can write a backup could have made it); restore it without identities if it is")
	}
	if doc.Version == 1 && doc.Encryption == encryptionAge && !o.TrustVersion1 {
		return nil, errorf(ErrInvalidBackup, "the backup is of version 1, whose encrypted values are not bound to their secrets: "+
			"anyone who could edit it could have moved a write-only value to a readable name or cleared a flag; "+
			"restore it only if no one could have (RestoreOptions.TrustVersion1), and take a new backup")
	}
	for i, s := range doc.Secrets {
		at := fmt.Sprintf("secret %d", i+1)
		if err := m.validName(s.Name); err != nil {
			return fail(errorf(ErrInvalidBackup, "%s: %s", at, detail(err)))
		}
		at += " (" + s.Name + ")"
		key := strings.ToLower(s.Name)
		if seen[key] {
			return fail(errorf(ErrInvalidBackup, "%s: the name is given twice (ignoring case)", at))
		}
		seen[key] = true
		info := normalInfo(Info{Description: s.Description, Expires: s.Expires, RotateBy: s.RotateBy, WriteOnly: s.WriteOnly, File: s.File, Protected: s.Protected, Expand: s.Expand})
		if err := validInfo(info); err != nil {
			return fail(errorf(ErrInvalidBackup, "%s: %s", at, detail(err)))
		}
		en := restoreEntry{index: i, name: s.Name, info: info}
		switch {
		case s.Withheld && (!s.WriteOnly || len(s.Value) > 0 || doc.Encryption != encryptionNone):
			return fail(errorf(ErrInvalidBackup, "%s: only a write-only secret of an unencrypted backup may be withheld, without a value", at))
		case s.Withheld:
			en.withheld = true
		case doc.Encryption == encryptionAge:
			p, err := ageOpen(s.Value, o.Identities)
			if err != nil {
				return fail(wrapf(err, "%s", at))
			}
			if doc.Version > 1 {
				v, err := openValue(p, headerOf(doc.Container, doc.Created, &s))
				if err != nil {
					clear(p)
					return fail(wrapf(err, "%s", at))
				}
				p = v
			} else if _, err := openValue(p, valueHeader{}); !errors.Is(err, errNoHeader) {
				// A version-2 value in a document that says version 1:
				// the version was edited to make restore skip the header's
				// check (with TrustVersion1).
				clear(p)
				return fail(errorf(ErrInvalidBackup, "%s: the encrypted value is of version %d: the document's version was edited", at, BackupVersion))
			}
			en.value = p
		default:
			en.value = bytes.Clone(s.Value)
			clear(s.Value)
		}
		if en.value != nil {
			if err := validValue(s.Name, en.value); err != nil {
				clear(en.value)
				return fail(errorf(ErrInvalidBackup, "%s: %s", at, detail(err)))
			}
		}
		out = append(out, en)
	}
	return out, nil
}

// ageOpen decrypts one value of an encrypted document.
func ageOpen(ct []byte, ids []age.Identity) ([]byte, error) {
	if len(ids) == 0 {
		return nil, errorf(ErrBackupIdentity, "the backup is encrypted: give the age identity of one of its recipients")
	}
	r, err := age.Decrypt(bytes.NewReader(ct), ids...)
	var nm *age.NoIdentityMatchError
	if errors.As(err, &nm) {
		return nil, errorf(ErrBackupIdentity, "none of the identities given opens the backup")
	}
	if err != nil {
		return nil, errorf(ErrInvalidBackup, "the encrypted value is damaged")
	}
	p, err := io.ReadAll(io.LimitReader(r, MaxEnvString+maxValueHeader+1))
	if err != nil {
		clear(p)
		return nil, errorf(ErrInvalidBackup, "the encrypted value is damaged")
	}
	if len(p) > MaxEnvString+maxValueHeader {
		clear(p)
		return nil, errorf(ErrInvalidBackup, "the value is over %d bytes", MaxEnvString)
	}
	return p, nil
}
