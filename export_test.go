package secrets

import (
	"context"
	"strings"
	"time"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	gcmpb "github.com/tink-crypto/tink-go/v2/proto/aes_gcm_go_proto"
	"google.golang.org/protobuf/proto"
)

// MigrateTo applies the store's migrations up to version to, as an
// earlier release would have left the database.
func MigrateTo(ctx context.Context, s *PostgresStore, to int64) error { return s.migrate(ctx, to) }

// PostgresQueries exposes the store's hot read queries to the external
// tests, which check their plans.
func PostgresQueries(s *PostgresStore) map[string]string {
	return map[string]string{"Lookup": s.q.lookup.SQL, "List": s.q.list.SQL, "History": s.q.history.SQL, "ListNames": s.q.listNames.SQL}
}

// EventsPlan returns the plan Postgres makes of the store's statement of
// a page of events (EXPLAIN, one line).
func EventsPlan(ctx context.Context, s *PostgresStore, q EventQuery) (string, error) {
	query, p, err := s.eventsQuery(q)
	if err != nil {
		return "", err
	}
	args, err := query.Args(p)
	if err != nil {
		return "", err
	}
	var plan []string
	err = s.db.SelectContext(ctx, &plan, "EXPLAIN "+query.SQL, args...)
	return strings.Join(plan, " "), err
}

// ExecLimit exposes the room execve gives arguments and environment.
func ExecLimit() int64 { return execLimit() }

// TransientSQLStates are the SQLSTATEs the Postgres store retries.
var TransientSQLStates = []string{sqlstateSerialization, sqlstateDeadlock}

// DataKeys returns the raw AES keys of the workspace's data keyset, as
// the master key c unwraps it: what no table of a store may hold.
func DataKeys(ctx context.Context, s Store, c Cipher, ws string) ([][]byte, error) {
	wk, err := s.Key(ctx, ws)
	if err != nil {
		return nil, err
	}
	h, err := unwrapKey(ctx, c, wk)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, k := range insecurecleartextkeyset.KeysetMaterial(h).GetKey() {
		var key gcmpb.AesGcmKey
		if err := proto.Unmarshal(k.GetKeyData().GetValue(), &key); err != nil {
			return nil, err
		}
		out = append(out, key.GetKeyValue())
	}
	return out, nil
}

// NamedForTest exposes how a restore's detail names what it removes.
func NamedForTest(what string, names []string) string { return named(what, names) }

// DeleteFormerKeys exposes deleteFormerKeys, which RotateKey and
// Config.DestroyRotates call only after a rotation that left nothing: its
// own check of the versions under former keys is reached only by a
// version that came back under one (a restored copy of the rows).
func DeleteFormerKeys(ctx context.Context, m *Manager, ws string, keep int) ([]uint32, error) {
	return m.deleteFormerKeys(ctx, ws, keep, nil)
}

// SetRaceBudget shortens how long m's writes go on retrying lost races
// past maxAttempts, for a test that waits it out.
func SetRaceBudget(m *Manager, d time.Duration) { m.raceBudget = d }
