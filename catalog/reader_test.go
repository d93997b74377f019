package catalog

import (
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// readAll reads every record of a CSV text with mapping m.
func readAll(t *testing.T, text string, m Mapping) []Record {
	t.Helper()
	r, err := NewReader(strings.NewReader(text), m)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var recs []Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return recs
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		recs = append(recs, rec)
	}
}

func TestReaderBOMAndCRLF(t *testing.T) {
	text := "\uFEFFbook_id,title,authors,isbn,isbn13,original_publication_year\r\n" +
		"1,The Hunger Games (The Hunger Games #1),Suzanne Collins,439023483,9.78043902348e+12,2008.0\r\n" +
		"2,\"Harry Potter and the Sorcerer's Stone\",\"J.K. Rowling, Mary GrandPré\",439554934,,1997.0\r\n"
	r, err := NewReader(strings.NewReader(text), Mapping{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Mapping() != GoodbooksMapping {
		t.Errorf("detected mapping %+v, want GoodbooksMapping: the BOM must not hide the first column", r.Mapping())
	}
	var recs []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	if r.Offset() != int64(len(text)) {
		t.Errorf("Offset at the end = %d, want the input size %d", r.Offset(), len(text))
	}
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	first := recs[0]
	if first.Line != 2 || first.Book.ID != 1 || first.Book.ISBN != "9780439023481" ||
		first.Book.PublishedYear == nil || *first.Book.PublishedYear != 2008 || len(first.Warnings) != 0 {
		t.Errorf("first record = %+v", first)
	}
	if got := recs[1].Book.Authors; !slices.Equal(got, []string{"J.K. Rowling", "Mary GrandPré"}) {
		t.Errorf("authors = %q; a CR must not stick to the last field", got)
	}
	if recs[1].Book.Key != "" {
		t.Errorf("a row with an id got key %q", recs[1].Book.Key)
	}
}

func TestReaderQuotedNewlines(t *testing.T) {
	text := "title,author\n" +
		"\"A title\nover two lines\",\"Someone\"\n" +
		"\"Another\r\n\r\none\",Else\n" +
		"Third,Author\n"
	recs := readAll(t, text, Mapping{})
	want := []struct {
		line  int
		title string
	}{{2, "A title over two lines"}, {4, "Another one"}, {7, "Third"}}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		if recs[i].Line != w.line || recs[i].Book.Title != w.title {
			t.Errorf("record %d: line %d title %q, want line %d title %q", i, recs[i].Line, recs[i].Book.Title, w.line, w.title)
		}
	}
}

// TestReaderLibraryExport reads the shape of another system's export: other
// headers, ";" between authors written "Last, First", no id, old books
// without ISBN.
func TestReaderLibraryExport(t *testing.T) {
	m, err := ParseMapping(Mapping{}, "title=Titre, authors=Auteurs, isbn=EAN, year=Année, sep=semicolon, lastfirst=true")
	if err != nil {
		t.Fatal(err)
	}
	text := "\uFEFFTitre,Auteurs,EAN,Année\r\n" +
		"\"The Lord of the Rings\",\"Tolkien, J.R.R.; Lee, Alan\",978-0-618-64015-7,1954\r\n" +
		"\"Les Misérables\",\"Hugo, Victor\",,1862\r\n" +
		"\"Les Misérables\",\"Hugo, Victor\",,1862\r\n" +
		"\"The Odyssey\",Homer,,-720\r\n"
	recs := readAll(t, text, m)
	if len(recs) != 4 {
		t.Fatalf("got %d records, want 4", len(recs))
	}
	if got := recs[0].Book.Authors; !slices.Equal(got, []string{"J.R.R. Tolkien", "Alan Lee"}) {
		t.Errorf("authors = %q", got)
	}
	if recs[0].Book.ISBN != "9780618640157" || recs[0].Book.Key != "" {
		t.Errorf("first book isbn %q key %q; want the ISBN and no key", recs[0].Book.ISBN, recs[0].Book.Key)
	}
	if recs[1].Book.Key == "" || recs[1].Book.Key != recs[2].Book.Key {
		t.Errorf("keys %q and %q: the same row must get the same key", recs[1].Book.Key, recs[2].Book.Key)
	}
	if recs[1].Book.Key == recs[3].Book.Key {
		t.Error("different books got the same key")
	}
	if y := recs[3].Book.PublishedYear; y == nil || *y != -720 {
		t.Errorf("year = %v, want -720", y)
	}
}

// TestReaderSemicolonDelimited reads what a spreadsheet writes where the comma
// is the decimal separator: fields separated by ";".
func TestReaderSemicolonDelimited(t *testing.T) {
	m, err := ParseMapping(Mapping{}, "title=Titre,authors=Auteurs,year=Année,sep=&,lastfirst=true")
	if err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, "Titre;Auteurs;Année\r\n\"Astérix, le Gaulois\";Goscinny, René & Uderzo, Albert;1961\r\n", m)
	if len(recs) != 1 || recs[0].Book.Title != "Astérix, le Gaulois" ||
		!slices.Equal(recs[0].Book.Authors, []string{"René Goscinny", "Albert Uderzo"}) {
		t.Errorf("records = %+v", recs)
	}
}

