package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/litengine/litengine"
	"golang.org/x/text/encoding/charmap"
)

// pickISBN chooses a row's ISBN as 13 digits. The ISBN column wins; an ISBN-13
// column is only a fallback, and only when it is written out in full, because
// spreadsheets turn it into a float that has lost its check digit. A value that
// does not check out becomes a warning and the book is imported without ISBN:
// a wrong ISBN would merge two different books.
func pickISBN(raw, raw13 string) (isbn, warning string) {
	raw = unquoteExcel(strings.TrimSpace(raw))
	if raw != "" {
		s := strings.TrimSuffix(raw, ".0")
		if isFloatForm(s) {
			return "", fmt.Sprintf("isbn %q in float form is lossy; imported without isbn", raw)
		}
		s = padISBN10(s)
		if isbn, ok := litengine.NormalizeISBN(s); ok {
			return isbn, ""
		}
		return "", fmt.Sprintf("isbn %q %s; imported without isbn", raw, isbnProblem(s))
	}

	raw13 = unquoteExcel(strings.TrimSpace(raw13))
	switch {
	case raw13 == "":
		return "", ""
	case isFloatForm(raw13):
		return "", fmt.Sprintf("isbn13 %q in float form is lossy; ignored", raw13)
	case isWritten13(raw13):
		if isbn, ok := litengine.NormalizeISBN(raw13); ok {
			return isbn, ""
		}
		return "", fmt.Sprintf("isbn13 %q %s; ignored", raw13, isbnProblem(raw13))
	}
	return "", fmt.Sprintf("isbn13 %q is not a 13-digit isbn; ignored", raw13)
}

// isWritten13 reports whether s is 13 digits, perhaps grouped by hyphens or
// spaces: the only form of an ISBN-13 column that can be trusted.
func isWritten13(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			n++
		case c == '-' || c == ' ':
		default:
			return false
		}
	}
	return n == 13
}

// unquoteExcel undoes the ="0439023483" trick that exports (Goodreads' among
// them) use to stop spreadsheets from dropping leading zeros.
func unquoteExcel(s string) string {
	if len(s) >= 3 && strings.HasPrefix(s, `="`) && strings.HasSuffix(s, `"`) {
		return s[2 : len(s)-1]
	}
	return s
}

// padISBN10 restores the leading zeros that an ISBN-10 stored as a number lost
// (goodbooks-10k has 439023483 for 0439023483). A value that is not digits with
// an optional final X is returned as it is.
func padISBN10(s string) string {
	if s == "" || len(s) >= 10 {
		return s
	}
	body := s
	if last := s[len(s)-1]; last == 'X' || last == 'x' {
		body = s[:len(s)-1]
	}
	if !allDigits(body) {
		return s
	}
	return strings.Repeat("0", 10-len(s)) + s
}

// isbnProblem says why NormalizeISBN refused s, for a warning a person can act on.
func isbnProblem(s string) string {
	var digits []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == 'X', c == 'x':
			digits = append(digits, c)
		case c == '-' || c == ' ':
		default:
			return "is not an isbn"
		}
	}
	switch {
	case len(digits) == 13 && !strings.HasPrefix(string(digits), "978") && !strings.HasPrefix(string(digits), "979"):
		return "is not a book isbn (no 978 or 979 prefix)"
	case len(digits) == 10 || len(digits) == 13:
		return "fails its checksum"
	}
	return "has the wrong length"
}

// isFloatForm reports whether s is a number in scientific notation, such as
// 9.78043902348e+12. It only recognises the form: the value is never used, as
// it has lost digits.
func isFloatForm(s string) bool {
	mant, exp, ok := strings.Cut(strings.ToLower(s), "e")
	if !ok {
		return false
	}
	if exp != "" && (exp[0] == '+' || exp[0] == '-') {
		exp = exp[1:]
	}
	whole, frac, _ := strings.Cut(mant, ".")
	return whole != "" && allDigits(whole) && allDigits(frac) && exp != "" && allDigits(exp)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseWhole parses an integer that may be written as a float with a zero
// fraction ("2008.0"), as exports from pandas and spreadsheets do. Anything
// else, including scientific notation, is refused rather than rounded.
func parseWhole(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if whole, frac, ok := strings.Cut(s, "."); ok {
		if frac == "" || strings.Trim(frac, "0") != "" {
			return 0, false
		}
		s = whole
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// parseBookID accepts a positive whole number.
func parseBookID(s string) (int64, bool) {
	n, ok := parseWhole(s)
	return n, ok && n > 0
}

// parseYear reads a publication year; negative years are BCE. An unusable
// year is a warning, not a reason to lose the book.
func parseYear(s string) (*int32, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, ""
	}
	n, ok := parseWhole(s)
	if !ok {
		return nil, fmt.Sprintf("year %q is not a whole number; imported without year", s)
	}
	if n < -9999 || n > 9999 {
		return nil, fmt.Sprintf("year %q is out of range; imported without year", s)
	}
	y := int32(n)
	return &y, ""
}

// validText returns s as valid UTF-8. Text that is not UTF-8 almost always
// comes from a legacy Windows export, so it is decoded as Windows-1252 rather
// than stored as broken bytes.
func validText(field, s string) (string, string) {
	if utf8.ValidString(s) {
		return s, ""
	}
	decoded, err := charmap.Windows1252.NewDecoder().String(s)
	if err != nil {
		decoded = strings.ToValidUTF8(s, "\uFFFD")
	}
	return decoded, fmt.Sprintf("%s field is not valid UTF-8; read as Windows-1252", field)
}

// splitAuthors splits an authors field on sep (no split when sep is empty),
// cleans each name and drops empty ones. With lastFirst, "Tolkien, J.R.R."
// becomes "J.R.R. Tolkien"; a name with more than one comma is left alone, as
// there is no telling which part is the surname.
func splitAuthors(s, sep string, lastFirst bool) []string {
	parts := []string{s}
	if sep != "" {
		parts = strings.Split(s, sep)
	}
	var authors []string
	for _, p := range parts {
		if lastFirst && strings.Count(p, ",") == 1 {
			last, first, _ := strings.Cut(p, ",")
			p = first + " " + last
		}
		if p = litengine.CleanText(p); p != "" {
			authors = append(authors, p)
		}
	}
	return authors
}

// rowKey identifies a row that has neither id nor ISBN by its folded title,
// authors and year, so that importing the same file again finds the same book.
func rowKey(b litengine.BookImport) string {
	var sb strings.Builder
	sb.WriteString(litengine.SearchKey(b.Title))
	sb.WriteByte(0)
	for i, a := range b.Authors {
		if i > 0 {
			sb.WriteByte(0x1f)
		}
		sb.WriteString(litengine.SearchKey(a))
	}
	sb.WriteByte(0)
	if b.PublishedYear != nil {
		sb.WriteString(strconv.Itoa(int(*b.PublishedYear)))
	}
	sum := sha256.Sum256([]byte(sb.String()))
	return hex.EncodeToString(sum[:])
}
