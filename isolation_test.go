//go:build linux

package secrets_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// needRoot skips a test that changes users when not run as root, except
// in CI, which runs as root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI runs as root, and this test needs it")
		}
		t.Skip("changing users needs root")
	}
}

// nobody is the user jobs run as in these tests.
func nobody(t *testing.T) *secrets.OSUser {
	t.Helper()
	u, err := secrets.LookupUser("nobody")
	if err != nil {
		t.Fatal(err)
	}
	if u.UID == 0 || u.GID == 0 {
		t.Fatalf("nobody is %+v", u)
	}
	return u
}

// openDir returns a new directory that every user may pass through and
// list (t.TempDir's parents are private to root).
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "secrets-open-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// probe is what a job tries to read of its host: each line says "ok", or
// why the read failed.
const probe = `try() {
	if err=$("$@" 2>&1 >/dev/null); then echo ok; else
	case $err in *"Permission denied"*) echo EACCES;; *"not permitted"*) echo EPERM;; *) echo "other: $err";; esac; fi
}
addr=$(head -n1 /proc/$HOST_PID/maps 2>/dev/null | cut -d- -f1)
read -r me _ < /proc/self/stat
echo "uid $(id -u)"
echo "environ $(try cat /proc/$HOST_PID/environ)"
echo "mem $(try dd if=/proc/$HOST_PID/mem of=/dev/null bs=16 count=1 iflag=skip_bytes skip=$((0x${addr:-1000})))"
echo "key $(try cat "$KEY_FILE")"
echo "other $(try cat "$OTHER_FILE")"
echo "list $(try ls "$(dirname "$CERT")/..")"
echo "own $(try cat "$CERT")"
for pid in $me $HOST_PID; do
	c=$(tr '\0' ' ' < /proc/$pid/cmdline)
	case "$c" in "") echo "cmdline unread";; *"$PLAIN"*|*"$(cat "$CERT")"*) echo "cmdline holds a value";; *) echo "cmdline clean";; esac
done
`

// A job run as another user cannot read its host's environment or
// memory, the master key file, or the file secrets of another job that
// runs meanwhile; the same reads, by the same job run as the backend's
// user, succeed. Its own file secrets it reads, and no value is on a
// command line.
func TestIsolatedJobCannotReadItsHost(t *testing.T) {
	needRoot(t)
	sh := needProgram(t, "sh")
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "PLAIN", "plain-value-0001")
	if _, err := m.Set(ctx, "ws", "CERT", []byte("cert-value-0002"), &secrets.SetOptions{Info: &secrets.Info{File: true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Set(ctx, "other", "THEIRS", []byte("their-value-0003"), &secrets.SetOptions{Info: &secrets.Info{File: true}}); err != nil {
		t.Fatal(err)
	}
	dir := openDir(t)
	keyFile := filepath.Join(dir, "master-key.json")
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}

	// Another workspace's job, as a user of its own, runs meanwhile.
	actx, stop := context.WithCancel(ctx)
	lines := make(chan string, 1)
	other := make(chan error, 1)
	go func() {
		pr, pw := io.Pipe()
		go func() {
			s := bufio.NewScanner(pr)
			for s.Scan() {
				lines <- s.Text()
			}
		}()
		_, err := m.Run(actx, "other", secrets.Job{Path: sh, Args: []string{"-c", `echo "$THEIRS"; exec sleep 30`},
			Stdout: pw, User: &secrets.OSUser{UID: 61000, GID: 61000}, Files: dir})
		pw.Close()
		other <- err
	}()
	var theirs string
	select {
	case theirs = <-lines:
	case err := <-other:
		t.Fatalf("the other job ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the other job never started")
	}
	defer func() {
		stop()
		if err := <-other; !errors.Is(err, context.Canceled) {
			t.Errorf("the other job: %v", err)
		}
	}()

	run := func(u *secrets.OSUser) map[string]string {
		t.Helper()
		var out lockedBuffer
		// The backend's PID as /proc names it: a job in a PID namespace
		// of its own has no $PPID, and finds its host in /proc all the
		// same.
		base := append(secrets.DefaultBase(), "KEY_FILE="+keyFile, "OTHER_FILE="+theirs, fmt.Sprintf("HOST_PID=%d", os.Getpid()))
		res, err := m.Run(ctx, "ws", secrets.Job{Path: sh, Args: []string{"-c", probe}, Base: base, Stdout: &out, Stderr: &out, User: u, Files: dir})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("%+v %v: %s", res, err, out.String())
		}
		got := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			k, v, _ := strings.Cut(l, " ")
			if k == "cmdline" && v != "clean" {
				t.Fatalf("a command line: %s", v)
			}
			got[k] = v
		}
		return got
	}
	check := func(who string, got map[string]string, want string) {
		t.Helper()
		for _, k := range []string{"environ", "mem", "key", "other", "list"} {
			if got[k] != want && !(want == "EACCES" && got[k] == "EPERM") {
				t.Errorf("%s: reading %s: %q, want %s", who, k, got[k], want)
			}
		}
		if got["own"] != "ok" {
			t.Errorf("%s: reading its own file secret: %q", who, got["own"])
		}
	}
	control := run(nil)
	if control["uid"] != "0" {
		t.Fatalf("the control job runs as %s", control["uid"])
	}
	check("as the backend's user", control, "ok")
	isolated := run(nobody(t))
	if isolated["uid"] != "65534" {
		t.Fatalf("the isolated job runs as %s", isolated["uid"])
	}
	check("as nobody", isolated, "EACCES")
}