func TestReaderKeyIgnoresFormatting(t *testing.T) {
	a := readAll(t, "title,author,year\nLes Misérables,Victor Hugo,1862\n", Mapping{})
	b := readAll(t, "title,author,year\n\"  les  MISE\u0301RABLES \",victor hugo,1862.0\n", Mapping{})
	if a[0].Book.Key != b[0].Book.Key {
		t.Errorf("keys differ for the same book written differently: %q and %q", a[0].Book.Key, b[0].Book.Key)
	}
}

func TestReaderDetectsCommonHeaders(t *testing.T) {
	r, err := NewReader(strings.NewReader("Book Id,Title,Author,ISBN,EAN,Publication Year\n"), Mapping{})
	if err != nil {
		t.Fatal(err)
	}
	want := Mapping{ID: "Book Id", Title: "Title", Authors: "Author", ISBN: "ISBN", ISBN13: "EAN", Year: "Publication Year", AuthorSep: ";"}
	if r.Mapping() != want {
		t.Errorf("detected %+v, want %+v", r.Mapping(), want)
	}
}

func TestReaderHeaderErrors(t *testing.T) {
	tests := []struct {
		name, text string
		m          Mapping
		want       string
	}{
		{"empty file", "", Mapping{}, "empty file"},
		{"no title detected", "id,name\n1,x\n", Mapping{}, "no title column"},
		{"mapped title missing", "book_id,name,authors,isbn,isbn13,original_publication_year\n", GoodbooksMapping, `title column "title"`},
		{"mapped id missing", "title\nx\n", Mapping{ID: "BookID", Title: "title"}, `id column "BookID"`},
		{"malformed header", "title,\"au\"thor\n", Mapping{}, "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tt.text), tt.m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewReader error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestReaderMalformedLine(t *testing.T) {
	text := "title,author\nGood,A\nAlso good,B\nBad \"quote\" here,C\n"
	r, err := NewReader(strings.NewReader(text), Mapping{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := r.Next(); err != nil {
			t.Fatalf("Next on a good line: %v", err)
		}
	}
	_, err = r.Next()
	var pe *csv.ParseError
	if !errors.As(err, &pe) || pe.Line != 4 || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("Next on a malformed line = %v, want a csv.ParseError on line 4", err)
	}
}

func TestReaderSkips(t *testing.T) {
	text := "book_id,title,authors\n" +
		"1,First,A\n" +
		"abc,Bad id,B\n" +
		"2,   ,C\n" +
		"1.0,Repeat,D\n" +
		"3\n" + // a short row: missing cells read as empty
		"2,Second,E\n"
	recs := readAll(t, text, Mapping{})
	want := []string{"", `invalid book id "abc"`, "no title", "book id 1 repeated in the file (line 2)", "no title", ""}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		if recs[i].Skip != w {
			t.Errorf("line %d: Skip = %q, want %q", recs[i].Line, recs[i].Skip, w)
		}
	}
	if recs[5].Book.ID != 2 {
		t.Errorf("id 2 was first used by a row without title; the later row must keep it, got %+v", recs[5])
	}
}

func TestReaderNotUTF8(t *testing.T) {
	recs := readAll(t, "title,author\nLes Mis\xe9rables,Victor Hugo\n", Mapping{})
	if recs[0].Book.Title != "Les Misérables" || len(recs[0].Warnings) != 1 {
		t.Errorf("record = %+v, want the title decoded as Windows-1252 with a warning", recs[0])
	}
}

func TestReaderDetectsGoodbooksSpelledDifferently(t *testing.T) {
	r, err := NewReader(strings.NewReader("Book ID,Title,Authors,ISBN,ISBN13,Original Publication Year\n"), Mapping{})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Mapping(); got.ID != "Book ID" || got.AuthorSep != GoodbooksMapping.AuthorSep {
		t.Errorf("detected %+v, want goodbooks' mapping with the names as written", got)
	}
}
