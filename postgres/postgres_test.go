package postgres_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for the suite's checks

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/postgres"
	"github.com/litengine/litengine/storetest"
)

// harness gives each test a fresh, migrated, empty schema of the test
// database (see postgres.NewTestSchema), dropped when the test ends.
var harness = storetest.Harness{
	Open: func(t testing.TB, cfg storetest.Config) (litengine.Store, *sql.DB) {
		dsn := postgres.NewTestSchema(t)
		store, err := postgres.Open(context.Background(), dsn, postgres.Options{Now: cfg.Now, Policies: cfg.Policies})
		if err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("pgx", dsn)
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

func TestCirculation(t *testing.T) { storetest.RunCirculation(t, harness) }

// TestMigrationsRunOnce starts four engines together on an empty schema: the
// advisory lock lets one migrate while the others wait and find nothing to do.
func TestMigrationsRunOnce(t *testing.T) {
	dsn := postgres.NewTestSchema(t)
	const engines = 4
	var wg sync.WaitGroup
	errs := make([]error, engines)
	for i := range engines {
		wg.Go(func() {
			db, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 2})
			if err == nil {
				err = db.Ping(context.Background())
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("engine %d: %v", i, err)
		}
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var applied, distinct, total int
	if err := db.QueryRow(`SELECT count(*) FILTER (WHERE version_id > 0), count(DISTINCT version_id), count(*)
		FROM goose_db_version`).Scan(&applied, &distinct, &total); err != nil {
		t.Fatal(err)
	}
	// goose's version table holds version 0 (its own creation) and each
	// migration once.
	if applied != distinct-1 || total != distinct || applied < 2 {
		t.Fatalf("%d migration rows for %d versions (%d rows in all); want each migration once", applied, distinct-1, total)
	}
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_name IN ('books', 'users', 'loans')`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 3 {
		t.Fatalf("%d of the 3 tables exist", tables)
	}
}
