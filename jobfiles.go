package secrets

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// Where a job's file secrets live. Under the directory a job names
// (PrepareOptions.Dir; os.TempDir() by default) is a root of the
// backend's own, secrets-jobs-UID (UID: the backend's effective user
// ID), mode 0711: a job may pass through it to its own folder, but not
// list it. In the root, each job has a folder job-HEX (0700, owned by
// the job's user; HEX is 128 random bits, so that the name cannot be
// guessed) and a lock file job-HEX.lock, which the backend holds locked
// (flock) from before the folder is made until after it is removed. A
// folder whose lock no process holds is a leftover of a backend that
// died: SweepJobFiles removes it.
const (
	jobRootPrefix = "secrets-jobs-"
	jobPrefix     = "job-"
	lockSuffix    = ".lock"
	lockTemp      = ".lock-" // a lock file being made
)

// An OSUser is an operating-system identity that a job runs as (see
// Job.User): a user ID, a group ID and supplementary groups, as the
// kernel knows them. [LookupUser] finds one by name.
type OSUser struct {
	UID, GID uint32
	// Groups are the supplementary groups. nil means none: the
	// backend's own groups are never kept.
	Groups []uint32
}

// LookupUser returns the user of name, a login name or a numeric user
// ID, from the system's user database, with its primary group and the
// groups that list it. An unknown user is an error that wraps a
// [user.UnknownUserError] or a [user.UnknownUserIdError] (values, as
// package os/user returns them, not pointers).
func LookupUser(name string) (*OSUser, error) {
	var u *user.User
	var err error
	if _, numErr := strconv.ParseUint(name, 10, 32); numErr == nil {
		u, err = user.LookupId(name)
	} else {
		u, err = user.Lookup(name)
	}
	if err != nil {
		return nil, wrapf(err, "user %q", name)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, wrapf(err, "user %q has no numeric IDs", name)
	}
	out := &OSUser{UID: uint32(uid), GID: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.ParseUint(s, 10, 32); err == nil {
				out.Groups = append(out.Groups, uint32(g))
			}
		}
	}
	return out, nil
}

// ErrInsecureDir: the root of the job folders (see [PrepareOptions].Dir)
// exists but is not a directory of the backend's own user: a symbolic
// link, a file, or another user's directory (made there before the
// backend, perhaps by a job); or the directory named (Dir, or
// os.TempDir(), its links followed) or a directory above it belongs to a
// user other than root and the backend's, or is writable by its group or
// others without the sticky bit (Unix). Nothing was written; name a Dir
// of the backend's own.
var ErrInsecureDir = errors.New("secrets: job files directory not safe")

// jobRoot returns the root of the job folders under dir ("" means
// os.TempDir()), making it if needed; an existing one must be a
// directory of the backend's user, and is given mode 0711.
func jobRoot(dir string) (string, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	dir, err := safeParent(dir)
	if err != nil {
		return "", err
	}
	root := filepath.Join(dir, jobRootPrefix+strconv.Itoa(os.Geteuid()))
	if err := os.Mkdir(root, 0o711); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	fi, err := os.Lstat(root)
	if err != nil {
		return "", err
	}
	if err := ourRoot(dir, root, fi); err != nil {
		return "", err
	}
	if fi.Mode().Perm() != 0o711 {
		if err := os.Chmod(root, 0o711); err != nil {
			return "", err
		}
	}
	return root, nil
}

// newJobDir makes a job's folder in root, locked first, and returns its
// path and the lock, which the caller holds until it removes the folder.
func newJobDir(root string) (string, *os.File, error) {
	var b [16]byte
	rand.Read(b[:])
	dir := filepath.Join(root, jobPrefix+hex.EncodeToString(b[:]))
	lock, err := lockJob(root, dir+lockSuffix)
	if err != nil {
		return "", nil, err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		unlockJob(dir, lock)
		return "", nil, err
	}
	return dir, lock, nil
}

// unlockJob removes a job's folder, then its lock file, then lets the
// lock go; the folder's removal is what it reports.
func unlockJob(dir string, lock *os.File) error {
	err := os.RemoveAll(dir)
	if lock != nil {
		os.Remove(dir + lockSuffix)
		lock.Close()
	}
	return err
}

// writeJobFile writes a file secret (0600, a new file), owned by u if
// not nil.
func writeJobFile(path, value string, u *OSUser) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if err == nil && u != nil {
		err = f.Chown(int(u.UID), int(u.GID))
	}
	return errors.Join(err, f.Close())
}

// SweepJobFiles removes, from the root of the job folders under dir (as
// [PrepareOptions].Dir: "" means os.TempDir()), the file secrets of jobs
// whose backend is gone: a process killed before it could clean up
// leaves them behind. A job folder is removed only when no process holds
// its lock, so that the jobs of live backends, in this process or
// another, are never touched, however long they run. It returns how
// many folders it removed; a missing root is none.
//
// A Manager sweeps each root once, when it first prepares a job with file
// secrets there (ignoring errors): call SweepJobFiles at start, or from
// time to time, to clean up without waiting for a job. Processes of a
// killed backend's jobs may still run; their files are removed all the
// same. On systems without flock (not Unix) it removes nothing.
func SweepJobFiles(dir string) (int, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	dir, err := safeParent(dir)
	if err != nil {
		return 0, err
	}
	root := filepath.Join(dir, jobRootPrefix+strconv.Itoa(os.Geteuid()))
	fi, err := os.Lstat(root)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, wrapf(err, "sweep job files")
	}
	if err := ourRoot(dir, root, fi); err != nil {
		return 0, err
	}
	return sweepRoot(root)
}

// ourRoot checks root, the root of the job folders in dir (fi, as lstat
// gives it): a directory of the backend's user, on dir's own file system.
// A file system mounted on it (a user's FUSE mount, where fuse.conf has
// user_allow_other) can report any owner, and a trial had one take every
// job's file secrets: it is on another device.
func ourRoot(dir, root string, fi fs.FileInfo) error {
	if !fi.IsDir() || !ownedByUs(fi) {
		return errorf(ErrInsecureDir, "%s is not a directory of the backend's user", root)
	}
	if !sameDevice(dir, fi) {
		return errorf(ErrInsecureDir, "%s is a mount point, not a directory of %s's file system", root, dir)
	}
	return nil
}

// sweepRoot removes the job folders of root that no process holds.
func sweepRoot(root string) (int, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return 0, wrapf(err, "sweep job files")
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(root, name)
		switch {
		case strings.HasPrefix(name, lockTemp):
			if held, err := lockHeld(path); err == nil && !held {
				os.Remove(path)
			}
		case strings.HasPrefix(name, jobPrefix) && strings.HasSuffix(name, lockSuffix):
			dir := strings.TrimSuffix(path, lockSuffix)
			if ok, err := sweepLocked(dir); err != nil {
				errs = append(errs, err)
			} else if ok {
				removed++
			}
		case strings.HasPrefix(name, jobPrefix) && e.IsDir():
			// A live job's lock file exists from before its folder is
			// made until after it is removed.
			if _, err := os.Lstat(path + lockSuffix); errors.Is(err, fs.ErrNotExist) {
				if err := os.RemoveAll(path); err != nil {
					errs = append(errs, err)
				} else {
					removed++
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, wrapf(err, "sweep job files")
	}
	return removed, nil
}
