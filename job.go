package secrets

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// PrepareOptions tune [Manager.Prepare]. A nil *PrepareOptions means the
// zero value.
type PrepareOptions struct {
	// Names, if not empty, are the only secrets the job gets (compared
	// ignoring case), as a workflow names the secrets it uses: a name no
	// secret of the job's levels applies to (none has it, or only secrets
	// of other environments, protected ones for an unprotected job, or
	// expired ones under ExpiredOmit) is ErrNotFound, in the same words
	// whichever it is, before anything runs; a withheld one is not
	// delivered and not an error.
	// They are variables' names: the job gets each in the scope its
	// environment resolves. nil means every secret; an empty, non-nil
	// list is refused (ErrInvalidName), since it reads as "none" as
	// easily as "all": set NoSecrets for a job without secrets.
	Names []string
	// NoSecrets gives the job no secret at all (Names must be nil): its
	// event is recorded all the same, listing none.
	NoSecrets bool
	// Environment is the environment the job runs in ("production",
	// "review/feature-1"; "" for none): of the secrets of a name, the job
	// gets the one whose scope matches it most specifically (an exact
	// name, then the longest pattern, then "*"; with no environment only
	// "*" matches), from the nearest level that has one. See the README's
	// "Environment scopes and protected secrets" (in its API tour) for the
	// whole rule. An environment holds no '*'
	// and follows the rules of a scope (ErrInvalidScope).
	Environment string
	// Protected marks a job the host trusts with protected secrets (a
	// protected branch, a deploy). A job that is not protected never gets
	// a protected secret: for it such a secret is absent, and a wider
	// scope's or a farther level's value of the name applies.
	Protected bool
	// Base is the environment under the secrets, as for Environ. nil means
	// DefaultBase; the caller's own environment is never used.
	Base []string
	// Dir is where the job's private directory for file secrets is made,
	// in a folder of the backend's own (see SweepJobFiles). "" means
	// os.TempDir().
	Dir string
	// Redact tunes the masking; nil means the defaults.
	Redact *RedactConfig
	// Masks are more values to mask in the job's output, that are not
	// secrets of the workspace: a token the platform minted for this job.
	// Output is held back while it may be the start of one, which a job
	// that reads its own log can tell: give only values the job has.
	Masks [][]byte

	// User, if not nil, is the OS user the job will run as (see
	// Job.User): its file secrets' folder and files are made that user's
	// (which takes the privilege to change owners, e.g. root). nil leaves
	// them the backend's.
	User *OSUser
}

// A PreparedJob is everything a job needs, made from one read of its
// workspace: its environment, its file secrets, and a Redactor for exactly
// those values. Hosts that start the process themselves (in a container,
// on a remote runner) use it as [Manager.Run] does. Close removes the
// files; nothing of the job outlives it but what the host copied.
//
// Printed (every fmt verb that fits, log/slog) or encoded (JSON), through
// a pointer or by value, it shows no value: Env is a [JobEnv], which says
// what still sees its values.
type PreparedJob struct {
	// Env is the job's environment: Base with the secrets on top, file
	// secrets as the paths of their files. It holds values in the clear,
	// and prints as the number of its variables.
	Env JobEnv
	// Dir is the private directory of the file secrets (0700, each file
	// 0600 and named after its secret, all owned by PrepareOptions.User
	// if set), or "" if there are none. Its parent, the backend's, may be
	// passed through but not listed; its name cannot be guessed.
	Dir string
	// Expired names the secrets past their Info.Expires that the job got
	// (or, with Config.Expired ExpiredOmit, did not get).
	Expired []string
	// State is the workspace's state the job was prepared from: the audit
	// trail's inject event records it.
	State int64

	red  *Redactor
	once sync.Once
	err  error
	lock *os.File // held while Dir exists (see SweepJobFiles)
	// event is the job's inject event, as its read recorded it: Run
	// voids it when the program cannot be started (see voided).
	event Event
}

// Redactor returns the Redactor that masks the job's values, its extra
// masks included.
func (p *PreparedJob) Redactor() *Redactor { return p.red }

// Close removes the job's file secrets and their directory. It may be
// called more than once. Until then the directory is locked, and a
// SweepJobFiles leaves it alone.
func (p *PreparedJob) Close() error {
	p.once.Do(func() {
		if p.Dir != "" {
			p.err = unlockJob(p.Dir, p.lock)
		}
	})
	return p.err
}

