package secrets_test

import (
	"testing"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) secrets.Store { return secrets.NewMemoryStore() })
}
