package secrets

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Names are checked in tiers, in this order (see Manager.CheckName):
//
//  1. the environment-variable rule (ErrInvalidName);
//  2. the host's own names: Config.ReservedNames and ReservedPrefixes, and
//     Config.OnlyNames, the allowlist of a host that wants only names of
//     its own (ErrReservedName);
//  3. Config.AllowNames, which lets through what the next tiers refuse;
//  4. the deny-list of denylist.go, and the stricter preset with
//     Config.StrictNames (ErrReservedName);
//  5. the patterns below: names shaped like a variable a program reads as
//     code, as configuration or as a command line. They are guesses from
//     the shape of the name, not knowledge of a program, so by default
//     they only warn ([NameWarning]); Config.StrictNames refuses them too.
//
// The deny-list protects a workspace's jobs from its secrets editors: an
// editor who may not change the code a job runs must not make it run code
// of the editor's choosing through a variable. No list can be complete:
// any program may read any variable, so a host whose jobs run programs the
// lists do not know should use Config.OnlyNames.

// A namePattern is a family of names that look like code, configuration
// or a command line to some program.
type namePattern struct {
	glob   string   // upper case, path.Match syntax (names hold no / ? [ \)
	except []string // globs of names the pattern does not cover
	reason string   // what such variables commonly do; one line
}

// namePatterns is the pattern tier. Each reason names entries of the
// deny-list that the pattern generalizes; those entries give the sources.
var namePatterns = []namePattern{
	{"*RC", []string{"*SRC"}, "a startup or configuration file a program reads, often as code (PSQLRC, WGETRC, PHPRC, IRBRC)"},
	{"*INIT", nil, "code or commands a program runs at start (VIMINIT, EXINIT, LUA_INIT)"},
	{"*STARTUP*", nil, "code a program runs at start (PYTHONSTARTUP, DOTNET_STARTUP_HOOKS)"},
	// AWS_PROFILE names a section of the host's ~/.aws/config, and Spring's
	// active profiles select files of the repository: neither is a file of
	// the editor's.
	{"*PROFILE*", []string{"AWS_PROFILE", "*PROFILES_ACTIVE"}, "a profile a program runs at start (R_PROFILE_USER, R_PROFILE)"},
	{"*OPT", nil, "options for every run of a program, which commonly load code (RUBYOPT, PERL5OPT, MANOPT)"},
	{"*OPTS", nil, "options a launch script passes to a program or its JVM: -javaagent loads code (JAVA_OPTS, MAVEN_OPTS, SBT_OPTS, ANT_OPTS)"},
	{"*OPTIONS", nil, "options for every run of a program, which commonly load code (NODE_OPTIONS, JAVA_TOOL_OPTIONS)"},
	{"*FLAGS", nil, "flags added to a tool's every command line (GOFLAGS, MAKEFLAGS, CFLAGS, ERL_FLAGS)"},
	{"*_ARGS", nil, "arguments added to a tool's command line (MAVEN_ARGS, ANT_ARGS)"},
	{"*EDITOR", nil, "an editor command programs run (EDITOR, GIT_EDITOR, KUBE_EDITOR)"},
	{"*PAGER", nil, "a pager command programs run (PAGER, GIT_PAGER, PSQL_PAGER)"},
	{"*ASKPASS", nil, "a program run to ask for a password (SSH_ASKPASS, GIT_ASKPASS, SUDO_ASKPASS)"},
	{"*COMMAND", nil, "a command line a program runs (GIT_SSH_COMMAND, PROMPT_COMMAND)"},
	{"*_CMD", nil, "a command line a program runs (LEIN_JAVA_CMD)"},
	{"*WRAPPER", nil, "a program run around another (RUSTC_WRAPPER)"},
	{"*CONF", nil, "a configuration file a program reads, which can load code (OPENSSL_CONF)"},
	{"*CONFIG_FILE", nil, "a configuration file a program reads, which can name commands (PIP_CONFIG_FILE, AWS_CONFIG_FILE)"},
	{"*CONFIG_DIR", nil, "a directory of configuration a program reads, often as code (JUPYTER_CONFIG_DIR)"},
	{"*CACHE", nil, "a cache a tool takes built code from without checking it against its inputs (GOCACHE)"},
	{"*CACHE_DIR", nil, "a cache a tool takes built packages from without checking them against their sources (PIP_CACHE_DIR)"},
	{"KUBECONFIG", nil, "cluster credentials whose users[].user.exec makes kubectl run a command (KUBECONFIG)"},
	{"*CREDENTIALS_FILE", nil, "a credentials file whose credential_process a client runs (AWS_SHARED_CREDENTIALS_FILE)"},
	{"*_HOME", nil, "a directory a program takes its configuration, plugins or programs from (CARGO_HOME, GEM_HOME, JAVA_HOME, ANT_HOME)"},
}

// A NameWarning says that a name Set accepted matches a pattern of names
// that programs commonly read as code, configuration or a command line,
// such as *RC or *_OPTS. The name is on no list: the library cannot tell
// whether a program a job runs reads it, so it saves the secret and says
// so. A panel shows the warning to the editor who saved the name; a host
// that wants such names refused sets Config.StrictNames. See
// [NamePatterns].
type NameWarning struct {
	Name    string `json:"name"`    // the name as given
	Pattern string `json:"pattern"` // the pattern it matches, such as "*RC"
	Reason  string `json:"reason"`  // what such variables commonly do; one line
}

