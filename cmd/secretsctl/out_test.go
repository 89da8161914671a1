//go:build unix

package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// export -o and backup -o refuse, exit 2, writing nothing, a FILE that
// exists and is not a regular file: a symbolic link (as /dev/stdout is)
// is neither followed nor replaced, a FIFO (a stream, as /dev/null is a
// device) is not replaced by a file, nor is a directory.
func TestOutNotRegular(t *testing.T) {
	e := newEnv(t)
	e.ctl("A=value-a\n", "import", "ws").want(t, 0)
	target := filepath.Join(e.dir, "target")
	os.WriteFile(target, []byte("kept\n"), 0o644)
	link := filepath.Join(e.dir, "link")
	os.Symlink(target, link)
	dangling := filepath.Join(e.dir, "dangling")
	os.Symlink(filepath.Join(e.dir, "nowhere"), dangling)
	fifo := filepath.Join(e.dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.dir, "dir")
	os.Mkdir(dir, 0o700)
	for _, c := range []struct{ path, kind string }{
		{link, "symbolic link"}, {dangling, "symbolic link"}, {fifo, "FIFO"}, {dir, "directory"},
	} {
		for _, args := range [][]string{{"export", "-o", c.path, "ws"}, {"backup", "-o", c.path, "ws"}} {
			r := e.ctl("", args...).wantErr(t, 2, c.kind, "without -o")
			if r.stdout != "" || strings.Contains(r.stderr, "value-a") {
				t.Fatalf("%v: %q %q", args, r.stdout, r.stderr)
			}
		}
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode().Type() != fs.ModeSymlink {
		t.Fatalf("the link was replaced: %v %v", fi.Mode(), err)
	}
	if fi, err := os.Lstat(dangling); err != nil || fi.Mode().Type() != fs.ModeSymlink {
		t.Fatalf("the dangling link was replaced: %v %v", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(target); string(b) != "kept\n" {
		t.Fatalf("written through the link: %q", b)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "nowhere")); err == nil {
		t.Fatal("written through the dangling link")
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode().Type() != fs.ModeNamedPipe {
		t.Fatalf("the FIFO was replaced: %v %v", fi.Mode(), err)
	}
	if names, _ := filepath.Glob(filepath.Join(e.dir, ".*.tmp")); len(names) != 0 {
		t.Fatalf("temporary files left: %v", names)
	}
	// A regular file is still replaced.
	e.ctl("", "export", "-o", target, "ws").want(t, 0)
	if b, _ := os.ReadFile(target); string(b) != "A='value-a'\n" {
		t.Fatalf("export -o over a regular file: %q", b)
	}
}
