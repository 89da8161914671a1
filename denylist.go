package secrets

import "slices"

// The deny-list.
//
// A secret becomes an environment variable of every job of its workspace,
// and the platform's own steps (a git clone, a pip install, a go build) run
// in that environment before and beside the user's code. A name is refused
// by default when setting it lets whoever edits the workspace make a
// program such a step commonly runs load or run code of the editor's
// choosing: a library, module, script or command it names, options that
// load agents or plugins, or a configuration file or directory that can
// name such things. A value that is a path counts: editors can control
// files a job reaches (the repository checkout, file secrets, what an
// earlier step writes). [Config.AllowNames] lets a host permit a name it
// decides otherwise about. names.go checks the tiers in order and holds
// the patterns of names that are only warned about.
//
// Variables that only redirect traffic or trust (proxies, package indexes,
// CA bundles, resolver settings) are legitimate secrets in many companies;
// they form the stricter preset, which a host switches on. So do names
// commonly used for credential files that can also name a command.
//
// Each entry says which program acts on the variable, what the value makes
// it do, and where that is documented; "reproduced" means a test of this
// package shows it with the real program (see denylist_test.go; checked by
// TestDenyReproducedHaveCases), "a trial reproduced it" that an outside
// trial did, with programs or crates the tests do not have offline.

// A hijack is a variable, or a family of variables sharing a prefix, that
// lets its value take over (default list) or redirect (strict preset) the
// processes that receive it.
type hijack struct {
	name    string // upper case
	prefix  bool   // name is a prefix: every variable starting with it
	program string // the programs that act on it
	reason  string // what the value makes them do; one line
	source  string // man page section or documentation URL
}

// Sources used by several entries.
const (
	srcLdSo      = "ld.so(8) ENVIRONMENT; https://man7.org/linux/man-pages/man8/ld.so.8.html"
	srcBashVars  = "bash(1) Shell Variables; https://www.gnu.org/software/bash/manual/html_node/Bash-Variables.html"
	srcBashPrmpt = "bash(1) PROMPTING; https://www.gnu.org/software/bash/manual/html_node/Controlling-the-Prompt.html"
	srcGit       = "git(1) ENVIRONMENT VARIABLES; https://git-scm.com/docs/git#_environment_variables"
	srcGitConfig = "git-config(1) ENVIRONMENT and FILES; https://git-scm.com/docs/git-config#ENVIRONMENT"
	srcGitVar    = "git-var(1) GIT_EDITOR, GIT_PAGER; https://git-scm.com/docs/git-var"
	srcPython    = "python(1) ENVIRONMENT; https://docs.python.org/3/using/cmdline.html#environment-variables"
	srcPip       = "https://pip.pypa.io/en/stable/topics/configuration/#environment-variables"
	srcNode      = "node(1) ENVIRONMENT; https://nodejs.org/api/cli.html#environment-variables"
	srcNpm       = "npm-config(7) (npm_config_* and NPM_CONFIG_* read alike); https://docs.npmjs.com/cli/v11/using-npm/config"
	srcPerl      = "perlrun(1) ENVIRONMENT; https://perldoc.perl.org/perlrun#ENVIRONMENT"
	srcRuby      = "ruby(1) ENVIRONMENT; https://docs.ruby-lang.org/ja/latest/doc/spec=2fenvvars.html"
	srcRubyGems  = "https://guides.rubygems.org/command-reference/#gem-environment; https://guides.rubygems.org/plugins/"
	srcOpenSSL   = "openssl-env(7); https://docs.openssl.org/3.0/man7/openssl-env/"
	srcGo        = "go help environment; https://pkg.go.dev/cmd/go#hdr-Environment_variables"
	srcCgo       = "https://pkg.go.dev/cmd/cgo (flags from the environment are not checked)"
	srcCargoEnv  = "https://doc.rust-lang.org/cargo/reference/environment-variables.html"
	srcCargoConf = "https://doc.rust-lang.org/cargo/reference/config.html (every key can be set as CARGO_<KEY>)"
	srcRustup    = "https://rust-lang.github.io/rustup/environment-variables.html"
	srcLess      = "less(1) ENVIRONMENT VARIABLES, INPUT PREPROCESSOR; https://man7.org/linux/man-pages/man1/less.1.html"
	srcLesskey   = "less(1) ENVIRONMENT VARIABLES, lesskey(1) #env section; https://man7.org/linux/man-pages/man1/lesskey.1.html"
	srcJVMTI     = "JVMTI: Command-Line Option Environment Variable; https://docs.oracle.com/en/java/javase/17/docs/specs/jvmti.html#tooloptions"
	srcJavaCmd   = "java(1); https://docs.oracle.com/en/java/javase/17/docs/specs/man/java.html"
	srcMaven     = "https://maven.apache.org/configure.html"
	srcGradle    = "https://docs.gradle.org/current/userguide/build_environment.html"
	srcPyenv     = "pyenv README, Environment variables; https://github.com/pyenv/pyenv#environment-variables"
	srcRbenv     = "rbenv README, Environment variables; https://github.com/rbenv/rbenv#environment-variables"
	srcResolver  = "resolv.conf(5), hostname(7); https://man7.org/linux/man-pages/man5/resolv.conf.5.html"
	srcCurlEnv   = "curl(1) ENVIRONMENT; https://curl.se/docs/manpage.html#ENVIRONMENT"
	srcDotnet    = "https://learn.microsoft.com/en-us/dotnet/core/runtime-config/debugging-profiling"
	srcPHP       = "https://www.php.net/manual/en/configuration.file.php (auto_prepend_file in an ini file runs PHP)"
	srcPsql      = "psql(1) ENVIRONMENT and Files; https://www.postgresql.org/docs/current/app-psql.html#APP-PSQL-ENVIRONMENT"
	srcVim       = "vim(1) ENVIRONMENT, :help initialization; https://vimhelp.org/starting.txt.html#initialization"
	srcHg        = "hg(1) ENVIRONMENT VARIABLES; https://www.mercurial-scm.org/doc/hg.1.html#environment-variables"
	srcGh        = "gh help environment; https://cli.github.com/manual/gh_help_environment"
	srcSystemd   = "systemctl(1) ENVIRONMENT; https://www.freedesktop.org/software/systemd/man/latest/systemctl.html#Environment"
	srcLua       = "lua(1); https://www.lua.org/manual/5.4/manual.html#7 and #pdf-package.path"
	srcErl       = "erl(1) Environment variables; https://www.erlang.org/doc/apps/erts/erl_cmd.html#environment-variables"
	srcLein      = "Leiningen's lein script; https://github.com/technomancy/leiningen/blob/stable/bin/lein"
	srcAnt       = "https://ant.apache.org/manual/running.html#envvars"
	srcRStartup  = "R Startup; https://stat.ethz.ch/R-manual/R-devel/library/base/html/Startup.html"
	srcRLibs     = "R .libPaths; https://stat.ethz.ch/R-manual/R-devel/library/base/html/libPaths.html"
	srcTcl       = "tclvars(n); https://www.tcl-lang.org/man/tcl8.6/TclCmd/tclvars.htm"
	srcJulia     = "https://docs.julialang.org/en/v1/manual/environment-variables/"
)

const (
	whyCgo    = "passed to the C compiler by cgo during go build without the checks #cgo lines get: -wrapper or -fplugin run code of the editor's"
	whyNpmCmd = "npm runs this command"
	whyPrompt = "an interactive bash expands it, command substitution included, at every prompt; a debugging terminal opened on a job's environment runs it"
	whyJVM    = "JVM options its launch script passes: -javaagent and -agentpath load code, -XX:OnOutOfMemoryError=<command> runs a command"
	whyErl    = "added to the command line of every erl (mix, rebar3, elixir included): -eval runs an expression, -s and -run call functions, -pa adds code directories"
	whyRLibs  = "library directories R searches first: library() loads the editor's package, whose .onLoad runs"
)

