package sqlite_test

import (
	"cmp"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/sqlite"
	"github.com/litengine/litengine/storetest"
)

// harness opens a fresh database file per test, in the test's temporary
// directory, which the testing package removes afterwards.
var harness = newHarness("normal")

// benchHarness measures with the durability chosen by LITENGINE_BENCH_SYNC.
var benchHarness = newHarness(cmp.Or(os.Getenv("LITENGINE_BENCH_SYNC"), "normal"))

func newHarness(synchronous string) storetest.Harness {
	return storetest.Harness{Open: func(t testing.TB, cfg storetest.Config) (litengine.Store, *sql.DB) {
		path := filepath.Join(t.TempDir(), "litengine.db")
		store, err := sqlite.Open(context.Background(), path, sqlite.Options{
			Now: cfg.Now, Policies: cfg.Policies, Synchronous: synchronous,
		})
		if err != nil {
			t.Fatal(err)
		}
		// A raw connection configured like the store's writer: the suite's
		// checks read through it and the benchmarks' raw SQL writes through it.
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous("+synchronous+")&_txlock=immediate")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		t.Cleanup(func() {
			db.Close()
			store.Close()
		})
		return store, db
	}}
}

func TestConformance(t *testing.T) { storetest.Run(t, harness) }

func TestAPIConformance(t *testing.T) { storetest.RunAPI(t, harness) }

func TestCirculation(t *testing.T) { storetest.RunCirculation(t, harness) }
