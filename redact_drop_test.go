package secrets_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// A value with colour codes between each two of its characters is
// masked: as one mask when they are what colourizers write, and with no
// character of it shown when they are more than the redactor follows
// (then the codes after its cap are passed on between masks).
func TestRedactColourEachCharacter(t *testing.T) {
	const v = "alphaSECRET111111"
	r := secrets.NewRedactor([][]byte{[]byte(v)}, nil)
	join := func(codes string) string {
		return "x " + strings.Join(strings.Split(v, ""), codes) + " y\n"
	}
	if got := r.RedactString(join("\x1b[m\x1b[K\x1b[01;31m\x1b[K")); got != "x *** y\n" {
		t.Fatalf("grep --color: %q", got)
	}
	got := r.RedactString(join(strings.Repeat("\x1b[31m", 200)))
	// The cap masks the next bytes after it, as long as the value, as
	// they come: some of the text after the value too.
	if plain := strings.ReplaceAll(strings.ReplaceAll(got, "\x1b[31m", ""), "***", ""); !strings.HasPrefix(plain, "x ") || !strings.HasSuffix(" y\n", plain[2:]) {
		t.Fatalf("past the cap: %q shows more than the text around the value", plain)
	}
}

// A RedactWriter given a value's start and then colour codes, erase-in-
// line sequences or YAML line folds without end passes the output on,
// masked from the value's start, in the Write that brings it, less a
// bounded tail: it never holds more than a few KiB for a short value.
func TestRedactDroppedEscapesNotHeld(t *testing.T) {
	r := secrets.NewRedactor([][]byte{[]byte("alphaSECRET111111")}, nil)
	for _, c := range []struct{ name, head, unit string }{
		{"colour", "alp", "\x1b[31m"},
		{"erase in line", "alp", "\x1b[K"},
		{"yaml fold", `"alp`, "\\\n  "},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			w := r.NewWriter(&out)
			w.Write([]byte(c.head))
			piece := []byte(strings.Repeat(c.unit, 20000))
			in := int64(len(c.head))
			for i := range 20 {
				w.Write(piece)
				in += int64(len(piece))
				if held := in - int64(out.Len()-len("***")+len("alp")); held > 4<<10 {
					t.Fatalf("write %d: %d bytes held", i, held)
				}
			}
			if !strings.HasPrefix(out.String(), strings.TrimSuffix(c.head, "alp")+"***") {
				t.Fatalf("output starts %q", out.String()[:16])
			}
		})
	}
}