// hijacks is the default deny-list: names that make a program a job
// commonly runs load or run code chosen by whoever sets them. The build
// systems' entries (compilers, make, autoconf, CMake) are in
// denylist_build.go, those of language toolchains' helpers (node-gyp,
// cargo build scripts, go/packages) and of tools a job runs beside them
// (rsync, docker, terraform) in denylist_toolchains.go, the shells' own
// variables, which would make a sourced export run code or stop, in
// denylist_shell.go.
var hijacks = slices.Concat(programHijacks, buildHijacks, toolchainHijacks, shellHijacks)

// programHijacks are the entries of loaders, shells, editors,
// interpreters, package managers and language toolchains.
var programHijacks = []hijack{
	// The dynamic loader and libc.
	{"LD_", true, "ld.so (glibc dynamic loader)", "ld.so loads the shared objects it names into every dynamically linked program (LD_PRELOAD, LD_AUDIT, reproduced) or looks for libraries there first (LD_LIBRARY_PATH)", srcLdSo},
	{"DYLD_", true, "dyld (macOS dynamic loader)", "dyld inserts the libraries it names into programs (DYLD_INSERT_LIBRARIES) or looks for libraries and frameworks there first (DYLD_LIBRARY_PATH, DYLD_FRAMEWORK_PATH)", "dyld(1) ENVIRONMENT VARIABLES (macOS manual page)"},
	{"GLIBC_TUNABLES", false, "ld.so, glibc malloc", "parsed by the loader before any program code runs, and its parser had an overflow that ran code (CVE-2023-4911); it reaches loader and allocator internals that no job needs to set", "https://www.gnu.org/software/libc/manual/html_node/Tunables.html; https://nvd.nist.gov/vuln/detail/CVE-2023-4911"},
	{"GCONV_PATH", false, "glibc iconv (iconv, any program converting character sets)", "iconv_open loads character-set converters, which are shared objects, from the gconv-modules of these directories (reproduced with iconv)", "https://www.gnu.org/software/libc/manual/html_node/glibc-iconv-Implementation.html"},

	// Shells: POSIX sh (dash), bash, zsh.
	{"PATH", false, "every shell, execvp, env, git, make", "decides which file every command name runs (git, python3, sh)", "POSIX XBD 8.3 Other Environment Variables; https://pubs.opengroup.org/onlinepubs/9699919799/basedefs/V1_chap08.html"},
	{"ENV", false, "sh (dash), bash in POSIX mode", "an interactive POSIX shell runs the file it names before its first prompt (reproduced with dash -i)", "dash(1) Invocation; https://pubs.opengroup.org/onlinepubs/9699919799/utilities/sh.html#tag_20_117_08"},
	{"BASH_ENV", false, "bash", "every non-interactive bash (bash -c, bash script.sh, #!/bin/bash) runs the file it names first (reproduced)", "bash(1) INVOCATION; https://www.gnu.org/software/bash/manual/html_node/Bash-Startup-Files.html"},
	{"BASH_FUNC_", true, "bash", "bash imports exported functions from BASH_FUNC_<name>%% variables, redefining any command a script calls (reproduced); that form already fails the name rule, and the prefix keeps the family out whatever the rule becomes", "bash(1) export -f; https://nvd.nist.gov/vuln/detail/CVE-2014-6271"},
	{"SHELLOPTS", false, "bash", "bash turns these set -o options on before reading any script: noexec makes every bash script skip its commands and exit 0 (reproduced), xtrace makes it expand PS4 before every command", srcBashVars},
	{"BASHOPTS", false, "bash", "bash turns these shopt options on before reading any script, changing which files a platform script's globs match and which branches its tests take (nullglob, dotglob, nocasematch...)", srcBashVars},
	{"PS4", false, "bash", "with xtrace on (set -x, common in CI scripts) bash expands it before every command, command substitution included (reproduced as a non-root user; bash ignores it from the environment only when root)", "bash(1) PS4; bash NEWS for bash-4.4, item nn (/usr/share/doc/bash/NEWS.gz)"},
	{"PS0", false, "bash (interactive)", whyPrompt + " (reproduced)", srcBashPrmpt},
	{"PS1", false, "bash (interactive)", whyPrompt + " (reproduced with --norc)", srcBashPrmpt},
	{"PS2", false, "bash (interactive)", whyPrompt, srcBashPrmpt},
	{"PROMPT_COMMAND", false, "bash (interactive)", "an interactive bash runs it as a command before every prompt; a debugging terminal opened on a job's environment runs it (reproduced)", srcBashVars},
	{"CDPATH", false, "sh (dash), bash", "a relative cd in any script goes to the first $CDPATH/dir that exists, ahead of ./dir, so the script's next ./build.sh or make runs the editor's files (reproduced)", "POSIX cd; https://pubs.opengroup.org/onlinepubs/9699919799/utilities/cd.html"},
	{"ZDOTDIR", false, "zsh", "every zsh, scripts included, runs $ZDOTDIR/.zshenv first", "zsh STARTUP/SHUTDOWN FILES; https://zsh.sourceforge.io/Doc/Release/Files.html"},
	{"FPATH", false, "zsh", "directories autoload reads function definitions from first: a script's autoload -U compinit; compinit runs the editor's compinit (reproduced)", "zshparam(1) fpath, zshmisc(1) Autoloading Functions; https://zsh.sourceforge.io/Doc/Release/Functions.html#Autoloading-Functions"},
	{"MAILPATH", false, "bash (interactive)", "when a mailbox it lists changes, an interactive bash expands the ?message after its name, command substitution included, at the next prompt (reproduced with MAILCHECK=0; by default within a minute)", srcBashVars},
	{"SHELL", false, "script, sudo -s, tmux, less", "the shell that script(1) runs its -c command with (CI uses it to fake a terminal; reproduced), that sudo -s starts, and that terminal tools start", "script(1) ENVIRONMENT; https://man7.org/linux/man-pages/man1/script.1.html"},
	{"HOME", false, "git, python, bash, npm, cargo, maven, gradle", "programs read their per-user startup and config files under it: git's ~/.gitconfig (core.fsmonitor runs a command, reproduced), python's ~/.local site-packages (.pth import lines run at every start, reproduced), ~/.bashrc, ~/.npmrc, ~/.cargo/config.toml, ~/.mavenrc, ~/.gradle/init.d", "git-config(1) FILES; https://docs.python.org/3/library/site.html"},
	{"XDG_CONFIG_DIRS", false, "pip, and programs reading XDG system config", "pip reads $XDG_CONFIG_DIRS/pip/pip.conf, whose python = <program> makes pip re-run itself under that program (reproduced)", "https://pip.pypa.io/en/stable/topics/configuration/#location; https://specifications.freedesktop.org/basedir-spec/latest/"},
	{"XDG_CONFIG_HOME", false, "git, pip, curl", "git reads $XDG_CONFIG_HOME/git/config, whose core.fsmonitor or core.sshCommand run commands (reproduced)", "git-config(1) FILES; https://git-scm.com/docs/git-config#FILES"},
	{"XDG_CACHE_HOME", false, "pip, go, and programs keeping caches by XDG", "pip's cache (and go's, when GOCACHE is unset) lives in $XDG_CACHE_HOME, so a planted cache works as through PIP_CACHE_DIR or GOCACHE (reproduced with pip)", "https://specifications.freedesktop.org/basedir-spec/latest/"},
	{"XDG_DATA_HOME", false, "terraform", "terraform installs providers found in $XDG_DATA_HOME/terraform/plugins when no lock file pins them, and runs them at plan (reproduced)", "https://developer.hashicorp.com/terraform/cli/config/config-file#implied-local-mirror-directories"},
	{"XDG_DATA_DIRS", false, "terraform", "terraform installs providers found in each $XDG_DATA_DIRS/terraform/plugins when no lock file pins them, and runs them at plan (reproduced)", "https://developer.hashicorp.com/terraform/cli/config/config-file#implied-local-mirror-directories"},
	{"TMPDIR", false, "go, and every program making temporary folders", "go run, go test and go build link in a folder made under it and then run or copy the program: the editor, owning a planted TMPDIR and running a process beside the job (a job of theirs), renames that folder and puts a program of theirs where the link writes (a trial reproduced it, 10 of 10 runs, with a watcher; no test here, which would race)", "https://pkg.go.dev/cmd/go#hdr-Environment_variables"},
	{"GOTMPDIR", false, "go", "the folder go links in, used before TMPDIR, with the same swap (a trial reproduced it, 10 of 10 runs)", srcGo},
	{"TMP", false, "python's tempfile (pip's build folders)", "tempfile takes its folder from TMPDIR, TEMP or TMP, the first set: the same swap as TMPDIR's, where a program runs what it wrote there", "https://docs.python.org/3/library/tempfile.html#tempfile.gettempdir"},
	{"TEMP", false, "python's tempfile (pip's build folders)", "as TMP", "https://docs.python.org/3/library/tempfile.html#tempfile.gettempdir"},
	{"DENO_DIR", false, "deno", "deno runs the compiled JavaScript it finds in $DENO_DIR/gen for a source file, checked against the source's hash and a hash of that JavaScript only, both of which the editor can make (a trial reproduced it)", "https://docs.deno.com/runtime/reference/env_variables/"},
	{"SCCACHE_DIR", false, "sccache (RUSTC_WRAPPER, compiler launchers)", "a cache entry is a zip of compiled output under its key, nothing in it tied to the key: a planted entry links the editor's code (a trial reproduced it)", "https://github.com/mozilla/sccache/blob/main/docs/Local.md"},
	{"NPM_CONFIG_CACHE", false, "npm", "npm checks a cached tarball against the integrity its cached index names, but the index and the cached package document are the editor's too: npm install without a lock file installs a planted package (a trial reproduced it)", srcNpm},

	// Editors, pagers and browsers that programs start.
	{"EDITOR", false, "git, crontab, npm, sudoedit", "the command git commit/merge/tag run without -m (reproduced), as do crontab -e and npm edit", srcGitVar},
	{"VISUAL", false, "git, crontab, less", "preferred over EDITOR by git and others", srcGitVar},
	{"SUDO_EDITOR", false, "sudoedit", "the editor sudoedit runs", "sudo(8) ENVIRONMENT; https://www.sudo.ws/docs/man/sudo.man/#ENVIRONMENT"},
	{"PAGER", false, "git, man, many", "the command git log/diff/show and others pipe their output to on a terminal", srcGitVar},
	{"MANPAGER", false, "man", "the command man pipes pages to on a terminal", "man(1) ENVIRONMENT; https://man7.org/linux/man-pages/man1/man.1.html"},
	{"MANOPT", false, "man", "parsed as man options before the command line: --pager and --html name commands man runs", "man(1) ENVIRONMENT; https://man7.org/linux/man-pages/man1/man.1.html"},
	{"GROFF_BIN_PATH", false, "groff (man)", "directories groff runs troff and its other programs from first; man formats every page with groff (reproduced with groff -man and man)", "groff(1) ENVIRONMENT; https://man7.org/linux/man-pages/man1/groff.1.html"},
	{"GROFF_FONT_PATH", false, "groff (man)", "directories groff reads each device's DESC file from first: the postpro program a DESC names runs on every groff -T run, man's included (reproduced with groff -Tutf8)", "groff(1) ENVIRONMENT, groff_font(5) postpro; https://man7.org/linux/man-pages/man5/groff_font.5.html"},
	{"BROWSER", false, "python webbrowser, man --html, cargo doc --open", "python's webbrowser runs these commands to open a URL, which any python3 does at start with PYTHONWARNINGS naming antigravity (reproduced)", "https://docs.python.org/3/library/webbrowser.html"},
	{"LESSOPEN", false, "less", "an input preprocessor command less runs for every file it opens, also when its output is not a terminal (reproduced)", srcLess},
	{"LESSCLOSE", false, "less", "a command less runs after each LESSOPEN", srcLess},
	{"LESSKEYIN", false, "less", "a lesskey source file less reads at start; its #env section sets LESSOPEN (reproduced)", srcLesskey},
	{"LESSKEY", false, "less", "a compiled lesskey file less reads at start; its environment section sets LESSOPEN", srcLesskey},
	{"LESSKEYIN_SYSTEM", false, "less", "the system-wide lesskey source file, with the same #env section", srcLesskey},
	{"LESSKEY_SYSTEM", false, "less", "the system-wide compiled lesskey file, with the same environment section", srcLesskey},
	{"LESS", false, "less", "options less reads at start: --lesskey-src=<file> reads a lesskey source whose #env section sets LESSOPEN=|<command>, which runs also when the output is not a terminal (reproduced)", srcLesskey},

	// git.
	{"GIT_CONFIG_COUNT", false, "git", "with GIT_CONFIG_KEY_<n> and GIT_CONFIG_VALUE_<n>, adds any setting to every git command: core.fsmonitor runs a command on git status (reproduced)", srcGitConfig},
	{"GIT_CONFIG_KEY_", true, "git", "the setting names counted by GIT_CONFIG_COUNT (core.fsmonitor, core.sshCommand, alias.*...)", srcGitConfig},
	{"GIT_CONFIG_VALUE_", true, "git", "the values of the settings counted by GIT_CONFIG_COUNT, commands among them", srcGitConfig},
	{"GIT_CONFIG_PARAMETERS", false, "git", "the variable behind git -c: settings for every git command and its child gits, core.fsmonitor included (reproduced)", "git source, environment.h CONFIG_DATA_ENVIRONMENT; https://github.com/git/git/blob/master/environment.h"},
	{"GIT_CONFIG_GLOBAL", false, "git", "git reads this file instead of ~/.gitconfig; its core.fsmonitor runs a command (reproduced)", srcGitConfig},
	{"GIT_CONFIG_SYSTEM", false, "git", "git reads this file instead of /etc/gitconfig", srcGitConfig},
	{"GIT_DIR", false, "git", "the repository whose config and hooks git uses, so one the editor prepared runs its core.fsmonitor or hooks (reproduced)", srcGit},
	{"GIT_COMMON_DIR", false, "git", "git takes config and hooks from this directory", srcGit},
	{"GIT_OBJECT_DIRECTORY", false, "git", "the object store git reads from; git does not hash an object again when it checks it out, so a planted object under a file's ID writes the editor's content (reproduced)", srcGit},
	{"GIT_ALTERNATE_OBJECT_DIRECTORIES", false, "git", "more object stores git reads from; a blobless clone takes a missing file's content from a planted object there instead of its remote (reproduced)", srcGit},
	{"GIT_EXEC_PATH", false, "git", "git runs its helper programs from this directory: git-upload-pack for local fetches (reproduced), git-remote-https and the others", "git(1) --exec-path; https://git-scm.com/docs/git#Documentation/git.txt---exec-pathltpathgt"},
	{"GIT_TEMPLATE_DIR", false, "git", "git init and git clone copy hooks from it into the new repository, and clone then runs its post-checkout hook (reproduced)", "git-init(1) TEMPLATE DIRECTORY; https://git-scm.com/docs/git-init#_template_directory"},
	{"GIT_SSH", false, "git", "program git runs instead of ssh for ssh URLs", srcGit},
	{"GIT_SSH_COMMAND", false, "git", "command git runs with the shell instead of ssh for ssh URLs", srcGit},
	{"GIT_ASKPASS", false, "git", "program git runs to ask for a username or password (reproduced with git credential fill)", "gitcredentials(7); https://git-scm.com/docs/gitcredentials"},
	{"GIT_PROXY_COMMAND", false, "git", "command git runs to connect to git:// URLs", "git-config(1) core.gitProxy; https://git-scm.com/docs/git-config#Documentation/git-config.txt-coregitProxy"},
	{"GIT_EDITOR", false, "git", "editor git runs for commit messages and rebase -i (reproduced)", srcGitVar},
	{"GIT_SEQUENCE_EDITOR", false, "git", "editor git runs for the rebase -i todo list", "git-config(1) sequence.editor; https://git-scm.com/docs/git-config#Documentation/git-config.txt-sequenceeditor"},
	{"GIT_PAGER", false, "git", "pager command git runs on a terminal", srcGitVar},
	{"GIT_EXTERNAL_DIFF", false, "git", "program git diff runs for every changed file, with or without a terminal (reproduced)", srcGit},
	{"GIT_ALLOW_PROTOCOL", false, "git", "re-enables transports git refuses by default, such as ext::, whose URLs are commands (a submodule URL then runs one; reproduced)", "git(1) GIT_ALLOW_PROTOCOL; https://git-scm.com/docs/git-remote-ext"},
	{"GIT_TEST_", true, "git", "test hooks git 2.39 still honours outside its test suite: GIT_TEST_FSMONITOR is used as core.fsmonitor when that is unset, so git status runs the value as a command (reproduced), and GIT_TEST_MAINT_SCHEDULER names the crontab and systemctl commands git maintenance start runs (reproduced); no job needs them", "git t/README; https://github.com/git/git/blob/v2.39.0/t/README and builtin/gc.c; https://github.com/git/git/blob/v2.39.0/builtin/gc.c"},

	// Editors, pagers and diff programs of other tools. A job that commits,
	// edits or pages without a terminal still starts them (git commit
	// --amend starts vi).
	{"FCEDIT", false, "bash (interactive)", "the editor bash's fc runs", srcBashVars},
	{"LESSEDIT", false, "less", "command line less runs for its v command", srcLess},
	{"GH_EDITOR", false, "gh", "the editor gh runs (gh pr create, gh issue create without a body)", srcGh},
	{"GH_PAGER", false, "gh", "the command gh pipes its output to", srcGh},
	{"GH_BROWSER", false, "gh", "the command gh runs to open a URL", srcGh},
	{"KUBE_EDITOR", false, "kubectl", "the editor kubectl edit runs", "https://kubernetes.io/docs/reference/kubectl/generated/kubectl_edit/"},
	{"KUBECTL_EXTERNAL_DIFF", false, "kubectl", "the command kubectl diff runs on the two trees", "https://kubernetes.io/docs/reference/kubectl/generated/kubectl_diff/"},
	{"SYSTEMD_PAGER", false, "systemctl, journalctl", "the pager command systemd's tools run", srcSystemd},
	{"SYSTEMD_EDITOR", false, "systemctl edit", "the editor systemctl edit runs", srcSystemd},
	{"SVN_EDITOR", false, "svn", "the editor svn commit runs without -m", "https://svnbook.red-bean.com/en/1.7/svn.advanced.externaleditors.html"},
	{"HGEDITOR", false, "hg", "the editor hg commit runs without -m", srcHg},
	{"HGMERGE", false, "hg", "the merge command hg merge and hg update run on conflicts", srcHg},
	{"HGRCPATH", false, "hg", "the hgrc files hg reads: [hooks] run commands, [extensions] load Python", srcHg + "; hgrc(5) hooks"},

	// Start-up files of editors and interpreters: each is read as code.
	{"VIMINIT", false, "vim, vi", "ex commands vim runs at start: :!cmd runs a shell command; git commit starting vi runs it (reproduced)", srcVim},
	{"EXINIT", false, "vi, ex, vim", "ex commands vi and vim run at start when VIMINIT is unset: :!cmd runs a shell command (reproduced)", srcVim + "; POSIX ex; https://pubs.opengroup.org/onlinepubs/9699919799/utilities/ex.html"},
	{"GVIMINIT", false, "gvim", "ex commands the GUI vim runs at start", "https://vimhelp.org/gui.txt.html#GVIMINIT"},
	{"VIMRUNTIME", false, "vim", "vim sources defaults.vim, plugins and filetype scripts from there at start", srcVim},
	{"VIM", false, "vim, vi", "vim loads $VIM/vimfiles/plugin/*.vim (and $VIM/vimrc) at every start, as when git commit starts vi (reproduced with vim -c q)", srcVim},
	{"EMACSLOADPATH", false, "emacs", "directories emacs loads Lisp from first, site-start.el included", "https://www.gnu.org/software/emacs/manual/html_node/emacs/General-Variables.html"},
	{"PSQLRC", false, "psql", "a startup file psql runs before its commands, also with -c: \\! runs a shell command (reproduced)", srcPsql},
	{"PGSYSCONFDIR", false, "psql, libpq", "upstream psql runs the system-wide psqlrc of this directory at start (Debian's reads /etc/postgresql-common instead), and libpq reads pg_service.conf there", srcPsql},
	{"PSQL_EDITOR", false, "psql", "the editor psql's \\e runs", srcPsql},
	{"PSQL_PAGER", false, "psql", "the pager command psql runs", srcPsql},
	{"PSQL_WATCH_PAGER", false, "psql", "the pager command psql's \\watch runs", srcPsql},
	{"GSS_MECH_CONFIG", false, "MIT GSSAPI (libpq, curl, ssh, git over https)", "a mechanism file whose <interposer> entries are shared objects GSSAPI loads: any libpq TCP connection with gssencmode=prefer (the default) loads them (reproduced with psql)", "gssapi_mechs(5) (/etc/gss/mech); https://web.mit.edu/kerberos/krb5-latest/doc/appdev/gssapi.html"},
	{"KRB5_CONFIG", false, "MIT Kerberos (GSSAPI users: libpq, curl, ssh)", "krb5.conf files; their [plugins] module lines name shared objects Kerberos loads (not reproduced here: psql's connection loaded none of the client plugins)", "krb5.conf(5) [plugins]; https://web.mit.edu/kerberos/krb5-latest/doc/admin/conf_files/krb5_conf.html#plugins"},
	{"LUA_INIT", true, "lua", "code lua runs at start (@file runs a file); the prefix covers LUA_INIT_5_2 to _5_4, read first", srcLua},
	{"LUA_PATH", true, "lua", "where require finds Lua modules; the prefix covers LUA_PATH_5_x", srcLua},
	{"LUA_CPATH", true, "lua", "where require finds C modules, shared objects; the prefix covers LUA_CPATH_5_x", srcLua},
	{"ERL_AFLAGS", false, "erl", whyErl, srcErl},
	{"ERL_ZFLAGS", false, "erl", whyErl, srcErl},
	{"ERL_FLAGS", false, "erl", whyErl, srcErl},
	{"ERL_LIBS", false, "erl", "library directories the code server adds to the code path: modules load from there", "code(3) ERL_LIBS; https://www.erlang.org/doc/apps/kernel/code.html"},
	{"R_PROFILE_USER", false, "R, Rscript", "R code run at every start", srcRStartup},
	{"R_PROFILE", false, "R, Rscript", "the site profile, R code run at every start", srcRStartup},
	{"R_ENVIRON_USER", false, "R, Rscript", "a file of variables R sets at start, R_PROFILE_USER and R_LIBS among them", srcRStartup},
	{"R_ENVIRON", false, "R, Rscript", "the site file of variables R sets at start", srcRStartup},
	{"R_LIBS", false, "R, Rscript", whyRLibs, srcRLibs},
	{"R_LIBS_USER", false, "R, Rscript", whyRLibs, srcRLibs},
	{"R_LIBS_SITE", false, "R, Rscript", whyRLibs, srcRLibs},
	{"IRBRC", false, "irb", "a Ruby file irb runs at start", "https://ruby.github.io/irb/ (Configuration File, IRBRC)"},
	{"IPYTHONDIR", false, "ipython", "profile_default/startup/*.py there run at every start, ipython_config.py is Python", "https://ipython.readthedocs.io/en/stable/config/intro.html"},
	{"JUPYTER_CONFIG_DIR", false, "jupyter", "jupyter_*_config.py files there are Python run at start", "https://docs.jupyter.org/en/latest/use/jupyter-directories.html"},
	{"TCL_LIBRARY", false, "tclsh, wish, programs embedding Tcl", "every Tcl interpreter sources init.tcl from there at start", srcTcl},
	{"TCLLIBPATH", false, "tclsh, wish", "directories package require searches first: their pkgIndex.tcl files run", srcTcl},
	{"JULIA_DEPOT_PATH", false, "julia", "config/startup.jl in the first depot runs at every start; packages load from there", srcJulia},
	{"JULIA_LOAD_PATH", false, "julia", "where using and import find packages", srcJulia},

	// ssh and other askpass programs.
	{"SSH_ASKPASS", false, "ssh, ssh-add, ssh-keygen", "program run to read a passphrase without a terminal (reproduced with ssh-keygen)", "ssh(1) ENVIRONMENT; https://man.openbsd.org/ssh#ENVIRONMENT"},
	{"SUDO_ASKPASS", false, "sudo -A", "program sudo -A runs to read the password", "sudo(8) ENVIRONMENT; https://www.sudo.ws/docs/man/sudo.man/#ENVIRONMENT"},
	{"WGET_ASKPASS", false, "wget --use-askpass", "program wget runs to ask for a user and password", "https://www.gnu.org/software/wget/manual/wget.html#Download-Options"},
	{"WGETRC", false, "wget", "wget's startup file; its use_askpass command runs at every wget start (reproduced)", "https://www.gnu.org/software/wget/manual/wget.html#Wgetrc-Commands"},
	{"SYSTEM_WGETRC", false, "wget", "the system-wide startup file, with the same use_askpass command run at every wget start (reproduced)", "https://www.gnu.org/software/wget/manual/wget.html#Wgetrc-Location"},
	{"CURL_HOME", false, "curl", "curl reads .curlrc from there: engine = <path> makes curl load that shared object at start (reproduced), and other options change where it connects and what it trusts", "curl(1) -K, --config, --engine; https://curl.se/docs/manpage.html#-K"},

	// Python, pip, pyenv.
	{"PYTHONPATH", false, "python", "module directories ahead of the standard library: a sitecustomize.py there runs at every start (reproduced)", srcPython},
	{"PYTHONHOME", false, "python", "where the standard library is: encodings, site and site-packages .pth files are loaded from there (reproduced)", srcPython},
	{"PYTHONPLATLIBDIR", false, "python", "a relative value moves the standard library (prefix/<value>/python3.X) to a directory of the editor's choosing (reproduced with python 3.11)", srcPython},
	{"PYTHONSTARTUP", false, "python (interactive)", "python file run before the first interactive prompt (reproduced with python3 -i)", srcPython},
	{"PYTHONUSERBASE", false, "python, pip", "user site-packages directory: import lines of its .pth files run at every start (reproduced)", "https://docs.python.org/3/library/site.html"},
	{"PYTHONBREAKPOINT", false, "python", "breakpoint() imports the module and calls the callable it names (reproduced)", srcPython},
	{"PYTHONWARNINGS", false, "python", "a warning filter's category is imported by module name at start: ignore::antigravity.x imports antigravity, which runs BROWSER (reproduced)", srcPython + "; https://docs.python.org/3/library/warnings.html#describing-warning-filters"},
	{"PYTHONPYCACHEPREFIX", false, "python", ".pyc files are read from this tree, and one whose header matches the source's mtime and size is run in place of the source (reproduced)", srcPython + "; https://docs.python.org/3/reference/import.html#cached-bytecode-invalidation"},
	{"_PYTHON_SYSCONFIGDATA_NAME", false, "python (sysconfig: pip, setuptools, venv)", "the module sysconfig imports by name for the build settings whenever they are read (sysconfig.get_config_vars, as pip and setuptools do): a module of the editor's on sys.path runs (reproduced)", "CPython Lib/sysconfig.py _get_sysconfigdata_name; https://github.com/python/cpython/blob/3.11/Lib/sysconfig.py"},
	{"PYTHONEXECUTABLE", false, "python (macOS framework builds)", "sets sys.executable, which pip and venv run to start build and install subprocesses", srcPython},
	{"VIRTUAL_ENV", false, "uv, poetry, pipenv", "these run the interpreter of the virtual environment it names", "https://docs.astral.sh/uv/reference/environment/#virtual_env"},
	{"PIP_REQUIREMENT", false, "pip", "requirements added to every pip install; a local directory or URL listed there is built, running its setup.py (reproduced)", srcPip},
	{"PIP_EDITABLE", false, "pip", "projects added to every pip install in editable mode, built by running their code", srcPip},
	{"PIP_CONFIG_FILE", false, "pip", "pip takes every option from this file, requirement included (reproduced)", srcPip},
	{"PIP_CACHE_DIR", false, "pip", "pip installs a wheel from this cache in place of building a package's sdist; the entry's key is computed from public inputs (the sdist's link) and the wheel is not compared with the sdist (reproduced)", "https://pip.pypa.io/en/stable/topics/caching/"},
	{"PIP_PYTHON", false, "pip (22.3 and later)", "pip re-runs itself under this program on every command (--python; reproduced)", srcPip + "; https://pip.pypa.io/en/stable/cli/pip/#cmdoption-python"},
	{"PYENV_HOOK_PATH", false, "pyenv", "directories of bash hooks pyenv sources on every command, its python shims included (reproduced)", srcPyenv},
	{"PYENV_ROOT", false, "pyenv", "pyenv runs interpreters from $PYENV_ROOT/versions and hooks from there", srcPyenv},
	{"RBENV_HOOK_PATH", false, "rbenv", "directories of bash hooks rbenv sources on every command, its ruby shims included", srcRbenv},
	{"RBENV_ROOT", false, "rbenv", "rbenv runs rubies from $RBENV_ROOT/versions", srcRbenv},

	// Node.js, npm, yarn.
	{"NODE_OPTIONS", false, "node, npm, npx", "options for every node process: --require, --import and --loader load modules first (reproduced)", srcNode},
	{"NODE_PATH", false, "node", "directories searched for a module node_modules does not have: optional dependencies resolve to the editor's code", srcNode + "; https://nodejs.org/api/modules.html#loading-from-the-global-folders"},
	{"NODE_REPL_EXTERNAL_MODULE", false, "node", "module node loads in place of its REPL (reproduced with node -i)", srcNode},
	{"NPM_CONFIG_SCRIPT_SHELL", false, "npm", "shell npm run, npm exec and install scripts run with (reproduced, also as npm_config_script_shell)", srcNpm},
	{"NPM_CONFIG_NODE_OPTIONS", false, "npm", "NODE_OPTIONS npm gives the scripts it runs", srcNpm},
	{"NPM_CONFIG_GIT", false, "npm", "the git command npm runs for git dependencies", srcNpm},
	{"NPM_CONFIG_NODE_GYP", false, "npm", "the node-gyp program npm runs to build native modules", srcNpm},
	{"NPM_CONFIG_INIT_MODULE", false, "npm", "module npm init loads", srcNpm},
	{"NPM_CONFIG_SHELL", false, "npm", whyNpmCmd + " for npm explore", srcNpm},
	{"NPM_CONFIG_EDITOR", false, "npm", whyNpmCmd + " for npm edit and npm config edit", srcNpm},
	{"NPM_CONFIG_BROWSER", false, "npm", whyNpmCmd + " to open web pages", srcNpm},
	{"NPM_CONFIG_VIEWER", false, "npm", whyNpmCmd + " to show help", srcNpm},
	{"NPM_CONFIG_CALL", false, "npm exec, npx", "a command npm exec runs", srcNpm},
	{"NPM_CONFIG_USERCONFIG", false, "npm", "npmrc file npm reads instead of ~/.npmrc; its script-shell runs (reproduced)", srcNpm},
	{"NPM_CONFIG_GLOBALCONFIG", false, "npm", "global npmrc file npm reads, with the same settings", srcNpm},
	{"NPM_CONFIG_PREFIX", false, "npm", "npm reads <prefix>/etc/npmrc as its global config: its script-shell runs on npm test and npm run (reproduced)", srcNpm},
	{"PREFIX", false, "npm", "npm takes its prefix from it when no npmrc sets one, and so reads <prefix>/etc/npmrc, whose script-shell runs on npm test and npm run (reproduced); a generic name a host can allow", srcNpm + "; https://docs.npmjs.com/cli/v11/configuring-npm/folders#prefix-configuration"},
	{"YARN_YARN_PATH", false, "yarn (2 and later)", "yarnPath: a JavaScript file yarn runs in place of itself", "https://yarnpkg.com/configuration/yarnrc#yarnPath (settings can be set as YARN_<SETTING>)"},

	// Ruby, RubyGems, Bundler.
	{"RUBYOPT", false, "ruby, gem, bundle", "options for every ruby: -r loads a library first", srcRuby},
	{"RUBYLIB", false, "ruby", "library directories ahead of the standard ones", srcRuby},
	{"GEM_HOME", false, "ruby, gem, bundle", "gems, and the rubygems_plugin.rb files gem loads at start, are taken from there", srcRubyGems},
	{"GEM_PATH", false, "ruby, gem, bundle", "directories gems are loaded from", srcRubyGems},
	{"BUNDLE_GEMFILE", false, "bundler", "the Gemfile, which is Ruby code bundler evaluates", "bundle-config(1); https://bundler.io/man/bundle-config.1.html"},

	// Perl.
	{"PERL5OPT", false, "perl", "switches for every perl: -M loads a module first (reproduced), -d the debugger", srcPerl},
	{"PERL5LIB", false, "perl", "library directories ahead of the standard ones (reproduced)", srcPerl},
	{"PERLLIB", false, "perl", "library directories ahead of the standard ones when PERL5LIB is not set", srcPerl},
	{"PERL5DB", false, "perl -d", "code perl runs to load the debugger (reproduced)", srcPerl},

	// PHP and .NET.
	{"PHPRC", false, "php, composer", "where php.ini is read from; its auto_prepend_file runs a PHP file before every script", srcPHP},
	{"PHP_INI_SCAN_DIR", false, "php, composer", "directory of extra .ini files php reads, with the same auto_prepend_file", srcPHP},
	{"DOTNET_STARTUP_HOOKS", false, ".NET runtime (dotnet)", "assemblies whose startup hook runs before Main in every .NET process", "https://github.com/dotnet/runtime/blob/main/docs/design/features/host-startup-hook.md"},
	{"CORECLR_PROFILER_PATH", true, ".NET runtime (dotnet)", "native profiler library the runtime loads (with CORECLR_ENABLE_PROFILING=1); the prefix covers its _32, _64, _ARM64 forms", srcDotnet},

	// Java, Maven, Gradle.
	{"JAVA_TOOL_OPTIONS", false, "every JVM (java, javac, mvn, gradle)", "options every JVM reads: -javaagent and -agentpath load code (reproduced)", srcJVMTI},
	{"_JAVA_OPTIONS", false, "HotSpot JVMs", "options every HotSpot JVM reads, -agentpath included (reproduced)", "https://docs.oracle.com/en/java/javase/17/troubleshoot/environment-variables-and-system-properties.html"},
	{"JDK_JAVA_OPTIONS", false, "java launcher", "options the java launcher adds to its command line, -agentpath included (reproduced)", srcJavaCmd + "#using-the-jdk_java_options-launcher-environment-variable"},
	{"CLASSPATH", false, "java, javac", "class search path when -cp is not given", srcJavaCmd},
	{"JAVA_HOME", false, "mvn, gradlew, sbt, ant", "launch scripts run $JAVA_HOME/bin/java (reproduced with mvn)", "https://maven.apache.org/install.html; /usr/share/maven/bin/mvn"},
	{"JAVA_OPTS", false, "gradle, gradlew, many launch scripts", "JVM options the start scripts pass: -javaagent loads code", srcGradle},
	{"MAVEN_OPTS", false, "mvn", "JVM options for Maven, -agentpath included (reproduced)", srcMaven},
	{"MAVEN_DEBUG_OPTS", false, "mvn", "more JVM options the mvn script passes, -agentpath included (reproduced)", "/usr/share/maven/bin/mvn (Maven 3.8 script); " + srcMaven},
	{"MAVEN_ARGS", false, "mvn (3.9 and later)", "arguments Maven adds to its command line: -Dmaven.ext.class.path loads extensions, -f and -s choose the POM and settings", srcMaven},
	{"MAVEN_CONFIG", false, "mvnw (Maven Wrapper)", "arguments mvnw adds to Maven's command line, as MAVEN_ARGS", "https://github.com/apache/maven-wrapper/issues/250"},
	{"GRADLE_OPTS", false, "gradle, gradlew", "JVM options for the Gradle client: -javaagent loads code", srcGradle},
	{"SBT_OPTS", false, "sbt", whyJVM, "https://www.scala-sbt.org/1.x/docs/Command-Line-Reference.html"},
	{"JVM_OPTS", false, "lein, sbt-extras, cassandra", whyJVM, srcLein + "; https://github.com/dwijnand/sbt-extras"},
	{"LEIN_JVM_OPTS", false, "lein", whyJVM, srcLein},
	{"LEIN_JAVA_CMD", false, "lein", "the java command lein runs", srcLein},
	{"ANT_OPTS", false, "ant", whyJVM, srcAnt},
	{"ANT_ARGS", false, "ant", "arguments ant adds to its command line: -lib, -listener and -logger load classes", srcAnt},
	{"ANT_HOME", false, "ant", "ant runs its launcher and loads every jar of $ANT_HOME/lib", srcAnt},
	{"CATALINA_OPTS", false, "tomcat (catalina.sh)", whyJVM, "Tomcat RUNNING.txt; https://tomcat.apache.org/tomcat-10.1-doc/RUNNING.txt"},
	{"GRADLE_USER_HOME", false, "gradle, gradlew", "init scripts in its init.d run at every build", "https://docs.gradle.org/current/userguide/init_scripts.html"},

	// OpenSSL.
	{"OPENSSL_CONF", false, "openssl and programs linked to libcrypto", "a config file that can load providers and engines, which are shared objects, at start (reproduced with openssl version)", srcOpenSSL + "; config(5)"},
	{"OPENSSL_MODULES", false, "openssl and programs linked to libcrypto", "directory providers are loaded from by name (reproduced)", srcOpenSSL},
	{"OPENSSL_ENGINES", false, "openssl and programs linked to libcrypto", "directory engines are loaded from by name (reproduced)", srcOpenSSL},

	// Go.
	{"GOFLAGS", false, "go", "flags for every go command: -toolexec runs a program around every compile and link (reproduced), -overlay swaps source files", srcGo},
	{"GOENV", false, "go", "file of go settings, GOFLAGS included (reproduced)", srcGo},
	{"GOROOT", false, "go", "go runs its compiler and tools from $GOROOT/pkg/tool (reproduced with go tool)", srcGo},
	{"GOTOOLCHAIN", false, "go", "makes go download and run another toolchain, such as an old release with known code-execution bugs in go build (CVE-2023-29404)", "https://go.dev/doc/toolchain"},
	{"GOCACHE", false, "go", "compiled packages come from this cache; the go command checks only the recorded size and that a build ID is present, so a planted entry links the editor's code into what go build makes (reproduced)", srcGo + "; https://pkg.go.dev/cmd/go#hdr-Build_and_test_caching"},
	{"GOMODCACHE", false, "go", "module source comes from this cache, trusted once extracted (only its .ziphash is compared with go.sum), so planted source builds and runs (reproduced)", srcGo + "; https://go.dev/ref/mod#module-cache"},
	{"GOPATH", false, "go", "GOMODCACHE defaults to $GOPATH/pkg/mod", srcGo},
	{"GOWORK", false, "go", "a go.work file whose use and replace lines put directories of the editor's in place of modules", "https://go.dev/ref/mod#workspaces"},
	{"GOAUTH", false, "go", "its command scheme runs a command for every authenticated download", "go help goauth; " + srcGo},
	{"GOCACHEPROG", false, "go", "a command go runs to serve its build cache", srcGo},
	{"CGO_CFLAGS", false, "go (cgo)", whyCgo, srcCgo},
	{"CGO_CPPFLAGS", false, "go (cgo)", whyCgo, srcCgo},
	{"CGO_CXXFLAGS", false, "go (cgo)", whyCgo, srcCgo},
	{"CGO_FFLAGS", false, "go (cgo)", whyCgo, srcCgo},
	{"CGO_LDFLAGS", false, "go (cgo)", whyCgo, srcCgo},

	// Cargo and rustup.
	{"RUSTC_WRAPPER", false, "cargo", "cargo runs every rustc through this program (reproduced)", srcCargoEnv},
	{"RUSTC_WORKSPACE_WRAPPER", false, "cargo", "cargo runs rustc for workspace members through this program", srcCargoEnv},
	{"RUSTC", false, "cargo", "the compiler cargo runs", srcCargoEnv},
	{"RUSTDOC", false, "cargo", "the rustdoc cargo runs", srcCargoEnv},
	{"RUSTFLAGS", false, "cargo, rustc", "-C linker=<program> makes every build run a program of the editor's (reproduced)", srcCargoEnv + "; https://doc.rust-lang.org/rustc/codegen-options/index.html#linker"},
	{"CARGO_ENCODED_RUSTFLAGS", false, "cargo", "RUSTFLAGS in another encoding", srcCargoEnv},
	{"RUSTDOCFLAGS", false, "cargo", "rustdoc flags, -C linker included (doctests are linked)", srcCargoEnv},
	{"CARGO_ENCODED_RUSTDOCFLAGS", false, "cargo", "RUSTDOCFLAGS in another encoding", srcCargoEnv},
	{"CARGO_BUILD_RUSTC", false, "cargo", "build.rustc: the compiler cargo runs", srcCargoConf},
	{"CARGO_BUILD_RUSTC_WRAPPER", false, "cargo", "build.rustc-wrapper: cargo runs every rustc through it", srcCargoConf},
	{"CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER", false, "cargo", "build.rustc-workspace-wrapper", srcCargoConf},
	{"CARGO_BUILD_RUSTDOC", false, "cargo", "build.rustdoc: the rustdoc cargo runs", srcCargoConf},
	{"CARGO_BUILD_RUSTFLAGS", false, "cargo", "build.rustflags, as RUSTFLAGS", srcCargoConf},
	{"CARGO_BUILD_RUSTDOCFLAGS", false, "cargo", "build.rustdocflags, as RUSTDOCFLAGS", srcCargoConf},
	{"CARGO_HOST_LINKER", false, "cargo", "host.linker: the linker of build scripts", srcCargoConf},
	{"CARGO_HOST_RUSTFLAGS", false, "cargo", "host.rustflags, as RUSTFLAGS for build scripts", srcCargoConf},
	{"CARGO_TARGET_", true, "cargo", "target.<triple>.runner and .linker: programs cargo run, cargo test and every link run (reproduced); the prefix also takes CARGO_TARGET_DIR, the target directory, where a planted build dated in the future is fresh to cargo, which runs the editor's program (reproduced)", srcCargoConf},
	{"CARGO_BUILD_TARGET_DIR", false, "cargo", "build.target-dir: as CARGO_TARGET_DIR, a planted build dated in the future is fresh to cargo, which runs the editor's program (reproduced)", srcCargoConf},
	{"CARGO_BUILD_BUILD_DIR", false, "cargo", "build.build-dir, where cargo keeps intermediate builds: a planted one dated in the future is fresh, and cargo copies and runs the editor's program (reproduced)", srcCargoConf},
	{"CARGO_REGISTRY_CREDENTIAL_PROVIDER", false, "cargo", "a command cargo runs to get registry tokens", srcCargoConf},
	{"CARGO_REGISTRY_GLOBAL_CREDENTIAL_PROVIDERS", false, "cargo", "commands cargo runs to get registry tokens", srcCargoConf},
	{"CARGO_HOME", false, "cargo", "cargo reads config.toml there: build.rustc-wrapper, runners and linkers (reproduced)", srcCargoEnv},
	{"RUSTUP_TOOLCHAIN", false, "rustup (cargo, rustc proxies)", "the toolchain, or a directory of one, whose binaries every cargo and rustc proxy runs (reproduced with a directory)", srcRustup + "; https://rust-lang.github.io/rustup/overrides.html"},
	{"RUSTUP_HOME", false, "rustup (cargo, rustc proxies)", "where the toolchains every proxy runs are", srcRustup},

	// Signing and cloud credentials.
	{"GNUPGHOME", false, "gpg, gpg-agent (git commit -S, apt, release signing)", "keyrings, trust and config: the editor's keys pass signature checks, and gpg-agent.conf's pinentry-program runs when a key needs a passphrase", "https://www.gnupg.org/documentation/manuals/gnupg/Agent-Options.html"},
	{"GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES", false, "Google auth libraries, gcloud", "lets a credentials file (GOOGLE_APPLICATION_CREDENTIALS, often a file secret the editor writes) name a command the library runs", "https://cloud.google.com/java/docs/reference/google-auth-library/latest/com.google.auth.oauth2.PluggableAuthCredentials"},
}

