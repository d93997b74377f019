package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/postgres"
	"github.com/litengine/litengine/storetest"
)

func TestCurrencyMismatch(t *testing.T) {
	dsn := postgres.NewTestSchema(t)
	storetest.RunCurrencyMismatch(t, func(p *litengine.Policies, now func() time.Time) (litengine.Store, error) {
		return postgres.Open(context.Background(), dsn, postgres.Options{Policies: p, Now: now})
	})
}
