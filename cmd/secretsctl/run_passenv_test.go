package main

import (
	"strings"
	"testing"
)

// ownCredentialNames are the variables that cmd_run.go's ownCredential
// lists by name, and examples of its two prefixes (SECRETS_, VAULT_):
// the table is the source's list, so that dropping any name from it
// fails a test.
var ownCredentialNames = []string{
	"DATABASE_URL", "PGPASSWORD", "PGPASSFILE", "PGSSLKEY", "PGSERVICEFILE",
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"GOOGLE_APPLICATION_CREDENTIALS",
	// The prefixes: names secretsctl reads, and any other.
	"SECRETS_MASTER_KEY_FILE", "SECRETS_KMS_URI", "SECRETS_AUDIT_KEY_FILE", "SECRETS_SCHEMA", "SECRETS_SOMETHING_NEW",
	"VAULT_TOKEN", "VAULT_ADDR", "VAULT_NAMESPACE", "VAULT_SOMETHING_NEW",
}

// TestOwnCredential: every name of the list, and every name of the two
// prefixes, is secretsctl's own; names that only resemble them are not.
func TestOwnCredential(t *testing.T) {
	for _, name := range ownCredentialNames {
		if !ownCredential(name) {
			t.Errorf("%s is not taken for secretsctl's own credential", name)
		}
	}
	for _, name := range []string{"EXTRA", "PGHOST", "AWS_REGION", "SECRETS", "VAULT", "MY_SECRETS_X", "MY_VAULT_TOKEN", "secrets_x", "database_url"} {
		if ownCredential(name) {
			t.Errorf("%s is taken for secretsctl's own credential", name)
		}
	}
}

// TestRunPassEnvRefusesEachCredential: run --pass-env of each of
// secretsctl's own credential variables is refused (exit 2, the name
// said, no value shown) and the job does not run.
func TestRunPassEnvRefusesEachCredential(t *testing.T) {
	e := newEnv(t)
	e.ctl("v\n", "set", "ws", "A").want(t, 0)
	// Values only for variables secretsctl itself does not read here.
	var vals []string
	for _, name := range ownCredentialNames {
		if strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "GOOGLE_") {
			vals = append(vals, name+"=value-of-"+strings.ToLower(name))
		}
	}
	for _, name := range ownCredentialNames {
		r := e.run(call{env: vals}, "run", "--pass-env", "EXTRA", "--pass-env", name, "ws", "--", "sh", "-c", "echo job-ran")
		r.wantErr(t, 2, "--pass-env "+name)
		for _, v := range []string{"job-ran", "value-of-", e.url, e.key} {
			if strings.Contains(r.stdout+r.stderr, v) {
				t.Fatalf("--pass-env %s: %q in %q %q", name, v, r.stdout, r.stderr)
			}
		}
	}
}

// TestRunPassEnvTakesNames: --pass-env NAME=VALUE or an empty name is a
// usage error and the job does not run (a CLI trial: it was taken
// silently, and passed nothing).
func TestRunPassEnvTakesNames(t *testing.T) {
	e := newEnv(t)
	e.ctl("v\n", "set", "ws", "A").want(t, 0)
	for _, arg := range []string{"A=B", ""} {
		r := e.run(call{}, "run", "--pass-env", arg, "ws", "--", "sh", "-c", "echo job-ran")
		r.wantErr(t, 2, "give a variable's name")
		if strings.Contains(r.stdout, "job-ran") {
			t.Errorf("--pass-env %q: the job ran", arg)
		}
	}
}
