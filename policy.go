package litengine

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/currency"
)

// LoanPolicy is the circulation rules for one category of members. Money is
// in minor units of the library's currency (cents for EUR), never float, so
// that sums are exact.
type LoanPolicy struct {
	LoanDays       int   // loan period in library-local days
	RenewalDays    int   // each renewal extends the due date by this many days
	MaxRenewals    int   // renewals allowed per loan; 0 disables renewal
	MaxActiveLoans int   // loans a member may hold at once; 0 suspends borrowing
	DailyFee       int64 // late fee per overdue day, minor units
	MaxFee         int64 // cap on the late fee of one loan, minor units; 0 makes late returns free
	GraceDays      int   // overdue days that cost nothing (see LateFee)
	MaxUnpaid      int64 // borrowing is refused while the member's unpaid fees exceed this, minor units
}

// Policies is the library's rules: one currency and time zone, a default
// policy and per-category overrides.
type Policies struct {
	Currency   string         // ISO 4217 code, e.g. "EUR"; amounts are in its minor units
	Location   *time.Location // the library's time zone: loan days end at its midnight
	Default    LoanPolicy
	Categories map[string]LoanPolicy // keyed by category name, e.g. "adult", "child", "staff"
}

// Limits of Validate. Money is capped far below int64 so that the fees of
// millions of loans still add up without overflow.
const (
	maxPolicyDays        = 3650 // ten years
	maxPolicyRenewals    = 100
	maxPolicyActiveLoans = 10000
	maxPolicyAmount      = 1_000_000_000_000 // minor units: ten billion euros
)

// DefaultPolicies is a typical public-library setting: 14-day loans (as
// DefaultLoanPeriod), two renewals of 14 days, 10 loans at once, 0.25 per
// overdue day capped at 10.00 per loan, no grace, and borrowing blocked above
// 5.00 unpaid. The currency is EUR and the time zone UTC; a library sets its
// own, since the amounts are in minor units of Currency and the days end at
// the library's midnight.
func DefaultPolicies() *Policies {
	return &Policies{
		Currency: "EUR",
		Location: time.UTC,
		Default: LoanPolicy{
			LoanDays:       int(DefaultLoanPeriod / (24 * time.Hour)),
			RenewalDays:    14,
			MaxRenewals:    2,
			MaxActiveLoans: 10,
			DailyFee:       25,
			MaxFee:         1000,
			GraceDays:      0,
			MaxUnpaid:      500,
		},
		Categories: map[string]LoanPolicy{},
	}
}

