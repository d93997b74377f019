package litengine

import "strings"

// NormalizeISBN checks an ISBN-10 or ISBN-13, written with or without hyphens or
// spaces, and returns it as 13 digits. An ISBN-10 becomes its 978-prefixed ISBN-13,
// so that every form of one ISBN compares equal.
func NormalizeISBN(s string) (string, bool) {
	digits := make([]byte, 0, 13)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == 'X' || c == 'x':
			digits = append(digits, 'X')
		case c == '-' || c == ' ':
		default:
			return "", false
		}
		if len(digits) > 13 {
			return "", false
		}
	}
	switch len(digits) {
	case 10:
		if !validISBN10(digits) {
			return "", false
		}
		return isbn13From10(string(digits[:9])), true
	case 13:
		if !validISBN13(digits) || !(strings.HasPrefix(string(digits), "978") || strings.HasPrefix(string(digits), "979")) {
			return "", false
		}
		return string(digits), true
	}
	return "", false
}

// validISBN10 applies the mod-11 check; only the last character may be X (10).
func validISBN10(d []byte) bool {
	sum := 0
	for i, c := range d {
		v := int(c - '0')
		if c == 'X' {
			if i != 9 {
				return false
			}
			v = 10
		}
		sum += (10 - i) * v
	}
	return sum%11 == 0
}

// validISBN13 applies the EAN-13 mod-10 check.
func validISBN13(d []byte) bool {
	sum := 0
	for i, c := range d {
		if c == 'X' {
			return false
		}
		v := int(c - '0')
		if i%2 == 1 {
			v *= 3
		}
		sum += v
	}
	return sum%10 == 0
}

// isbn13From10 prefixes the first nine digits of an ISBN-10 with 978 and adds a
// new check digit.
func isbn13From10(first9 string) string {
	d := []byte("978" + first9)
	sum := 0
	for i, c := range d {
		v := int(c - '0')
		if i%2 == 1 {
			v *= 3
		}
		sum += v
	}
	return string(d) + string(rune('0'+(10-sum%10)%10))
}
