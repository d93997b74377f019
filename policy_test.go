package litengine_test

import (
	"math"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the same zone rules on every machine

	"github.com/litengine/litengine"
)

// policyZone loads an IANA time zone.
func policyZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// policiesIn is DefaultPolicies in the named time zone.
func policiesIn(t *testing.T, name string) *litengine.Policies {
	t.Helper()
	p := litengine.DefaultPolicies()
	p.Location = policyZone(t, name)
	return p
}

// policyTime parses an RFC 3339 time; the offsets in the tables are the library's
// local ones, so that each row reads as a wall clock.
func policyTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// julianDay numbers a Gregorian date with the Fliegel–Van Flandern formula,
// independently of package time, to check day counts over long spans.
func julianDay(y, m, d int64) int64 {
	return (1461*(y+4800+(m-14)/12))/4 + (367*(m-2-12*((m-14)/12)))/12 - (3*((y+4900+(m-14)/12)/100))/4 + d - 32075
}

func TestPolicyJulianDay(t *testing.T) {
	// Known values, so that the reference itself is trusted.
	if got := julianDay(2000, 1, 1); got != 2451545 {
		t.Errorf("julianDay(2000-01-01) = %d, want 2451545", got)
	}
	if got := julianDay(1970, 1, 1); got != 2440588 {
		t.Errorf("julianDay(1970-01-01) = %d, want 2440588", got)
	}
}

