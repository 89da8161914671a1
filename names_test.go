package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// The names tiers: the deny-list refuses, the patterns warn (or refuse
// with StrictNames), the host's allowlist refuses what it does not allow.

// editorNames are the names of issue 22 through which an editor who may
// not change code ran it in jobs, and what a search of their families
// found: each is refused by default, in any case, and by the strict preset.
var editorNames = []string{
	"PSQLRC", "PGSYSCONFDIR", "PSQL_EDITOR", "PSQL_PAGER", "PSQL_WATCH_PAGER",
	"VIMINIT", "EXINIT", "GVIMINIT", "VIMRUNTIME", "EMACSLOADPATH",
	"LUA_INIT", "LUA_INIT_5_4", "LUA_PATH", "LUA_PATH_5_3", "LUA_CPATH", "LUA_CPATH_5_4",
	"ERL_AFLAGS", "ERL_ZFLAGS", "ERL_FLAGS", "ERL_LIBS",
	"SBT_OPTS", "ANT_OPTS", "ANT_ARGS", "ANT_HOME", "JVM_OPTS", "LEIN_JVM_OPTS", "LEIN_JAVA_CMD", "CATALINA_OPTS",
	"R_PROFILE_USER", "R_PROFILE", "R_ENVIRON", "R_ENVIRON_USER", "R_LIBS", "R_LIBS_USER", "R_LIBS_SITE",
	"HGRCPATH", "HGEDITOR", "HGMERGE", "SVN_EDITOR", "FCEDIT", "LESSEDIT",
	"GH_EDITOR", "GH_PAGER", "GH_BROWSER", "KUBE_EDITOR", "KUBECTL_EXTERNAL_DIFF", "SYSTEMD_PAGER", "SYSTEMD_EDITOR",
	"IRBRC", "IPYTHONDIR", "JUPYTER_CONFIG_DIR", "TCL_LIBRARY", "TCLLIBPATH", "JULIA_DEPOT_PATH", "JULIA_LOAD_PATH",
	// Already on the list before issue 22; the audit's families again.
	"LESSOPEN", "LESSCLOSE", "GIT_EXTERNAL_DIFF", "GIT_ASKPASS", "SSH_ASKPASS", "SUDO_ASKPASS", "PAGER", "EDITOR", "VISUAL",
}

func TestNameTierDenied(t *testing.T) {
	for _, strict := range []bool{false, true} {
		m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{StrictNames: strict})
		for _, name := range editorNames {
			for _, n := range []string{name, strings.ToLower(name)} {
				ws, err := m.CheckName(n)
				if !errors.Is(err, secrets.ErrReservedName) || ws != nil {
					t.Errorf("strict=%v: CheckName(%s) = %v, %v; want ErrReservedName", strict, n, ws, err)
				}
				if _, err := m.Set(context.Background(), "ws", n, []byte("x"), nil); !errors.Is(err, secrets.ErrReservedName) {
					t.Errorf("strict=%v: Set(%s) = %v; want ErrReservedName", strict, n, err)
				}
			}
		}
	}
}

// patternCases are names on no list that match a pattern, with the
// pattern they match first.
var patternCases = []struct{ name, pattern string }{
	{"CURLRC_X", ""}, // no pattern: RC is not at the end
	{"MYTOOLRC", "*RC"},
	{"mytool_rc", "*RC"},
	{"FOO_INIT", "*INIT"},
	{"TOOL_STARTUP_FILE", "*STARTUP*"},
	{"OCTAVE_PROFILE", "*PROFILE*"},
	{"TOOL_PROFILE_DIR", "*PROFILE*"},
	{"SCALAOPT", "*OPT"},
	{"KAFKA_OPTS", "*OPTS"},
	{"HADOOP_OPTIONS", "*OPTIONS"},
	{"ELIXIR_ERL_OPTIONS", "*OPTIONS"},
	{"FEATURE_FLAGS", "*FLAGS"},
	{"DOCKER_BUILD_ARGS", "*_ARGS"},
	{"BZR_EDITOR", "*EDITOR"},
	{"BAT_PAGER", "*PAGER"},
	{"FOO_ASKPASS", "*ASKPASS"},
	{"RESTIC_PASSWORD_COMMAND", "*COMMAND"},
	{"DEPLOY_CMD", "*_CMD"},
	{"CCACHE_WRAPPER", "*WRAPPER"},
	{"NGINX_CONF", "*CONF"},
	{"TOOL_CONFIG_FILE", "*CONFIG_FILE"},
	{"TOOL_CONFIG_DIR", "*CONFIG_DIR"},
	{"MIX_HOME", "*_HOME"},
	{"SCALA_HOME", "*_HOME"},
}