// ValidCategory reports whether name can name a category of members:
// ^[a-z][a-z0-9_-]{0,31}$, so that it is safe in URLs, logs and file keys.
func ValidCategory(name string) bool {
	if len(name) == 0 || len(name) > 32 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for _, c := range []byte(name[1:]) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// tenderCurrencies are the ISO 4217 currencies in use as legal tender
// somewhere, so that codes such as XXX (no currency), XTS (testing) or DEM
// (withdrawn) are refused: a fee must be payable.
var tenderCurrencies = sync.OnceValue(func() map[currency.Unit]bool {
	set := make(map[currency.Unit]bool)
	for it := currency.Query(); it.Next(); {
		set[it.Unit()] = true
	}
	return set
})

// Validate checks every rule and normalises Currency to upper case ("eur"
// becomes "EUR"), as ISO 4217 codes are case-insensitive. It reports every
// problem at once, naming fields as the policy file does, so that a whole
// file can be fixed in one go.
func (p *Policies) Validate() error {
	var problems []string
	if unit, err := currency.ParseISO(p.Currency); err != nil || !tenderCurrencies()[unit] {
		problems = append(problems, fmt.Sprintf("currency %q is not the ISO 4217 code of a currency in use, such as EUR or USD", p.Currency))
	} else {
		p.Currency = unit.String()
	}
	if p.Location == nil {
		problems = append(problems, "timezone is missing")
	}
	problems = p.Default.problems("default", problems)
	for _, name := range slices.Sorted(maps.Keys(p.Categories)) {
		if !ValidCategory(name) {
			problems = append(problems, fmt.Sprintf("category name %q must be 1 to 32 lower-case letters, digits, '_' or '-', starting with a letter", name))
			continue
		}
		problems = p.Categories[name].problems("category "+name, problems)
	}
	if problems != nil {
		return Errorf(EINVALID, "Invalid loan policies: %s.", strings.Join(problems, "; "))
	}
	return nil
}

// problems appends what is wrong with lp to list, each prefixed with where.
func (lp LoanPolicy) problems(where string, list []string) []string {
	check := func(field string, v, lo, hi int64) {
		if v < lo || v > hi {
			list = append(list, fmt.Sprintf("%s: %s must be between %d and %d, not %d", where, field, lo, hi, v))
		}
	}
	check("loan_days", int64(lp.LoanDays), 1, maxPolicyDays)
	check("max_renewals", int64(lp.MaxRenewals), 0, maxPolicyRenewals)
	if lp.MaxRenewals > 0 {
		check("renewal_days", int64(lp.RenewalDays), 1, maxPolicyDays)
	} else {
		check("renewal_days", int64(lp.RenewalDays), 0, maxPolicyDays)
	}
	check("max_active_loans", int64(lp.MaxActiveLoans), 0, maxPolicyActiveLoans)
	check("daily_fee_minor", lp.DailyFee, 0, maxPolicyAmount)
	check("max_fee_minor", lp.MaxFee, 0, maxPolicyAmount)
	check("grace_days", int64(lp.GraceDays), 0, maxPolicyDays)
	check("max_unpaid_minor", lp.MaxUnpaid, 0, maxPolicyAmount)
	return list
}

// For returns the policy of a category of members, or the default policy for
// "" or a category without its own. Names are matched exactly.
func (p *Policies) For(category string) LoanPolicy {
	if lp, ok := p.Categories[category]; ok && category != "" {
		return lp
	}
	return p.Default
}

// location is the library's time zone; UTC when unset, so that the time
// rules never panic on policies that skipped Validate.
func (p *Policies) location() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

// DueAt is when a loan made at from for the given number of days falls due:
// the last second of the library-local day that many days after the local
// date of from. That is 23:59:59 local whatever the time of borrowing and
// whatever daylight-saving change lies between, so that every loan made on
// one day for one period is due at the same instant and a member gets whole
// days. Borrowing uses from = borrowed_at and days = LoanDays. The result is
// in UTC, to the second. (A day that a zone skipped entirely, such as 30
// December 2011 in Samoa, ends with the day before it.)
func (p *Policies) DueAt(from time.Time, days int) time.Time {
	loc := p.location()
	y, m, d := from.In(loc).Date()
	return startOfDay(y, m, d+days+1, loc).Add(-time.Second).UTC()
}

// RenewedDueAt is the due date after a renewal of days days. It extends from
// the later of the current due date and now, so that renewing early never
// shortens a loan, and renewing late gives the full days from today. Whether a
// renewal is allowed at all (MaxRenewals, an overdue loan) is the caller's
// rule.
func (p *Policies) RenewedDueAt(currentDue, now time.Time, days int) time.Time {
	return p.DueAt(later(currentDue, now), days)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// OverdueDays is how many days late a return at at is for a loan due at
// dueAt, counted in library-local calendar days: 0 if at is not after dueAt,
// otherwise the smallest n >= 1 such that the local wall-clock time of dueAt
// moved n calendar days on (time.AddDate(0, 0, n) in the library's zone) is
// not before at. One second late is 1 day; a local day of 23 or 25 hours
// across a daylight-saving change is still one day.
//
// If the wall-clock time of dueAt does not exist on the target day (skipped
// by a forward change) or occurs twice (a backward change), AddDate
// normalises it as time.Date does: a skipped time moves by the size of the
// gap, a repeated one is taken in one of its two offsets. That day's boundary
// then shifts by at most the size of the change. Due dates from DueAt end at
// 23:59:59, which only zones changing their clocks at midnight ever meet.
//
// The count is computed from civil dates, not by stepping day by day, so it
// costs the same for a loan 100 years late and never overflows.
func (p *Policies) OverdueDays(dueAt, at time.Time) int64 {
	if !at.After(dueAt) {
		return 0
	}
	loc := p.location()
	due := dueAt.In(loc)
	step := func(n int64) time.Time { return due.AddDate(0, 0, int(n)) }
	// The answer is the civil-day difference or one more; the loops settle
	// which in a step or two, as each step moves by about a day.
	n := max(civilDay(at.In(loc))-civilDay(due), 1)
	for n > 1 && !step(n-1).Before(at) {
		n--
	}
	for step(n).Before(at) {
		n++
	}
	return n
}

// civilDay numbers the calendar date of t: days since 1970-01-01, whatever
// t's zone.
func civilDay(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// startOfDay is the first instant whose local date is the given date or
// later. That is local midnight, except where a clock change skips midnight
// (the day then begins at the change) or repeats it (the day begins at the
// first of the two). The date is normalised as time.Date does (day 32 of
// January is 1 February).
func startOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	day := civilDay(want)
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	switch c := civilDay(t); {
	case c < day:
		// Midnight was skipped and time.Date fell back into the day before;
		// the day begins where that offset ends. If the whole day was
		// skipped, that is where the next day begins.
		if _, end := t.ZoneBounds(); !end.IsZero() {
			return end
		}
		return t
	case c > day:
		// The whole day was skipped and time.Date fell into the next one.
		if start, _ := t.ZoneBounds(); !start.IsZero() {
			return start
		}
		return t
	}
	// Midnight may have occurred earlier too, in the offset before a backward
	// change that repeats it; the day begins at that first midnight. (When
	// time.Date moved a skipped midnight forwards, t is the change itself and
	// this finds nothing earlier.)
	if start, _ := t.ZoneBounds(); !start.IsZero() {
		_, off := start.Add(-time.Second).Zone()
		first := want.Add(-time.Duration(off) * time.Second)
		if first.Before(start) && sameClock(first.In(loc)).Equal(want) {
			return first
		}
	}
	return t
}

// sameClock is t's local wall-clock reading as a UTC time, for comparing
// readings across offsets.
func sameClock(t time.Time) time.Time {
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, m, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// LateFee is the fee for a return overdueDays days late: nothing within the
// grace period, and once it is over, DailyFee for each overdue day beyond the
// GraceDays, capped at MaxFee. The grace days are forgiven on every loan, so
// one more day late never costs more than one DailyFee: a return one day
// after a 3-day grace costs 1 × DailyFee, not 4. It never overflows: the cap
// is checked before multiplying.
func (lp LoanPolicy) LateFee(overdueDays int64) int64 {
	grace := int64(max(lp.GraceDays, 0))
	if overdueDays <= grace || lp.DailyFee <= 0 || lp.MaxFee <= 0 {
		return 0
	}
	charged := overdueDays - grace
	if charged > lp.MaxFee/lp.DailyFee {
		return lp.MaxFee
	}
	return charged * lp.DailyFee
}
