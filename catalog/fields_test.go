package catalog

import (
	"slices"
	"strings"
	"testing"
)

func TestPickISBN(t *testing.T) {
	tests := []struct {
		name, isbn, isbn13 string
		want               string
		warning            string // substring of the warning; empty = no warning
	}{
		{"goodbooks Hunger Games, leading zero lost", "439023483", "9.78043902348e+12", "9780439023481", ""},
		{"X check digit", "043965548X", "", "9780439655484", ""},
		{"X check digit, zero lost", "43965548X", "", "9780439655484", ""},
		{"lower-case x", "043965548x", "", "9780439655484", ""},
		{"7 digits padded", "7203116", "", "", "fails its checksum"}, // goodbooks book 5026
		{"trailing .0", "439023483.0", "", "9780439023481", ""},
		{"hyphenated ISBN-10", "0-439-02348-3", "", "9780439023481", ""},
		{"ISBN-13 in the isbn column", "978-0-439-02348-1", "", "9780439023481", ""},
		{"Excel-quoted", `="0439023483"`, `=""`, "9780439023481", ""},
		{"book 916 fails checksum", "812971060", "9.78081297106e+12", "", `isbn "812971060" fails its checksum; imported without isbn`},
		{"book 1443, cut-off ISBN-13", "9380658797", "9.78938065879e+12", "", `isbn "9380658797" fails its checksum`},
		{"not an ISBN", "n/a", "", "", "is not an isbn"},
		{"wrong length", "12345678901", "", "", "has the wrong length"},
		{"13 digits without 978/979", "1234567890128", "", "", "no 978 or 979 prefix"},
		{"float in the isbn column", "9.78043902348e+12", "", "", "float form is lossy"},
		{"isbn wins over isbn13", "439023483", "9780439655484", "9780439023481", ""},
		{"clean isbn13 fallback", "", "9780439023481", "9780439023481", ""},
		{"hyphenated isbn13 fallback", " ", "978-0-439-02348-1", "9780439023481", ""},
		{"float isbn13 is never parsed", "", "9.78043902348e+12", "", `isbn13 "9.78043902348e+12" in float form is lossy; ignored`},
		{"upper-case E float", "", "9.78043902348E+12", "", "in float form is lossy"},
		{"isbn13 bad checksum", "", "9780439023480", "", "fails its checksum; ignored"},
		{"isbn13 not 13 digits (goodbooks junk)", "", "76783609419.0", "", "is not a 13-digit isbn; ignored"},
		{"isbn13 ISBN-10 form is not clean", "", "0439023483", "", "is not a 13-digit isbn"},
		{"nothing", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warning := pickISBN(tt.isbn, tt.isbn13)
			if got != tt.want {
				t.Errorf("pickISBN(%q, %q) = %q, want %q", tt.isbn, tt.isbn13, got, tt.want)
			}
			if tt.warning == "" && warning != "" || !strings.Contains(warning, tt.warning) {
				t.Errorf("pickISBN(%q, %q) warning = %q, want one containing %q", tt.isbn, tt.isbn13, warning, tt.warning)
			}
		})
	}
}