// strictHijacks is the stricter preset's addition: names that redirect
// traffic or trust, or name credential files that can hold commands. Many
// companies use them for real secrets (a mirror URL with its token, a
// kubeconfig), so they are refused only when the host asks.
var strictHijacks = []hijack{
	{"HTTP_PROXY", false, "curl, wget, pip, git, npm, go", "sends traffic through a proxy of the editor's choosing; read case-insensitively, so http_proxy too", srcCurlEnv},
	{"HTTPS_PROXY", false, "curl, wget, pip, git, npm, go", "sends TLS traffic through a proxy of the editor's choosing", srcCurlEnv},
	{"ALL_PROXY", false, "curl, git", "proxy for every protocol", srcCurlEnv},
	{"FTP_PROXY", false, "curl, wget", "proxy for ftp URLs", srcCurlEnv},
	{"NO_PROXY", false, "curl, wget, pip, git, npm, go", "hosts that bypass the proxy a host may require", srcCurlEnv},
	{"SSL_CERT_FILE", false, "OpenSSL-based programs, go, python", "the CA bundle every TLS connection trusts", srcOpenSSL},
	{"SSL_CERT_DIR", false, "OpenSSL-based programs, go, python", "directories of CAs every TLS connection trusts", srcOpenSSL},
	{"REQUESTS_CA_BUNDLE", false, "python requests, pip", "the CA bundle requests (and so pip) trusts", "https://requests.readthedocs.io/en/latest/user/advanced/#ssl-cert-verification"},
	{"CURL_CA_BUNDLE", false, "curl, python requests", "the CA bundle curl and requests trust", srcCurlEnv},
	{"NODE_EXTRA_CA_CERTS", false, "node, npm", "adds CAs node trusts; only adds trust, runs nothing", srcNode},
	{"NODE_TLS_REJECT_UNAUTHORIZED", false, "node, npm", "0 turns off certificate checks in node", srcNode},
	{"GIT_SSL_NO_VERIFY", false, "git", "turns off certificate checks for https remotes", srcGit},
	{"GIT_SSL_CAINFO", false, "git", "the CA bundle git trusts for https remotes", "git-config(1) http.sslCAInfo; https://git-scm.com/docs/git-config#Documentation/git-config.txt-httpsslCAInfo"},
	{"GIT_SSL_CAPATH", false, "git", "CA directory git trusts for https remotes", "git-config(1) http.sslCAPath; https://git-scm.com/docs/git-config#Documentation/git-config.txt-httpsslCAPath"},
	{"PIP_INDEX_URL", false, "pip", "packages come from another index and their build code runs at install; often a private mirror URL with its token", srcPip},
	{"PIP_EXTRA_INDEX_URL", false, "pip", "adds an index packages may come from (dependency confusion); often holds a token", srcPip},
	{"PIP_FIND_LINKS", false, "pip", "adds places packages may come from", srcPip},
	{"PIP_TRUSTED_HOST", false, "pip", "hosts pip reaches without certificate checks", srcPip},
	{"PIP_CERT", false, "pip", "the CA bundle pip trusts", srcPip},
	{"PIP_PROXY", false, "pip", "proxy pip sends its traffic through", srcPip},
	{"NPM_CONFIG_REGISTRY", false, "npm", "packages come from another registry and their install scripts run", srcNpm},
	{"NPM_CONFIG_CA", false, "npm", "CA certificates npm trusts", srcNpm},
	{"NPM_CONFIG_CAFILE", false, "npm", "CA bundle npm trusts", srcNpm},
	{"NPM_CONFIG_STRICT_SSL", false, "npm", "false turns off certificate checks", srcNpm},
	{"NPM_CONFIG_PROXY", false, "npm", "proxy npm sends its traffic through", srcNpm},
	{"NPM_CONFIG_HTTPS_PROXY", false, "npm", "proxy npm sends its TLS traffic through", srcNpm},
	{"NPM_CONFIG_NOPROXY", false, "npm", "hosts that bypass npm's proxy", srcNpm},
	{"GOPROXY", false, "go", "modules (and toolchains) come from another proxy", srcGo},
	{"GOSUMDB", false, "go", "another checksum database, or off: module contents are no longer checked", srcGo},
	{"GONOSUMDB", false, "go", "modules whose contents are not checked against the checksum database", srcGo},
	{"GOPRIVATE", false, "go", "modules fetched directly and not checked against the checksum database", srcGo},
	{"GONOPROXY", false, "go", "modules fetched directly from their repositories", srcGo},
	{"GOINSECURE", false, "go", "modules fetched over plain HTTP or without certificate checks", srcGo},
	{"CARGO_HTTP_CAINFO", false, "cargo", "the CA bundle cargo trusts", srcCargoConf},
	{"CARGO_HTTP_PROXY", false, "cargo", "proxy cargo sends its traffic through", srcCargoConf},
	{"HOSTALIASES", false, "glibc resolver", "a file mapping host names to other names, so connections go elsewhere", srcResolver},
	{"LOCALDOMAIN", false, "glibc resolver", "search domains tried for names, so short or dotted names resolve to the editor's hosts", srcResolver},
	{"RES_OPTIONS", false, "glibc resolver", "resolver options such as ndots, which with LOCALDOMAIN decide which name a lookup really asks for", srcResolver},
	{"DOCKER_HOST", false, "docker", "docker commands, build contexts included, go to another daemon", "https://docs.docker.com/reference/cli/docker/#environment-variables"},
	{"KUBECONFIG", false, "kubectl, helm", "commonly a real secret (a file of cluster credentials), so not in the default although its users[].user.exec makes kubectl run a command", "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins"},
	{"AWS_CONFIG_FILE", false, "aws, AWS SDKs", "commonly a file secret, so not in the default although its credential_process runs a command", "https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-sourcing-external.html"},
	{"AWS_SHARED_CREDENTIALS_FILE", false, "aws, AWS SDKs", "commonly a file secret, so not in the default although a credential_process there runs a command", "https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-sourcing-external.html"},
	{"AWS_CA_BUNDLE", false, "aws, AWS SDKs", "the CA bundle AWS clients trust", "https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html"},
	{"AWS_ENDPOINT_URL", false, "aws, AWS SDKs", "sends AWS API calls, credentials signed in, to another endpoint", "https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html"},
	{"AWS_ENDPOINT_URL_", true, "aws, AWS SDKs", "the per-service form (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_STS...): that service's calls, credentials signed in, go to another endpoint", "https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html"},
	{"CLOUDSDK_API_ENDPOINT_OVERRIDES_", true, "gcloud", "the endpoint of one Google API: gcloud sends its calls there with the bearer token", "https://cloud.google.com/sdk/gcloud/reference/topic/configurations"},
	{"CLOUDSDK_PROXY_", true, "gcloud", "gcloud's proxy (address, port, type, credentials): its traffic goes through the editor's proxy", "https://cloud.google.com/sdk/docs/proxy-settings"},
	{"CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE", false, "gcloud", "the CA bundle gcloud trusts", "https://cloud.google.com/sdk/docs/proxy-settings"},
	{"CLOUDSDK_AUTH_DISABLE_SSL_VALIDATION", false, "gcloud", "turns off gcloud's certificate checks", "https://cloud.google.com/sdk/gcloud/reference/topic/configurations"},
	{"CLOUDSDK_COMPONENT_MANAGER_SNAPSHOT_URL", false, "gcloud", "where gcloud components install and update take components from", "https://cloud.google.com/sdk/gcloud/reference/topic/configurations"},
}

