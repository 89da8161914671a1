//go:build linux

package secrets_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// toolchainNames are the names an outside trial found Set accepting with
// the default configuration although their value makes a toolchain's
// helper or a tool beside it run the editor's code (denylist_toolchains.go
// and the configure and groff entries), with the cc crate's per-target
// forms of each common architecture.
var toolchainNames = []string{
	"PYTHON", "NPM_CONFIG_PYTHON", "npm_config_python", "NODE_GYP_FORCE_PYTHON", "NPM_CONFIG_MAKE", "npm_config_make",
	"MAVEN_BASEDIR", "GOPACKAGESDRIVER",
	"HOST_CC", "HOST_CXX", "HOST_AR", "HOST_CFLAGS", "HOST_CXXFLAGS", "HOST_ARFLAGS",
	"TARGET_CC", "TARGET_CXX", "TARGET_AR", "TARGET_CFLAGS", "TARGET_CXXFLAGS", "TARGET_ARFLAGS",
	"CC_x86_64_unknown_linux_gnu", "CXX_x86_64_unknown_linux_musl", "AR_aarch64_unknown_linux_gnu",
	"CFLAGS_i686_pc_windows_msvc", "CXXFLAGS_i586_unknown_linux_gnu", "ARFLAGS_arm_unknown_linux_gnueabi",
	"CC_armv7_unknown_linux_gnueabihf", "CC_armv7a_none_eabi", "CC_thumbv7em_none_eabihf", "CC_riscv64gc_unknown_linux_gnu",
	"CC_wasm32_unknown_unknown", "CC_wasm32_wasip1", "CC_wasm64_unknown_unknown", "CC_powerpc64le_unknown_linux_gnu",
	"CC_s390x_unknown_linux_gnu", "CC_mips64el_unknown_linux_gnuabi64", "CC_sparc64_unknown_linux_gnu",
	"CC_loongarch64_unknown_linux_gnu", "AR_aarch64_apple_darwin",
	"CARGO_ALIAS_CLIPPY", "cargo_alias_b", "PIP_CONSTRAINT", "PIP_BUILD_CONSTRAINT",
	"DOCKER_CONFIG", "RSYNC_RSH", "RSYNC_CONNECT_PROG",
	"AWK", "INSTALL", "NM", "RANLIB", "STRIP",
	"GROFF_FONT_PATH", "TF_CLI_CONFIG_FILE", "TERRAFORM_CONFIG", "TF_CLI_ARGS", "TF_CLI_ARGS_init", "tf_cli_args_plan",
	"SYSTEMD_LESS", "PYO3_PYTHON", "PROTOC", "LIBCLANG_PATH", "LLVM_CONFIG_PATH", "DOTNET_ADDITIONAL_DEPS",
}

// toolchainOrdinary are ordinary names beside the toolchains' entries that
// stay accepted: the per-target prefixes name architectures, not CC_.
var toolchainOrdinary = []string{
	"CC_EMAIL", "CC_RECIPIENTS", "HOSTNAME", "HOST_URL", "TARGET_URL", "TARGET_ENV", "AR_INVOICE",
	"CFLAGS_EXTRA", "ARM_CLIENT_SECRET", "PYTHON_VERSION", "PROTOC_VERSION", "DOCKER_PASSWORD",
	"RSYNC_PASSWORD", "CARGO_REGISTRY_TOKEN", "INSTALL_DIR", "AWS_REGION",
}

// TestDenyToolchainNames: Set refuses every name of the trial, in any case,
// with ErrReservedName by default and with the stricter preset, and
// accepts the ordinary names beside them.
func TestDenyToolchainNames(t *testing.T) {
	ctx := context.Background()
	for _, strict := range []bool{false, true} {
		m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{StrictNames: strict})
		for _, name := range toolchainNames {
			for _, n := range []string{name, strings.ToUpper(name), strings.ToLower(name)} {
				if _, err := m.Set(ctx, "ws", n, []byte("x"), nil); !errors.Is(err, secrets.ErrReservedName) {
					t.Errorf("strict=%v: Set(%s) = %v; want ErrReservedName", strict, n, err)
				}
			}
		}
		if strict {
			continue
		}
		for _, name := range toolchainOrdinary {
			if _, err := m.Set(ctx, "ws", name, []byte("x"), nil); err != nil {
				t.Errorf("Set(%s) = %v; an ordinary name is refused", name, err)
			}
		}
	}
}

