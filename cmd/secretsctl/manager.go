package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/kms"
	"github.com/jmoiron/sqlx"
	"github.com/urfave/cli/v3"
)

// A session is what a command works through: a Manager over the store.
type session struct {
	m     *secrets.Manager
	store *secrets.PostgresStore
	db    *sqlx.DB
	old   []string // the IDs of the former master keys (--old-master-key, --old-kms)
}

func (s *session) close() {
	s.store.Close()
	s.db.Close()
}

// keyRule says whether a command, as invoked, needs the master key.
type keyRule func(cmd *cli.Command) bool

func needKey(*cli.Command) bool { return true }
func noKey(*cli.Command) bool   { return false }

// errNoMasterKey is what the stand-in master key of commands that need
// none answers, should the library ever ask it for something.
var errNoMasterKey = errors.New("this command was run without the master key, and needs it")

// noMasterKey stands in for the master key in commands that decrypt
// nothing (list, meta, delete, events...), so that they work where the
// key is not at hand. It never encrypts or decrypts; it is never
// registered in the store (AddMasterKey is off with it).
type noMasterKey struct{}

func (noMasterKey) ID() string { return "secretsctl:no-master-key" }
func (noMasterKey) Encrypt(context.Context, []byte, []byte) ([]byte, error) {
	return nil, errNoMasterKey
}
func (noMasterKey) Decrypt(context.Context, []byte, []byte) ([]byte, error) {
	return nil, errNoMasterKey
}

// loadCipher loads the master key named by a file or a KMS URI.
func loadCipher(ctx context.Context, file, uri string) (secrets.Cipher, error) {
	switch {
	case file != "" && uri != "":
		return nil, usage("give --master-key or --kms, not both")
	case file != "":
		c, err := secrets.LoadLocalCipher(file)
		if err != nil {
			return nil, fail(exitFailed, "master key %s: %s", file, message(err))
		}
		return c, nil
	case uri != "":
		c, err := kms.NewCipher(ctx, uri, nil)
		if errors.Is(err, kms.ErrUnsupported) {
			return nil, usage("%s", message(err))
		}
		return c, err
	}
	return nil, usage("this command needs the master key: give --master-key FILE or --kms URI (or set SECRETS_MASTER_KEY_FILE, SECRETS_KMS_URI)")
}

// open connects to the store and builds a Manager from the global flags;
// with key, from the master key, otherwise from a stand-in that decrypts
// nothing. tune, if not nil, adjusts the Config.
func (a *app) open(ctx context.Context, cmd *cli.Command, key bool, tune func(*secrets.Config)) (*session, error) {
	dsn := cmd.String("database-url")
	a.scrub = newScrubber(dsn)
	if dsn == "" {
		return nil, usage("no database: give --database-url or set DATABASE_URL")
	}
	cfg := &secrets.Config{
		// An operator's reveal, export or run that cannot be audited
		// does not happen.
		AuditReads: secrets.AuditFailClosed,
	}
	var c secrets.Cipher = noMasterKey{}
	var old []string
	if key {
		var err error
		if c, err = loadCipher(ctx, cmd.String("master-key"), cmd.String("kms")); err != nil {
			return nil, err
		}
		for _, f := range cmd.StringSlice("old-master-key") {
			oc, err := loadCipher(ctx, f, "")
			if err != nil {
				return nil, err
			}
			cfg.DecryptOnly = append(cfg.DecryptOnly, oc)
			old = append(old, oc.ID())
		}
		for _, u := range cmd.StringSlice("old-kms") {
			oc, err := loadCipher(ctx, "", u)
			if err != nil {
				return nil, err
			}
			cfg.DecryptOnly = append(cfg.DecryptOnly, oc)
			old = append(old, oc.ID())
		}
		cfg.AddMasterKey = cmd.Bool("add-master-key")
	}
	if f := cmd.String("audit-key"); f != "" {
		b, err := readLimited(openFile(f), maxAuditKeyRead)
		if errors.Is(err, errTooLong) {
			return nil, fail(exitFailed, "audit key %s: over %d bytes, not a Tink JSON keyset", f, maxAuditKeyRead)
		}
		if err != nil {
			return nil, fail(exitFailed, "audit key: %v", err)
		}
		ak, err := secrets.NewAuditKey(b)
		clear(b)
		if err != nil {
			return nil, fail(exitFailed, "audit key %s: %s", f, message(err))
		}
		cfg.AuditKey = ak
	}
	if tune != nil {
		tune(cfg)
	}
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fail(exitUsage, "cannot open the database: check --database-url")
	}
	store, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: cmd.String("schema")})
	if err != nil {
		db.Close()
		return nil, usage("--schema: %s", message(err))
	}
	m, err := secrets.New(store, c, cfg)
	if err != nil {
		store.Close()
		db.Close()
		return nil, err
	}
	return &session{m: m, store: store, db: db, old: old}, nil
}

// An action is a command's work, given a context that carries the actor.
type action func(ctx context.Context, cmd *cli.Command, s *session) error

// with checks that cmd has between min and max arguments (max < 0: no
// bound), named by argsUsage in the usage error, opens a session and
// runs fn in a context that names the actor.
func (a *app) with(min, max int, argsUsage string, key keyRule, fn action) cli.ActionFunc {
	return a.withConfig(min, max, argsUsage, key, nil, fn)
}

func (a *app) withConfig(min, max int, argsUsage string, key keyRule, tune func(*cli.Command, *secrets.Config) error, fn action) cli.ActionFunc {
	return func(ctx context.Context, cmd *cli.Command) error {
		if err := wantArgs(cmd, min, max, argsUsage); err != nil {
			return err
		}
		actx, err := actorContext(ctx, cmd)
		if err != nil {
			return err
		}
		var tuneErr error
		s, err := a.open(ctx, cmd, key(cmd), func(c *secrets.Config) {
			if tune != nil {
				tuneErr = tune(cmd, c)
			}
		})
		if err == nil && tuneErr != nil {
			s.close()
			err = tuneErr
		}
		if err != nil {
			return err
		}
		defer s.close()
		return fn(actx, cmd, s)
	}
}

// actorContext returns ctx naming the actor of --actor.
func actorContext(ctx context.Context, cmd *cli.Command) (context.Context, error) {
	actor := strings.TrimSpace(cmd.String("actor"))
	if actor == "" {
		return nil, usage("--actor must name who acts")
	}
	return secrets.WithActor(ctx, actor), nil
}

func wantArgs(cmd *cli.Command, min, max int, names string) error {
	n := cmd.Args().Len()
	if n < min || (max >= 0 && n > max) {
		what := fmt.Sprintf("%d arguments", n)
		if n == 1 {
			what = "1 argument"
		}
		return usage("%s: want %s, got %s", cmd.Name, names, what)
	}
	return nil
}