// A job given as another user gets its file secrets as that user's, in
// a folder under a root of the backend's that other users may pass
// through but not list.
func TestPrepareForAnotherUser(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	if _, err := m.Set(ctx, "ws", "CERT", []byte("cert-value-0002"), &secrets.SetOptions{Info: &secrets.Info{File: true}}); err != nil {
		t.Fatal(err)
	}
	dir := openDir(t)
	u := nobody(t)
	p, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Dir: dir, User: u})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for path, mode := range map[string]os.FileMode{
		filepath.Dir(p.Dir): os.ModeDir | 0o711, p.Dir: os.ModeDir | 0o700, filepath.Join(p.Dir, "CERT"): 0o600,
	} {
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		owner := uint32(0)
		if path != filepath.Dir(p.Dir) {
			owner = u.UID
		}
		if fi.Mode() != mode || st.Uid != owner {
			t.Errorf("%s: %v owned by %d, want %v owned by %d", path, fi.Mode(), st.Uid, mode, owner)
		}
	}
	if filepath.Dir(filepath.Dir(p.Dir)) != dir || len(filepath.Base(p.Dir)) != len("job-")+32 {
		t.Errorf("job folder %s", p.Dir)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(p.Dir)); len(entries) != 0 {
		t.Errorf("Close left %d entries", len(entries))
	}
}

// A root of job folders that is not the backend's own is refused before
// anything is written: another user's directory (a job may make one in
// a shared /tmp before the backend does) or a symbolic link.
func TestJobRootMustBeOurs(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	if _, err := m.Set(ctx, "ws", "CERT", []byte("cert-value-0002"), &secrets.SetOptions{Info: &secrets.Info{File: true}}); err != nil {
		t.Fatal(err)
	}
	root := func(dir string) string { return filepath.Join(dir, "secrets-jobs-0") }

	theirs := openDir(t)
	if err := os.Mkdir(root(theirs), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(root(theirs), 65534, 65534); err != nil {
		t.Fatal(err)
	}
	link := openDir(t)
	if err := os.Symlink(t.TempDir(), root(link)); err != nil {
		t.Fatal(err)
	}
	for what, dir := range map[string]string{"another user's": theirs, "a symbolic link": link} {
		if _, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Dir: dir}); !errors.Is(err, secrets.ErrInsecureDir) {
			t.Errorf("%s root: %v", what, err)
		}
		if _, err := secrets.SweepJobFiles(dir); !errors.Is(err, secrets.ErrInsecureDir) {
			t.Errorf("sweeping %s root: %v", what, err)
		}
	}
	if entries, _ := os.ReadDir(root(theirs)); len(entries) != 0 {
		t.Errorf("%d entries written in another user's root", len(entries))
	}
	if entries, _ := os.ReadDir(root(link)); len(entries) != 0 {
		t.Errorf("%d entries written through a link", len(entries))
	}

	// The directory named is checked too, and every one above it: one
	// another user may rename entries in could have the root moved
	// between the backend's check and its writes (a trial had root write
	// a file secret into a directory of the attacker's choosing and give
	// it to the job's user). A sticky shared directory (as /tmp) is fine.
	hostile := openDir(t)
	if err := os.Chown(hostile, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	under := filepath.Join(hostile, "below")
	if err := os.Mkdir(under, 0o755); err != nil {
		t.Fatal(err)
	}
	loose := openDir(t)
	os.Chmod(loose, 0o777)
	group := openDir(t)
	os.Chmod(group, 0o775)
	badLink := filepath.Join(openDir(t), "dir-link")
	if err := os.Symlink(under, badLink); err != nil {
		t.Fatal(err)
	}
	target := openDir(t)
	if err := os.Mkdir(filepath.Join(target, "below"), 0o755); err != nil {
		t.Fatal(err)
	}
	theirLink := filepath.Join(openDir(t), "their-link")
	if err := os.Symlink(target, theirLink); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(theirLink, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	for what, dir := range map[string]string{"another user's Dir": hostile, "a Dir under another user's": under,
		"a link another user made, to a Dir of ours": theirLink, "a path through a link another user made": filepath.Join(theirLink, "below"),
		"a Dir writable by all, not sticky": loose, "a Dir writable by its group": group, "a link to a Dir under another user's": badLink} {
		if _, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Dir: dir}); !errors.Is(err, secrets.ErrInsecureDir) {
			t.Errorf("%s: %v", what, err)
		}
		if _, err := secrets.SweepJobFiles(dir); !errors.Is(err, secrets.ErrInsecureDir) {
			t.Errorf("sweeping %s: %v", what, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) > 1 || len(entries) == 1 && entries[0].Name() != "below" {
			t.Errorf("%s: %d entries written", what, len(entries))
		}
	}
	sticky := openDir(t)
	os.Chmod(sticky, 0o777|os.ModeSticky)
	goodLink := filepath.Join(openDir(t), "good-link")
	if err := os.Symlink(openDir(t), goodLink); err != nil {
		t.Fatal(err)
	}
	for what, dir := range map[string]string{"a sticky shared Dir": sticky, "a link to a Dir of ours": goodLink} {
		p, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Dir: dir})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		p.Close()
	}

	// A file system mounted on the root is refused, whoever it says owns
	// it: a user's FUSE mount (with user_allow_other) reported root as its
	// owner and took every job's file secrets. A tmpfs stands in for it.
	mounted := openDir(t)
	if err := os.Mkdir(root(mounted), 0o711); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "mode=0711", "none", root(mounted)).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs on the root: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", root(mounted)).Run() })
	if _, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Dir: mounted}); !errors.Is(err, secrets.ErrInsecureDir) {
		t.Errorf("a root that is a mount point: %v", err)
	}
	if _, err := secrets.SweepJobFiles(mounted); !errors.Is(err, secrets.ErrInsecureDir) {
		t.Errorf("sweeping a root that is a mount point: %v", err)
	}
	if entries, _ := os.ReadDir(root(mounted)); len(entries) != 0 {
		t.Errorf("%d entries written on the mounted root", len(entries))
	}

	// A root of ours with a loose mode is tightened.
	loose = openDir(t)
	if err := os.Mkdir(root(loose), 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(root(loose), 0o777)
	p, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Dir: loose})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if fi, _ := os.Stat(root(loose)); fi.Mode().Perm() != 0o711 {
		t.Errorf("root mode %v", fi.Mode())
	}
}

