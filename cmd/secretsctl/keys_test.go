package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

func TestRotate(t *testing.T) {
	e := newEnv(t)
	e.ctl("first-value", "set", "ws1", "TOKEN").want(t, 0)
	e.ctl("second-value", "set", "ws1", "TOKEN").want(t, 0)
	e.ctl("other-value", "set", "ws2", "OTHER").want(t, 0)

	r := e.ctl("", "rotate", "ws1").want(t, 0)
	if !strings.Contains(r.stdout, "ws1: key ") || !strings.Contains(r.stdout, "2 versions re-encrypted, 1 old keys disabled") {
		t.Fatalf("rotate: %s", r.stdout)
	}
	var keys []secrets.KeyInfo
	e.ctl("", "keys", "--json", "ws1").want(t, 0).decode(t, &keys)
	if len(keys) != 2 || keys[0].Primary == keys[1].Primary {
		t.Fatalf("keys after a rotation: %+v", keys)
	}
	old := keys[slices.IndexFunc(keys, func(k secrets.KeyInfo) bool { return !k.Primary })]
	primary := keys[slices.IndexFunc(keys, func(k secrets.KeyInfo) bool { return k.Primary })]
	if old.Enabled || !primary.Enabled {
		t.Fatalf("keys after a rotation: %+v", keys)
	}
	e.ctl("", "key", "enable", "ws1", itoa(old.ID)).want(t, 0)
	e.ctl("", "keys", "--json", "ws1").want(t, 0).decode(t, &keys)
	if !slices.ContainsFunc(keys, func(k secrets.KeyInfo) bool { return k.ID == old.ID && k.Enabled }) {
		t.Fatalf("key enable: %+v", keys)
	}
	e.ctl("", "key", "disable", "ws1", itoa(old.ID)).want(t, 0)
	e.ctl("", "key", "disable", "ws1", "12345").wantErr(t, 3, "no key 12345")
	e.ctl("", "key", "disable", "ws1", "primary").wantErr(t, 2)
	e.ctl("", "key", "disable", "ws1", itoa(primary.ID)).wantErr(t, 4, "primary")
	e.ctl("", "key", "rotate", "ws1").wantErr(t, 2, `no command "rotate"`)
	e.ctl("", "keys", "nokey").wantErr(t, 3)
	if e.value("ws1", "TOKEN") != "second-value" {
		t.Fatal("the value changed")
	}

	// --all goes on past a workspace that fails; the JSON has both.
	var res []rotated
	e.ctl("", "rotate", "--json", "ws1", "missing", "ws2").want(t, 3).decode(t, &res)
	if len(res) != 3 || res[0].Error != "" || res[1].Error == "" || res[2].Reencrypted != 1 {
		t.Fatalf("rotate ws1 missing ws2: %+v", res)
	}
	r = e.ctl("", "rotate", "--all").want(t, 0)
	if !strings.Contains(r.stdout, "ws1: ") || !strings.Contains(r.stdout, "ws2: ") {
		t.Fatalf("rotate --all: %s", r.stdout)
	}
	e.ctl("", "rotate").wantErr(t, 2, "--all")
	e.ctl("", "rotate", "--all", "ws1").wantErr(t, 2, "--all")

	// A version that cannot be decrypted is left, and listed: exit 6.
	e.sql(`UPDATE {{schema}}.versions SET ciphertext = overlay(ciphertext placing '\xdeadbeef'::bytea from 20 for 4)
		WHERE workspace = 'ws1' AND version = 1`)
	r = e.ctl("", "rotate", "ws1").wantErr(t, 6, "could not be re-encrypted")
	if !strings.Contains(r.stdout, "ws1: left TOKEN version 1: ") {
		t.Fatalf("rotate with a damaged version: %s", r.stdout)
	}
	e.ctl("", "rotate", "--json", "ws1").want(t, 6).decode(t, &res)
	if len(res) != 1 || len(res[0].Left) != 1 || res[0].Left[0].Name != "TOKEN" || res[0].Left[0].Version != 1 || !res[0].Resumed {
		t.Fatalf("rotate --json with a damaged version: %+v", res)
	}
	// Several workspaces: a line for each failure, and a summary.
	r = e.ctl("", "rotate", "ws1", "ws2").want(t, 6)
	if !strings.Contains(r.stderr, "secretsctl: rotate ws1: ") || !strings.Contains(r.stderr, "\nsecretsctl: rotate: 1 of 2 workspaces left versions") {
		t.Fatalf("rotate ws1 ws2: %q", r.stderr)
	}
}