// TestNameTierPatterns: a name matching a pattern is accepted with a
// NameWarning by Set, Rename, Import, Apply and CheckName; refused with
// StrictNames; and accepted silently when the host allows it.
func TestNameTierPatterns(t *testing.T) {
	ctx := context.Background()
	plain := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	strict := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{StrictNames: true})
	var allow []string
	for _, c := range patternCases {
		allow = append(allow, c.name)
	}
	allowed := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{StrictNames: true, AllowNames: allow})
	for _, c := range patternCases {
		ws, err := plain.CheckName(c.name)
		if err != nil {
			t.Errorf("CheckName(%s): %v", c.name, err)
			continue
		}
		meta, err := plain.Set(ctx, "ws", c.name, []byte("value"), nil)
		if err != nil {
			t.Errorf("Set(%s): %v", c.name, err)
			continue
		}
		if c.pattern == "" {
			if len(ws) != 0 || len(meta.Warnings) != 0 {
				t.Errorf("%s: warnings %v, %v; want none", c.name, ws, meta.Warnings)
			}
			continue
		}
		if len(ws) == 0 || ws[0].Pattern != c.pattern || ws[0].Name != c.name || ws[0].Reason == "" {
			t.Errorf("CheckName(%s) = %+v; want a warning of %s", c.name, ws, c.pattern)
		}
		if !slices.Equal(meta.Warnings, ws) {
			t.Errorf("Set(%s) warns %+v, CheckName %+v", c.name, meta.Warnings, ws)
		}
		if s := ws[0].String(); !strings.Contains(s, c.name) || !strings.Contains(s, c.pattern) {
			t.Errorf("String() = %q", s)
		}
		if got, err := plain.Meta(ctx, "ws", c.name); err != nil || got.Warnings != nil {
			t.Errorf("Meta(%s) = %+v, %v; a read carries no warnings", c.name, got.Warnings, err)
		}
		_, err = strict.Set(ctx, "ws", c.name, []byte("value"), nil)
		if !errors.Is(err, secrets.ErrReservedName) || !strings.Contains(err.Error(), c.pattern) {
			t.Errorf("strict Set(%s) = %v; want ErrReservedName naming %s", c.name, err, c.pattern)
		}
		if _, err := strict.CheckName(c.name); !errors.Is(err, secrets.ErrReservedName) {
			t.Errorf("strict CheckName(%s) = %v", c.name, err)
		}
		if meta, err := allowed.Set(ctx, "ws", c.name, []byte("value"), nil); err != nil || meta.Warnings != nil {
			t.Errorf("allowed Set(%s) = %+v, %v; want no warning", c.name, meta.Warnings, err)
		}
	}
	if page, err := strict.List(ctx, "ws", nil); err != nil || len(page.Secrets) != 0 {
		t.Errorf("the strict manager stored %+v, %v", page.Secrets, err)
	}

	// Rename, Import and Apply warn as Set does.
	meta, err := plain.Set(ctx, "ws2", "TOKEN", []byte("value"), nil)
	if err != nil || meta.Warnings != nil {
		t.Fatalf("Set(TOKEN) = %+v, %v", meta.Warnings, err)
	}
	meta, err = plain.Rename(ctx, "ws2", "TOKEN", "TOOLRC", &secrets.WriteOptions{IfRevision: meta.Revision})
	if err != nil || len(meta.Warnings) != 1 || meta.Warnings[0].Pattern != "*RC" {
		t.Errorf("Rename to TOOLRC = %+v, %v", meta.Warnings, err)
	}
	if _, err := strict.Rename(ctx, "ws2", "TOKEN", "TOOLRC", nil); !errors.Is(err, secrets.ErrReservedName) {
		t.Errorf("strict Rename to TOOLRC = %v", err)
	}
	metas, err := plain.Import(ctx, "ws3", []byte("PLAIN=1\nKAFKA_OPTS=-Xmx1g\n"), nil)
	if err != nil || len(metas) != 2 {
		t.Fatalf("Import: %v, %v", metas, err)
	}
	for _, m := range metas {
		if want := m.Name == "KAFKA_OPTS"; (len(m.Warnings) == 1) != want {
			t.Errorf("Import: %s warns %+v", m.Name, m.Warnings)
		}
	}
	var de *secrets.DotenvError
	if _, err := strict.Import(ctx, "ws3", []byte("PLAIN=1\nKAFKA_OPTS=-Xmx1g\n"), nil); !errors.As(err, &de) || de.Line != 2 || de.Reason != secrets.ErrReservedName {
		t.Errorf("strict Import = %v; want line 2 reserved", err)
	}
	text := []byte("PLAIN=2\nKAFKA_OPTS=-Xmx2g\n")
	d, err := plain.Diff(ctx, "ws3", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	metas, err = plain.Apply(ctx, "ws3", text, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range metas {
		if want := m.Name == "KAFKA_OPTS"; (len(m.Warnings) == 1) != want {
			t.Errorf("Apply: %s warns %+v", m.Name, m.Warnings)
		}
	}
}

// TestNameTierPatternsExempt: common names that match a pattern's shape
// but name no file or command are accepted without a warning, also with
// StrictNames.
func TestNameTierPatternsExempt(t *testing.T) {
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{StrictNames: true})
	for _, name := range []string{"AWS_PROFILE", "aws_profile", "SPRING_PROFILES_ACTIVE", "APP_SRC", "IMAGE_SRC", "AUTH_TOKEN", "NPM_CONFIG__AUTH", "DOCKER_AUTH_CONFIG"} {
		if ws, err := m.CheckName(name); err != nil || ws != nil {
			t.Errorf("CheckName(%s) = %v, %v; want accepted without warning", name, ws, err)
		}
	}
}

