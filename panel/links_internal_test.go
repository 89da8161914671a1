package panel

import "testing"

// TestLinkable: the host's container links are used when they are http(s)
// URLs or addresses relative to the page's host; the forms a browser reads
// as another host (a panel trial: "//evil.example/x" and "/\evil.example/x"
// led there) and other schemes are dropped.
func TestLinkable(t *testing.T) {
	for _, s := range []string{"/w/group:acme/secrets/", "../group/", "group/", "?c=group", "https://panel.example/w/g/", "http://panel.example/w/g/"} {
		if got := linkable(s); got != s {
			t.Errorf("linkable(%q) = %q, want it kept", s, got)
		}
	}
	for _, s := range []string{"//evil.example/x", "/\\evil.example/x", "\\\\evil.example/x", " //evil.example/x", "\t//evil.example",
		"/\t/evil.example", "javascript:alert(1)", "data:text/html,x", "mailto:a@b", "ftp://x/", "%", "http:\\\\evil.example"} {
		if got := linkable(s); got != "" {
			t.Errorf("linkable(%q) = %q, want it dropped", s, got)
		}
	}
}
