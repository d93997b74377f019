package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/sqlite"
	"github.com/litengine/litengine/storetest"
)

func TestCurrencyMismatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "money.db")
	storetest.RunCurrencyMismatch(t, func(p *litengine.Policies, now func() time.Time) (litengine.Store, error) {
		return sqlite.Open(context.Background(), path, sqlite.Options{Policies: p, Now: now})
	})
}
