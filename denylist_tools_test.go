//go:build linux

package secrets_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestHijackInterpreters(t *testing.T) {
	py := func(t *testing.T, args ...string) []string {
		exe, _, _, _ := python(t)
		return append([]string{exe}, args...)
	}
	needPy := []string{"python3"}
	pip := func(t *testing.T, w *hijackWork, attack func(req string) []string) hijackRun {
		exe, _, _, _ := python(t)
		if exec.Command(exe, "-c", "import setuptools").Run() != nil || exec.Command(exe, "-m", "pip", "--version").Run() != nil {
			t.Skip("python3 has no pip or setuptools")
		}
		w.file(t, "pkg/setup.py", w.markPython()+"from setuptools import setup\nsetup(name='evilpkg', version='1')\n", 0o644)
		req := w.file(t, "req.txt", filepath.Join(w.dir, "pkg")+"\n", 0o644)
		return hijackRun{argv: py(t, "-m", "pip", "install", "--dry-run", "--no-build-isolation", "-q"), attack: attack(req)}
	}
	runHijacks(t, []hijackCase{
		{"PYTHONWARNINGS and BROWSER", []string{"PYTHONWARNINGS", "BROWSER"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: py(t, "-c", "pass"), attack: []string{"PYTHONWARNINGS=ignore::antigravity.x", "BROWSER=" + w.script}}
		}},
		{"PYTHONPATH", []string{"PYTHONPATH"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "pp/sitecustomize.py", w.markPython(), 0o644)
			return hijackRun{argv: py(t, "-c", "pass"), attack: []string{"PYTHONPATH=" + filepath.Join(w.dir, "pp")}}
		}},
		{"PYTHONHOME", []string{"PYTHONHOME"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			_, ver, _, _ := python(t)
			fakeStdlib(t, w, filepath.Join(w.dir, "pyhome", "lib", "python"+ver))
			return hijackRun{argv: py(t, "-c", "pass"), attack: []string{"PYTHONHOME=" + filepath.Join(w.dir, "pyhome")}}
		}},
		{"PYTHONPLATLIBDIR", []string{"PYTHONPLATLIBDIR"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			_, ver, prefix, _ := python(t)
			fakeStdlib(t, w, filepath.Join(w.dir, "plat", "python"+ver))
			rel, err := filepath.Rel(prefix, filepath.Join(w.dir, "plat"))
			if err != nil {
				t.Fatal(err)
			}
			return hijackRun{argv: py(t, "-c", "pass"), attack: []string{"PYTHONPLATLIBDIR=" + rel}}
		}},
		{"PYTHONUSERBASE", []string{"PYTHONUSERBASE"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			base := "PYTHONUSERBASE=" + filepath.Join(w.dir, "userbase")
			site := userSite(t, w, base)
			if err := os.MkdirAll(site, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(site, "evil.pth"), []byte("import os; "+w.markPython()), 0o644); err != nil {
				t.Fatal(err)
			}
			return hijackRun{argv: py(t, "-c", "pass"), attack: []string{base}}
		}},
		{"HOME (python user site)", []string{"HOME"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			home := "HOME=" + filepath.Join(w.dir, "evilhome")
			site := userSite(t, w, home)
			if err := os.MkdirAll(site, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(site, "evil.pth"), []byte("import os; "+w.markPython()), 0o644); err != nil {
				t.Fatal(err)
			}
			return hijackRun{argv: py(t, "-c", "pass"), attack: []string{home}}
		}},
		{"PYTHONSTARTUP", []string{"PYTHONSTARTUP"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: py(t, "-i"), attack: []string{"PYTHONSTARTUP=" + w.file(t, "startup.py", w.markPython(), 0o644)}}
		}},
		{"PYTHONBREAKPOINT", []string{"PYTHONBREAKPOINT"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "hookmod.py", "def hook(*a, **k):\n    "+w.markPython(), 0o644)
			return hijackRun{argv: py(t, "-c", "breakpoint()"), attack: []string{"PYTHONBREAKPOINT=hookmod.hook"}}
		}},
		{"PYTHONPYCACHEPREFIX", []string{"PYTHONPYCACHEPREFIX"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			src := w.file(t, "src/m.py", "x = 1\n", 0o644)
			evil := w.file(t, "evil.py", w.markPython(), 0o644)
			forge := w.file(t, "forge.py", `import importlib.util, marshal, os, sys
src, evil = sys.argv[1], sys.argv[2]
st = os.stat(src)
code = compile(open(evil).read(), src, "exec")
path = importlib.util.cache_from_source(src)
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "wb") as f:
    f.write(importlib.util.MAGIC_NUMBER + (0).to_bytes(4, "little")
            + (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
            + (st.st_size & 0xFFFFFFFF).to_bytes(4, "little") + marshal.dumps(code))
`, 0o644)
			prefix := "PYTHONPYCACHEPREFIX=" + filepath.Join(w.dir, "pyc")
			exe, _, _, _ := python(t)
			cmd := exec.Command(exe, forge, src, evil)
			cmd.Env = with(hijackBase(w), prefix)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("forging the .pyc: %v\n%s", err, out)
			}
			return hijackRun{argv: py(t, "-c", "import m"), dir: filepath.Dir(src), attack: []string{prefix}}
		}},
		{"PIP_REQUIREMENT", []string{"PIP_REQUIREMENT"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			return pip(t, w, func(req string) []string { return []string{"PIP_REQUIREMENT=" + req} })
		}},
		{"PIP_CONFIG_FILE", []string{"PIP_CONFIG_FILE"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			return pip(t, w, func(req string) []string {
				return []string{"PIP_CONFIG_FILE=" + w.file(t, "pip.conf", "[install]\nrequirement = "+req+"\n", 0o644)}
			})
		}},
		{"PIP_PYTHON", []string{"PIP_PYTHON"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: py(t, "-m", "pip", "--version"), attack: []string{"PIP_PYTHON=" + w.script}}
		}},
		{"XDG_CONFIG_DIRS", []string{"XDG_CONFIG_DIRS"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "xdg/pip/pip.conf", "[global]\npython = "+w.script+"\n", 0o644)
			return hijackRun{argv: py(t, "-m", "pip", "--version"), attack: []string{"XDG_CONFIG_DIRS=" + filepath.Join(w.dir, "xdg")}}
		}},
		{"PYENV_HOOK_PATH", []string{"PYENV_HOOK_PATH"}, []string{"pyenv"}, func(t *testing.T, w *hijackWork) hijackRun {
			root, err := exec.Command("pyenv", "root").Output()
			if err != nil {
				t.Skipf("pyenv root: %v", err)
			}
			w.file(t, "hooks/exec/evil.bash", ": > '"+w.mark+"'\n", 0o644)
			return hijackRun{argv: []string{"pyenv", "exec", "python", "-c", "pass"},
				env:    []string{"PYENV_ROOT=" + strings.TrimSpace(string(root))},
				attack: []string{"PYENV_HOOK_PATH=" + filepath.Join(w.dir, "hooks")}}
		}},
		{"NODE_OPTIONS", []string{"NODE_OPTIONS"}, []string{"node"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"node", "-e", "0"}, attack: []string{"NODE_OPTIONS=--require=" + w.file(t, "r.js", w.markJS(), 0o644)}}
		}},
		{"NODE_PATH", []string{"NODE_PATH"}, []string{"node"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "mods/optional-dep/index.js", w.markJS(), 0o644)
			return hijackRun{argv: []string{"node", "-e", "try { require('optional-dep') } catch (e) {}"},
				attack: []string{"NODE_PATH=" + filepath.Join(w.dir, "mods")}}
		}},
		{"NODE_REPL_EXTERNAL_MODULE", []string{"NODE_REPL_EXTERNAL_MODULE"}, []string{"node"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"node", "-i"}, attack: []string{"NODE_REPL_EXTERNAL_MODULE=" + w.file(t, "repl.js", w.markJS(), 0o644)}}
		}},
		{"NPM_CONFIG_SCRIPT_SHELL", []string{"NPM_CONFIG_SCRIPT_SHELL"}, []string{"npm"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "package.json", `{"name": "x", "version": "1.0.0", "scripts": {"build": "true"}}`, 0o644)
			return hijackRun{argv: []string{"npm", "run", "-s", "build"}, attack: []string{"NPM_CONFIG_SCRIPT_SHELL=" + w.script}}
		}},
		{"npm_config_script_shell", []string{"npm_config_script_shell"}, []string{"npm"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "package.json", `{"name": "x", "version": "1.0.0", "scripts": {"build": "true"}}`, 0o644)
			return hijackRun{argv: []string{"npm", "run", "-s", "build"}, attack: []string{"npm_config_script_shell=" + w.script}}
		}},
		{"NPM_CONFIG_USERCONFIG", []string{"NPM_CONFIG_USERCONFIG"}, []string{"npm"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "package.json", `{"name": "x", "version": "1.0.0", "scripts": {"build": "true"}}`, 0o644)
			rc := w.file(t, "npmrc", "script-shell="+w.script+"\n", 0o644)
			return hijackRun{argv: []string{"npm", "run", "-s", "build"}, attack: []string{"NPM_CONFIG_USERCONFIG=" + rc}}
		}},
		{"NPM_CONFIG_PREFIX", []string{"NPM_CONFIG_PREFIX", "npm_config_prefix"}, []string{"npm"}, func(t *testing.T, w *hijackWork) hijackRun {
			return npmPrefix(t, w, "NPM_CONFIG_PREFIX")
		}},
		{"PREFIX", []string{"PREFIX", "prefix"}, []string{"npm"}, func(t *testing.T, w *hijackWork) hijackRun {
			return npmPrefix(t, w, "PREFIX")
		}},
		{"PERL5OPT", []string{"PERL5OPT"}, []string{"perl"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "lib/Evil.pm", "package Evil;\n"+w.markPerl()+"1;\n", 0o644)
			return hijackRun{argv: []string{"perl", "-e", "1"}, attack: []string{"PERL5OPT=-I" + filepath.Join(w.dir, "lib") + " -MEvil"}}
		}},
		{"PERL5LIB", []string{"PERL5LIB", "PERLLIB"}, []string{"perl"}, func(t *testing.T, w *hijackWork) hijackRun {
			// A script's "use strict" loads the editor's strict.pm.
			w.file(t, "lib/strict.pm", "package strict;\n"+w.markPerl()+"sub import {}\nsub unimport {}\n1;\n", 0o644)
			return hijackRun{argv: []string{"perl", "-e", "use strict; 1"}, attack: []string{"PERL5LIB=" + filepath.Join(w.dir, "lib")}}
		}},
		{"PERL5DB", []string{"PERL5DB"}, []string{"perl"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"perl", "-d", "-e", "1"}, attack: []string{"PERL5DB=BEGIN { " + strings.TrimSpace(w.markPerl()) + " }"}}
		}},
	})
}

