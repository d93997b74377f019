package catalog

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/litengine/litengine/internal/dataset"
)

// goodbooksPath locates goodbooks-10k's books.csv, shared beside the repository.
func goodbooksPath(t testing.TB) string {
	t.Helper()
	return dataset.Path(t, dataset.Goodbooks)
}

// TestGoodbooks parses the real file and checks the counts its README gives.
func TestGoodbooks(t *testing.T) {
	f, err := os.Open(goodbooksPath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := NewReader(f, Mapping{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Mapping() != GoodbooksMapping {
		t.Errorf("detected %+v, want GoodbooksMapping", r.Mapping())
	}

	var (
		records, skipped, checksum, lossy13, severalAuthors, maxAuthors int
		withISBN, negativeYears                                         int
		byID                                                            = map[int64]Record{}
	)
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		records++
		if rec.Skip != "" {
			skipped++
			t.Errorf("line %d skipped: %s", rec.Line, rec.Skip)
			continue
		}
		if rec.Line != int(rec.Book.ID)+1 {
			t.Errorf("book %d reported on line %d, want %d", rec.Book.ID, rec.Line, rec.Book.ID+1)
		}
		for _, w := range rec.Warnings {
			switch {
			case strings.Contains(w, "fails its checksum; imported without isbn"):
				checksum++
			case strings.Contains(w, "in float form is lossy; ignored"):
				lossy13++
			default:
				t.Errorf("line %d: unexpected warning %q", rec.Line, w)
			}
		}
		if rec.Book.ISBN != "" {
			withISBN++
		}
		if n := len(rec.Book.Authors); n > 1 {
			severalAuthors++
			maxAuthors = max(maxAuthors, n)
		}
		if y := rec.Book.PublishedYear; y != nil && *y < 0 {
			negativeYears++
		}
		if rec.Book.Key != "" {
			t.Errorf("book %d has id %d and a key", rec.Book.ID, rec.Book.ID)
		}
		byID[rec.Book.ID] = rec
	}

	check := func(what string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", what, got, want)
		}
	}
	check("records", records, 10000)
	check("skipped", skipped, 0)
	check("rows whose isbn fails its checksum", checksum, 23)
	check("rows with only a lossy float isbn13", lossy13, 135)
	check("rows with an ISBN", withISBN, 9300-23)
	check("rows with several authors", severalAuthors, 2079)
	check("most authors in one row", maxAuthors, 47)
	check("negative years", negativeYears, 31)
	if r.Offset() != 3286659 {
		t.Errorf("Offset at the end = %d, want the file size 3286659", r.Offset())
	}

	if b := byID[1].Book; b.ISBN != "9780439023481" || b.Title != "The Hunger Games (The Hunger Games, #1)" {
		t.Errorf("book 1 = %+v, want the Hunger Games with ISBN 9780439023481", b)
	}
	if w := byID[916].Warnings; len(w) != 1 || w[0] != `isbn "812971060" fails its checksum; imported without isbn` {
		t.Errorf("book 916 warnings = %q", w)
	}
	if b := byID[1443]; b.Book.ISBN != "" || len(b.Warnings) != 1 {
		t.Errorf("book 1443 = %+v, want no ISBN and one warning", b)
	}
	// The file spells the title of book 8634 with U+0323 COMBINING DOT BELOW.
	const nfc = "\u062d\u0648\u062c\u0646 [\u1e24awjan]"
	if title := byID[8634].Book.Title; title != nfc || !norm.NFC.IsNormalString(title) {
		t.Errorf("book 8634 title = %+q, want NFC %+q", title, nfc)
	}
	if y := byID[79].Book.PublishedYear; byID[79].Book.Title != "The Odyssey" || y == nil || *y != -720 {
		t.Errorf("book 79 = %q year %v, want The Odyssey, -720", byID[79].Book.Title, y)
	}
	if b := byID[2].Book; len(b.Authors) != 2 || b.Authors[1] != "Mary GrandPré" {
		t.Errorf("book 2 authors = %q", b.Authors)
	}
	for id, rec := range byID {
		if strings.Contains(rec.Book.Title, "  ") || strings.TrimSpace(rec.Book.Title) != rec.Book.Title {
			t.Errorf("book %d title %q is not cleaned", id, rec.Book.Title)
		}
	}
}

func BenchmarkGoodbooks(b *testing.B) {
	data, err := os.ReadFile(goodbooksPath(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), Mapping{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				b.Fatal(err)
			}
		}
	}
}