// A hijackIndex finds the entry of a list that covers a name.
type hijackIndex struct {
	names    map[string]*hijack
	prefixes map[string]*hijack
	// prefixLens are the lengths of the prefixes, ascending: a name is
	// looked up once per length. No prefix covers another (the tests
	// check), so at most one matches.
	prefixLens []int
	// nameList and prefixList are what DeniedNames and the like return
	// copies of.
	nameList, prefixList []string
}

func indexHijacks(list []hijack) hijackIndex {
	x := hijackIndex{names: make(map[string]*hijack, len(list)), prefixes: map[string]*hijack{}}
	for i := range list {
		h := &list[i]
		if h.prefix {
			x.prefixes[h.name] = h
			x.prefixList = append(x.prefixList, h.name)
			if !slices.Contains(x.prefixLens, len(h.name)) {
				x.prefixLens = append(x.prefixLens, len(h.name))
			}
		} else {
			x.names[h.name] = h
			x.nameList = append(x.nameList, h.name)
		}
	}
	slices.Sort(x.prefixLens)
	return x
}

func (x *hijackIndex) find(upper string) *hijack {
	if h, ok := x.names[upper]; ok {
		return h
	}
	for _, n := range x.prefixLens {
		if n > len(upper) {
			break
		}
		if h, ok := x.prefixes[upper[:n]]; ok {
			return h
		}
	}
	return nil
}

