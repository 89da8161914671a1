//go:build linux

package secrets_test

import (
	"compress/zlib"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHijackCaches: caches and object stores that a tool trusts without
// checking what it reads from them (an outside trial's finding). A
// directory the editor prepared anywhere the job can read, named by one
// variable, makes go build link, git check out and pip install code of
// the editor's choosing: their entries are looked up by keys computed
// from public inputs, and what an entry holds is not compared with the
// key again.
func TestHijackCaches(t *testing.T) {
	needGit := []string{"git"}
	runHijacks(t, []hijackCase{
		{"GOCACHE", []string{"GOCACHE"}, []string{"go"}, func(t *testing.T, w *hijackWork) hijackRun {
			dir, plant := forgedGoCache(t, w)
			// go build -o, not go run, whose linked program the cache
			// would keep: the attack's run links anew from the forged
			// package, and the cache of the user's go command takes no
			// entry built from it.
			return hijackRun{argv: []string{"sh", "-c", "rm -f app && go build -o app . && ./app"}, dir: dir, attack: []string{"GOCACHE=" + plant}}
		}},
		{"GIT_OBJECT_DIRECTORY", []string{"GIT_OBJECT_DIRECTORY"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			repo, blob := buildScriptRepo(t, w)
			store := filepath.Join(w.dir, "objects")
			plantBlob(t, w, store, blob)
			w.file(t, "objects/info/alternates", filepath.Join(repo, ".git", "objects")+"\n", 0o644)
			return hijackRun{argv: []string{"sh", "-c", "rm -f build.sh && git checkout -q -- build.sh && sh build.sh"}, dir: repo,
				attack: []string{"GIT_OBJECT_DIRECTORY=" + store}}
		}},
		{"GIT_ALTERNATE_OBJECT_DIRECTORIES", []string{"GIT_ALTERNATE_OBJECT_DIRECTORIES"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			src, blob := buildScriptRepo(t, w)
			hijackMust(t, w, src, "git", "config", "uploadpack.allowFilter", "true")
			store := filepath.Join(w.dir, "alt")
			plantBlob(t, w, store, blob)
			// A blobless clone, as CI systems make them: git fetches a
			// missing blob from its remote unless an alternate has it.
			return hijackRun{argv: []string{"sh", "-c", "rm -rf clone && git clone -q --no-checkout --filter=blob:none file://" + src + " clone && cd clone && git checkout -q HEAD -- build.sh && sh build.sh"},
				attack: []string{"GIT_ALTERNATE_OBJECT_DIRECTORIES=" + store}}
		}},
		{"PIP_CACHE_DIR", []string{"PIP_CACHE_DIR"}, []string{"python3"}, func(t *testing.T, w *hijackWork) hijackRun {
			return plantedWheel(t, w)
		}},
	})
}

// buildScriptRepo makes a repository whose one commit holds build.sh,
// which does nothing, and returns it with that file's blob ID.
func buildScriptRepo(t *testing.T, w *hijackWork) (repo, blob string) {
	t.Helper()
	repo = w.gitRepo(t, "src")
	w.file(t, "src/build.sh", "echo honest build\n", 0o644)
	hijackMust(t, w, repo, "git", "add", "build.sh")
	hijackMust(t, w, repo, "git", "commit", "-q", "-m", "build")
	return repo, hijackMust(t, w, repo, "git", "rev-parse", "HEAD:build.sh")
}

// plantBlob writes a loose object under blob's ID into store whose
// content runs the marker script: git reads it without hashing it again.
func plantBlob(t *testing.T, w *hijackWork, store, blob string) {
	t.Helper()
	body := w.script + "\n"
	var z strings.Builder
	zw := zlib.NewWriter(&z)
	fmt.Fprintf(zw, "blob %d\x00%s", len(body), body)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(w.dir, filepath.Join(store, blob[:2], blob[2:]))
	if err != nil {
		t.Fatal(err)
	}
	w.file(t, rel, z.String(), 0o444)
}

// forgedGoCache makes a module and a build cache that go build takes
// its package main from: the go command's own cache (every entry a
// symbolic link, so that the standard library is not built again), with
// the module's compiled package replaced by one whose init creates the
// marker and its entry's recorded size changed to match, which is all
// the go command checks. It returns the module's folder and the cache.
func forgedGoCache(t *testing.T, w *hijackWork) (dir, plant string) {
	t.Helper()
	w.file(t, "mod/go.mod", "module x\n\ngo 1.21\n", 0o644)
	w.file(t, "mod/main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"honest\") }\n", 0o644)
	dir = filepath.Join(w.dir, "mod")
	// The honest build's action graph names the action ID of package
	// main, by which the cache finds its compiled file.
	graph := filepath.Join(w.dir, "graph.json")
	hijackMust(t, w, dir, "go", "build", "-debug-actiongraph="+graph, "-o", os.DevNull, ".")
	b, err := os.ReadFile(graph)
	if err != nil {
		t.Fatal(err)
	}
	var actions []struct{ Mode, Package, ActionID string }
	if err := json.Unmarshal(b, &actions); err != nil {
		t.Fatal(err)
	}
	var id []byte
	for _, a := range actions {
		if a.Mode == "build" && a.Package == "x" {
			if id, err = base64.RawURLEncoding.DecodeString(a.ActionID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(id) == 0 {
		t.Fatalf("the action graph has no build of package main:\n%s", b)
	}
	prefix := hex.EncodeToString(id)
	entries, _ := filepath.Glob(filepath.Join(hijackGoCache, prefix[:2], prefix+"*-a"))
	if len(entries) != 1 {
		t.Fatalf("cache entries of action %s: %q", prefix, entries)
	}
	entry, err := os.ReadFile(entries[0])
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(entry)) // v1 action output size time
	if len(f) != 5 || f[0] != "v1" {
		t.Fatalf("cache entry %q", entry)
	}
	// The forged package main, compiled against the cached standard
	// library.
	cfg := hijackMust(t, w, dir, "go", "list", "-export", "-deps", "-f", "{{if .Export}}packagefile {{.ImportPath}}={{.Export}}{{end}}", ".")
	w.file(t, "importcfg", cfg+"\n", 0o644)
	src := w.file(t, "evil/main.go", fmt.Sprintf(`package main

import (
	"fmt"
	"syscall"
)

func init() {
	if fd, err := syscall.Open(%q, syscall.O_CREAT|syscall.O_WRONLY, 0o600); err == nil {
		syscall.Close(fd)
	}
}

func main() { fmt.Println("honest") }
`, w.mark), 0o644)
	// The go command takes a cached file only with a build ID in it,
	// which it does not compare with the entry: the honest one will do.
	buildID := hijackMust(t, w, dir, "go", "tool", "buildid", filepath.Join(hijackGoCache, f[2][:2], f[2]+"-d"))
	forged := filepath.Join(w.dir, "evil.a")
	hijackMust(t, w, dir, "go", "tool", "compile", "-p", "main", "-buildid", buildID, "-importcfg", filepath.Join(w.dir, "importcfg"), "-o", forged, "-pack", src)
	fi, err := os.Stat(forged)
	if err != nil {
		t.Fatal(err)
	}
	// The plant: every folder of the cache a link to the real one, but
	// the folders of the entry and its file, whose other files are links.
	plant = filepath.Join(w.dir, "plant")
	output := f[2] + "-d"
	own := map[string]bool{f[1][:2]: true, output[:2]: true}
	subs, err := os.ReadDir(hijackGoCache)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(plant, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		if !s.IsDir() {
			continue
		}
		real := filepath.Join(hijackGoCache, s.Name())
		if !own[s.Name()] {
			if err := os.Symlink(real, filepath.Join(plant, s.Name())); err != nil {
				t.Fatal(err)
			}
			continue
		}
		files, err := os.ReadDir(real)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(plant, s.Name()), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, e := range files {
			if e.Name() != filepath.Base(entries[0]) && e.Name() != output {
				if err := os.Symlink(filepath.Join(real, e.Name()), filepath.Join(plant, s.Name(), e.Name())); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// Trimmed a moment ago, as far as the go command can tell: it
	// trims a cache at most once a day.
	w.file(t, "plant/trim.txt", fmt.Sprintf("%d\n", time.Now().Unix()), 0o644)
	rel := func(p string) string { r, _ := filepath.Rel(w.dir, p); return r }
	b, err = os.ReadFile(forged)
	if err != nil {
		t.Fatal(err)
	}
	w.file(t, rel(filepath.Join(plant, output[:2], output)), string(b), 0o644)
	w.file(t, rel(filepath.Join(plant, f[1][:2], filepath.Base(entries[0]))),
		fmt.Sprintf("v1 %s %s %20d %20s\n", f[1], f[2], fi.Size(), f[4]), 0o644)
	return dir, plant
}

// plantedWheel prepares a package whose sdist pip builds, and a pip cache
// holding a wheel under that sdist's key whose module creates the marker:
// pip installs a cached wheel without comparing it with the sdist.
func plantedWheel(t *testing.T, w *hijackWork) hijackRun {
	t.Helper()
	exe, _, _, _ := python(t)
	if exec.Command(exe, "-c", "import setuptools, pip._internal.cache").Run() != nil {
		t.Skip("python3 has no pip or setuptools")
	}
	w.file(t, "src/setup.py", "from setuptools import setup\nsetup(name='foo', version='1.0', packages=['foo'])\n", 0o644)
	w.file(t, "src/foo/__init__.py", "", 0o644)
	vendor := filepath.Join(w.dir, "vendor")
	hijackMust(t, w, filepath.Join(w.dir, "src"), exe, "setup.py", "-q", "sdist", "-d", vendor)
	plant := filepath.Join(w.dir, "pipcache")
	forge := w.file(t, "forge.py", `import base64, hashlib, os, sys, zipfile
from pip._internal.cache import Cache
from pip._internal.models.format_control import FormatControl
from pip._internal.models.link import Link
from pip._internal.utils.urls import path_to_url
sdist, plant, body = sys.argv[1], sys.argv[2], sys.argv[3].encode()
files = {"foo/__init__.py": body,
         "foo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n",
         "foo-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
record = ["%s,sha256=%s,%d" % (n, base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode(), len(d)) for n, d in files.items()]
files["foo-1.0.dist-info/RECORD"] = ("\n".join(record + ["foo-1.0.dist-info/RECORD,,"]) + "\n").encode()
try:
    cache = Cache(plant)
except TypeError:  # pip before 23.3
    cache = Cache(plant, FormatControl(), {"binary"})
parts = cache._get_cache_path_parts(Link(path_to_url(sdist)))
d = os.path.join(plant, "wheels", *parts)
os.makedirs(d)
with zipfile.ZipFile(os.path.join(d, "foo-1.0-py3-none-any.whl"), "w") as z:
    for n, b in files.items():
        z.writestr(n, b)
`, 0o644)
	sdists, _ := filepath.Glob(filepath.Join(vendor, "*.tar.gz"))
	if len(sdists) != 1 {
		t.Fatalf("sdists: %q", sdists)
	}
	hijackMust(t, w, w.dir, exe, forge, sdists[0], plant, w.markPython())
	out := filepath.Join(w.dir, "out")
	return hijackRun{
		argv: []string{"sh", "-c", "rm -rf out && " + exe + " -m pip install -q --no-build-isolation --no-index --find-links " + vendor +
			" --target " + out + " foo && cd out && " + exe + " -c 'import foo'"},
		attack: []string{"PIP_CACHE_DIR=" + plant},
	}
}