// String says which pattern the name matches and why that matters.
func (w NameWarning) String() string {
	return fmt.Sprintf("%s matches %s: %s", w.Name, w.Pattern, w.Reason)
}

// matchNames reports whether upper matches one of globs.
func matchNames(globs []string, upper string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, upper); ok {
			return true
		}
	}
	return false
}

// suspect returns the warnings of the patterns a name, upper-cased by the
// caller as upper, matches.
func suspect(name, upper string) []NameWarning {
	var ws []NameWarning
	for _, p := range namePatterns {
		if ok, _ := path.Match(p.glob, upper); ok && !matchNames(p.except, upper) {
			ws = append(ws, NameWarning{Name: name, Pattern: p.glob, Reason: p.reason})
		}
	}
	return ws
}

// NamePatterns returns the patterns of names that Set accepts with a
// [NameWarning], and refuses with ErrReservedName when Config.StrictNames
// is set: "*RC", "*_OPTS" and the like, in path.Match syntax, compared
// with the upper-cased name. A few common names that match are exempt
// (AWS_PROFILE). The slice is a copy.
func NamePatterns() []string {
	out := make([]string, len(namePatterns))
	for i, p := range namePatterns {
		out[i] = p.glob
	}
	return out
}

// CheckName says what Set and Rename would say about a name alone, reading
// nothing: the error they would return for it (ErrInvalidName,
// ErrInvalidScope for a scope no secret may have, or ErrReservedName for a
// host-reserved, not-allowed, denied or, with Config.StrictNames,
// pattern-matching name), or else the warnings they would return with the
// secret's Meta. A panel calls it before saving, to show the editor
// either. It does not check what only a new secret's scope must meet (no
// character that shows nothing, no word of two scripts: docs/scopes.md),
// since a secret stored before may have such a scope: Set refuses it for
// a new secret.
func (m *Manager) CheckName(name string) ([]NameWarning, error) {
	return m.checkName(name)
}

// validName checks a name Set, Rename, Import or Apply would save.
func (m *Manager) validName(name string) error {
	_, err := m.checkName(name)
	return err
}

// nameWarnings returns the warnings of a name validName accepted.
func (m *Manager) nameWarnings(name string) []NameWarning {
	name = variableOf(name)
	upper := strings.ToUpper(name)
	if m.allowed[upper] {
		return nil
	}
	return suspect(name, upper)
}

// checkName applies the tiers in order.
func (m *Manager) checkName(name string) ([]NameWarning, error) {
	if err := validSyntax(name, m.cfg.MaxNameLength); err != nil {
		return nil, err
	}
	return m.checkTiers(variableOf(name), true) // the tiers judge the variable, whatever its scope
}

// checkTiers applies the tiers after the syntax to a variable's name,
// Config.OnlyNames included if only.
func (m *Manager) checkTiers(name string, only bool) ([]NameWarning, error) {
	upper := strings.ToUpper(name)
	if m.reserved[upper] {
		return nil, errorf(ErrReservedName, "the name %s is reserved by the host", name)
	}
	for _, p := range m.reservedPrefixes {
		if strings.HasPrefix(upper, p) {
			return nil, errorf(ErrReservedName, "names starting with %s are reserved by the host", p)
		}
	}
	// Not quoted: a name no rule of the host's allows may be a value
	// pasted into the name's field, and the error reaches the event.
	if only && m.cfg.OnlyNames != nil && !m.cfg.OnlyNames(name) {
		return nil, errorf(ErrReservedName, "the name is not one the host allows")
	}
	if m.allowed[upper] {
		return nil, nil
	}
	if _, reason, ok := denied(upper, m.cfg.StrictNames); ok {
		return nil, errorf(ErrReservedName, "the name %s would let its value take over the processes that receive it: %s", name, reason)
	}
	ws := suspect(name, upper)
	if len(ws) > 0 && m.cfg.StrictNames {
		return nil, errorf(ErrReservedName, "the name %s matches %s, which the host refuses: %s", name, ws[0].Pattern, ws[0].Reason)
	}
	return ws, nil
}

// MatchNames returns a function for Config.OnlyNames that allows the
// names matching one of patterns, in path.Match syntax and ignoring ASCII
// case: MatchNames("APP_*", "DEPLOY_KEY") allows APP_TOKEN and deploy_key
// and nothing else. It fails on an empty list or a malformed pattern.
func MatchNames(patterns ...string) (func(name string) bool, error) {
	if len(patterns) == 0 {
		return nil, errors.New("secrets: MatchNames: no pattern")
	}
	globs := make([]string, len(patterns))
	for i, p := range patterns {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return nil, fmt.Errorf("secrets: MatchNames: pattern %d is empty or malformed (path.Match syntax)", i+1)
		}
		globs[i] = strings.ToUpper(p)
	}
	globs = slices.Clip(globs)
	return func(name string) bool { return matchNames(globs, strings.ToUpper(name)) }, nil
}
