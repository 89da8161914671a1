package secrets

import "context"

// ExportOptions tune [Manager.Export]. A nil *ExportOptions means the
// zero value.
type ExportOptions struct {
	// Scope is the scope whose secrets are exported: "" or "*" for the
	// secrets of every environment, "production" for those of scope
	// production only (see [SplitName]). Scopes are not resolved: the
	// text holds exactly that scope's secrets, protected or not, under
	// their variables' names.
	Scope string
}

// Export returns the workspace's live secrets of one scope (opts.Scope,
// by default "*") as .env text, sorted by name: NAME='value' lines that
// Import reads back to the same bytes, and that bash, bash --posix, dash,
// busybox sh, mksh, ksh93 and zsh -f (the shells tested) source (set -a;
// . file) without running or expanding anything, nor stopping: a secret
// named as a variable one of them acts on when a file assigns it (OPTIND,
// RANDOM, UID, which Set refuses but an earlier release or
// Config.AllowNames may have let in; COLUMNS, TMOUT, SHLVL, which Set
// accepts: see denylist_shell.go) is named in a comment ("# OPTIND is a
// shell's own variable: not exported") instead of assigned.
//
// Not promised: zsh stops at a secret named as one of its read-only
// variables (status, ARGC...), yash at a value that is not UTF-8; bash
// prints on stderr the value of LC_ALL, LC_CTYPE, LC_MESSAGES, LC_NUMERIC,
// LC_TIME or LC_COLLATE naming a locale it does not know, and ksh93 that
// of those and LANG, which it also empties; an
// interactive zsh with prompt_subst may run what a sourced PROMPT or
// RPROMPT holds at its next prompt; and other shells and readers
// (systemd's EnvironmentFile, python-dotenv, docker --env-file, godotenv)
// parse the text otherwise, where a value holding a quote and a newline
// can set other variables: the text is for those shells and Import.
//
// Before its lines, comments name the protected secrets ("# protected:
// A B"), those that expand references ("# expand: C") and the files
// ("# file: D", whose lines hold the files' contents): Import and Apply
// give those flags to the secrets they create.
//
// Export reveals every value but those of write-only secrets, which it
// names in such a comment too ("# NAME is write-only: not exported"):
// treat the result as a secret. Config.Expired applies as to a job: with
// ExpiredOmit an expired secret is named in a comment too ("# NAME is
// expired: not exported"), with ExpiredRefuse an expired secret makes
// Export fail with ErrExpired. Diff's Remove takes a secret a comment
// names so as named by the text, and leaves it. It is audited as an
// export whose event lists each secret exported (with its scope, in its
// name), and the write-only and shell-variable secrets it names in a
// comment as withheld (an expired one, whose value it did not read, is
// not listed), recorded before the text is returned. An invalid scope is ErrInvalidScope.
func (m *Manager) Export(ctx context.Context, ws string, opts *ExportOptions) ([]byte, error) {
	if err := validWorkspace(ws); err != nil {
		return nil, err
	}
	var o ExportOptions
	if opts != nil {
		o = *opts
	}
	sc, err := bulkScope(o.Scope)
	if err != nil {
		return nil, err
	}
	e := m.event(ctx, ActionExport, ws)
	if err := m.authorize(ctx, e); err != nil {
		return nil, err
	}
	e.Parents = []string{} // the event lists what it delivered
	r, err := m.readLevels(ctx, e, nil, sc)
	if err != nil {
		return nil, err
	}
	r.wipe() // the write-only values, which an export reads only to leave out
	var env, writeOnly, unsafe, protected, expand, file []string
	for _, it := range r.items {
		env = append(env, it.kv)
		if it.protected {
			protected = append(protected, it.name())
		}
		if it.expands {
			expand = append(expand, it.name())
		}
		if it.file {
			file = append(file, it.name())
		}
	}
	for _, s := range e.Secrets {
		switch v := variableOf(s.Name); {
		case !s.Withheld:
		case sourceUnsafe[v]:
			unsafe = append(unsafe, v)
		default:
			writeOnly = append(writeOnly, v)
		}
	}
	text := formatFlags(formatFlags(formatFlags(nil, dotenvProtected, protected), dotenvExpand, expand), dotenvFile, file)
	text = append(text, formatDotenv(env)...)
	for _, n := range writeOnly {
		text = append(text, "# "+n+dotenvWriteOnly+"\n"...)
	}
	for _, n := range unsafe {
		text = append(text, "# "+n+dotenvShellVar+"\n"...)
	}
	if m.cfg.Expired == ExpiredOmit {
		for _, n := range r.expired {
			text = append(text, "# "+variableOf(n)+dotenvExpired+"\n"...)
		}
	}
	return text, nil
}
