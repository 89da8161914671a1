package main

import (
	"errors"
	"strings"

	"github.com/dataspace/secrets"
	"github.com/urfave/cli/v3"
)

// scopeFlag is --env of the commands that act on the secrets of one
// environment scope (set, get, list, import, export, diff, apply). It has
// no environment variable: a variable left set would send the next
// command's writes to that scope.
func scopeFlag() cli.Flag {
	return &cli.StringFlag{
		Name: "env",
		Usage: "the environment `SCOPE` of the secrets: an environment (production), a pattern with one " +
			"trailing * (review/*), or * for every environment (the default)",
	}
}

// jobFlags are --env and --protected of the commands that act as a job
// (run, resolve).
func jobFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "env", Usage: "the job runs in the environment `ENV` (production, review/feature-1); " +
			"without it, only secrets of scope * apply"},
		&cli.BoolFlag{Name: "protected", Usage: "the job is protected (a protected branch, a deploy): it gets protected secrets too"},
	}
}

// flagScope returns the scope of --env: "*" without it. An empty --env is
// a usage error (an unset shell variable would otherwise select every
// environment); a malformed one is left to the library, which says
// ErrInvalidScope (exit 2).
func flagScope(cmd *cli.Command) (string, error) {
	if !cmd.IsSet("env") {
		return "*", nil
	}
	sc := cmd.String("env")
	if sc == "" {
		return "", usage("--env: empty (leave it out for every environment, or give * )")
	}
	return sc, nil
}

// jobEnvironment returns the job's environment of --env ("" without
// it); an empty --env is a usage error, a malformed one is left to the
// library (ErrInvalidScope).
func jobEnvironment(cmd *cli.Command) (string, error) {
	if cmd.IsSet("env") && cmd.String("env") == "" {
		return "", usage("--env: empty (leave it out for a job of no environment)")
	}
	return cmd.String("env"), nil
}

// scopedName returns the full name of the secret NAME names with --env:
// NAME@SCOPE. NAME may carry its scope itself instead (API_TOKEN@production),
// but not both.
func scopedName(cmd *cli.Command, name string) (string, error) {
	if !cmd.IsSet("env") {
		return name, nil
	}
	sc, err := flagScope(cmd)
	if err != nil {
		return "", err
	}
	if strings.Contains(name, "@") {
		// Not quoted: it may be a value pasted into the name's place.
		return "", usage("the name already names its scope: give NAME@SCOPE or --env SCOPE, not both")
	}
	return secrets.ScopedName(name, sc), nil
}

// checkScope returns the library's ErrInvalidScope for a malformed scope,
// reading nothing.
func checkScope(s *session, sc string) error {
	if _, err := s.m.CheckName(secrets.ScopedName("A", sc)); errors.Is(err, secrets.ErrInvalidScope) {
		return err
	}
	return nil
}