func TestDueAt(t *testing.T) {
	for _, tc := range []struct {
		name string
		zone string
		from string
		days int
		want string // the library's local time
	}{
		{"UTC", "UTC", "2026-03-01T09:30:00Z", 14, "2026-03-15T23:59:59Z"},
		{"borrowed at local midnight", "UTC", "2026-03-01T00:00:00Z", 14, "2026-03-15T23:59:59Z"},
		{"borrowed at the last second of the day", "UTC", "2026-03-01T23:59:59Z", 14, "2026-03-15T23:59:59Z"},
		{"zero days: end of today", "UTC", "2026-03-01T09:30:00Z", 0, "2026-03-01T23:59:59Z"},

		// The local date counts, not the UTC one: 00:30 in Paris is still the day before in UTC.
		{"Paris after local midnight", "Europe/Paris", "2026-06-01T00:30:00+02:00", 14, "2026-06-15T23:59:59+02:00"},
		{"Paris before local midnight", "Europe/Paris", "2026-05-31T23:30:00+02:00", 14, "2026-06-14T23:59:59+02:00"},

		// Daylight-saving changes: still 23:59:59 local, whichever offset.
		{"Paris across spring forward", "Europe/Paris", "2026-03-20T10:00:00+01:00", 14, "2026-04-03T23:59:59+02:00"},
		{"Paris due on spring-forward day", "Europe/Paris", "2026-03-15T12:00:00+01:00", 14, "2026-03-29T23:59:59+02:00"},
		{"Paris due the day before spring forward", "Europe/Paris", "2026-03-14T12:00:00+01:00", 14, "2026-03-28T23:59:59+01:00"},
		{"Paris across fall back", "Europe/Paris", "2026-10-20T10:00:00+02:00", 14, "2026-11-03T23:59:59+01:00"},
		{"Paris due on fall-back day", "Europe/Paris", "2026-10-11T12:00:00+02:00", 14, "2026-10-25T23:59:59+01:00"},
		{"New York across spring forward", "America/New_York", "2026-02-22T15:00:00-05:00", 14, "2026-03-08T23:59:59-04:00"},
		{"New York due the day before spring forward", "America/New_York", "2026-02-21T15:00:00-05:00", 14, "2026-03-07T23:59:59-05:00"},
		{"New York across fall back", "America/New_York", "2026-10-18T15:00:00-04:00", 14, "2026-11-01T23:59:59-05:00"},
		{"New York borrowed in the evening", "America/New_York", "2026-10-18T21:00:00-04:00", 14, "2026-11-01T23:59:59-05:00"},

		// Zones that change their clocks at midnight, where local midnight
		// may not exist or may occur twice.
		{"Havana: midnight skipped on 8 March", "America/Havana", "2026-03-01T12:00:00-05:00", 6, "2026-03-07T23:59:59-05:00"},
		{"Havana: day that starts at 01:00", "America/Havana", "2026-03-01T12:00:00-05:00", 7, "2026-03-08T23:59:59-04:00"},
		{"Havana: midnight repeated on 1 November", "America/Havana", "2026-10-30T12:00:00-04:00", 1, "2026-10-31T23:59:59-04:00"},
		{"Havana: day with a repeated first hour", "America/Havana", "2026-10-30T12:00:00-04:00", 2, "2026-11-01T23:59:59-05:00"},
		{"Santiago: midnight skipped on 6 September", "America/Santiago", "2026-09-01T12:00:00-04:00", 4, "2026-09-05T23:59:59-04:00"},
		{"Santiago: last hour repeated on 4 April", "America/Santiago", "2026-04-01T12:00:00-03:00", 3, "2026-04-04T23:59:59-04:00"},
		{"Beirut: day that starts at 01:00", "Asia/Beirut", "2026-03-22T12:00:00+02:00", 7, "2026-03-29T23:59:59+03:00"},
		// Jordan repeated 00:00-00:59 on 28 October 2016, east of UTC.
		{"Amman: day before a repeated midnight", "Asia/Amman", "2016-10-26T12:00:00+03:00", 1, "2016-10-27T23:59:59+03:00"},
		{"Amman: day with a repeated first hour", "Asia/Amman", "2016-10-26T12:00:00+03:00", 2, "2016-10-28T23:59:59+02:00"},
		// Samoa skipped 30 December 2011 entirely: that day ends when 29 December does.
		{"Apia: day before the skipped day", "Pacific/Apia", "2011-12-28T12:00:00-10:00", 1, "2011-12-29T23:59:59-10:00"},
		{"Apia: skipped day ends with the day before", "Pacific/Apia", "2011-12-28T12:00:00-10:00", 2, "2011-12-29T23:59:59-10:00"},
		{"Apia: day after the skipped day", "Pacific/Apia", "2011-12-28T12:00:00-10:00", 3, "2011-12-31T23:59:59+14:00"},

		// Calendar edges.
		{"to 29 February", "UTC", "2028-02-15T10:00:00Z", 14, "2028-02-29T23:59:59Z"},
		{"over 29 February", "UTC", "2028-02-28T10:00:00Z", 2, "2028-03-01T23:59:59Z"},
		{"no 29 February in 2027", "UTC", "2027-02-28T10:00:00Z", 1, "2027-03-01T23:59:59Z"},
		{"31 January plus 28 days", "Europe/Paris", "2026-01-31T10:00:00+01:00", 28, "2026-02-28T23:59:59+01:00"},
		{"31 January plus a month of days", "Europe/Paris", "2026-01-31T10:00:00+01:00", 31, "2026-03-03T23:59:59+01:00"},
		{"31 January plus a month of days, leap year", "Europe/Paris", "2028-01-31T10:00:00+01:00", 31, "2028-03-02T23:59:59+01:00"},
		{"31 December plus one day", "UTC", "2026-12-31T12:00:00Z", 1, "2027-01-01T23:59:59Z"},
		{"over the year end", "Europe/Paris", "2026-12-18T16:00:00+01:00", 14, "2027-01-01T23:59:59+01:00"},
		{"ten years", "Europe/Paris", "2026-03-01T10:00:00+01:00", 3650, "2036-02-27T23:59:59+01:00"},

		// Pacific/Auckland is 12 or 13 hours ahead: 13:00 UTC is already the next day there.
		{"Auckland counts from its own date", "Pacific/Auckland", "2026-06-10T13:00:00Z", 14, "2026-06-25T23:59:59+12:00"},
		{"UTC counts from the UTC date", "UTC", "2026-06-10T13:00:00Z", 14, "2026-06-24T23:59:59Z"},
		{"Auckland across fall back", "Pacific/Auckland", "2026-03-29T10:00:00+13:00", 7, "2026-04-05T23:59:59+12:00"},
		{"Auckland across spring forward", "Pacific/Auckland", "2026-09-20T10:00:00+12:00", 7, "2026-09-27T23:59:59+13:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := policiesIn(t, tc.zone)
			got := p.DueAt(policyTime(t, tc.from), tc.days)
			if want := policyTime(t, tc.want); !got.Equal(want) {
				t.Errorf("DueAt(%s, %d) = %s (%s local), want %s", tc.from, tc.days,
					got.Format(time.RFC3339), got.In(p.Location).Format(time.RFC3339), tc.want)
			}
			if got.Location() != time.UTC || got.Nanosecond() != 0 {
				t.Errorf("DueAt = %s, want UTC to the second", got.Format(time.RFC3339Nano))
			}
		})
	}
}