// leftoverEnv names the directory the helper prepares a job in.
const leftoverEnv = "SECRETS_TEST_LEFTOVER_DIR"

// TestLeftoverHelper is not a test: run by TestSweepJobFiles with
// leftoverEnv set, it prepares a job with file secrets, prints its
// folder, and waits to be killed.
func TestLeftoverHelper(t *testing.T) {
	dir := os.Getenv(leftoverEnv)
	if dir == "" {
		return
	}
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	if _, err := m.Set(ctx, "ws", "CERT", []byte("cert-value-0002"), &secrets.SetOptions{Info: &secrets.Info{File: true}}); err != nil {
		t.Fatal(err)
	}
	p, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(p.Dir)
	time.Sleep(time.Minute)
}

// leftover runs a process that prepares a job in dir and is killed
// before it can clean up, and returns the job's folder.
func leftover(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLeftoverHelper$")
	cmd.Env = append(os.Environ(), leftoverEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	cmd.Process.Kill()
	cmd.Wait()
	path := strings.TrimSpace(line)
	if err != nil || !strings.HasPrefix(path, dir) {
		t.Fatalf("the helper printed %q: %v", line, err)
	}
	if _, err := os.Stat(filepath.Join(path, "CERT")); err != nil {
		t.Fatalf("no leftover: %v", err)
	}
	return path
}

// The file secrets of a backend killed before it cleaned up are removed
// by SweepJobFiles, and by the first job another Manager prepares there;
// the folders of live jobs, in this process or another, are left alone.
func TestSweepJobFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if n, err := secrets.SweepJobFiles(dir); n != 0 || err != nil {
		t.Fatalf("sweeping a directory without a root: %d %v", n, err)
	}
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	if _, err := m.Set(ctx, "ws", "CERT", []byte("cert-value-0002"), &secrets.SetOptions{Info: &secrets.Info{File: true}}); err != nil {
		t.Fatal(err)
	}
	live, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	dead := leftover(t, dir)
	exists := func(path string) bool {
		_, err := os.Lstat(path)
		return err == nil
	}

	n, err := secrets.SweepJobFiles(dir)
	if n != 1 || err != nil {
		t.Fatalf("sweep: %d removed, %v", n, err)
	}
	if exists(dead) || exists(dead+".lock") {
		t.Error("the dead backend's job files are still there")
	}
	if !exists(filepath.Join(live.Dir, "CERT")) {
		t.Error("the sweep removed a live job's files")
	}

	// Another Manager's first job there sweeps; later ones do not need to.
	dead = leftover(t, dir)
	m2 := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	if _, err := m2.Set(ctx, "ws", "CERT", []byte("cert-value-0004"), &secrets.SetOptions{Info: &secrets.Info{File: true}}); err != nil {
		t.Fatal(err)
	}
	p, err := m2.Prepare(ctx, "ws", &secrets.PrepareOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if exists(dead) {
		t.Error("a Manager's first job did not sweep")
	}
	if !exists(filepath.Join(live.Dir, "CERT")) {
		t.Error("a Manager's sweep removed a live job's files")
	}
	live.Close()
	if entries, _ := os.ReadDir(filepath.Dir(live.Dir)); len(entries) != 0 {
		t.Errorf("%d entries left in the root", len(entries))
	}
}

// hardenEnv makes TestHardenHelper run.
const hardenEnv = "SECRETS_TEST_HARDEN"

// TestHardenHelper is not a test: run by TestHardenProcess with hardenEnv
// set, as nobody, it has a child of its user read its environment and
// memory before and after HardenProcess.
func TestHardenHelper(t *testing.T) {
	if os.Getenv(hardenEnv) == "" {
		return
	}
	// As LocalCipherFromEnv's doc says, the key leaves the environment...
	os.Unsetenv("SECRETS_MASTER_KEY")
	read := func(when string) {
		out, _ := exec.Command("/bin/sh", "-c", `
if env=$(cat /proc/$PPID/environ 2>&1); then
	case "$env" in *SECRETS_MASTER_KEY=*) echo "environ key";; *) echo "environ ok";; esac
else echo "environ $env"; fi
addr=$(head -n1 /proc/$PPID/maps 2>/dev/null | cut -d- -f1)
if err=$(dd if=/proc/$PPID/mem of=/dev/null bs=16 count=1 iflag=skip_bytes skip=$((0x${addr:-1000})) 2>&1); then echo "mem ok"; else echo "mem $err"; fi
`).CombinedOutput()
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			fmt.Println(when, l)
		}
	}
	read("before")
	if err := secrets.HardenProcess(); err != nil {
		fmt.Println("harden", err)
	}
	read("after")
	var rl syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_CORE, &rl)
	fmt.Println("core", rl.Cur, rl.Max)
}

