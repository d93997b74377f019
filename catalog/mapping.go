// Package catalog reads catalogue CSV files into litengine.BookImport rows and
// drives an import in batches. It copes with the quirks of real exports (a
// UTF-8 BOM, CRLF, ISBN-10s that lost their leading zeros, ISBN-13s turned into
// floats, "Last, First" author names) and reports what it could not import
// instead of failing the whole file.
package catalog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Mapping names the CSV columns that hold each field (header names, matched
// case-insensitively after trimming) and how authors are separated.
type Mapping struct {
	ID, Title, Authors, ISBN, ISBN13, Year string // column names; empty = absent
	AuthorSep                              string // separator between authors in one field, e.g. ", " or ";"; empty = one author per field
	LastFirst                              bool   // authors are written "Last, First": turn them into "First Last"
}

// GoodbooksMapping is the mapping of goodbooks-10k's books.csv. Its author names
// contain no commas, which is the only reason ", " is a safe separator there.
var GoodbooksMapping = Mapping{
	ID:        "book_id",
	Title:     "title",
	Authors:   "authors",
	ISBN:      "isbn",
	ISBN13:    "isbn13",
	Year:      "original_publication_year",
	AuthorSep: ", ",
}

// ParseMapping parses a user-given mapping such as
// "id=BookID,title=Title,authors=Author,isbn=ISBN,isbn13=EAN,year=Year,sep=semicolon,lastfirst=true"
// over base, so that a user names only what differs. An empty value removes a
// column. Because pairs are separated by commas, sep also accepts the names
// comma, semicolon, pipe and tab; any other value is taken literally.
func ParseMapping(base Mapping, spec string) (Mapping, error) {
	m := base
	seen := map[string]bool{}
	for _, pair := range strings.Split(spec, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		key, value, ok := strings.Cut(pair, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		value = strings.TrimSpace(value)
		if !ok {
			return Mapping{}, fmt.Errorf("catalog: mapping %q: %q is not key=value", spec, pair)
		}
		if seen[key] {
			return Mapping{}, fmt.Errorf("catalog: mapping %q: %q given twice", spec, key)
		}
		seen[key] = true
		switch key {
		case "id":
			m.ID = value
		case "title":
			m.Title = value
		case "authors":
			m.Authors = value
		case "isbn":
			m.ISBN = value
		case "isbn13":
			m.ISBN13 = value
		case "year":
			m.Year = value
		case "sep":
			m.AuthorSep = separatorNamed(value)
		case "lastfirst":
			b, err := strconv.ParseBool(value)
			if err != nil {
				return Mapping{}, fmt.Errorf("catalog: mapping %q: lastfirst=%q is not true or false", spec, value)
			}
			m.LastFirst = b
		default:
			return Mapping{}, fmt.Errorf("catalog: mapping %q: unknown key %q (known: id, title, authors, isbn, isbn13, year, sep, lastfirst)", spec, key)
		}
	}
	if err := m.validate(); err != nil {
		return Mapping{}, err
	}
	return m, nil
}

// separatorNamed turns the names that cannot be written literally in a mapping
// spec into their separator.
func separatorNamed(v string) string {
	switch strings.ToLower(v) {
	case "comma":
		return ","
	case "semicolon":
		return ";"
	case "pipe":
		return "|"
	case "tab":
		return "\t"
	}
	return v
}

// validate rejects mappings that cannot be applied to any file.
func (m Mapping) validate() error {
	if strings.TrimSpace(m.Title) == "" {
		return errors.New("catalog: mapping has no title column")
	}
	if m.LastFirst && strings.Contains(m.AuthorSep, ",") {
		return fmt.Errorf("catalog: authors written \"Last, First\" cannot be separated by %q", m.AuthorSep)
	}
	return nil
}

// detectMapping picks a mapping for a header when the caller gave none:
// goodbooks-10k when all its columns are present, otherwise the first column
// with a common name for each field. Authors are then split on ";", which never
// cuts a "Last, First" name in two.
// noColumns reports whether m names no column, so that they must be detected.
func (m Mapping) noColumns() bool {
	return m.ID == "" && m.Title == "" && m.Authors == "" && m.ISBN == "" && m.ISBN13 == "" && m.Year == ""
}

func detectMapping(header []string) Mapping {
	normal := strings.NewReplacer(" ", "_", "-", "_")
	names := map[string]string{} // normalised name -> name as written
	for _, h := range header {
		k := normal.Replace(strings.ToLower(strings.TrimSpace(h)))
		if _, ok := names[k]; !ok {
			names[k] = strings.TrimSpace(h)
		}
	}
	g := GoodbooksMapping
	goodbooks := true
	for _, c := range []*string{&g.ID, &g.Title, &g.Authors, &g.ISBN, &g.ISBN13, &g.Year} {
		written, ok := names[*c]
		goodbooks = goodbooks && ok
		*c = written
	}
	if goodbooks {
		return g
	}
	first := func(candidates ...string) string {
		for _, c := range candidates {
			if n, ok := names[c]; ok {
				return n
			}
		}
		return ""
	}
	return Mapping{
		ID:        first("id", "book_id"),
		Title:     first("title"),
		Authors:   first("authors", "author"),
		ISBN:      first("isbn", "isbn10"),
		ISBN13:    first("isbn13", "ean"),
		Year:      first("year", "publication_year", "original_publication_year"),
		AuthorSep: ";",
	}
}
