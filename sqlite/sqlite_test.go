package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/sqlite"
	"github.com/litengine/litengine/storetest"
)

// harness opens a fresh database file per test, in the test's temporary
// directory, which the testing package removes afterwards.
var harness = storetest.Harness{
	Open: func(t testing.TB, cfg storetest.Config) (litengine.Store, *sql.DB) {
		path := filepath.Join(t.TempDir(), "litengine.db")
		store, err := sqlite.Open(context.Background(), path, sqlite.Options{
			Now: cfg.Now, LoanPeriod: cfg.LoanPeriod, Synchronous: "normal",
		})
		if err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			db.Close()
			store.Close()
		})
		return store, db
	},
}

func TestConformance(t *testing.T) { storetest.Run(t, harness) }

func TestAPIConformance(t *testing.T) { storetest.RunAPI(t, harness) }