// TestDueAtEveryDay checks every borrow day of two years in zones with
// unusual changes: the due time is 23:59:59 local on the right date, and the
// next second begins the next local day.
func TestDueAtEveryDay(t *testing.T) {
	for _, tc := range []struct {
		name string
		year int
	}{
		{"UTC", 2026}, {"Europe/Paris", 2026}, {"America/New_York", 2026}, {"Pacific/Auckland", 2026},
		{"America/Havana", 2026}, {"America/Santiago", 2026}, {"Asia/Beirut", 2026},
		{"Australia/Lord_Howe", 2026}, {"Pacific/Chatham", 2026}, {"Asia/Amman", 2015},
	} {
		name := tc.name
		p := policiesIn(t, name)
		for day := range 2 * 366 {
			from := time.Date(tc.year, 1, 1+day, 15, 0, 0, 0, p.Location)
			for _, days := range []int{0, 1, 14} {
				due := p.DueAt(from, days).In(p.Location)
				y, m, d := from.Date()
				wantDate := time.Date(y, m, d+days, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
				if due.Format(time.DateOnly) != wantDate || due.Format(time.TimeOnly) != "23:59:59" {
					t.Fatalf("%s: DueAt(%s, %d) = %s, want %s 23:59:59", name, from.Format(time.RFC3339), days, due.Format(time.RFC3339), wantDate)
				}
				if next := due.Add(time.Second); next.Format(time.DateOnly) == wantDate {
					t.Fatalf("%s: DueAt(%s, %d) = %s is not the last second of its day", name, from.Format(time.RFC3339), days, due.Format(time.RFC3339))
				}
			}
		}
	}
}

func TestRenewedDueAt(t *testing.T) {
	p := policiesIn(t, "Europe/Paris")
	due := "2026-04-03T23:59:59+02:00"
	for _, tc := range []struct {
		name, now string
		days      int
		want      string
	}{
		{"early renewal extends from the due date", "2026-03-25T10:00:00+01:00", 14, "2026-04-17T23:59:59+02:00"},
		{"renewal on the due day", "2026-04-03T18:00:00+02:00", 14, "2026-04-17T23:59:59+02:00"},
		{"renewal at the due second", due, 14, "2026-04-17T23:59:59+02:00"},
		{"late renewal extends from today", "2026-04-10T10:00:00+02:00", 14, "2026-04-24T23:59:59+02:00"},
		{"late renewal just after midnight", "2026-04-04T00:00:00+02:00", 14, "2026-04-18T23:59:59+02:00"},
		{"zero days keeps an early loan's due date", "2026-03-25T10:00:00+01:00", 0, due},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := p.RenewedDueAt(policyTime(t, due), policyTime(t, tc.now), tc.days)
			if want := policyTime(t, tc.want); !got.Equal(want) {
				t.Errorf("RenewedDueAt(%s, %s, %d) = %s, want %s", due, tc.now, tc.days,
					got.In(p.Location).Format(time.RFC3339), tc.want)
			}
		})
	}
	// Whenever the member renews, the loan never gets shorter.
	current := policyTime(t, due)
	for now := current.Add(-30 * 24 * time.Hour); now.Before(current.Add(30 * 24 * time.Hour)); now = now.Add(97 * time.Minute) {
		if got := p.RenewedDueAt(current, now, 1); !got.After(current) {
			t.Fatalf("RenewedDueAt(%s, %s, 1) = %s, not after the current due date", current, now, got)
		}
	}
}

