package secrets

import "slices"

// The shells' own variables: the deny-list's part that keeps Export's
// text safe to source.
//
// Export writes NAME='value' lines and promises that a POSIX shell
// sourcing them (set -a; . file) runs and expands nothing. Single quotes
// keep the value from being expanded, but not from what the shell does
// with an assignment to one of its own variables: bash evaluates a value
// given to OPTIND, RANDOM, SRANDOM or HISTCMD as arithmetic, where an
// array subscript runs command substitution, so OPTIND='a[$(cmd)]' runs
// cmd, single quotes and bash --posix notwithstanding; dash stops reading
// the file at an OPTIND that is not a number; bash refuses assignments to
// its read-only variables (and bash --posix stops there), and drops or
// replaces those it keeps itself. Passing such a variable to a job in its
// environment is harmless (bash reads no arithmetic from it), so the
// danger is only the export's.
//
// The fix is at two depths. Set refuses these names (case ignored, as the
// whole deny-list), so an editor cannot create one; and Export's writer
// never writes an assignment to one (case kept: shells' names are case
// sensitive), whatever let it in (an earlier release, Config.AllowNames):
// it names the secret in a comment instead, as it does for write-only
// secrets, and Diff's Remove leaves it alone (see dotenvKept). The deny
// alone would leave stored names unsafe; the writer alone would let an
// editor create secrets no export can carry. Each entry was checked with
// bash 5.2, bash --posix and dash 0.5 (TestHijackShellAssignments).
//
// Other shells act on more names (exportOnly): those only the writer
// leaves out, since bash and dash take them as any variable and a job may
// well need them (COLUMNS).

// Sources of the shells' variables.
const (
	srcBashBourne  = "bash(1) Bourne Shell Variables; https://www.gnu.org/software/bash/manual/html_node/Bourne-Shell-Variables.html; dash(1) OPTIND"
	srcBashSpecial = "bash(1) Special Parameters ($_); https://www.gnu.org/software/bash/manual/html_node/Special-Parameters.html"
)

const (
	whyArith    = "a shell sourcing an export (set -a; . file) evaluates the value as arithmetic, where an array subscript runs command substitution, single quotes notwithstanding (reproduced with bash and bash --posix)"
	whyReadOnly = "read-only in bash: an export's assignment fails, and bash --posix stops sourcing the file there (reproduced)"
	whyOwn      = "bash sets it itself: an export's assignment is ignored or overwritten, so a sourced export silently loses the value (reproduced)"
)

// shellHijacks are the variables a shell acts on, refuses, or does not
// keep when a sourced file assigns them. BASHOPTS and SHELLOPTS, read-only
// in bash too, are in programHijacks for what they do to every bash.
var shellHijacks = []hijack{
	{"OPTIND", false, "bash, dash (getopts)", whyArith + "; dash stops sourcing at a value that is not a number (reproduced)", srcBashBourne},
	{"RANDOM", false, "bash", whyArith, srcBashVars},
	{"SRANDOM", false, "bash", whyArith, srcBashVars},
	{"HISTCMD", false, "bash", whyArith, srcBashVars},
	{"EUID", false, "bash", whyReadOnly, srcBashVars},
	{"UID", false, "bash", whyReadOnly, srcBashVars},
	{"PPID", false, "bash", whyReadOnly, srcBashVars},
	{"BASH_VERSINFO", false, "bash", whyReadOnly, srcBashVars},
	{"BASH_COMPAT", false, "bash", "bash switches to the behaviour of the version it names, and refuses any other value with an error (reproduced)", srcBashVars},
	{"BASH_XTRACEFD", false, "bash", "bash writes its xtrace output to the file descriptor it names, and refuses any other value with an error (reproduced)", srcBashVars},
	{"BASHPID", false, "bash", whyOwn, srcBashVars},
	{"BASH_ARGC", false, "bash", whyOwn, srcBashVars},
	{"BASH_ARGV", false, "bash", whyOwn, srcBashVars},
	{"BASH_COMMAND", false, "bash", whyOwn, srcBashVars},
	{"BASH_LINENO", false, "bash", whyOwn, srcBashVars},
	{"BASH_SOURCE", false, "bash", whyOwn, srcBashVars},
	{"BASH_SUBSHELL", false, "bash", whyOwn, srcBashVars},
	{"DIRSTACK", false, "bash", whyOwn, srcBashVars},
	{"EPOCHREALTIME", false, "bash", whyOwn, srcBashVars},
	{"EPOCHSECONDS", false, "bash", whyOwn, srcBashVars},
	{"FUNCNAME", false, "bash", whyOwn, srcBashVars},
	{"GROUPS", false, "bash", whyOwn, srcBashVars},
	{"LINENO", false, "bash", whyOwn, srcBashVars},
	{"PIPESTATUS", false, "bash", whyOwn, srcBashVars},
	{"SECONDS", false, "bash", whyOwn, srcBashVars},
	{"_", false, "bash", whyOwn + ": bash sets $_ after every command", srcBashSpecial},
}