// Format prints no values.
func (p *PreparedJob) Format(f fmt.State, _ rune) { io.WriteString(f, p.summary()) }

// LogValue hides the environment from log/slog.
func (p *PreparedJob) LogValue() slog.Value { return slog.StringValue(p.summary()) }

// MarshalJSON hides the environment from encoders.
func (p *PreparedJob) MarshalJSON() ([]byte, error) { return json.Marshal(p.summary()) }

func (p *PreparedJob) summary() string {
	return fmt.Sprintf("secrets.PreparedJob(%d variables, dir %q)", len(p.Env), p.Dir)
}

// storedVariables returns, for each of names (valid variable names), the
// spellings that the live secrets of workspace ws and its parents store
// it under (the variable, without a scope; several if levels spell it
// differently), or the name as given where none has it: what
// Config.Authorize is told of a job's PrepareOptions.Names. It reads the
// named secrets of every level in one Store read (their metadata; nothing
// is decrypted).
func (m *Manager) storedVariables(ctx context.Context, ws string, parents, names []string) ([]string, error) {
	snap, err := m.store.Env(ctx, ws, EnvQuery{Names: names, Parents: parents})
	if err != nil {
		return nil, err
	}
	stored := map[string][]string{}
	for _, en := range snap.Entries {
		v := variableOf(en.Name)
		k := strings.ToLower(v)
		if !slices.Contains(stored[k], v) {
			stored[k] = append(stored[k], v)
		}
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if vs := stored[strings.ToLower(n)]; len(vs) > 0 {
			out = append(out, vs...)
		} else {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Prepare reads the workspace's secrets once (an audited injection, as
// EnvFor) and makes a job of them: the environment (Environ of opts.Base
// and the secrets), the files of file secrets in a new private directory,
// and the Redactor of exactly the values delivered plus opts.Masks. Close
// the result when the job ends, however it ends.
//
// It fails as EnvFor does, and with ErrNotFound for a name of opts.Names
// the workspace does not have.
func (m *Manager) Prepare(ctx context.Context, ws string, opts *PrepareOptions) (*PreparedJob, error) {
	var o PrepareOptions
	if opts != nil {
		o = *opts
	}
	if err := validWorkspace(ws); err != nil {
		return nil, err
	}
	e, err := m.injectEvent(ctx, ws, o.Environment, o.Protected)
	if err != nil {
		return nil, err
	}
	// The hook is asked first, with the valid names as the levels store
	// them (so that a name it refuses cannot be had by another spelling);
	// the names are checked right after.
	var names []string // nil: every secret
	if o.Names != nil {
		names = m.askable(o.Names)
	}
	asked := names
	if m.cfg.Authorize != nil && len(names) > 0 && !o.NoSecrets {
		if asked, err = m.storedVariables(ctx, ws, e.Parents, names); err != nil {
			return nil, m.failed(ctx, e, err)
		}
	}
	if err := m.authorize(ctx, e, asked...); err != nil {
		return nil, err
	}
	switch {
	case o.NoSecrets && o.Names != nil:
		return nil, m.failed(ctx, e, errorf(ErrInvalidName, "a job with NoSecrets names secrets"))
	case o.NoSecrets:
		names = []string{} // the read and its event: none
	case o.Names != nil && len(o.Names) == 0:
		return nil, m.failed(ctx, e, errorf(ErrInvalidName, "a job's Names is empty: nil for every secret, NoSecrets for none"))
	case len(names) != len(o.Names) || slices.ContainsFunc(names, func(n string) bool { return strings.IndexByte(n, '@') >= 0 }):
		return nil, m.failed(ctx, e, errorf(ErrInvalidName, "a job asked for a name that is not a valid variable name"))
	}
	r, err := m.readEnv(ctx, e, names)
	if err != nil {
		return nil, err
	}
	p := &PreparedJob{Expired: r.expired, State: r.state, event: *e}
	vars := make([]string, 0, len(r.items))
	for _, it := range r.items {
		if !it.file {
			vars = append(vars, it.kv)
			continue
		}
		if p.Dir == "" {
			if p.Dir, p.lock, err = m.jobDir(o.Dir); err != nil {
				return nil, m.voided(ctx, e, wrapf(err, "job files"))
			}
		}
		path := filepath.Join(p.Dir, it.name())
		if err := writeJobFile(path, it.value(), o.User); err != nil {
			p.Close()
			return nil, m.voided(ctx, e, wrapf(err, "job file of %s", it.name()))
		}
		vars = append(vars, it.name()+"="+path)
	}
	if p.Dir != "" && o.User != nil {
		if err := os.Chown(p.Dir, int(o.User.UID), int(o.User.GID)); err != nil {
			p.Close()
			return nil, m.voided(ctx, e, wrapf(err, "job files"))
		}
	}
	base := o.Base
	if base == nil {
		base = DefaultBase()
	}
	p.Env = Environ(base, vars)
	p.red = m.redactor(ws, r, o.Redact).With(o.Masks...)
	return p, nil
}

// jobDir makes a job's folder under dir's root of job folders; the
// Manager's first job there sweeps the root of leftovers first.
func (m *Manager) jobDir(dir string) (string, *os.File, error) {
	root, err := jobRoot(dir)
	if err != nil {
		return "", nil, err
	}
	if _, done := m.sweptRoots.LoadOrStore(root, true); !done {
		sweepRoot(root) // a leftover it cannot remove does not stop the job
	}
	return newJobDir(root)
}

// redactor returns the Redactor of a read's values, shared by the jobs
// that mask exactly the same values with the same settings: the key is a
// digest of every value masked (delivered, and ingredients), so two jobs of
// one state that got different values (other environments, protection,
// Withhold) never share one.
func (m *Manager) redactor(ws string, r envRead, cfg *RedactConfig) *Redactor {
	key := redactorKey{ws: ws}
	if cfg != nil {
		key.cfg = *cfg
	}
	h := sha256.New()
	var n [8]byte
	for _, it := range r.items {
		binary.BigEndian.PutUint64(n[:], uint64(len(it.kv)))
		h.Write(n[:])
		io.WriteString(h, it.kv)
	}
	h.Write([]byte{0xff}) // then the ingredients' values: a length never begins with 0xff
	for _, v := range r.masks {
		binary.BigEndian.PutUint64(n[:], uint64(len(v)))
		h.Write(n[:])
		h.Write(v)
	}
	h.Sum(key.values[:0])
	if red, ok := m.redactors.Get(key); ok {
		return red
	}
	values := make([][]byte, len(r.items), len(r.items)+len(r.masks))
	for i, it := range r.items {
		values[i] = []byte(it.value())
	}
	values = append(values, r.masks...)
	red := NewRedactor(values, cfg)
	m.redactors.Add(key, red)
	return red
}

// redactorKey names the Redactor of a set of values of a workspace.
type redactorKey struct {
	ws     string
	values [sha256.Size]byte // SHA-256 of the "NAME=value" strings, then of the ingredients' values
	cfg    RedactConfig
}

// redactorCacheSize bounds the Redactors a Manager keeps for reuse.
const redactorCacheSize = 64

// A Job is a command to run for a workspace with [Manager.Run].
type Job struct {
	// Path is the program; without a slash it is looked up in the calling
	// process's PATH (as exec.Command does), not in the job's.
	Path string
	// Args are the arguments, not counting the program name.
	Args []string
	// Dir is the working directory; "" means the caller's.
	Dir string
	// Base is the environment under the secrets, as for Environ. nil means
	// DefaultBase; the caller's own environment is never used.
	Base []string
	// Names, if not empty, are the only secrets the job gets, and
	// NoSecrets gives it none (see PrepareOptions.Names).
	Names     []string
	NoSecrets bool
	// Environment and Protected are the job's (see
	// PrepareOptions.Environment and Protected).
	Environment string
	Protected   bool
	// Files is where the job's private directory for file secrets is
	// made (see PrepareOptions.Dir); "" means os.TempDir().
	Files string
	// Stdin feeds the job; nil means no input (the null device). An
	// *os.File is the job's own stdin; if it is the controlling terminal
	// and the caller is in its foreground, the job's process group is put
	// in the foreground while the job runs (Linux), so that the job reads
	// the terminal and Ctrl-C reaches it, then the terminal is given
	// back. Another reader is copied to the job through a pipe: Run
	// returns when the job ends, even if a Read never returns (the
	// goroutine blocked in it then ends when it does); an error of the
	// reader is the end of the job's input.
	Stdin io.Reader
	// Stdout and Stderr receive the job's output with every value the job
	// got, and every extra mask, masked (see Redactor). Output is passed
	// on as soon as it cannot be the start of a value, or after Quiet.
	// They are written by one goroutine at a time, whether or not the same
	// writer is given as both. Each stream is read from a pipe of its own
	// and masked by a RedactWriter of its own, one writer given as both
	// too (one pipe for both would let a stderr line cut a value printed
	// on stdout in two writes, which no scanner then matches). So each
	// stream's bytes arrive in the order the job wrote them; between the
	// two streams, in the order Run reads them, which may differ from the
	// order the job wrote them: a stderr line may come in the middle of a
	// stdout line written in two pieces, or before stdout bytes held back
	// as the possible start of a value. A value split by the job across
	// the two streams is not masked. nil discards the output.
	Stdout, Stderr io.Writer
	// Quiet is how long a stream may be silent before the bytes its
	// RedactWriter holds back (because they may be the start of a value)
	// are written all the same, if the match they may start began at
	// most 8 bytes before: a line that ends in a number or hash that
	// could be the start of a base64 form is not kept from a live log
	// until the job prints again. The match is still followed: if the
	// job goes on to complete a value, the rest of it is masked, so a
	// reader sees at most those 8 bytes of one form of the value, and
	// only if the job paused for Quiet or more in the middle of printing
	// it. Deeper matches stay held until decided. Default 50 ms; a
	// negative Quiet never releases.
	Quiet time.Duration
	// Redact tunes the masking; nil means the defaults.
	Redact *RedactConfig
	// Masks are more values to mask, that are not secrets of the
	// workspace (a token the platform minted for this job); Mask adds
	// more while the job runs. As with PrepareOptions.Masks, give only
	// values the job has.
	Masks [][]byte
	// Mask, if not nil, receives a function that adds values to mask
	// while the job runs (from any goroutine), once the job is prepared.
	Mask func(add func(values ...[]byte))
	// RuntimeMasks lets the job add values to mask while it runs (a token
	// it minted, a password it read from a vault), masked with their
	// encoded forms as the secrets are, in the job's output only:
	//
	//   - a line of its output (either stream) that begins with
	//     ::add-mask:: (GitHub Actions' workflow command; the name in any
	//     case, nothing before it on the line) is not written,
	//     and the rest of the line, without its line ending, is the value
	//     (%25, %0D and %0A in it stand for %, CR and LF, as GitHub
	//     escapes command data);
	//   - each line written to the file named by the variable
	//     SECRETS_MASK_FILE (MaskFileEnv; in the job's private folder,
	//     see PrepareOptions.Dir, and owned by Job.User) is a value, for
	//     programs whose output is not read or that must not print it.
	//
	// A value is masked in everything the job writes, on either stream,
	// after the line that adds it (the write to the mask file returned),
	// on Unix; a value shorter than RedactConfig.MinLength is not masked.
	// A job adds at most MaxRuntimeMasks distinct values of at most
	// MaxRuntimeMaskBytes in all, and writes at most MaxMaskFileBytes to
	// its mask file (repeated lines count): the line that goes over stops the
	// job's output (nothing more is written, since a value it could not
	// mask may follow) and Run returns an error wrapping ErrTooLarge when
	// the job ends.
	RuntimeMasks bool
	// Grace is how long what is left of the job's process group gets
	// after its main process exits (or ctx ends), between SIGTERM and
	// SIGKILL. Default 2 seconds.
	Grace time.Duration
	// Signals, if not nil, are passed on to the job's process group while
	// it runs (e.g. from signal.Notify, so that an operator's Ctrl-C or a
	// SIGTERM reaches the job as it would a child of a shell). A closed
	// channel stops the forwarding.
	Signals <-chan os.Signal

	// User, if not nil, runs the job as that OS user, with its groups only
	// (Unix; the backend needs the privilege to change users, e.g. root:
	// otherwise the job does not start). Its file secrets are then that
	// user's, in a folder no other user can read or find. A job run as
	// the backend's own user can read whatever the backend can: its
	// master key file, the files of other jobs, and the backend's memory
	// and environment (unless HardenProcess). Processes of one user read
	// and can take over each other through /proc, whatever namespace they
	// run in: give each job a user nothing else runs as while it runs (not
	// another job, not a daemon). What a job writes outlives it: a later
	// job of the same user runs what it left in that user's home (a Python
	// .pth file, a ~/.gitconfig) or in a directory both can write, so do
	// not reuse a job user across workspaces without wiping those. Such a job leads a session of its own,
	// without a controlling terminal: it cannot open /dev/tty nor type
	// into the operator's terminal, and a Stdin that is a terminal reaches
	// it through a pipe (a program that needs a terminal does not get
	// one; the copy may read one more line after the job ends). On Linux
	// it inherits no descriptor of the backend's but its standard ones:
	// Run marks every other descriptor of the process close-on-exec.
	// LookupUser finds a user by name.
	User *OSUser
	// NoPIDNamespace runs a job of User in the backend's PID namespace.
	// By default, on Linux, such a job is the first process of a PID
	// namespace of its own (which takes CAP_SYS_ADMIN, as root has; not
	// a container's default capabilities): when its main process exits,
	// every process it started ends with it, one that left its process
	// group (setsid, a daemon) too, so nothing it leaves behind reads
	// the environment of a later job of the same user. Its main process
	// is then that namespace's first, as a container's: a signal reaches
	// it only if it handles it. When Run passes on (Signals, or ctx ending
	// the job) a signal whose default, as POSIX lists them, ends a process
	// (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGUSR1, ...) to a main
	// process that neither handles nor ignores it, Run ends it by SIGKILL
	// and reports that signal in JobResult.Signal. Not emulated: the stop
	// signals; a signal the main process sends itself ("kill $$"), which
	// does nothing; and a program that handles a signal, cleans up and
	// raises it again to die of it, which goes on running (Python exits
	// with 130 after SIGINT, Go programs with 2). What is left of its
	// process group when it exits is killed at once, not after Grace.
	// With NoPIDNamespace, a backend killed before Run ended the job
	// takes only its main process with it (see Run): what that started
	// lives on, as the process of another session does.
	NoPIDNamespace bool
}

// A JobResult is how a job ended.
type JobResult struct {
	// ExitCode is the job's exit status, or -1 if a signal ended it.
	ExitCode int
	// Signal is the signal that ended the job, or nil.
	Signal os.Signal
	// Expired names the secrets past their expiry that the job got (see
	// PreparedJob.Expired).
	Expired []string
}

// Run prepares a job from one read of the workspace (see Prepare), runs
// it, and waits for it. Its output passes through RedactWriters: a value
// printed whole, in pieces, base64-encoded or escaped does not reach the
// writers (values shorter than RedactConfig.MinLength excepted), and
// output that cannot be the start of a value is passed on at once (and
// a tail held back as the possible start of one after Job.Quiet). With
// Job.RuntimeMasks the job adds masks of its own while it runs.
//
// The job runs in a process group of its own. When its main process
// exits, what is left of the group (a daemon it started, say) gets
// SIGTERM, then SIGKILL after Job.Grace: no process of the group, which
// holds the secrets in its environment, outlives Run. (A process that
// leaves the group on purpose, with setsid, is not followed.) On Linux
// the kernel kills the job's main process if the process running Run is
// killed first (SIGKILL, the OOM killer), when Run cannot: a job of
// another user in a PID namespace of its own then ends whole; any other
// job loses its main process only, and what that started lives on. A job
// can undo that signal (prctl(PR_SET_PDEATHSIG, 0), or running a setuid
// program): it ends jobs that do not try; one that must never outlive a
// crashed backend needs a supervisor it cannot touch (a systemd unit's
// KillMode=control-group, a container runtime). The
// job's
// file secrets are removed when Run returns, however it returns; a panic
// of an output writer is raised again in the caller once everything is
// cleaned up.
//
// User code in the job is untrusted: run it as another user (Job.User),
// in a container or in a VM (see Prepare), never as the backend's own.
//
// A job that runs and exits, with any status or signal, gives a JobResult
// and a nil error, unless its output failed: an output writer returned an
// error, or its runtime masks went over their bounds (ErrTooLarge, see
// Job.RuntimeMasks), which stops its output; the job runs on to its exit
// and Run returns its JobResult with the error. Any other error means the
// job did not run or did not finish: the workspace could not be read
// (e.g. ErrDecrypt), its arguments and environment are over the kernel's
// limits (ErrTooLarge, before exec is tried), the program could not be
// started, or ctx was done, in which case the job's process group is
// ended and the error wraps ctx.Err().
func (m *Manager) Run(ctx context.Context, ws string, job Job) (JobResult, error) {
	p, err := m.Prepare(ctx, ws, &PrepareOptions{Names: job.Names, NoSecrets: job.NoSecrets, Environment: job.Environment, Protected: job.Protected, Base: job.Base, Dir: job.Files, Redact: job.Redact, Masks: job.Masks, User: job.User})
	if err != nil {
		return JobResult{}, wrapf(err, "run for workspace %q", ws)
	}
	defer p.Close()
	if job.Mask != nil {
		job.Mask(p.red.Add)
	}
	var masks *runtimeMasks
	if job.RuntimeMasks {
		f, err := m.maskFile(p, job)
		if err != nil {
			return JobResult{}, m.voided(ctx, &p.event, wrapf(err, "job for workspace %q: mask file", ws))
		}
		defer f.Close()
		masks = newRuntimeMasks(p.red, f)
	}
	res, err := runJob(ctx, job, p, masks)
	res.Expired = p.Expired
	var ns notStarted
	if errors.As(err, &ns) {
		return res, m.voided(ctx, &p.event, wrapf(err, "job for workspace %q", ws))
	}
	if err != nil {
		return res, wrapf(err, "job for workspace %q", ws)
	}
	return res, nil
}

// voided records, once a job's read has recorded its inject event e, that
// the job got nothing after all: its files could not be written or its
// program not started. e stays (it lists what the job would have got); a
// failed inject event names it, as a refused ingredient's denial does.
// It returns err.
func (m *Manager) voided(ctx context.Context, e *Event, err error) error {
	if e.ID == 0 {
		return err // the read recorded nothing (AuditWritesOnly)
	}
	f := *e
	f.ID, f.Secrets, f.Outcome = 0, nil, OutcomeFailed
	f.Detail = truncateUTF8(voidedNote(e.ID)+" ("+detail(err)+")", maxDetail)
	m.record(ctx, &f)
	return err
}

// maskFile makes the job's mask file, empty, in its private folder (made
// if it has no file secrets), points MaskFileEnv at it, and returns it
// open for reading.
func (m *Manager) maskFile(p *PreparedJob, job Job) (*os.File, error) {
	if p.Dir == "" {
		dir, lock, err := m.jobDir(job.Files)
		if err != nil {
			return nil, err
		}
		p.Dir, p.lock = dir, lock
		if job.User != nil {
			if err := os.Chown(dir, int(job.User.UID), int(job.User.GID)); err != nil {
				return nil, err
			}
		}
	}
	path := filepath.Join(p.Dir, maskFileName)
	if err := writeJobFile(path, "", job.User); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	env := p.Env[:0:0]
	for _, kv := range p.Env {
		if !strings.HasPrefix(kv, MaskFileEnv+"=") {
			env = append(env, kv)
		}
	}
	p.Env = append(env, MaskFileEnv+"="+path)
	return f, nil
}

// checkExecSize refuses, before exec is tried, an argument list and
// environment that execve would reject with E2BIG: the program's path (as
// found, which the kernel copies), argv and envp, each string with its
// NUL and its pointer.
func checkExecSize(resolved string, argv, env []string) error {
	total := int64(len(resolved) + 1)
	for i, s := range argv {
		if int64(len(s))+1 > MaxEnvString {
			return errorf(ErrTooLarge, "argument %d takes %d bytes, over the %d one may hold", i, len(s)+1, MaxEnvString)
		}
		total += int64(len(s)) + 1 + 8
	}
	for _, kv := range env {
		if int64(len(kv))+1 > MaxEnvString {
			name, _, _ := strings.Cut(kv, "=")
			return errorf(ErrTooLarge, "variable %.64s takes %d bytes, over the %d one may hold", name, len(kv)+1, MaxEnvString)
		}
		total += int64(len(kv)) + 1 + 8
	}
	if limit := execLimit(); total > limit {
		return errorf(ErrTooLarge, "arguments and environment take %d bytes, over the %d the kernel allows", total, limit)
	}
	return nil
}