// TestNameTierOnlyNames: with Config.OnlyNames, a name it does not allow
// is refused with ErrReservedName by every call that saves a name, and
// changes nothing; the deny-list still applies to the names it allows,
// and AllowNames does not override it.
func TestNameTierOnlyNames(t *testing.T) {
	ctx := context.Background()
	only, err := secrets.MatchNames("APP_*", "DEPLOY_KEY", "LD_PRELOAD", "APP_HOME")
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{OnlyNames: only, AllowNames: []string{"PATH"}})
	for _, c := range []struct {
		name string
		want error
	}{
		{"APP_TOKEN", nil},
		{"app_token", nil},
		{"DEPLOY_KEY", nil},
		{"Deploy_Key", nil},
		{"APP_HOME", nil}, // allowed, with the pattern's warning
		{"AUTH_TOKEN", secrets.ErrReservedName},
		{"DEPLOY_KEY2", secrets.ErrReservedName},
		{"PATH", secrets.ErrReservedName},       // AllowNames does not widen OnlyNames
		{"LD_PRELOAD", secrets.ErrReservedName}, // OnlyNames does not lift the deny-list
		{"9APP", secrets.ErrInvalidName},
	} {
		_, err := m.CheckName(c.name)
		_, serr := m.Set(ctx, "ws-"+c.name, c.name, []byte("value"), nil)
		for _, e := range []error{err, serr} {
			if c.want == nil && e != nil || c.want != nil && !errors.Is(e, c.want) {
				t.Errorf("%s: %v; want %v", c.name, e, c.want)
			}
		}
		if errors.Is(err, secrets.ErrReservedName) && c.name == "AUTH_TOKEN" && !strings.Contains(err.Error(), "not one the host allows") {
			t.Errorf("%s: %v does not say the host does not allow it", c.name, err)
		}
	}
	// A name OnlyNames refuses may be a value pasted into the name's
	// field: its error, the failed event and a .env error do not quote it
	// (a doc audit: they did).
	pasted := "ghp_" + strings.Repeat("Z9", 18)
	_, err = m.Set(ctx, "ws-pasted", pasted, []byte("value"), nil)
	_, ierr := m.Import(ctx, "ws-pasted", []byte(pasted+"=1\n"), nil)
	evs, everr := m.Events(ctx, secrets.EventQuery{Workspace: "ws-pasted"})
	var pde *secrets.DotenvError
	if !errors.Is(err, secrets.ErrReservedName) || !errors.As(ierr, &pde) || pde.Reason != secrets.ErrReservedName || everr != nil || len(evs) == 0 {
		t.Fatalf("the pasted name: %v, %v, %d events, %v", err, ierr, len(evs), everr)
	}
	for _, s := range []string{err.Error(), ierr.Error(), fmt.Sprintf("%+v", evs)} {
		if strings.Contains(s, "Z9Z9") {
			t.Errorf("a refused name is quoted: %s", s)
		}
	}
	if ws, _ := m.CheckName("APP_HOME"); len(ws) != 1 {
		t.Errorf("APP_HOME: warnings %v", ws)
	}
	meta, err := m.Meta(ctx, "ws-APP_TOKEN", "APP_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rename(ctx, "ws-APP_TOKEN", "APP_TOKEN", "TOKEN", &secrets.WriteOptions{IfRevision: meta.Revision}); !errors.Is(err, secrets.ErrReservedName) {
		t.Errorf("Rename to TOKEN = %v", err)
	}
	var de *secrets.DotenvError
	if _, err := m.Import(ctx, "ws-APP_TOKEN", []byte("APP_X=1\nOTHER=2\n"), nil); !errors.As(err, &de) || de.Line != 2 || de.Reason != secrets.ErrReservedName {
		t.Errorf("Import = %v; want line 2 reserved", err)
	}
	if got, err := m.Meta(ctx, "ws-APP_TOKEN", "APP_TOKEN"); err != nil || got.Revision != meta.Revision {
		t.Errorf("a refused call changed APP_TOKEN: %+v, %v", got, err)
	}
	if _, err := m.Meta(ctx, "ws-APP_TOKEN", "APP_X"); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("a refused Import saved APP_X: %v", err)
	}

	for _, bad := range [][]string{nil, {""}, {"APP_["}, {"APP_*", "[a-"}} {
		if f, err := secrets.MatchNames(bad...); err == nil || f != nil {
			t.Errorf("MatchNames(%q) = %v; want an error", bad, err)
		}
	}
}

// Config.MaxNameLength has a ceiling that Postgres can index: New refuses
// more (a trial's 8,000 let a 6,000-byte name fail on Postgres only, with
// a driver error quoting it), and a name of the ceiling's length in a
// workspace of the longest identifier is stored and read back on every
// backend.
func TestMaxNameLengthCeiling(t *testing.T) {
	if _, err := secrets.New(secrets.NewMemoryStore(), newCipher(t), &secrets.Config{MaxNameLength: secrets.MaxMaxNameLength + 1}); err == nil {
		t.Fatal("New accepted a MaxNameLength over the ceiling")
	}
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{MaxNameLength: secrets.MaxMaxNameLength})
		ws := strings.Repeat("w", 256)
		name := strings.Repeat("N", secrets.MaxMaxNameLength)
		mustSet(t, m, ws, name, "long-name-value")
		if got := mustGet(t, m, ws, name); got != "long-name-value" {
			t.Fatal(got)
		}
	})
}
