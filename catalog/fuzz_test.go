package catalog

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the reader: it must never panic, and
// every row it lets through must be importable.
func FuzzReader(f *testing.F) {
	f.Add([]byte("book_id,title,authors,isbn,isbn13,original_publication_year\n1,The Hunger Games,Suzanne Collins,439023483,9.78043902348e+12,2008.0\n"))
	f.Add([]byte("\uFEFFtitle,author,isbn\r\n\"A\nB\",\"Tolkien, J.R.R.\",043965548X\r\n"))
	f.Add([]byte("Titre;Auteurs;EAN;Année\n\"x\";y;9780439023481;-720\n"))
	f.Add([]byte("title,isbn,ean,year\n,812971060,9780439023480,1e3\n  ,,,\n"))
	f.Add([]byte("id,title\n1,a\n1,b\nabc,c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), Mapping{})
		if err != nil {
			return
		}
		prevLine := 1
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				break // malformed CSV ends the read, as in Import
			}
			if rec.Line <= prevLine {
				t.Fatalf("record line %d after line %d", rec.Line, prevLine)
			}
			prevLine = rec.Line
			if rec.Skip != "" {
				continue
			}
			b := rec.Book
			if b.Title == "" {
				t.Fatalf("line %d: importable record without title: %+v", rec.Line, rec)
			}
			if b.ISBN != "" && (len(b.ISBN) != 13 || !allDigits(b.ISBN)) {
				t.Fatalf("line %d: ISBN %q is not 13 digits", rec.Line, b.ISBN)
			}
			if b.ID == 0 && b.ISBN == "" && len(b.Key) != 64 {
				t.Fatalf("line %d: row without id or ISBN has key %q", rec.Line, b.Key)
			}
		}
		if off := r.Offset(); off < 0 || off > int64(len(data)) {
			t.Fatalf("Offset %d outside the input of %d bytes", off, len(data))
		}
	})
}
