package litengine

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// SearchKey folds text for matching: NFKC compatibility forms, no diacritics,
// Unicode case folding and single spaces. "Les  Misérables" and "les miserables"
// give the same key, and so do the composed and decomposed forms of one letter.
func SearchKey(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFKC, cases.Fold())
	out, _, err := transform.String(t, s)
	if err != nil {
		out = strings.ToLower(s)
	}
	return strings.Join(strings.Fields(out), " ")
}

// CleanText trims a display string, collapses runs of white space inside it and
// puts it in NFC, so that stored titles and names are canonical.
func CleanText(s string) string {
	return norm.NFC.String(strings.Join(strings.Fields(s), " "))
}

// ValidID reports whether id can be a stored identifier (a transaction, fee
// or key id): 1 to 64 printable characters. Anything else is refused before
// it reaches a database, some of which cannot even compare invalid UTF-8.
func ValidID(id string) bool {
	return id != "" && len(id) <= 64 && Printable(id)
}

// CheckID is ValidID as the error naming the field.
func CheckID(field, id string) error {
	if !ValidID(id) {
		return Errorf(EINVALID, "%s must be 1 to 64 printable characters.", field)
	}
	return nil
}

// Printable reports whether s is valid UTF-8 without control characters, the
// condition for text that is stored and shown to people.
func Printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' {
			return false
		}
	}
	return true
}