func TestHijackBuildTools(t *testing.T) {
	agent := func(name string, argv ...string) func(t *testing.T, w *hijackWork) hijackRun {
		return func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: argv, attack: []string{name + "=-agentpath:" + w.sharedObject(t, "agent.so")}}
		}
	}
	makefile := func(w *hijackWork, t *testing.T) {
		w.file(t, "Makefile", "all:\n\t@true\nclean:\n\t$(RM) nothing\n", 0o644)
	}
	toolexec := func(w *hijackWork) string { return "-toolexec=" + w.script }
	runHijacks(t, []hijackCase{
		{"JAVA_TOOL_OPTIONS", []string{"JAVA_TOOL_OPTIONS"}, []string{"gcc", "java"}, agent("JAVA_TOOL_OPTIONS", "java", "-version")},
		{"_JAVA_OPTIONS", []string{"_JAVA_OPTIONS"}, []string{"gcc", "java"}, agent("_JAVA_OPTIONS", "java", "-version")},
		{"JDK_JAVA_OPTIONS", []string{"JDK_JAVA_OPTIONS"}, []string{"gcc", "java"}, agent("JDK_JAVA_OPTIONS", "java", "-version")},
		{"MAVEN_OPTS", []string{"MAVEN_OPTS"}, []string{"gcc", "mvn"}, agent("MAVEN_OPTS", "mvn", "-v")},
		{"MAVEN_DEBUG_OPTS", []string{"MAVEN_DEBUG_OPTS"}, []string{"gcc", "mvn"}, agent("MAVEN_DEBUG_OPTS", "mvn", "-v")},
		{"JAVA_HOME", []string{"JAVA_HOME"}, []string{"mvn"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.markScript(t, "jdk/bin/java")
			return hijackRun{argv: []string{"mvn", "-v"}, attack: []string{"JAVA_HOME=" + filepath.Join(w.dir, "jdk")}}
		}},
		{"OPENSSL_CONF", []string{"OPENSSL_CONF"}, []string{"gcc", "openssl"}, func(t *testing.T, w *hijackWork) hijackRun {
			conf := w.file(t, "openssl.cnf", "openssl_conf = init\n[init]\nproviders = providers\n[providers]\nevil = evil\n[evil]\nmodule = "+
				w.sharedObject(t, "provider.so")+"\nactivate = 1\n", 0o644)
			return hijackRun{argv: []string{"openssl", "version"}, attack: []string{"OPENSSL_CONF=" + conf}}
		}},
		{"OPENSSL_MODULES", []string{"OPENSSL_MODULES"}, []string{"gcc", "openssl"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.sharedObject(t, "modules/evil.so")
			return hijackRun{argv: []string{"openssl", "list", "-providers", "-provider", "evil"}, attack: []string{"OPENSSL_MODULES=" + filepath.Join(w.dir, "modules")}}
		}},
		{"OPENSSL_ENGINES", []string{"OPENSSL_ENGINES"}, []string{"gcc", "openssl"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.sharedObject(t, "engines/evil.so")
			return hijackRun{argv: []string{"openssl", "engine", "evil"}, attack: []string{"OPENSSL_ENGINES=" + filepath.Join(w.dir, "engines")}}
		}},
		{"GOFLAGS", []string{"GOFLAGS"}, []string{"go"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"go", "build", "-o", os.DevNull, "."}, dir: goModule(t, w), attack: []string{"GOFLAGS=" + toolexec(w)}}
		}},
		{"GOENV", []string{"GOENV"}, []string{"go"}, func(t *testing.T, w *hijackWork) hijackRun {
			env := w.file(t, "goenv", "GOFLAGS="+toolexec(w)+"\n", 0o644)
			return hijackRun{argv: []string{"go", "build", "-o", os.DevNull, "."}, dir: goModule(t, w), attack: []string{"GOENV=" + env}}
		}},
		{"GOROOT", []string{"GOROOT"}, []string{"go"}, func(t *testing.T, w *hijackWork) hijackRun {
			out, err := exec.Command("go", "env", "GOHOSTOS", "GOHOSTARCH").Output()
			f := strings.Fields(string(out))
			if err != nil || len(f) != 2 {
				t.Fatalf("go env: %v", err)
			}
			w.markScript(t, "goroot/pkg/tool/"+f[0]+"_"+f[1]+"/evil")
			return hijackRun{argv: []string{"go", "tool", "evil"}, attack: []string{"GOROOT=" + filepath.Join(w.dir, "goroot")}}
		}},
		{"GOMODCACHE", []string{"GOMODCACHE"}, []string{"go"}, func(t *testing.T, w *hijackWork) hijackRun {
			cache := filepath.Join(w.dir, "modcache")
			return hijackRun{argv: []string{"go", "run", "."}, dir: forgedModCache(t, w, cache), attack: []string{"GOMODCACHE=" + cache}}
		}},
		{"GOPATH", []string{"GOPATH"}, []string{"go"}, func(t *testing.T, w *hijackWork) hijackRun {
			gopath := filepath.Join(w.dir, "evilgopath")
			return hijackRun{argv: []string{"go", "run", "."}, dir: forgedModCache(t, w, filepath.Join(gopath, "pkg", "mod")), attack: []string{"GOPATH=" + gopath}}
		}},
		{"MAKEFLAGS", []string{"MAKEFLAGS"}, []string{"make"}, func(t *testing.T, w *hijackWork) hijackRun {
			makefile(w, t)
			return hijackRun{argv: []string{"make", "-s"}, attack: []string{"MAKEFLAGS=SHELL=" + w.script}}
		}},
		{"GNUMAKEFLAGS", []string{"GNUMAKEFLAGS"}, []string{"make"}, func(t *testing.T, w *hijackWork) hijackRun {
			makefile(w, t)
			return hijackRun{argv: []string{"make", "-s"}, attack: []string{"GNUMAKEFLAGS=SHELL=" + w.script}}
		}},
		{"MAKEFILES", []string{"MAKEFILES"}, []string{"make"}, func(t *testing.T, w *hijackWork) hijackRun {
			makefile(w, t)
			return hijackRun{argv: []string{"make", "-s"}, attack: []string{"MAKEFILES=" + w.file(t, "extra.mk", "$(shell "+w.script+")\n", 0o644)}}
		}},
		{"RM", []string{"RM"}, []string{"make"}, func(t *testing.T, w *hijackWork) hijackRun {
			makefile(w, t)
			return hijackRun{argv: []string{"make", "-s", "clean"}, attack: []string{"RM=" + w.script}}
		}},
		{"MAKE", []string{"MAKE"}, []string{"make"}, func(t *testing.T, w *hijackWork) hijackRun {
			return recursiveMake(t, w, "MAKE")
		}},
		{"MAKE_COMMAND", []string{"MAKE_COMMAND"}, []string{"make"}, func(t *testing.T, w *hijackWork) hijackRun {
			return recursiveMake(t, w, "MAKE_COMMAND")
		}},
		{"LDSHARED", []string{"LDSHARED", "LDCXXSHARED"}, []string{"gcc", "python3"}, func(t *testing.T, w *hijackWork) hijackRun {
			exe, _, _, _ := python(t)
			if exec.Command(exe, "-c", "import setuptools").Run() != nil {
				t.Skip("python3 has no setuptools")
			}
			w.file(t, "ext/m.c", "int m;\n", 0o644)
			w.file(t, "ext/setup.py", "from setuptools import setup, Extension\nsetup(name='m', version='1', ext_modules=[Extension('m', ['m.c'])])\n", 0o644)
			// What pip runs to build a package's C extension.
			return hijackRun{argv: []string{exe, "setup.py", "-q", "build_ext", "--force", "-b", "out", "-t", "tmp"}, dir: filepath.Join(w.dir, "ext"),
				attack: []string{"LDSHARED=" + w.script}}
		}},
		{"CC", []string{"CC"}, []string{"make", "cc"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "x.c", "int main(void) { return 0; }\n", 0o644)
			return hijackRun{argv: []string{"make", "-s", "-B", "x"}, attack: []string{"CC=" + w.script}}
		}},
		{"CFLAGS", []string{"CFLAGS"}, []string{"make", "gcc"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "x.c", "int main(void) { return 0; }\n", 0o644)
			return hijackRun{argv: []string{"make", "-s", "-B", "x"}, env: []string{"CC=gcc"}, attack: []string{"CFLAGS=-wrapper " + w.script}}
		}},
		{"RUSTC_WRAPPER", []string{"RUSTC_WRAPPER"}, []string{"cargo"}, func(t *testing.T, w *hijackWork) hijackRun {
			r := crate(t, w)
			r.attack = []string{"RUSTC_WRAPPER=" + w.script}
			return r
		}},
		{"RUSTFLAGS", []string{"RUSTFLAGS"}, []string{"cargo"}, func(t *testing.T, w *hijackWork) hijackRun {
			r := crate(t, w)
			r.attack = []string{"RUSTFLAGS=-C linker=" + w.script}
			return r
		}},
		{"CARGO_HOME", []string{"CARGO_HOME"}, []string{"cargo"}, func(t *testing.T, w *hijackWork) hijackRun {
			r := crate(t, w)
			w.file(t, "cargohome/config.toml", "[build]\nrustc-wrapper = \""+w.script+"\"\n", 0o644)
			r.attack = []string{"CARGO_HOME=" + filepath.Join(w.dir, "cargohome")}
			return r
		}},
		{"CARGO_TARGET_<triple>_RUNNER", []string{"CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER"}, []string{"cargo", "rustc"}, func(t *testing.T, w *hijackWork) hijackRun {
			r := crate(t, w)
			out, err := exec.Command("rustc", "-vV").Output()
			_, host, found := strings.Cut(string(out), "host: ")
			if err != nil || !found {
				t.Skipf("rustc -vV names no host: %v", err)
			}
			host, _, _ = strings.Cut(host, "\n")
			r.argv = []string{"cargo", "run", "-q", "--offline"}
			r.attack = []string{"CARGO_TARGET_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(host)) + "_RUNNER=" + w.script}
			return r
		}},
		{"RUSTUP_TOOLCHAIN", []string{"RUSTUP_TOOLCHAIN"}, []string{"cargo", "rustup"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.markScript(t, "toolchain/bin/cargo")
			w.markScript(t, "toolchain/bin/rustc")
			return hijackRun{argv: []string{"cargo", "--version"}, attack: []string{"RUSTUP_TOOLCHAIN=" + filepath.Join(w.dir, "toolchain")}}
		}},
	})
}

// npmPrefix is npm run with a global npmrc under the prefix a variable
// names: its script-shell runs the script.
func npmPrefix(t *testing.T, w *hijackWork, name string) hijackRun {
	w.file(t, "package.json", `{"name": "x", "version": "1.0.0", "scripts": {"test": "true"}}`, 0o644)
	w.file(t, "prefix/etc/npmrc", "script-shell="+w.script+"\n", 0o644)
	return hijackRun{argv: []string{"npm", "test", "-s"}, attack: []string{name + "=" + filepath.Join(w.dir, "prefix")}}
}

// recursiveMake is a make whose makefile runs $(MAKE) -C sub, as
// recursive builds do.
func recursiveMake(t *testing.T, w *hijackWork, name string) hijackRun {
	w.file(t, "sub/Makefile", "all:\n\t@true\n", 0o644)
	w.file(t, "Makefile", "all:\n\t@$(MAKE) -s -C sub\n", 0o644)
	return hijackRun{argv: []string{"make", "-s"}, attack: []string{name + "=" + w.script}}
}