func TestOverdueDays(t *testing.T) {
	for _, tc := range []struct {
		name    string
		zone    string
		due, at string // local times of the library
		want    int64
	}{
		{"returned early", "Europe/Paris", "2026-04-03T23:59:59+02:00", "2026-04-01T10:00:00+02:00", 0},
		{"one second early", "Europe/Paris", "2026-04-03T23:59:59+02:00", "2026-04-03T23:59:58+02:00", 0},
		{"exactly at the due time", "Europe/Paris", "2026-04-03T23:59:59+02:00", "2026-04-03T23:59:59+02:00", 0},
		{"one second late", "Europe/Paris", "2026-04-03T23:59:59+02:00", "2026-04-04T00:00:00+02:00", 1},
		{"last second of the first late day", "Europe/Paris", "2026-04-03T23:59:59+02:00", "2026-04-04T23:59:59+02:00", 1},
		{"one day and one second late", "Europe/Paris", "2026-04-03T23:59:59+02:00", "2026-04-05T00:00:00+02:00", 2},
		{"a week late", "Europe/Paris", "2026-04-03T23:59:59+02:00", "2026-04-10T12:00:00+02:00", 7},

		// A loan due the evening before a change, returned the evening after: one day.
		{"Paris spring forward, 23-hour day", "Europe/Paris", "2026-03-28T20:00:00+01:00", "2026-03-29T20:00:00+02:00", 1},
		{"Paris spring forward, 24 hours is past the wall clock", "Europe/Paris", "2026-03-28T20:00:00+01:00", "2026-03-29T21:00:00+02:00", 2},
		{"Paris spring forward, end of day", "Europe/Paris", "2026-03-28T23:59:59+01:00", "2026-03-29T23:59:59+02:00", 1},
		{"Paris spring forward, next day", "Europe/Paris", "2026-03-28T23:59:59+01:00", "2026-03-30T00:00:00+02:00", 2},
		{"Paris fall back, 25-hour day", "Europe/Paris", "2026-10-24T20:00:00+02:00", "2026-10-25T20:00:00+01:00", 1},
		{"Paris fall back, end of day", "Europe/Paris", "2026-10-24T23:59:59+02:00", "2026-10-25T23:59:59+01:00", 1},
		{"Paris fall back, next day", "Europe/Paris", "2026-10-24T23:59:59+02:00", "2026-10-26T00:00:00+01:00", 2},
		{"New York spring forward, 23-hour day", "America/New_York", "2026-03-07T20:00:00-05:00", "2026-03-08T20:00:00-04:00", 1},
		{"New York spring forward, end of day", "America/New_York", "2026-03-07T23:59:59-05:00", "2026-03-08T23:59:59-04:00", 1},
		{"New York fall back, 25-hour day", "America/New_York", "2026-10-31T20:00:00-04:00", "2026-11-01T20:00:00-05:00", 1},
		{"New York fall back, end of day", "America/New_York", "2026-10-31T23:59:59-04:00", "2026-11-01T23:59:59-05:00", 1},
		{"New York fall back, next day", "America/New_York", "2026-10-31T23:59:59-04:00", "2026-11-02T00:00:00-05:00", 2},
		// The same 25 hours in a UTC library are more than a day.
		{"UTC library, same 25 hours", "UTC", "2026-10-24T18:00:00Z", "2026-10-25T19:00:00Z", 2},

		// A day counted in the library's zone, not in UTC: Auckland's 25-hour day.
		{"Auckland fall back, end of day", "Pacific/Auckland", "2026-04-04T23:59:59+13:00", "2026-04-05T23:59:59+12:00", 1},
		{"UTC library, same instants", "UTC", "2026-04-04T10:59:59Z", "2026-04-05T11:59:59Z", 2},

		// Zones changing at midnight.
		{"Havana, first instant of a day starting at 01:00", "America/Havana", "2026-03-07T23:59:59-05:00", "2026-03-08T01:00:00-04:00", 1},
		{"Havana, end of a day starting at 01:00", "America/Havana", "2026-03-07T23:59:59-05:00", "2026-03-08T23:59:59-04:00", 1},
		{"Havana, day after", "America/Havana", "2026-03-07T23:59:59-05:00", "2026-03-09T00:00:00-04:00", 2},
		{"Havana, repeated midnight, first pass", "America/Havana", "2026-10-31T23:59:59-04:00", "2026-11-01T00:00:00-04:00", 1},
		{"Havana, repeated midnight, second pass", "America/Havana", "2026-10-31T23:59:59-04:00", "2026-11-01T00:00:00-05:00", 1},
		{"Havana, end of a 25-hour day", "America/Havana", "2026-10-31T23:59:59-04:00", "2026-11-01T23:59:59-05:00", 1},

		// The due wall clock skipped (02:30 on 29 March) or repeated (02:30 on
		// 25 October) on the target day: AddDate normalises it, which moves that
		// day's boundary by at most the hour of the change. Returns outside
		// that hour count the same either way.
		{"due wall clock skipped, before the change", "Europe/Paris", "2026-03-28T02:30:00+01:00", "2026-03-29T01:00:00+01:00", 1},
		{"due wall clock skipped, after the change", "Europe/Paris", "2026-03-28T02:30:00+01:00", "2026-03-29T04:00:00+02:00", 2},
		{"due wall clock repeated, before both", "Europe/Paris", "2026-10-24T02:30:00+02:00", "2026-10-25T02:00:00+02:00", 1},
		{"due wall clock repeated, after both", "Europe/Paris", "2026-10-24T02:30:00+02:00", "2026-10-25T03:00:00+01:00", 2},

		// A due time not at the end of a day, as stored by borrowed_at + 14 × 24 h.
		{"due mid-day, a day later", "UTC", "2026-03-15T09:30:00Z", "2026-03-16T09:30:00Z", 1},
		{"due mid-day, a day and a second later", "UTC", "2026-03-15T09:30:00Z", "2026-03-16T09:30:01Z", 2},

		// Calendar edges.
		{"29 February", "UTC", "2028-02-28T23:59:59Z", "2028-02-29T12:00:00Z", 1},
		{"over 29 February", "UTC", "2028-02-28T23:59:59Z", "2028-03-01T00:00:00Z", 2},
		{"no 29 February", "UTC", "2027-02-28T23:59:59Z", "2027-03-01T00:00:00Z", 1},
		{"31 January to end of February", "Europe/Paris", "2026-01-31T23:59:59+01:00", "2026-02-28T23:59:59+01:00", 28},
		{"31 January to end of March", "Europe/Paris", "2026-01-31T23:59:59+01:00", "2026-03-31T23:59:59+02:00", 59},
		{"year end", "UTC", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z", 1},
		{"year end, a month", "UTC", "2026-12-31T23:59:59Z", "2027-01-31T23:59:59Z", 31},
		{"one year, with 29 February", "UTC", "2027-12-31T23:59:59Z", "2028-12-31T23:59:59Z", 366},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := policiesIn(t, tc.zone)
			if got := p.OverdueDays(policyTime(t, tc.due), policyTime(t, tc.at)); got != tc.want {
				t.Errorf("OverdueDays(%s, %s) = %d, want %d", tc.due, tc.at, got, tc.want)
			}
		})
	}
}

