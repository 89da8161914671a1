package secrets_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// BenchmarkRedactDense: output that holds a value on every line (a
// secret whose value is a word the job prints often), given in one Write
// as Run hands the redactor up to 1 MiB, against one pass of
// strings.Replacer. Each masked match costs the same whatever their
// number: the ratio at 1 MiB is the ratio at 64 KiB (each of the k
// matches once cost a copy of the list of those after it, O(k²)).
func BenchmarkRedactDense(b *testing.B) {
	const value = "abcdef"
	r := secrets.NewRedactor([][]byte{[]byte(value)}, nil)
	rep := strings.NewReplacer(value, "***")
	for _, size := range []int{64 << 10, 1 << 20} {
		text := bytes.Repeat([]byte(value+"\n"), size/(len(value)+1))
		s := string(text)
		b.Run(fmt.Sprint(size>>10, "KiB"), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			var out countingWriter
			compare(b, func() error {
				out = 0
				w := r.NewWriter(&out)
				w.Write(text)
				if err := w.Close(); err != nil {
					return err
				}
				if want := len(text) / (len(value) + 1) * len("***\n"); int(out) != want {
					return fmt.Errorf("redacted output of %d bytes, want %d", out, want)
				}
				return nil
			}, func() error {
				_, err := rep.WriteString(discard{}, s)
				return err
			})
		})
	}
}

// countingWriter counts the bytes written to it.
type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