// Progress goes to a log file as a few plain lines, no carriage returns.
func TestProgressInLogFile(t *testing.T) {
	e := newEnv(t)
	var text strings.Builder
	for i := range 2100 {
		fmt.Fprintf(&text, "N%04d=value-number-%d\n", i, i)
	}
	e.ctl(text.String(), "import", "ws").want(t, 0)
	logPath := filepath.Join(e.dir, "rotate.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	e.run(call{stderr: log}, "rotate", "ws").want(t, 0)
	b, _ := os.ReadFile(logPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	// Lines at tenths of the way (how many depends on the library's batch
	// size), then the final count.
	if strings.Contains(string(b), "\r") || len(lines) < 2 || len(lines) > 11 ||
		lines[len(lines)-1] != "rotate ws: 2100/2100 done" || !strings.HasSuffix(lines[0], "%)") {
		t.Fatalf("progress in a log file:\n%q", b)
	}
}

func TestRewrap(t *testing.T) {
	e := newEnv(t)
	e.ctl("first-ws-value", "set", "ws1", "TOKEN").want(t, 0)
	e.ctl("second-ws-value", "set", "ws2", "TOKEN").want(t, 0)
	k1, k2 := e.key, e.keygen("k2.json")

	// A new master key must be registered, once.
	r := e.ctl("", "--master-key", k2, "--old-master-key", k1, "rewrap").wantErr(t, 5, "is not known to this store", "--add-master-key")
	var known []string
	for _, k := range []string{k1, k2} {
		c, err := secrets.LoadLocalCipher(k)
		if err != nil {
			t.Fatal(err)
		}
		known = append(known, c.ID())
	}
	if !strings.Contains(r.stderr, known[0]) || !strings.Contains(r.stderr, known[1]) || r.stdout != "" {
		t.Fatalf("rewrap without --add-master-key names %v? %+v", known, r)
	}
	var res secrets.RewrapResult
	e.ctl("", "--master-key", k2, "--old-master-key", k1, "--add-master-key", "rewrap", "--json").want(t, 0).decode(t, &res)
	if res.Rewrapped != 2 || len(res.Left) != 0 {
		t.Fatalf("rewrap: %+v", res)
	}
	e.key = k2
	if e.value("ws1", "TOKEN") != "first-ws-value" {
		t.Fatal("ws1 after the rewrap")
	}
	// The former key reads no more.
	e.ctl("", "--master-key", k1, "export", "ws1").wantErr(t, 1, "cannot decrypt")
	e.ctl("", "--master-key", k2, "rewrap").want(t, 0)
	// --all re-wraps the keys the master key wraps already.
	e.ctl("", "--master-key", k2, "rewrap", "--all", "--json").want(t, 0).decode(t, &res)
	if res.Rewrapped != 2 || e.value("ws1", "TOKEN") != "first-ws-value" {
		t.Fatalf("rewrap --all: %+v", res)
	}

	// A workspace key wrapped by a master key the run does not have is
	// left, and listed.
	k3 := e.keygen("k3.json")
	e.ctl("third-ws-value", "--master-key", k1, "--add-master-key", "set", "ws3", "TOKEN").want(t, 0)
	r = e.ctl("", "--master-key", k3, "--old-master-key", k2, "--add-master-key", "rewrap").wantErr(t, 6, "could not be re-wrapped", "--old-master-key")
	if !strings.Contains(r.stdout, "2 workspace keys re-wrapped") || !strings.Contains(r.stdout, "left: workspace ws3: ") {
		t.Fatalf("rewrap with a key left: %s", r.stdout)
	}
	e.ctl("", "--master-key", k3, "--add-master-key", "rewrap", "--json").want(t, 6).decode(t, &res)
	if res.Rewrapped != 0 || len(res.Left) != 1 || res.Left[0].Workspace != "ws3" {
		t.Fatalf("rewrap --json with a key left: %+v", res)
	}
	e.ctl("", "--master-key", k3, "--old-master-key", k1, "rewrap").want(t, 0)
	e.key = k3
	if e.value("ws3", "TOKEN") != "third-ws-value" || e.value("ws2", "TOKEN") != "second-ws-value" {
		t.Fatal("values after the last rewrap")
	}
}

// rewrap --retire-old retires the former master keys after a complete
// rewrap (an incomplete one retires none, exit 6): then a secretsctl (or replica) still given the former key as
// its master key cannot make a workspace key (exit 5, naming the key),
// while it still reads with the new key as --old-master-key.
func TestRewrapRetireOld(t *testing.T) {
	e := newEnv(t)
	e.ctl("first-ws-value", "set", "ws1", "TOKEN").want(t, 0)
	k1, k2 := e.key, e.keygen("k2.json")
	c1, err := secrets.LoadLocalCipher(k1)
	if err != nil {
		t.Fatal(err)
	}
	e.ctl("", "--master-key", k2, "--add-master-key", "rewrap", "--retire-old").wantErr(t, 2, "--retire-old", "--old-master-key")
	r := e.ctl("", "--master-key", k2, "--old-master-key", k1, "--add-master-key", "rewrap", "--retire-old").want(t, 0)
	if r.stdout != "1 workspace keys re-wrapped\nmaster key "+c1.ID()+" retired\n" {
		t.Fatalf("rewrap --retire-old: %q", r.stdout)
	}
	e.ctl("new-ws-value", "--master-key", k1, "set", "ws2", "TOKEN").wantErr(t, 5, "master key "+c1.ID()+" is retired")
	if r := e.ctl("", "--master-key", k1, "--old-master-key", k2, "get", "ws1", "TOKEN").want(t, 0); r.stdout != "first-ws-value" {
		t.Fatalf("a read with the retired key as master key and the new one as old: %q", r.stdout)
	}
	e.key = k2
	e.ctl("new-ws-value", "set", "ws2", "TOKEN").want(t, 0)
	if e.value("ws2", "TOKEN") != "new-ws-value" {
		t.Fatal("ws2 under the new master key")
	}
	// Again: nothing to move, the key is retired already.
	e.ctl("", "--master-key", k2, "--old-master-key", k1, "rewrap", "--retire-old").want(t, 0)
	// A former key the store never knew.
	k4 := e.keygen("k4.json")
	e.ctl("", "--master-key", k2, "--old-master-key", k4, "rewrap", "--retire-old").wantErr(t, 3, "not registered")

	// An incomplete rewrap (ws3's key is wrapped by k5, which this run
	// does not have) retires nothing: exit 6, and k2 still makes keys.
	k5, k6 := e.keygen("k5.json"), e.keygen("k6.json")
	e.ctl("third-ws-value", "--master-key", k5, "--add-master-key", "set", "ws3", "TOKEN").want(t, 0)
	r = e.ctl("", "--master-key", k6, "--old-master-key", k2, "--add-master-key", "rewrap", "--retire-old").wantErr(t, 6, "could not be re-wrapped")
	if !strings.Contains(r.stdout, "left: workspace ws3: ") || strings.Contains(r.stdout, "retired") {
		t.Fatalf("an incomplete rewrap --retire-old: %q", r.stdout)
	}
	e.ctl("fourth-ws-value", "--master-key", k2, "set", "ws4", "TOKEN").want(t, 0)
}

// rotate says when it deleted former keys: from the third rotation on, it
// keeps the two most recent.
func TestRotateDeletesFormerKeys(t *testing.T) {
	e := newEnv(t)
	e.ctl("first-value", "set", "ws", "TOKEN").want(t, 0)
	for i := range 3 {
		r := e.ctl("", "rotate", "ws").want(t, 0)
		if deleted := strings.Contains(r.stdout, ", 1 former keys deleted"); deleted != (i == 2) {
			t.Fatalf("rotation %d: %s", i+1, r.stdout)
		}
	}
	var keys []secrets.KeyInfo
	e.ctl("", "keys", "--json", "ws").want(t, 0).decode(t, &keys)
	if len(keys) != 3 {
		t.Fatalf("keys after three rotations: %+v", keys)
	}
	if e.value("ws", "TOKEN") != "first-value" {
		t.Fatal("the value is lost")
	}
}