// TestHijackToolchainTools: the trial's hijacks of programs cheap to run
// here (rsync, groff, a configure script autoconf generates) with the
// real programs, which scripts/test installs.
func TestHijackToolchainTools(t *testing.T) {
	// configure is ./configure -q of a configure.ac that looks for awk and
	// install and writes a Makefile whose install rule runs @INSTALL@.
	configure := func(t *testing.T, w *hijackWork) string {
		needProgram(t, "autoconf")
		needProgram(t, "make")
		w.file(t, "ac/configure.ac", "AC_INIT([x], [1])\nAC_PROG_AWK\nAC_PROG_INSTALL\nAC_CONFIG_FILES([Makefile])\nAC_OUTPUT\n", 0o644)
		w.file(t, "ac/Makefile.in", "install:\n\t@INSTALL@ -m 644 configure.ac installed.ac\n", 0o644)
		// AC_PROG_INSTALL wants install-sh beside configure.ac, as
		// automake puts it there; configure finds the system's install.
		w.file(t, "ac/install-sh", "#!/bin/sh\nexit 1\n", 0o755)
		dir := filepath.Join(w.dir, "ac")
		hijackMust(t, w, dir, "autoconf")
		return dir
	}
	runHijacks(t, []hijackCase{
		// Without the attack rsync runs false as its remote shell: no ssh
		// is started.
		{"rsync RSYNC_RSH", []string{"RSYNC_RSH"}, []string{"rsync"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "src/a", "a\n", 0o644)
			return hijackRun{argv: []string{"rsync", "-a", "src/", "127.0.0.1:dst"},
				env: []string{"RSYNC_RSH=false"}, attack: []string{"RSYNC_RSH=" + w.script}}
		}},
		// Port 1 of the loopback refuses the connection the control run
		// makes.
		{"rsync RSYNC_CONNECT_PROG", []string{"RSYNC_CONNECT_PROG"}, []string{"rsync"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "src/a", "a\n", 0o644)
			return hijackRun{argv: []string{"rsync", "-a", "src/", "rsync://127.0.0.1:1/mod/"},
				attack: []string{"RSYNC_CONNECT_PROG=" + w.script}}
		}},
		// The Google Cloud CLI's launchers: without the attack they run
		// true in place of Python (or Python on a program of one
		// expression), so no gcloud command starts.
		{"gcloud CLOUDSDK_PYTHON", []string{"CLOUDSDK_PYTHON"}, []string{"gcloud"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"gcloud", "version"}, env: []string{"CLOUDSDK_PYTHON=true"}, attack: []string{"CLOUDSDK_PYTHON=" + w.script}}
		}},
		{"gcloud CLOUDSDK_PYTHON_ARGS", []string{"CLOUDSDK_PYTHON_ARGS"}, []string{"gcloud"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"gcloud", "version"}, env: []string{"CLOUDSDK_PYTHON_ARGS=-c0"},
				attack: []string{"CLOUDSDK_PYTHON_ARGS=-c__import__('os').system('" + w.script + "')"}}
		}},
		{"gsutil CLOUDSDK_GSUTIL_PYTHON", []string{"CLOUDSDK_GSUTIL_PYTHON"}, []string{"gsutil"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"gsutil", "version"}, env: []string{"CLOUDSDK_GSUTIL_PYTHON=true"}, attack: []string{"CLOUDSDK_GSUTIL_PYTHON=" + w.script}}
		}},
		{"bq CLOUDSDK_BQ_PYTHON", []string{"CLOUDSDK_BQ_PYTHON"}, []string{"bq"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"bq", "version"}, env: []string{"CLOUDSDK_BQ_PYTHON=true"}, attack: []string{"CLOUDSDK_BQ_PYTHON=" + w.script}}
		}},
		// docker runs each plugin of the configuration directory's
		// cli-plugins/ for its metadata when a command looks for one.
		{"docker DOCKER_CONFIG", []string{"DOCKER_CONFIG"}, []string{"docker"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "cfg/cli-plugins/docker-compose", "#!/bin/sh\n: > '"+w.mark+"'\nexit 0\n", 0o755)
			return hijackRun{argv: []string{"docker", "compose", "version"}, attack: []string{"DOCKER_CONFIG=" + filepath.Join(w.dir, "cfg")}}
		}},
		// An alias in place of clippy (an external subcommand) whose
		// options give cargo a rustc wrapper: cargo runs it at once
		// (wrapper rustc -vV).
		{"cargo CARGO_ALIAS_", []string{"CARGO_ALIAS_CLIPPY"}, []string{"cargo"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "crate/Cargo.toml", "[package]\nname = \"x\"\nversion = \"0.1.0\"\nedition = \"2021\"\n", 0o644)
			w.file(t, "crate/src/main.rs", "fn main() {}\n", 0o644)
			return hijackRun{argv: []string{"cargo", "clippy", "-q", "--offline"}, dir: filepath.Join(w.dir, "crate"),
				env:    []string{"CARGO_TARGET_DIR=" + filepath.Join(w.dir, "target")},
				attack: []string{"CARGO_ALIAS_CLIPPY=check --config=build.rustc-wrapper='" + w.script + "'"}}
		}},
		// A configuration whose dev_overrides take the provider of a
		// module from the editor's directory: terraform plan runs it (a
		// job trial found the older name accepted). Without the attack
		// plan stops at once: the module was never initialised.
		{"terraform TF_CLI_CONFIG_FILE", []string{"TF_CLI_CONFIG_FILE"}, []string{"terraform"}, func(t *testing.T, w *hijackWork) hijackRun {
			return terraformHijack(t, w, "TF_CLI_CONFIG_FILE")
		}},
		{"terraform TERRAFORM_CONFIG", []string{"TERRAFORM_CONFIG"}, []string{"terraform"}, func(t *testing.T, w *hijackWork) hijackRun {
			return terraformHijack(t, w, "TERRAFORM_CONFIG")
		}},
		// init installs the providers of a plugin directory, which plan
		// runs. No control run: init would reach the registry.
		{"terraform TF_CLI_ARGS_", []string{"TF_CLI_ARGS_INIT"}, []string{"terraform"}, func(t *testing.T, w *hijackWork) hijackRun {
			run := terraformHijack(t, w, "")
			w.file(t, "plugins/registry.terraform.io/hashicorp/null/3.2.0/linux_amd64/terraform-provider-null_v3.2.0", "#!/bin/sh\n: > '"+w.mark+"'\nexit 1\n", 0o755)
			run.argv = []string{"sh", "-c", "terraform init -input=false -no-color && terraform plan -input=false -no-color"}
			run.attack, run.noControl = []string{"TF_CLI_ARGS_init=-plugin-dir=" + filepath.Join(w.dir, "plugins")}, true
			return run
		}},
		// A DESC and one font of a minimal device: troff warns of the
		// characters it lacks, and groff runs the DESC's postpro.
		{"groff GROFF_FONT_PATH", []string{"GROFF_FONT_PATH"}, []string{"groff"}, func(t *testing.T, w *hijackWork) hijackRun {
			post := w.file(t, "bin/post", "#!/bin/sh\n: > '"+w.mark+"'\ncat >/dev/null\nexit 0\n", 0o755)
			w.file(t, "font/devutf8/DESC", "res 240\nhor 24\nvert 40\nunitwidth 10\nsizes 10 0\nfonts 1 R\ntcommand\npostpro "+post+"\n", 0o644)
			w.file(t, "font/devutf8/R", "name R\nspacewidth 24\ncharset\na\t24\t0\t97\n", 0o644)
			w.file(t, "x.1", ".TH X 1\nhello\n", 0o644)
			return hijackRun{argv: []string{"groff", "-man", "-Tutf8", "x.1"},
				attack: []string{"GROFF_FONT_PATH=" + filepath.Join(w.dir, "font")}}
		}},
		{"configure AWK", []string{"AWK"}, []string{"sh"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"./configure", "-q"}, dir: configure(t, w), attack: []string{"AWK=" + w.script}}
		}},
		{"configure INSTALL", []string{"INSTALL"}, []string{"sh"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"sh", "-c", "./configure -q && make -s install"}, dir: configure(t, w),
				attack: []string{"INSTALL=" + w.script}}
		}},
	})
}