func TestPadISBN10(t *testing.T) {
	for in, want := range map[string]string{
		"439023483":  "0439023483",
		"61120081":   "0061120081",
		"43965548X":  "043965548X",
		"0439023483": "0439023483",
		"12-3":       "12-3", // not a bare number: left for NormalizeISBN to refuse
		"X1":         "X1",
		"":           "",
	} {
		if got := padISBN10(in); got != want {
			t.Errorf("padISBN10(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseYear(t *testing.T) {
	tests := []struct {
		in      string
		want    int32
		isNil   bool
		warning string
	}{
		{"2008.0", 2008, false, ""},
		{"2008", 2008, false, ""},
		{"-720.0", -720, false, ""},
		{" 1997.00 ", 1997, false, ""},
		{"", 0, true, ""},
		{"2008.5", 0, true, "is not a whole number"},
		{"2.008e+03", 0, true, "is not a whole number"},
		{"2008.", 0, true, "is not a whole number"},
		{"MMVIII", 0, true, "is not a whole number"},
		{"10000", 0, true, "out of range"},
		{"-10000.0", 0, true, "out of range"},
		{"99999999999999999999", 0, true, "is not a whole number"},
	}
	for _, tt := range tests {
		got, warning := parseYear(tt.in)
		if tt.isNil != (got == nil) || got != nil && *got != tt.want {
			t.Errorf("parseYear(%q) = %v, want %d (nil %v)", tt.in, got, tt.want, tt.isNil)
		}
		if tt.warning == "" && warning != "" || !strings.Contains(warning, tt.warning) {
			t.Errorf("parseYear(%q) warning = %q, want one containing %q", tt.in, warning, tt.warning)
		}
	}
}

func TestParseBookID(t *testing.T) {
	for in, want := range map[string]bool{
		"12": true, "12.0": true, " 7 ": true,
		"0": false, "-3": false, "abc": false, "12.5": false, "": false, "1e3": false,
	} {
		if _, ok := parseBookID(in); ok != want {
			t.Errorf("parseBookID(%q) ok = %v, want %v", in, ok, want)
		}
	}
}

func TestSplitAuthors(t *testing.T) {
	tests := []struct {
		in, sep   string
		lastFirst bool
		want      []string
	}{
		{"J.K. Rowling, Mary GrandPré", ", ", false, []string{"J.K. Rowling", "Mary GrandPré"}},
		{"Tolkien, J.R.R.; Lewis,C.S.", ";", true, []string{"J.R.R. Tolkien", "C.S. Lewis"}},
		{"Homer;  ; Fagles, Robert ", ";", true, []string{"Homer", "Robert Fagles"}},
		{"King, Jr., Martin Luther", ";", true, []string{"King, Jr., Martin Luther"}}, // two commas: left alone
		{"Tolkien, J.R.R.", "", false, []string{"Tolkien, J.R.R."}},
		{"  ", ", ", false, nil},
	}
	for _, tt := range tests {
		if got := splitAuthors(tt.in, tt.sep, tt.lastFirst); !slices.Equal(got, tt.want) {
			t.Errorf("splitAuthors(%q, %q, %v) = %q, want %q", tt.in, tt.sep, tt.lastFirst, got, tt.want)
		}
	}
}

func TestValidTextWindows1252(t *testing.T) {
	got, warning := validText("title", "Les Mis\xe9rables")
	if got != "Les Misérables" || warning == "" {
		t.Errorf("validText = %q, %q; want Les Misérables with a warning", got, warning)
	}
	if got, warning := validText("title", "Les Misérables"); got != "Les Misérables" || warning != "" {
		t.Errorf("validText of UTF-8 = %q, %q; want it unchanged", got, warning)
	}
}

func TestReasonKind(t *testing.T) {
	for in, want := range map[string]string{
		`isbn "812971060" fails its checksum; imported without isbn`: "isbn fails its checksum; imported without isbn",
		`isbn13 "9.78043902348e+12" in float form is lossy; ignored`: "isbn13 in float form is lossy; ignored",
		`invalid book id "a\"b"`:                                     "invalid book id",
		"book id 12 repeated in the file (line 3)":                   "book id repeated in the file",
		"isbn 978-0-439-02348-1 already used by another book (#12)":  "isbn already used by another book",
		"no title": "no title",
		`year "-720.5" is not a whole number; imported without year`:           "year is not a whole number; imported without year",
		"conflicts with book 42, which has isbn 9780439023481: kept the other": "conflicts with book, which has isbn: kept the other",
	} {
		if got := reasonKind(in); got != want {
			t.Errorf("reasonKind(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseMapping(t *testing.T) {
	m, err := ParseMapping(GoodbooksMapping, "id=BookID, title=Title,authors=Author,isbn=ISBN,isbn13=EAN,year=Year,sep=semicolon,lastfirst=true")
	if err != nil {
		t.Fatal(err)
	}
	want := Mapping{ID: "BookID", Title: "Title", Authors: "Author", ISBN: "ISBN", ISBN13: "EAN", Year: "Year", AuthorSep: ";", LastFirst: true}
	if m != want {
		t.Errorf("ParseMapping = %+v, want %+v", m, want)
	}

	m, err = ParseMapping(GoodbooksMapping, "isbn13=,sep=|")
	if err != nil {
		t.Fatal(err)
	}
	if m.ISBN13 != "" || m.AuthorSep != "|" || m.Title != "title" {
		t.Errorf("ParseMapping over goodbooks = %+v, want isbn13 removed, sep | and the rest kept", m)
	}

	for _, bad := range []string{
		"colour=red",                          // unknown key
		"title",                               // not key=value
		"title=A,title=B",                     // twice
		"lastfirst=maybe",                     // not a bool
		"title=",                              // no title left
		"lastfirst=true,sep=comma",            // a comma cannot separate Last, First names
		"id=BookID,title=Title,author=Author", // near-miss of authors
	} {
		if _, err := ParseMapping(GoodbooksMapping, bad); err == nil {
			t.Errorf("ParseMapping(%q) succeeded, want an error", bad)
		}
	}
}