// TestOverdueDaysLongSpans checks day counts over a century and more against
// Julian day numbers, and that they cost no more than a short one.
func TestOverdueDaysLongSpans(t *testing.T) {
	p := policiesIn(t, "Europe/Paris")
	due := p.DueAt(policyTime(t, "2026-03-01T10:00:00+01:00"), 14) // 2026-03-15 23:59:59 local
	for _, tc := range []struct {
		y, m, d int64 // returned at 00:00:00 local on this date
		want    int64 // literal day count, cross-checked below
	}{
		{2126, 3, 16, 36525},        // 100 years and a second: 24 leap days, as 2100 is not leap
		{2426, 3, 16, 146098},       // 400 years and a second: one full Gregorian cycle of 146097 days
		{12026, 3, 16, 3652426},     // 10,000 years
		{1002026, 3, 16, 365242501}, // a million years
	} {
		at := time.Date(int(tc.y), time.Month(tc.m), int(tc.d), 0, 0, 0, 0, p.Location)
		ref := julianDay(tc.y, tc.m, tc.d) - julianDay(2026, 3, 15)
		if ref != tc.want {
			t.Fatalf("table error: %d-%02d-%02d is %d days after 2026-03-15, not %d", tc.y, tc.m, tc.d, ref, tc.want)
		}
		if got := p.OverdueDays(due, at); got != tc.want {
			t.Errorf("OverdueDays(%s, %s) = %d, want %d", due, at, got, tc.want)
		}
		if got := p.OverdueDays(due, at.Add(-time.Second)); got != tc.want-1 {
			t.Errorf("OverdueDays(%s, %s) = %d, want %d", due, at.Add(-time.Second), got, tc.want-1)
		}
	}
	// A century costs as little as an hour: the count is arithmetic, not a
	// walk over 36,525 days.
	cost := func(at time.Time) time.Duration {
		start := time.Now()
		for range 2000 {
			p.OverdueDays(due, at)
		}
		return time.Since(start)
	}
	short, long := cost(due.Add(time.Hour)), cost(time.Date(2126, 3, 16, 0, 0, 0, 0, p.Location))
	if long > 50*short+10*time.Millisecond {
		t.Errorf("2000 counts over a century take %s, over an hour %s: not constant time", long, short)
	}
}

