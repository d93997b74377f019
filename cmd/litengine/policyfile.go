package main

import (
	"fmt"
	"os"
	"time"
	_ "time/tzdata" // time zones load on hosts and images without /usr/share/zoneinfo

	"go.yaml.in/yaml/v4"

	"github.com/litengine/litengine"
)

// policyFile is the YAML policy file. Unset fields of default take the
// built-in values (litengine.DefaultPolicies); unset fields of a category
// take the file's default, so that a category lists only what differs.
type policyFile struct {
	Currency   string                  `yaml:"currency"`
	Timezone   string                  `yaml:"timezone"`
	Default    policyRules             `yaml:"default"`
	Categories map[string]*policyRules `yaml:"categories"`
}

// policyRules is one policy; a nil field is unset.
type policyRules struct {
	LoanDays       *int   `yaml:"loan_days"`
	RenewalDays    *int   `yaml:"renewal_days"`
	MaxRenewals    *int   `yaml:"max_renewals"`
	MaxActiveLoans *int   `yaml:"max_active_loans"`
	DailyFeeMinor  *int64 `yaml:"daily_fee_minor"`
	MaxFeeMinor    *int64 `yaml:"max_fee_minor"`
	GraceDays      *int   `yaml:"grace_days"`
	MaxUnpaidMinor *int64 `yaml:"max_unpaid_minor"`
}

// over returns base with the fields set in r replaced.
func (r *policyRules) over(base litengine.LoanPolicy) litengine.LoanPolicy {
	if r == nil {
		return base
	}
	set := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setMoney := func(dst *int64, v *int64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&base.LoanDays, r.LoanDays)
	set(&base.RenewalDays, r.RenewalDays)
	set(&base.MaxRenewals, r.MaxRenewals)
	set(&base.MaxActiveLoans, r.MaxActiveLoans)
	setMoney(&base.DailyFee, r.DailyFeeMinor)
	setMoney(&base.MaxFee, r.MaxFeeMinor)
	set(&base.GraceDays, r.GraceDays)
	setMoney(&base.MaxUnpaid, r.MaxUnpaidMinor)
	return base
}

// loadPolicies reads the loan policies from a YAML file such as
// docs/policy.example.yaml:
//
//	currency: EUR            # ISO 4217, any case; amounts are in its minor units
//	timezone: Europe/Paris   # IANA name; loan days end at its midnight
//	default:
//	  loan_days: 21
//	  renewal_days: 14
//	  max_renewals: 2
//	  max_active_loans: 10
//	  daily_fee_minor: 25    # 0.25 EUR per overdue day
//	  max_fee_minor: 1000    # at most 10.00 EUR per loan
//	  grace_days: 0
//	  max_unpaid_minor: 500  # no borrowing above 5.00 EUR unpaid
//	categories:
//	  child:                 # the default, except:
//	    max_active_loans: 5
//	    daily_fee_minor: 10
//
// Days are whole days, money is whole minor units (the _minor suffix says so),
// never decimals. currency and timezone are required, as a wrong guess would
// shift every amount or every day boundary. A field left out of default takes
// the built-in value; a field left out of a category takes the file's
// default. Unknown or repeated keys are errors that name the key and line, so
// that a typo cannot silently leave a rule at its default.
func loadPolicies(path string) (*litengine.Policies, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy file: %w", err)
	}
	var f policyFile
	if err := yaml.Load(data, &f, yaml.WithKnownFields(), yaml.WithUniqueKeys()); err != nil {
		return nil, fmt.Errorf("policy file %s: %w", path, err)
	}
	p := litengine.DefaultPolicies()
	switch {
	case f.Currency == "":
		return nil, fmt.Errorf("policy file %s: currency is required, such as currency: EUR", path)
	case f.Timezone == "":
		return nil, fmt.Errorf("policy file %s: timezone is required, such as timezone: Europe/Paris", path)
	case f.Timezone == "Local":
		// time.Local is the host's zone: the rules would change with the machine.
		return nil, fmt.Errorf("policy file %s: timezone must name a zone, such as Europe/Paris, not Local", path)
	}
	p.Currency = f.Currency
	if p.Location, err = time.LoadLocation(f.Timezone); err != nil {
		return nil, fmt.Errorf("policy file %s: timezone %q is not an IANA time zone name such as Europe/Paris: %w", path, f.Timezone, err)
	}
	p.Default = f.Default.over(p.Default)
	for name, rules := range f.Categories {
		p.Categories[name] = rules.over(p.Default)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("policy file %s: %s", path, litengine.ErrorMessage(err))
	}
	return p, nil
}
