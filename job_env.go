package secrets

import (
	"fmt"
	"io"
	"log/slog"
)

// An Environment is a job's environment, "NAME=value" strings holding
// values in the clear: assign it to [os/exec.Cmd.Env] as it is. It prints
// with every fmt verb, in log/slog and in JSON or text encodings as the
// number of its variables, never a name or value, also inside a
// [PreparedJob] printed or encoded by value; index it, range over it, or
// convert it to []string to read it. fmt cannot be stopped from printing
// it by reflection where it sits in an unexported field of a struct: do
// not print such a struct.
type Environment []string

func (e Environment) summary() string { return fmt.Sprintf("[%d variables redacted]", len(e)) }

// Format writes the number of variables whatever the verb.
func (e Environment) Format(f fmt.State, _ rune) { io.WriteString(f, e.summary()) }

// String returns the number of variables.
func (e Environment) String() string { return e.summary() }

// GoString returns the number of variables.
func (e Environment) GoString() string { return e.summary() }

// LogValue hides the values from log/slog.
func (e Environment) LogValue() slog.Value { return slog.StringValue(e.summary()) }

// MarshalText hides the values from encoders (JSON included).
func (e Environment) MarshalText() ([]byte, error) { return []byte(e.summary()), nil }