// Sources of the other shells' variables.
const (
	srcMksh  = "mksh(1) Parameters; http://www.mirbsd.org/htman/i386/man1/mksh.htm"
	srcKsh93 = "ksh93(1) Shell Variables; https://github.com/ksh93/ksh/blob/dev/src/cmd/ksh93/sh.1"
	srcZsh   = "zshparam(1) Parameters Set By The Shell / Used By The Shell; https://zsh.sourceforge.io/Doc/Release/Parameters.html"
)

const (
	whyMkshArith = "mksh evaluates the value as arithmetic, where a[$(cmd)] runs cmd and a value that is not an expression ('hello world') stops sourcing (reproduced with mksh R59)"
	whyKshArith  = "ksh93 evaluates the value as arithmetic and stops sourcing at one that is not a number ('arithmetic syntax error'; reproduced with ksh93u+m 1.0.4)"
	whyZshArith  = "zsh evaluates the value as arithmetic, where PWD[$(cmd)] runs cmd and a value that is not an expression stops sourcing (reproduced with zsh 5.9 -f)"
)

// exportOnly are variables that mksh, ksh93 or zsh (not POSIX, but
// macOS's login shell, with which exports are commonly sourced) act on
// when a sourced file assigns them, which bash and dash take as any
// variable. Export's writer never assigns them; Set accepts them, unlike
// shellHijacks: a job's environment is no sourced file (COLUMNS and LINES
// are ordinary variables of a job), and none of them is read as code from
// the environment. Names as the shells spell them (case kept); each entry
// was checked with mksh R59, ksh93u+m 1.0.4 and zsh 5.9 -f
// (TestHijackShellAssignments), and is read back exactly by bash and dash.
var exportOnly = []hijack{
	{"COLUMNS", false, "mksh, zsh", whyMkshArith + "; " + whyZshArith, srcMksh + "; " + srcZsh},
	{"LINES", false, "mksh, zsh", whyMkshArith + "; " + whyZshArith, srcMksh + "; " + srcZsh},
	{"TMOUT", false, "mksh, ksh93", whyMkshArith + "; " + whyKshArith, srcMksh + "; " + srcKsh93},
	{"KSHUID", false, "mksh", whyMkshArith, srcMksh},
	{"KSHGID", false, "mksh", whyMkshArith, srcMksh},
	{"KSHEGID", false, "mksh", whyMkshArith, srcMksh},
	{"USER_ID", false, "mksh", whyMkshArith, srcMksh},
	{"PGRP", false, "mksh", whyMkshArith, srcMksh},
	{"HISTSIZE", false, "mksh, zsh", "mksh stops sourcing at a value that is not a number ('bad number'; reproduced); " + whyZshArith, srcMksh + "; " + srcZsh},
	{"KSH_VERSION", false, "mksh", "read-only in mksh: an export's assignment stops sourcing the file (reproduced)", srcMksh},
	{"SHLVL", false, "ksh93, zsh", whyKshArith + "; " + whyZshArith, srcKsh93 + "; " + srcZsh},
	{"JOBMAX", false, "ksh93", whyKshArith, srcKsh93},
	{"MAILCHECK", false, "ksh93, zsh", whyKshArith + "; " + whyZshArith, srcKsh93 + "; " + srcZsh},
	{"SAVEHIST", false, "zsh", whyZshArith, srcZsh},
	{"FUNCNEST", false, "zsh", whyZshArith, srcZsh},
	{"GID", false, "zsh", whyZshArith, srcZsh},
	{"EGID", false, "zsh", whyZshArith, srcZsh},
	{"ERRNO", false, "zsh", whyZshArith, srcZsh},
	{"TRY_BLOCK_ERROR", false, "zsh", whyZshArith, srcZsh},
	{"TRY_BLOCK_INTERRUPT", false, "zsh", whyZshArith, srcZsh},
	{"KEYTIMEOUT", false, "zsh", whyZshArith, srcZsh},
	{"LISTMAX", false, "zsh", whyZshArith, srcZsh},
	{"ZLE_RPROMPT_INDENT", false, "zsh", whyZshArith, srcZsh},
}

// sourceUnsafe is what Export's writer never assigns: the shellHijacks'
// names, the other variables bash refuses assignments to, and the
// exportOnly names, spelled as shells spell them.
var sourceUnsafe = func() map[string]bool {
	s := map[string]bool{"BASHOPTS": true, "SHELLOPTS": true}
	for _, h := range slices.Concat(shellHijacks, exportOnly) {
		s[h.name] = true
	}
	return s
}()
