package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The quickstart shows what the README says it shows, and no value.
func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"refused: secrets: the name LD_PRELOAD",
		"conflict: secrets: AUTH_TOKEN was changed by someone else: it is at revision 2, not 1",
		"job: AUTH_TOKEN has 15 characters; careless print: ***",
		"job: HOME is unset",
		"job exit status: 0",
		"AUTH_TOKEN   version 2, revision 2, by user:alice",
		"logged by accident: {AUTH_TOKEN v2 value:[redacted]}",
		"reveal refused:",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, value := range []string{"tok_live", "correct horse", "/tmp/x.so"} {
		if strings.Contains(got, value) {
			t.Errorf("output shows %q:\n%s", value, got)
		}
	}
}
