package secrets

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// A JobEnv is a job's environment, "NAME=value" strings holding values in
// the clear: assign it to [os/exec.Cmd.Env] as it is. It prints with every
// fmt verb, in log/slog and in JSON or text encodings as the number of its
// variables, never a name or value, also inside a [PreparedJob] printed or
// encoded by value; encoding/gob refuses it. Index it, range over it, or
// convert it to []string to read it. What reads it by reflection sees the
// values: fmt where it sits in an unexported field of a struct, and fmt's
// report of a verb that does not fit (%p of a value, which go vet flags),
// which calls no method; encoders and dumpers of other packages that
// ignore these methods. Do not hand it, or a struct holding it, to them.
type JobEnv []string

func (e JobEnv) summary() string { return fmt.Sprintf("[%d variables redacted]", len(e)) }

// Format writes the number of variables whatever the verb.
func (e JobEnv) Format(f fmt.State, _ rune) { io.WriteString(f, e.summary()) }

// String returns the number of variables.
func (e JobEnv) String() string { return e.summary() }

// GoString returns the number of variables.
func (e JobEnv) GoString() string { return e.summary() }

// LogValue hides the values from log/slog.
func (e JobEnv) LogValue() slog.Value { return slog.StringValue(e.summary()) }

// MarshalText hides the values from encoders (JSON included).
func (e JobEnv) MarshalText() ([]byte, error) { return []byte(e.summary()), nil }

// GobEncode refuses: encoding/gob would write the values. Send
// []string(env) where a job's environment must travel.
func (e JobEnv) GobEncode() ([]byte, error) {
	return nil, errors.New("secrets: a JobEnv holds values and is not gob-encoded; convert it to []string")
}