func TestLateFee(t *testing.T) {
	const huge = math.MaxInt64 / 2
	plain := litengine.LoanPolicy{DailyFee: 25, MaxFee: 1000}
	grace := litengine.LoanPolicy{DailyFee: 25, MaxFee: 1000, GraceDays: 3}
	uneven := litengine.LoanPolicy{DailyFee: 30, MaxFee: 1000}
	free := litengine.LoanPolicy{DailyFee: 25, MaxFee: 0}
	noDaily := litengine.LoanPolicy{DailyFee: 0, MaxFee: 1000}
	big := litengine.LoanPolicy{DailyFee: huge, MaxFee: math.MaxInt64}
	bigGrace := litengine.LoanPolicy{DailyFee: huge, MaxFee: math.MaxInt64, GraceDays: 3650}
	for _, tc := range []struct {
		name   string
		policy litengine.LoanPolicy
		days   int64
		want   int64
	}{
		{"on time", plain, 0, 0},
		{"negative days", plain, -5, 0},
		{"most negative days", plain, math.MinInt64, 0},
		{"one day", plain, 1, 25},
		{"two days", plain, 2, 50},
		{"below the cap", plain, 39, 975},
		{"cap exactly hit", plain, 40, 1000},
		{"cap exceeded", plain, 41, 1000},
		{"a century", plain, 36525, 1000},
		{"most days", plain, math.MaxInt64, 1000},

		// Grace: free within it; after it, only the days beyond it are charged.
		{"grace, on time", grace, 0, 0},
		{"grace, first day", grace, 1, 0},
		{"grace, last grace day", grace, 3, 0},
		{"grace, first day after grace", grace, 4, 25},
		{"grace, second day after grace", grace, 5, 50},
		{"grace, cap exactly hit", grace, 43, 1000},
		{"grace, cap exceeded", grace, 44, 1000},

		{"cap not a multiple of the daily fee, below", uneven, 33, 990},
		{"cap not a multiple of the daily fee, capped", uneven, 34, 1000},
		{"zero cap makes late returns free", free, 10, 0},
		{"zero daily fee", noDaily, 10, 0},

		// No overflow: the cap is checked before multiplying.
		{"huge daily fee, one day", big, 1, huge},
		{"huge daily fee, two days", big, 2, math.MaxInt64 - 1},
		{"huge daily fee, three days", big, 3, math.MaxInt64},
		{"huge daily fee, a century", big, 36525, math.MaxInt64},
		{"huge daily fee, most days", big, math.MaxInt64, math.MaxInt64},
		{"huge daily fee and grace, within", bigGrace, 3650, 0},
		{"huge daily fee and grace, most negative days", bigGrace, math.MinInt64, 0},
		{"huge daily fee and grace, after", bigGrace, 3652, math.MaxInt64 - 1},
	} {
		if got := tc.policy.LateFee(tc.days); got != tc.want {
			t.Errorf("%s: %+v.LateFee(%d) = %d, want %d", tc.name, tc.policy, tc.days, got, tc.want)
		}
	}
}

// TestFeeOfReturn runs the whole chain a return goes through: due date from
// the borrow time, overdue days at the return, fee from the policy.
func TestFeeOfReturn(t *testing.T) {
	paris := policiesIn(t, "Europe/Paris")
	paris.Default.GraceDays = 2
	auckland := policiesIn(t, "Pacific/Auckland")
	utc := policiesIn(t, "UTC")
	century := policiesIn(t, "Europe/Paris")
	century.Default.DailyFee = math.MaxInt64 / 2
	century.Default.MaxFee = math.MaxInt64
	for _, tc := range []struct {
		name               string
		p                  *litengine.Policies
		borrowed, returned string
		days, fee          int64
	}{
		// Due 2026-04-03 23:59:59 +02:00; two grace days.
		{"grace: returned on the last grace day", paris, "2026-03-20T10:00:00+01:00", "2026-04-05T23:59:59+02:00", 2, 0},
		{"grace: one second after", paris, "2026-03-20T10:00:00+01:00", "2026-04-06T00:00:00+02:00", 3, 25},
		{"grace: cap exactly hit", paris, "2026-03-20T10:00:00+01:00", "2026-05-15T12:00:00+02:00", 42, 1000},
		{"grace: cap exceeded", paris, "2026-03-20T10:00:00+01:00", "2026-05-16T12:00:00+02:00", 43, 1000},

		// Borrowed 2026-06-10 13:00 UTC, returned 2026-06-25 11:00 UTC: it is
		// 23:00 on the due day in Auckland, but a day late in UTC.
		{"Auckland library: on time", auckland, "2026-06-10T13:00:00Z", "2026-06-25T11:00:00Z", 0, 0},
		{"UTC library: a day late", utc, "2026-06-10T13:00:00Z", "2026-06-25T11:00:00Z", 1, 25},

		{"a century late, huge daily fee", century, "2026-03-01T10:00:00+01:00", "2126-03-16T00:00:00+01:00", 36525, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lp := tc.p.For("")
			due := tc.p.DueAt(policyTime(t, tc.borrowed), lp.LoanDays)
			days := tc.p.OverdueDays(due, policyTime(t, tc.returned))
			if fee := lp.LateFee(days); days != tc.days || fee != tc.fee {
				t.Errorf("due %s, returned %s: %d days, fee %d; want %d days, fee %d",
					due.In(tc.p.Location).Format(time.RFC3339), tc.returned, days, fee, tc.days, tc.fee)
			}
		})
	}
}