var (
	defaultIndex = indexHijacks(hijacks)
	strictIndex  = indexHijacks(strictHijacks)
)

// denied reports whether a name, upper-cased by the caller, is on the
// deny-list, or on the stricter preset when strict is set; entry is the
// name or prefix that covers it and reason what its value would do.
func denied(upper string, strict bool) (entry, reason string, ok bool) {
	h := defaultIndex.find(upper)
	if h == nil && strict {
		h = strictIndex.find(upper)
	}
	if h == nil {
		return "", "", false
	}
	return h.name, h.reason, true
}

// DeniedNames returns the names Set and Rename refuse by default with
// ErrReservedName: variables that make a program a job commonly runs (a
// shell, the dynamic loader, git, python, node, a compiler, ...) load or
// run code chosen by whoever sets them. Compared ignoring ASCII case;
// Config.AllowNames permits one. The slice is a copy.
func DeniedNames() []string { return slices.Clone(defaultIndex.nameList) }

// DeniedPrefixes returns the name prefixes refused by default, such as
// "LD_" and "GIT_CONFIG_KEY_": every name starting with one is refused as
// DeniedNames are. The slice is a copy.
func DeniedPrefixes() []string { return slices.Clone(defaultIndex.prefixList) }

// StrictNames returns the names the stricter preset refuses in addition
// to DeniedNames: variables that redirect traffic or trust (proxies,
// package indexes, CA bundles, resolver settings) or name credential files
// that can hold a command. Many companies keep real secrets under these
// names, so they are accepted unless the host asks for the preset. The
// slice is a copy.
func StrictNames() []string { return slices.Clone(strictIndex.nameList) }

// StrictPrefixes returns the name prefixes the stricter preset refuses in
// addition to DeniedPrefixes. The slice is a copy.
func StrictPrefixes() []string { return slices.Clone(strictIndex.prefixList) }
