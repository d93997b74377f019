package catalog

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/litengine/litengine"
)

// Record is one parsed data row.
type Record struct {
	Line     int // 1-based line number where the row starts in the file (header is line 1)
	Book     litengine.BookImport
	Warnings []string // e.g. `isbn "812971060" fails its checksum; imported without isbn`
	Skip     string   // non-empty: the row cannot be imported, and why
}

// Reader reads Records from a catalogue CSV file.
type Reader struct {
	csv     *csv.Reader
	bom     int64 // bytes of the stripped BOM, so that Offset matches the file size
	mapping Mapping
	col     struct{ id, title, authors, isbn, isbn13, year int } // -1 = absent
	seenIDs map[int64]int                                        // book id -> line, to reject repeats
}

// utf8BOM is what spreadsheet programs put in front of "CSV UTF-8" files.
const utf8BOM = "\uFEFF"

// NewReader reads the header of r and resolves m against it. The delimiter is
// guessed from the header line (comma, semicolon or tab). A Mapping that
// names no column means detect: goodbooks-10k's columns if present, otherwise
// common header names; its AuthorSep and LastFirst still apply. Every column the mapping names must be in the header, so that a typo
// in a mapping fails at once instead of silently importing without that field.
func NewReader(r io.Reader, m Mapping) (*Reader, error) {
	br := bufio.NewReader(r)
	rd := &Reader{seenIDs: map[int64]int{}}
	if head, _ := br.Peek(len(utf8BOM)); string(head) == utf8BOM {
		_, _ = br.Discard(len(utf8BOM))
		rd.bom = int64(len(utf8BOM))
	}
	rd.csv = csv.NewReader(br)
	rd.csv.Comma = sniffDelimiter(br)
	rd.csv.FieldsPerRecord = -1 // short rows are common in hand-edited files; missing cells read as empty
	rd.csv.ReuseRecord = true

	header, err := rd.csv.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("catalog: empty file, expected a header line")
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: read header: %w", err)
	}
	if m.noColumns() {
		// Detect the columns; a separator or name order given by the caller still applies.
		sep, lastFirst := m.AuthorSep, m.LastFirst
		m = detectMapping(header)
		if m.Title == "" {
			return nil, fmt.Errorf("catalog: no title column found in header %q; give a mapping", header)
		}
		if sep != "" {
			m.AuthorSep = sep
		}
		m.LastFirst = m.LastFirst || lastFirst
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	rd.mapping = m

	index := map[string]int{}
	for i, h := range header {
		k := strings.ToLower(strings.TrimSpace(h))
		if _, ok := index[k]; !ok {
			index[k] = i
		}
	}
	var missing []string
	find := func(field, name string) int {
		name = strings.TrimSpace(name)
		if name == "" {
			return -1
		}
		j, ok := index[strings.ToLower(name)]
		if !ok {
			missing = append(missing, fmt.Sprintf("%s column %q", field, name))
			return -1
		}
		return j
	}
	rd.col.id = find("id", m.ID)
	rd.col.title = find("title", m.Title)
	rd.col.authors = find("authors", m.Authors)
	rd.col.isbn = find("isbn", m.ISBN)
	rd.col.isbn13 = find("isbn13", m.ISBN13)
	rd.col.year = find("year", m.Year)
	if len(missing) > 0 {
		return nil, fmt.Errorf("catalog: header lacks the %s (header: %q)", strings.Join(missing, ", "), header)
	}
	return rd, nil
}

// sniffDelimiter picks the field delimiter from the header line: a comma unless
// semicolons or tabs are more frequent there, as in the CSV that spreadsheets
// write in locales where the comma is the decimal separator.
func sniffDelimiter(br *bufio.Reader) rune {
	head, _ := br.Peek(br.Size())
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	commas, semicolons, tabs := bytes.Count(head, []byte(",")), bytes.Count(head, []byte(";")), bytes.Count(head, []byte("\t"))
	switch {
	case semicolons > commas && semicolons >= tabs:
		return ';'
	case tabs > commas && tabs > semicolons:
		return '\t'
	}
	return ','
}

// Mapping returns the mapping in use, which tells a caller what detection chose.
func (r *Reader) Mapping() Mapping { return r.mapping }

// Offset returns the bytes consumed so far, up to the end of the last row read,
// for a progress bar against the file size.
func (r *Reader) Offset() int64 { return r.bom + r.csv.InputOffset() }

// Next returns the next data row, or io.EOF after the last one. A row that
// cannot be imported comes back with Skip set rather than as an error; only
// malformed CSV is an error, and it names its line.
func (r *Reader) Next() (Record, error) {
	row, err := r.csv.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Record{}, io.EOF
		}
		return Record{}, fmt.Errorf("catalog: malformed CSV: %w", err)
	}
	line, _ := r.csv.FieldPos(0)
	rec := Record{Line: line}
	cell := func(i int) string {
		if i < 0 || i >= len(row) {
			return ""
		}
		return row[i]
	}

	if r.col.id >= 0 {
		id, ok := parseBookID(cell(r.col.id))
		if !ok || id > litengine.MaxID {
			rec.Skip = fmt.Sprintf("invalid book id %q", strings.TrimSpace(cell(r.col.id)))
			return rec, nil
		}
		rec.Book.ID = id
	}
	title, warn := validText("title", cell(r.col.title))
	rec.Book.Title = litengine.CleanText(title)
	if rec.Book.Title == "" {
		rec.Skip = "no title"
		return rec, nil
	}

	if rec.Book.ID != 0 {
		if prev, ok := r.seenIDs[rec.Book.ID]; ok {
			rec.Skip = fmt.Sprintf("book id %d repeated in the file (line %d)", rec.Book.ID, prev)
			return rec, nil
		}
		r.seenIDs[rec.Book.ID] = line
	}
	rec.addWarning(warn)

	authors, warn := validText("authors", cell(r.col.authors))
	rec.addWarning(warn)
	rec.Book.Authors = splitAuthors(authors, r.mapping.AuthorSep, r.mapping.LastFirst)
	// The same limits as for books added through the API.
	if err := litengine.ValidateBookText(rec.Book.Title, rec.Book.Authors); err != nil {
		rec.Skip = strings.TrimSuffix(litengine.ErrorMessage(err), ".")
		return rec, nil
	}

	isbn, warn := pickISBN(cell(r.col.isbn), cell(r.col.isbn13))
	rec.addWarning(warn)
	rec.Book.ISBN = isbn

	year, warn := parseYear(cell(r.col.year))
	rec.addWarning(warn)
	rec.Book.PublishedYear = year

	if rec.Book.ID == 0 && rec.Book.ISBN == "" {
		rec.Book.Key = rowKey(rec.Book)
	}
	return rec, nil
}

func (rec *Record) addWarning(w string) {
	if w != "" {
		rec.Warnings = append(rec.Warnings, w)
	}
}
