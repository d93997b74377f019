package litengine

import (
	"errors"
	"fmt"
)

// Error codes: a small closed set, mapped to HTTP statuses in one place (httpapi).
const (
	EINVALID      = "invalid"              // the request is malformed or breaks a rule: 400
	ENOTFOUND     = "not_found"            // a named resource does not exist: 404
	ECONFLICT     = "conflict"             // the request clashes with the current state: 409
	ETOOLARGE     = "too_large"            // the request body is over the size cap: 413
	EUNAUTHORIZED = "unauthorized"         // no valid API key: 401
	EFORBIDDEN    = "forbidden"            // the key may not do this: 403
	ERATELIMITED  = "rate_limited"         // over the rate limit; retry later: 429
	EMISMATCH     = "idempotency_mismatch" // an Idempotency-Key reused with another request: 422
	EUNKNOWN      = "outcome_unknown"      // a change may or may not have been applied: 503
	EUNAVAILABLE  = "unavailable"          // the engine cannot serve now; retry later: 503
	EINTERNAL     = "internal"             // a bug or an unexpected failure: 500
)

// Item codes name what is wrong with one item of a batch.
const (
	ItemNotFound        = "not_found"
	ItemUnavailable     = "unavailable"
	ItemDuplicate       = "duplicate"
	ItemAlreadyReturned = "already_returned"
	ItemBelowOnLoan     = "below_on_loan"
	ItemInvalid         = "invalid"
	ItemForbidden       = "forbidden"
	// Borrowing and renewal rules: each names the books or loans it refuses.
	ItemAlreadyOnLoan = "already_on_loan" // the member already has this book on loan
	ItemLoanLimit     = "loan_limit"      // the member would hold more loans than the policy allows
	ItemUserSuspended = "user_suspended"  // the member is suspended
	ItemUnpaidFees    = "unpaid_fees"     // the member owes more than the policy allows
	ItemRenewalLimit  = "renewal_limit"   // the loan was renewed as often as the policy allows
	ItemOverdue       = "overdue"         // the loan is past due: it may be returned, not renewed
)

// Error is the one error type of LitEngine. Stores and services return it for
// every failure a client can act on; anything else is treated as internal.
type Error struct {
	Code    string
	Message string
	// Items lists per-item problems of a batch request, so that a client learns
	// every culprit at once.
	Items []ItemError
}

// ItemError is the problem with one item of a batch.
type ItemError struct {
	Field         string // the request field holding the list: "books", "transaction_ids", "inventory"
	Index         int    // position of the item in that list
	Code          string // one of the Item* codes
	Detail        string
	BookID        int64
	TransactionID string
}

func (e *Error) Error() string {
	return fmt.Sprintf("litengine error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err when it is an *Error, EINTERNAL otherwise.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err when it is an *Error, and a generic
// message otherwise, so that internal details never reach a client.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// BatchError builds the error of a failed batch from its item problems. Its code
// is the first that applies of invalid, not_found and conflict, so that the HTTP
// status tells the most basic problem while Items name every culprit.
func BatchError(message string, items []ItemError) *Error {
	code := ECONFLICT
	for _, it := range items {
		switch it.Code {
		case ItemDuplicate, ItemInvalid:
			code = EINVALID
		case ItemNotFound:
			if code != EINVALID {
				code = ENOTFOUND
			}
		}
	}
	return &Error{Code: code, Message: message, Items: items}
}
