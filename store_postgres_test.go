package secrets_test

import (
	"testing"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/storetest"
)

// TestPostgresStoreConformance runs the Store suite over lib/pq, over
// pgx's stdlib driver, and over a pool whose default isolation is
// SERIALIZABLE.
func TestPostgresStoreConformance(t *testing.T) {
	for _, p := range pgPools {
		t.Run(p.String(), func(t *testing.T) {
			db := p.db(t)
			storetest.Run(t, func(t *testing.T) secrets.Store { return newPGStore(t, db) })
		})
	}
}