// TestHijackNotGroffTmac is the evidence for leaving GROFF_TMAC_PATH out:
// groff reads macro files from it, but runs them in its safer mode, which
// refuses the requests that run commands or write files, unless -U is
// given.
func TestHijackNotGroffTmac(t *testing.T) {
	needProgram(t, "groff")
	dir := t.TempDir()
	mark := filepath.Join(dir, "MARK")
	tmac := ".sy touch " + mark + "\n.pso touch " + mark + "\n.opena f " + mark + "\n"
	for _, f := range []string{"an.tmac", "andoc.tmac"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(tmac), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	page := filepath.Join(dir, "x.1")
	if err := os.WriteFile(page, []byte(".TH X 1\nhello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		cmd := exec.Command("groff", append(args, "-man", "-Tutf8", page)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GROFF_TMAC_PATH=" + dir}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("groff %v: %v\n%s", args, err, out)
		}
	}
	run()
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("a macro file of GROFF_TMAC_PATH ran a command without -U: deny the name")
	}
	// The control: the same file runs its commands when groff is unsafe,
	// so the file is read from GROFF_TMAC_PATH.
	run("-U")
	if _, err := os.Stat(mark); err != nil {
		t.Fatal("groff -U did not run the macro file of GROFF_TMAC_PATH: the test shows nothing")
	}
}

// terraformHijack is the run of a module of one null_resource, with a CLI
// configuration in the variable name whose dev_overrides take the null
// provider from a directory holding the editor's program.
func terraformHijack(t *testing.T, w *hijackWork, name string) hijackRun {
	w.file(t, "prov/terraform-provider-null", "#!/bin/sh\n: > '"+w.mark+"'\nexit 1\n", 0o755)
	cfg := w.file(t, "cli.tfrc", "provider_installation {\n  dev_overrides {\n    \"hashicorp/null\" = \""+filepath.Join(w.dir, "prov")+"\"\n  }\n  direct {}\n}\n", 0o644)
	w.file(t, "mod/main.tf", "terraform {\n  required_providers {\n    null = { source = \"hashicorp/null\" }\n  }\n}\nresource \"null_resource\" \"x\" {}\n", 0o644)
	return hijackRun{argv: []string{"terraform", "plan", "-input=false", "-no-color"}, dir: filepath.Join(w.dir, "mod"),
		env: []string{"CHECKPOINT_DISABLE=1"}, attack: []string{name + "=" + cfg}}
}
