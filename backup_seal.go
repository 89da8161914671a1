package secrets

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"time"
)

// maxValueHeader bounds the valueHeader of one encrypted value, JSON
// included: a container and a name of their longest, the times and flags,
// and a description of its longest with every byte escaped (\u00XX).
const maxValueHeader = 6*maxDescription + 4<<10

// A valueHeader is sealed with each value of an encrypted backup
// (version 2): the secret the value belongs to, as the document names it
// in the clear, with its Info. Restore refuses a value whose header
// differs from its entry, so that someone who can edit the document but
// holds no identity cannot move a value to another name, scope or
// document, clear a flag, or change its description, expiry (making it
// skipped as expired) or rotation date: a value of their own they can
// encrypt to the (public) recipients, but not one they do not know.
type valueHeader struct {
	Container string    `json:"container"`
	Created   time.Time `json:"created"`
	backupInfo
}

// headerOf is the header of s, a secret of the backup of container made
// at created.
func headerOf(container string, created time.Time, s *backupSecret) valueHeader {
	return valueHeader{Container: container, Created: created, backupInfo: s.backupInfo}
}

// sealValue returns what age encrypts for one value: the length of the
// header's JSON as a uvarint, the JSON, then the value.
func sealValue(h valueHeader, value []byte) []byte {
	head, _ := json.Marshal(h) // strings, times and booleans: never an error
	out := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(head)+len(value)), uint64(len(head)))
	return append(append(out, head...), value...)
}

// errNoHeader: a decrypted value does not start with a valueHeader.
var errNoHeader = &failure{class: ErrInvalidBackup, msg: "the encrypted value has no valid header"}

// openValue checks the header of a decrypted value p against want and
// returns the value, which shares p's memory. The errors name what does
// not match, never a value.
func openValue(p []byte, want valueHeader) ([]byte, error) {
	n, k := binary.Uvarint(p)
	if k <= 0 || n > maxValueHeader || uint64(len(p)-k) < n {
		return nil, errNoHeader
	}
	dec := json.NewDecoder(bytes.NewReader(p[k : k+int(n)]))
	dec.DisallowUnknownFields()
	var got valueHeader
	if err := dec.Decode(&got); err != nil || got.Name == "" || dec.More() {
		return nil, errNoHeader
	}
	switch {
	case got.Container != want.Container || !got.Created.Equal(want.Created):
		return nil, errorf(ErrInvalidBackup, "the encrypted value comes from another backup (its container or creation time differs): the document was edited")
	case got.Name != want.Name:
		return nil, errorf(ErrInvalidBackup, "the encrypted value belongs to another secret: the document was edited")
	case got.WriteOnly != want.WriteOnly || got.File != want.File || got.Protected != want.Protected || got.Expand != want.Expand:
		return nil, errorf(ErrInvalidBackup, "the secret's flags (write_only, file, protected, expand) differ from those encrypted with its value: the document was edited")
	case got.Description != want.Description || !got.Expires.Equal(want.Expires) || !got.RotateBy.Equal(want.RotateBy):
		return nil, errorf(ErrInvalidBackup, "the secret's description, expiry or rotation date differs from that encrypted with its value: the document was edited")
	}
	return p[k+int(n):], nil
}
