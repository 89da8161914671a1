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
		// pip's cache (and go's, when GOCACHE is unset) lives under it.
		{"XDG_CACHE_HOME", []string{"XDG_CACHE_HOME"}, []string{"python3"}, func(t *testing.T, w *hijackWork) hijackRun {
			r := plantedWheel(t, w)
			w.file(t, "xdg/.keep", "", 0o644)
			if err := os.Symlink(strings.TrimPrefix(r.attack[0], "PIP_CACHE_DIR="), filepath.Join(w.dir, "xdg", "pip")); err != nil {
				t.Fatal(err)
			}
			r.attack = []string{"XDG_CACHE_HOME=" + filepath.Join(w.dir, "xdg")}
			return r
		}},
		{"CARGO_BUILD_TARGET_DIR", []string{"CARGO_BUILD_TARGET_DIR", "CARGO_TARGET_DIR"}, []string{"cargo", "rustc"}, func(t *testing.T, w *hijackWork) hijackRun {
			return plantedTarget(t, w, "CARGO_BUILD_TARGET_DIR")
		}},
		{"CARGO_TARGET_DIR", []string{"CARGO_TARGET_DIR"}, []string{"cargo", "rustc"}, func(t *testing.T, w *hijackWork) hijackRun {
			return plantedTarget(t, w, "CARGO_TARGET_DIR")
		}},
		{"TF_DATA_DIR", []string{"TF_DATA_DIR"}, []string{"terraform", "git"}, func(t *testing.T, w *hijackWork) hijackRun {
			return plantedTerraformModule(t, w)
		}},
		{"CARGO_BUILD_BUILD_DIR", []string{"CARGO_BUILD_BUILD_DIR"}, []string{"cargo", "rustc"}, func(t *testing.T, w *hijackWork) hijackRun {
			return plantedTarget(t, w, "CARGO_BUILD_BUILD_DIR")
		}},
		// Terraform's implied local mirrors: without a lock file, init
		// installs a provider found there, which plan then runs.
		{"XDG_DATA_DIRS", []string{"XDG_DATA_DIRS"}, []string{"terraform"}, func(t *testing.T, w *hijackWork) hijackRun {
			return plantedProvider(t, w, "XDG_DATA_DIRS")
		}},
		{"XDG_DATA_HOME", []string{"XDG_DATA_HOME"}, []string{"terraform"}, func(t *testing.T, w *hijackWork) hijackRun {
			return plantedProvider(t, w, "XDG_DATA_HOME")
		}},
	})
}

// plantedTarget builds a crate into a target directory of the editor's
// with cargo, replaces the built program with one that creates the
// marker and dates every file in the future: cargo compares only times
// to decide that a build is fresh, so cargo run runs the planted program.
func plantedTarget(t *testing.T, w *hijackWork, name string) hijackRun {
	t.Helper()
	w.file(t, "crate/Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n", 0o644)
	w.file(t, "crate/src/main.rs", "fn main() { println!(\"honest\"); }\n", 0o644)
	crate, plant := filepath.Join(w.dir, "crate"), filepath.Join(w.dir, "target-plant")
	build := exec.Command("cargo", "build", "-q", "--offline")
	build.Dir, build.Env = crate, with(hijackBase(w), name+"="+plant)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cargo build: %v\n%s", err, out)
	}
	evil := w.file(t, "evil.rs", fmt.Sprintf("fn main() { let _ = std::fs::write(%q, \"\"); }\n", w.mark), 0o644)
	hijackMust(t, w, w.dir, "rustc", "-o", filepath.Join(w.dir, "evil"), evil)
	prog, err := os.ReadFile(filepath.Join(w.dir, "evil"))
	if err != nil {
		t.Fatal(err)
	}
	future := time.Now().AddDate(10, 0, 0)
	err = filepath.WalkDir(plant, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if fi, err := d.Info(); err == nil && d.Type().IsRegular() && fi.Mode()&0o100 != 0 && strings.HasPrefix(d.Name(), "app") {
			if err := os.WriteFile(p, prog, 0o755); err != nil {
				return err
			}
		}
		return os.Chtimes(p, future, future)
	})
	if err != nil {
		t.Fatal(err)
	}
	return hijackRun{argv: []string{"sh", "-c", "rm -rf target && cargo run -q --offline"}, dir: crate, attack: []string{name + "=" + plant}}
}

// plantedTerraformModule makes a configuration that uses a module from a
// git repository, and a data directory of the editor's that records the
// module as installed, from a folder of the editor's: terraform init then
// keeps it, and apply runs its provisioner. A lock file does not help:
// modules have no recorded hashes.
func plantedTerraformModule(t *testing.T, w *hijackWork) hijackRun {
	t.Helper()
	resource := func(cmd string) string {
		return "resource \"terraform_data\" \"x\" {\n  provisioner \"local-exec\" {\n    command = \"" + cmd + "\"\n  }\n}\n"
	}
	repo := w.gitRepo(t, "modrepo")
	w.file(t, "modrepo/main.tf", resource("echo honest"), 0o644)
	hijackMust(t, w, repo, "git", "add", "main.tf")
	hijackMust(t, w, repo, "git", "commit", "-q", "-m", "module")
	source := "git::file://" + repo
	w.file(t, "job/main.tf", "module \"m\" {\n  source = \""+source+"\"\n}\n", 0o644)
	plant := filepath.Join(w.dir, "tfdata")
	w.file(t, "tfdata/modules/m/main.tf", resource(w.script), 0o644)
	index, err := json.Marshal(map[string]any{"Modules": []map[string]string{
		{"Key": "", "Source": "", "Dir": "."},
		{"Key": "m", "Source": source, "Dir": filepath.Join(plant, "modules", "m")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	w.file(t, "tfdata/modules/modules.json", string(index), 0o644)
	return hijackRun{
		argv: []string{"sh", "-c", "rm -rf .terraform terraform.tfstate* .terraform.lock.hcl && " +
			"terraform init -input=false -no-color >/dev/null && terraform apply -auto-approve -input=false -no-color"},
		dir: filepath.Join(w.dir, "job"), env: []string{"CHECKPOINT_DISABLE=1", "TF_CLI_CONFIG_FILE=" + os.DevNull},
		attack: []string{"TF_DATA_DIR=" + plant},
	}
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

// plantedProvider puts a provider that creates the marker where
// terraform looks for providers below the named folder, and a
// configuration that needs it, without a lock file.
func plantedProvider(t *testing.T, w *hijackWork, name string) hijackRun {
	t.Helper()
	w.file(t, "data/terraform/plugins/registry.terraform.io/hashicorp/null/3.2.2/linux_amd64/terraform-provider-null_v3.2.2_x5",
		"#!/bin/sh\n: > '"+w.mark+"'\nexit 1\n", 0o755)
	w.file(t, "tf/main.tf", "terraform {\n  required_providers {\n    null = { source = \"hashicorp/null\" }\n  }\n}\nresource \"null_resource\" \"x\" {}\n", 0o644)
	return hijackRun{
		argv: []string{"sh", "-c", "rm -rf .terraform .terraform.lock.hcl; terraform init -input=false -no-color && terraform plan -input=false -no-color"},
		dir:  filepath.Join(w.dir, "tf"), env: []string{"CHECKPOINT_DISABLE=1", "TF_CLI_CONFIG_FILE=" + os.DevNull},
		attack: []string{name + "=" + filepath.Join(w.dir, "data")},
	}
}
