package catalog

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/litengine/litengine"
)

// memImporter is an in-memory Importer that follows the store's rules closely
// enough to test the counting: rows are matched by id, then ISBN, then key, and
// an ISBN held by another book is skipped.
type memImporter struct {
	books   map[string]litengine.BookImport // identity -> row
	isbnOf  map[string]string               // isbn -> identity holding it
	batches []int                           // size of each batch received
	nextID  int64
}

func newMemImporter() *memImporter {
	return &memImporter{books: map[string]litengine.BookImport{}, isbnOf: map[string]string{}}
}

func (m *memImporter) ImportBooks(ctx context.Context, rows []litengine.BookImport) ([]litengine.ImportOutcome, error) {
	m.batches = append(m.batches, len(rows))
	out := make([]litengine.ImportOutcome, len(rows))
	for i, row := range rows {
		ident := ""
		switch {
		case row.ID != 0:
			ident = fmt.Sprint("id:", row.ID)
		case row.ISBN != "":
			ident = "isbn:" + row.ISBN
			if holder, ok := m.isbnOf[row.ISBN]; ok {
				ident = holder
			}
		default:
			ident = "key:" + row.Key
		}
		if holder, ok := m.isbnOf[row.ISBN]; ok && row.ISBN != "" && holder != ident {
			out[i] = litengine.ImportOutcome{Result: litengine.ImportSkipped, Reason: fmt.Sprintf("isbn %s already used by another book (%s)", row.ISBN, holder)}
			continue
		}
		old, exists := m.books[ident]
		m.books[ident] = row
		if row.ISBN != "" {
			m.isbnOf[row.ISBN] = ident
		}
		m.nextID++
		switch {
		case !exists:
			out[i] = litengine.ImportOutcome{Result: litengine.ImportCreated, BookID: m.nextID}
		case reflect.DeepEqual(old, row):
			out[i] = litengine.ImportOutcome{Result: litengine.ImportUnchanged, BookID: m.nextID}
		default:
			out[i] = litengine.ImportOutcome{Result: litengine.ImportUpdated, BookID: m.nextID}
		}
	}
	return out, nil
}

const importCSV = "book_id,title,authors,isbn,isbn13,original_publication_year\n" +
	"1,The Hunger Games,Suzanne Collins,439023483,9.78043902348e+12,2008.0\n" +
	"2,Catching Fire,Suzanne Collins,439023491,9.78043902349e+12,2009.0\n" +
	"3,,Nobody,,,\n" +
	"4,Mockingjay,Suzanne Collins,439023513,9.78043902351e+12,2010.0\n" +
	"5,Bad ISBN,Someone,812971060,9.78081297106e+12,2005.0\n" +
	"6,Same ISBN as 1,Someone,0439023483,,2001.0\n" +
	"2,Catching Fire again,Suzanne Collins,439023491,,2009.0\n" +
	"7,Only a float isbn13,Someone,,9.78043902348e+12,1999.5\n"

func TestImport(t *testing.T) {
	dst := newMemImporter()
	var offsets []int64
	opts := Options{BatchSize: 2, Progress: func(off int64) { offsets = append(offsets, off) }}
	s, err := Import(context.Background(), strings.NewReader(importCSV), Mapping{}, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Rows 1, 2, 4, 5, 6, 7 are sent; row 3 has no title and the second id 2 is a repeat.
	if want := []int{2, 2, 2}; !slices.Equal(dst.batches, want) {
		t.Errorf("batches = %v, want %v", dst.batches, want)
	}
	if len(offsets) == 0 || offsets[len(offsets)-1] != int64(len(importCSV)) || !slices.IsSorted(offsets) {
		t.Errorf("progress offsets = %v, want rising to %d", offsets, len(importCSV))
	}
	want := Summary{Rows: 8, Created: 5, Skipped: 3}
	if s.Rows != want.Rows || s.Created != want.Created || s.Updated != 0 || s.Unchanged != 0 || s.Skipped != want.Skipped {
		t.Errorf("summary counts = %+v, want %+v", s, want)
	}
	wantReasons := map[string]int{
		"no title":                          1,
		"book id repeated in the file":      1,
		"isbn already used by another book": 1,
	}
	if !reflect.DeepEqual(s.SkipReasons, wantReasons) {
		t.Errorf("skip reasons = %v, want %v", s.SkipReasons, wantReasons)
	}
	wantWarnings := map[string]int{
		"isbn fails its checksum; imported without isbn":    1,
		"isbn13 in float form is lossy; ignored":            1,
		"year is not a whole number; imported without year": 1,
	}
	if !reflect.DeepEqual(s.Warnings, wantWarnings) {
		t.Errorf("warnings = %v, want %v", s.Warnings, wantWarnings)
	}
	if !slices.Contains(s.Examples, `line 6: isbn "812971060" fails its checksum; imported without isbn`) ||
		!slices.Contains(s.Examples, "line 8: book id 2 repeated in the file (line 3)") {
		t.Errorf("examples = %q", s.Examples)
	}
	for _, line := range []string{"8 rows: 5 created, 0 updated, 0 unchanged, 3 skipped", "skipped rows:", "warnings:", "examples:", "line 7: isbn 9780439023481 already used"} {
		if !strings.Contains(s.String(), line) {
			t.Errorf("String() lacks %q:\n%s", line, s)
		}
	}

	// A second run of the same file changes nothing.
	s, err = Import(context.Background(), strings.NewReader(importCSV), Mapping{}, dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows != 8 || s.Created != 0 || s.Unchanged != 5 || s.Skipped != 3 {
		t.Errorf("second run = %+v, want 5 unchanged and the same 3 skipped", s)
	}
	if got := dst.batches[len(dst.batches)-1]; got != 6 {
		t.Errorf("default batch size: last batch had %d rows, want all 6 in one", got)
	}
}

func TestImportExamplesBounded(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("title\n")
	for range 25 {
		sb.WriteString("\"\"\n")
	}
	s, err := Import(context.Background(), strings.NewReader(sb.String()), Mapping{}, newMemImporter(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Skipped != 25 || s.SkipReasons["no title"] != 25 || len(s.Examples) != maxExamples {
		t.Errorf("summary = %+v, want 25 skipped and %d examples", s, maxExamples)
	}
}

type failingImporter struct{ calls int }

func (f *failingImporter) ImportBooks(ctx context.Context, rows []litengine.BookImport) ([]litengine.ImportOutcome, error) {
	f.calls++
	if f.calls == 2 {
		return nil, errors.New("disk full")
	}
	out := make([]litengine.ImportOutcome, len(rows))
	for i := range out {
		out[i].Result = litengine.ImportCreated
	}
	return out, nil
}

func TestImportErrors(t *testing.T) {
	s, err := Import(context.Background(), strings.NewReader(importCSV), Mapping{}, &failingImporter{}, Options{BatchSize: 2})
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "lines 5-6") {
		t.Errorf("error = %v, want the store's error naming lines 5-6", err)
	}
	if s == nil || s.Created != 2 {
		t.Errorf("summary = %+v, want the first batch counted", s)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Import(ctx, strings.NewReader(importCSV), Mapping{}, newMemImporter(), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}

	if _, err := Import(context.Background(), strings.NewReader("title\n\"x\n"), Mapping{}, newMemImporter(), Options{}); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("error = %v, want a malformed CSV error on line 2", err)
	}

	if _, err := Import(context.Background(), strings.NewReader("name\nx\n"), Mapping{}, newMemImporter(), Options{}); err == nil {
		t.Error("a file without a title column imported without error")
	}
}