// After HardenProcess, a child of the same user cannot read the
// process's environment (where a master key stays after os.Unsetenv) or
// memory, which it could before; and the process dumps no core. The
// process that hardens is a copy of the test binary run as nobody (root
// reads any process), so that this test binary stays dumpable.
func TestHardenProcess(t *testing.T) {
	needRoot(t)
	u := nobody(t)
	dir := openDir(t)
	exe := filepath.Join(dir, "secrets.test")
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	// No fork while the copy is open for writing (see hijackWork.file).
	syscall.ForkLock.Lock()
	err = os.WriteFile(exe, b, 0o755)
	syscall.ForkLock.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestHardenHelper$")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", hardenEnv + "=1", "SECRETS_MASTER_KEY=" + strconv.Quote("not-a-real-key")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := string(out)
	for _, want := range []string{
		"before environ key\n", "before mem ok\n",
		"after environ", "Permission denied", "after mem", "core 0 0\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the helper said %q, which lacks %q", got, want)
		}
	}
	for _, bad := range []string{"after environ key", "after environ ok", "after mem ok", "harden"} {
		if strings.Contains(got, bad) {
			t.Errorf("the helper said %q", got)
		}
	}
}

// A job's input that never ends, from a reader whose Read never returns,
// does not keep Run from returning once the job ends; what it gave
// before reaches the job.
func TestRunStdinThatBlocks(t *testing.T) {
	sh := needProgram(t, "sh")
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "PLAIN", "plain-value-0001")
	pr, pw := io.Pipe()
	defer pw.Close() // lets the goroutine blocked in Read go
	go pw.Write([]byte("abc"))
	var out lockedBuffer
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		res, err := m.Run(context.Background(), "ws", secrets.Job{Path: sh, Args: []string{"-c", "head -c 3; echo ' read'"}, Stdin: pr, Stdout: &out})
		if err == nil && res.ExitCode != 0 {
			err = fmt.Errorf("exit %d", res.ExitCode)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil || out.String() != "abc read\n" {
			t.Fatalf("%v: %q", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Run did not return after its job ended (output %q)", out.String())
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Run took %v", d)
	}
}
