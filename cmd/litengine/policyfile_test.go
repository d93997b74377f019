package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/litengine/litengine"
)

// writePolicy writes a policy file into a fresh directory and returns its path.
func writePolicy(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadPoliciesExample(t *testing.T) {
	p, err := loadPolicies("../../docs/policy.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Currency != "EUR" || p.Location.String() != "Europe/Paris" {
		t.Errorf("currency %q, timezone %q; want EUR, Europe/Paris", p.Currency, p.Location)
	}
	def := litengine.LoanPolicy{LoanDays: 21, RenewalDays: 14, MaxRenewals: 2, MaxActiveLoans: 10,
		DailyFee: 25, MaxFee: 1000, GraceDays: 1, MaxUnpaid: 500}
	for _, tc := range []struct {
		category string
		want     litengine.LoanPolicy
	}{
		{"", def},
		{"adult", def}, // not listed: the default
		{"child", litengine.LoanPolicy{LoanDays: 21, RenewalDays: 14, MaxRenewals: 2, MaxActiveLoans: 5,
			DailyFee: 10, MaxFee: 300, GraceDays: 1, MaxUnpaid: 500}},
		{"staff", litengine.LoanPolicy{LoanDays: 60, RenewalDays: 14, MaxRenewals: 5, MaxActiveLoans: 10,
			DailyFee: 0, MaxFee: 1000, GraceDays: 1, MaxUnpaid: 500}},
		{"inter-library", litengine.LoanPolicy{LoanDays: 28, RenewalDays: 0, MaxRenewals: 0, MaxActiveLoans: 10,
			DailyFee: 25, MaxFee: 1000, GraceDays: 1, MaxUnpaid: 500}},
	} {
		if got := p.For(tc.category); got != tc.want {
			t.Errorf("For(%q) = %+v, want %+v", tc.category, got, tc.want)
		}
	}
	if len(p.Categories) != 3 {
		t.Errorf("categories %v, want child, staff and inter-library", p.Categories)
	}
	// The file's rules at work: borrowed on a Friday afternoon in Paris,
	// returned two days late with one grace day.
	borrowed, _ := time.Parse(time.RFC3339, "2026-03-20T16:00:00+01:00")
	due := p.DueAt(borrowed, def.LoanDays)
	if want := "2026-04-10T23:59:59+02:00"; due.In(p.Location).Format(time.RFC3339) != want {
		t.Errorf("due %s, want %s", due.In(p.Location).Format(time.RFC3339), want)
	}
	days := p.OverdueDays(due, due.Add(36*time.Hour))
	if fee := p.For("").LateFee(days); days != 2 || fee != 25 {
		t.Errorf("returned 36 hours late: %d days, fee %d; want 2 days, fee 25", days, fee)
	}
}

func TestLoadPoliciesInherits(t *testing.T) {
	// builtin is the built-in default with some fields changed.
	builtin := func(change func(lp *litengine.LoanPolicy)) litengine.LoanPolicy {
		lp := litengine.DefaultPolicies().Default
		change(&lp)
		return lp
	}
	const head = "currency: EUR\ntimezone: UTC\n"
	for _, tc := range []struct {
		name, file string
		category   string
		want       litengine.LoanPolicy
	}{
		{"minimal file: built-in default", head, "",
			builtin(func(lp *litengine.LoanPolicy) {})},
		{"default overrides one field", head + "default:\n  loan_days: 28\n", "",
			builtin(func(lp *litengine.LoanPolicy) { lp.LoanDays = 28 })},
		{"category inherits the file's default", head + "default:\n  loan_days: 28\n  grace_days: 2\ncategories:\n  child:\n    daily_fee_minor: 10\n", "child",
			builtin(func(lp *litengine.LoanPolicy) { lp.LoanDays, lp.GraceDays, lp.DailyFee = 28, 2, 10 })},
		{"category leaves the default alone", head + "default:\n  loan_days: 28\ncategories:\n  child:\n    daily_fee_minor: 10\n", "",
			builtin(func(lp *litengine.LoanPolicy) { lp.LoanDays = 28 })},
		{"category may set a field to zero", head + "categories:\n  staff:\n    daily_fee_minor: 0\n    max_renewals: 0\n", "staff",
			builtin(func(lp *litengine.LoanPolicy) { lp.DailyFee, lp.MaxRenewals = 0, 0 })},
		{"empty category is the default", head + "default:\n  loan_days: 7\ncategories:\n  adult:\n", "adult",
			builtin(func(lp *litengine.LoanPolicy) { lp.LoanDays = 7 })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := loadPolicies(writePolicy(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.For(tc.category); got != tc.want {
				t.Errorf("For(%q) = %+v, want %+v", tc.category, got, tc.want)
			}
		})
	}
}

func TestLoadPoliciesNormalises(t *testing.T) {
	p, err := loadPolicies(writePolicy(t, "currency: usd\ntimezone: America/New_York\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Currency != "USD" || p.Location.String() != "America/New_York" {
		t.Errorf("currency %q, timezone %q; want USD, America/New_York", p.Currency, p.Location)
	}
}

func TestLoadPoliciesMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := loadPolicies(path)
	if err == nil {
		t.Fatal("loaded a missing file")
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v is not fs.ErrNotExist", err)
	}
	if want := "read policy file: open " + path + ": no such file or directory"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestLoadPoliciesErrors(t *testing.T) {
	const head = "currency: EUR\ntimezone: Europe/Paris\n"
	for _, tc := range []struct {
		name, file string
		want       []string // parts of the error message
	}{
		{"unknown top-level field", "currency: EUR\ntimezone: UTC\ncurency: USD\n", []string{"line 3", "curency"}},
		{"unknown field in default", head + "default:\n  loan_days: 21\n  fine_per_day: 25\n", []string{"line 5", "fine_per_day"}},
		{"unknown field in a category", head + "categories:\n  child:\n    lone_days: 7\n", []string{"line 5", "lone_days"}},
		{"money without its unit", head + "default:\n  daily_fee: 25\n", []string{"daily_fee"}},
		{"repeated key", head + "default:\n  loan_days: 21\n  loan_days: 28\n", []string{"loan_days", "already defined"}},
		{"days as a decimal", head + "default:\n  loan_days: 2.5\n", []string{"line 4", "2.5"}},
		{"money as a decimal", head + "default:\n  daily_fee_minor: 0.25\n", []string{"line 4", "0.25"}},
		{"days as text", head + "default:\n  loan_days: three\n", []string{"line 4", "three"}},
		{"money beyond int64", head + "default:\n  max_fee_minor: 99999999999999999999\n", []string{"line 4", "int64"}},
		{"empty file", "", []string{"no documents"}},
		{"a list, not a mapping", "- currency: EUR\n", []string{"line 1"}},

		{"missing currency", "timezone: Europe/Paris\n", []string{"currency is required"}},
		{"missing timezone", "currency: EUR\n", []string{"timezone is required"}},
		{"bad timezone", "currency: EUR\ntimezone: Europe/Pari\n", []string{`timezone "Europe/Pari" is not an IANA time zone name`}},
		{"timezone as an offset", "currency: EUR\ntimezone: +01:00\n", []string{`timezone "+01:00"`}},
		{"host's timezone", "currency: EUR\ntimezone: Local\n", []string{"not Local"}},
		{"timezone as a path", "currency: EUR\ntimezone: ../../etc/passwd\n", []string{`timezone "../../etc/passwd"`}},
		{"bad currency", "currency: EURO\ntimezone: Europe/Paris\n", []string{`currency "EURO" is not the ISO 4217 code`}},
		{"withdrawn currency", "currency: FRF\ntimezone: Europe/Paris\n", []string{`currency "FRF"`}},

		{"negative fee in default", head + "default:\n  daily_fee_minor: -25\n", []string{"default: daily_fee_minor must be between 0 and"}},
		{"zero loan days in a category", head + "categories:\n  child:\n    loan_days: 0\n", []string{"category child: loan_days must be between 1 and 3650, not 0"}},
		{"renewals without renewal days", head + "default:\n  renewal_days: 0\n", []string{"default: renewal_days must be between 1 and 3650, not 0"}},
		{"bad category name", head + "categories:\n  Child:\n    loan_days: 7\n", []string{`category name "Child"`}},
		{"category name with a space", head + "categories:\n  \"young adult\":\n    loan_days: 7\n", []string{`category name "young adult"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writePolicy(t, tc.file)
			p, err := loadPolicies(path)
			if err == nil {
				t.Fatalf("loaded %+v", p)
			}
			msg := err.Error()
			for _, want := range append(tc.want, path) {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
		})
	}
}