func TestDefaultPolicies(t *testing.T) {
	p := litengine.DefaultPolicies()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	want := litengine.LoanPolicy{LoanDays: 14, RenewalDays: 14, MaxRenewals: 2, MaxActiveLoans: 10,
		DailyFee: 25, MaxFee: 1000, GraceDays: 0, MaxUnpaid: 500}
	if p.Default != want || p.Currency != "EUR" || p.Location != time.UTC || len(p.Categories) != 0 {
		t.Errorf("DefaultPolicies() = %+v", p)
	}
	if time.Duration(p.Default.LoanDays)*24*time.Hour != litengine.DefaultLoanPeriod {
		t.Errorf("default loan days %d disagree with DefaultLoanPeriod %s", p.Default.LoanDays, litengine.DefaultLoanPeriod)
	}
	p.Categories["child"] = want
	if litengine.DefaultPolicies().Categories["child"] == want {
		t.Error("DefaultPolicies shares its categories map between calls")
	}
}

func TestPoliciesValidateCurrency(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" means refused
	}{
		{"EUR", "EUR"},
		{"USD", "USD"},
		{"JPY", "JPY"},
		{"eur", "EUR"}, // codes are case-insensitive: normalised
		{"Usd", "USD"},
		{"", ""},
		{"EURO", ""},
		{"EU", ""},
		{" EUR", ""},
		{"E1R", ""},
		{"ZZZ", ""}, // well-formed but not a code
		{"XXX", ""}, // "no currency"
		{"XTS", ""}, // reserved for testing
		{"XAU", ""}, // gold is not legal tender
		{"DEM", ""}, // withdrawn in 2002
		{"FRF", ""},
	} {
		p := litengine.DefaultPolicies()
		p.Currency = tc.in
		err := p.Validate()
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("Validate accepted currency %q", tc.in)
		case tc.want == "" && !strings.Contains(litengine.ErrorMessage(err), "currency"):
			t.Errorf("currency %q: error %q does not name the currency", tc.in, litengine.ErrorMessage(err))
		case tc.want != "" && err != nil:
			t.Errorf("currency %q: %v", tc.in, err)
		case tc.want != "" && p.Currency != tc.want:
			t.Errorf("currency %q normalised to %q, want %q", tc.in, p.Currency, tc.want)
		}
	}
}

func TestPoliciesValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(p *litengine.Policies)
		want   string // part of the error message; "" means valid
	}{
		{"defaults", func(p *litengine.Policies) {}, ""},
		{"all zeros allowed where documented", func(p *litengine.Policies) {
			p.Default = litengine.LoanPolicy{LoanDays: 1}
		}, ""},
		{"upper limits", func(p *litengine.Policies) {
			p.Default = litengine.LoanPolicy{LoanDays: 3650, RenewalDays: 3650, MaxRenewals: 100, MaxActiveLoans: 10000,
				DailyFee: 1e12, MaxFee: 1e12, GraceDays: 3650, MaxUnpaid: 1e12}
		}, ""},
		{"a valid category", func(p *litengine.Policies) {
			p.Categories["child"] = litengine.LoanPolicy{LoanDays: 21, MaxActiveLoans: 5}
		}, ""},
		{"no time zone", func(p *litengine.Policies) { p.Location = nil }, "timezone is missing"},
		{"zero loan days", func(p *litengine.Policies) { p.Default.LoanDays = 0 }, "default: loan_days must be between 1 and 3650, not 0"},
		{"loan days over ten years", func(p *litengine.Policies) { p.Default.LoanDays = 3651 }, "loan_days must be between 1 and 3650, not 3651"},
		{"negative renewal days", func(p *litengine.Policies) { p.Default.RenewalDays = -1 }, "renewal_days must be between 1 and 3650, not -1"},
		{"zero renewal days with renewals", func(p *litengine.Policies) { p.Default.RenewalDays = 0 }, "renewal_days must be between 1 and 3650, not 0"},
		{"negative renewals", func(p *litengine.Policies) { p.Default.MaxRenewals = -1 }, "max_renewals must be between 0 and 100, not -1"},
		{"too many renewals", func(p *litengine.Policies) { p.Default.MaxRenewals = 101 }, "max_renewals must be between 0 and 100, not 101"},
		{"negative active loans", func(p *litengine.Policies) { p.Default.MaxActiveLoans = -1 }, "max_active_loans must be between 0 and 10000, not -1"},
		{"negative daily fee", func(p *litengine.Policies) { p.Default.DailyFee = -25 }, "daily_fee_minor must be between 0 and 1000000000000, not -25"},
		{"daily fee too large", func(p *litengine.Policies) { p.Default.DailyFee = 1e12 + 1 }, "daily_fee_minor must be between 0 and 1000000000000, not 1000000000001"},
		{"negative cap", func(p *litengine.Policies) { p.Default.MaxFee = -1 }, "max_fee_minor must be between 0 and 1000000000000, not -1"},
		{"cap too large", func(p *litengine.Policies) { p.Default.MaxFee = math.MaxInt64 }, "max_fee_minor must be between"},
		{"negative grace", func(p *litengine.Policies) { p.Default.GraceDays = -1 }, "grace_days must be between 0 and 3650, not -1"},
		{"negative unpaid limit", func(p *litengine.Policies) { p.Default.MaxUnpaid = -1 }, "max_unpaid_minor must be between 0 and 1000000000000, not -1"},
		{"bad category values", func(p *litengine.Policies) {
			p.Categories["child"] = litengine.LoanPolicy{LoanDays: 0, DailyFee: -5}
		}, "category child: loan_days must be between 1 and 3650, not 0; category child: daily_fee_minor must be between 0 and 1000000000000, not -5"},
		{"bad category name", func(p *litengine.Policies) {
			p.Categories["Child"] = p.Default
		}, `category name "Child" must be`},
		{"empty category name", func(p *litengine.Policies) {
			p.Categories[""] = p.Default
		}, `category name "" must be`},
		{"every problem at once", func(p *litengine.Policies) {
			p.Currency = "EURO"
			p.Default.GraceDays = -1
			p.Categories["staff"] = litengine.LoanPolicy{LoanDays: 9999}
		}, `currency "EURO" is not the ISO 4217 code of a currency in use, such as EUR or USD; default: grace_days must be between 0 and 3650, not -1; category staff: loan_days must be between 1 and 3650, not 9999`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := litengine.DefaultPolicies()
			tc.change(p)
			err := p.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", p)
			}
			if code := litengine.ErrorCode(err); code != litengine.EINVALID {
				t.Errorf("error code %q, want %q", code, litengine.EINVALID)
			}
			if msg := litengine.ErrorMessage(err); !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
		})
	}
}

func TestPolicyValidCategory(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"adult", true},
		{"child", true},
		{"staff_2", true},
		{"inter-library", true},
		{"z0", true},
		{strings.Repeat("a", 32), true},
		{"", false},
		{strings.Repeat("a", 33), false},
		{"Child", false},
		{"cHILD", false},
		{"1st", false},
		{"_staff", false},
		{"-staff", false},
		{"child care", false},
		{"ch!ld", false},
		{"child.care", false},
		{"élève", false},
		{"child\n", false},
	} {
		if got := litengine.ValidCategory(tc.name); got != tc.ok {
			t.Errorf("ValidCategory(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestPoliciesFor(t *testing.T) {
	p := litengine.DefaultPolicies()
	child := litengine.LoanPolicy{LoanDays: 21, RenewalDays: 7, MaxActiveLoans: 5, DailyFee: 10, MaxFee: 300}
	staff := litengine.LoanPolicy{LoanDays: 60, MaxActiveLoans: 50}
	p.Categories["child"] = child
	p.Categories["staff"] = staff
	for _, tc := range []struct {
		category string
		want     litengine.LoanPolicy
	}{
		{"child", child},
		{"staff", staff},
		{"", p.Default},
		{"adult", p.Default}, // no override: the default
		{"Child", p.Default}, // names match exactly
	} {
		if got := p.For(tc.category); got != tc.want {
			t.Errorf("For(%q) = %+v, want %+v", tc.category, got, tc.want)
		}
	}
	var none litengine.Policies // no categories at all
	none.Default = child
	if got := none.For("child"); got != child {
		t.Errorf("For on nil categories = %+v, want the default", got)
	}
}
