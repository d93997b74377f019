package catalog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/litengine/litengine"
)

// Importer is what a store provides (litengine.BookService satisfies it).
type Importer interface {
	ImportBooks(ctx context.Context, rows []litengine.BookImport) ([]litengine.ImportOutcome, error)
}

// Options of Import.
type Options struct {
	BatchSize int                // rows per transaction, default 1000
	Progress  func(offset int64) // called after each batch with Reader.Offset(); may be nil
}

// Summary reports what an import did.
type Summary struct {
	Rows, Created, Updated, Unchanged, Skipped int
	SkipReasons                                map[string]int // reason kind -> count
	Warnings                                   map[string]int // warning kind -> count
	Examples                                   []string       // the first few problems, with their line
}

// maxExamples bounds Summary.Examples: enough to find the pattern in a file,
// few enough to read.
const maxExamples = 10

// Import reads all records from src and hands them to dst in batches of
// opts.BatchSize, so that one transaction never holds a whole large file.
// Records with Skip set are counted, not sent. When the header cannot be used
// the summary is nil; on a later error it returns the summary so far with the
// error, because the batches already imported stay imported.
func Import(ctx context.Context, src io.Reader, m Mapping, dst Importer, opts Options) (*Summary, error) {
	rd, err := NewReader(src, m)
	if err != nil {
		return nil, err
	}
	size := opts.BatchSize
	if size <= 0 {
		size = 1000
	}
	s := &Summary{SkipReasons: map[string]int{}, Warnings: map[string]int{}}
	var batch []litengine.BookImport
	var lines []int // file line of each row of batch

	flush := func() error {
		if len(batch) > 0 {
			if err := s.send(ctx, dst, batch, lines); err != nil {
				return err
			}
			// A fresh slice each time, in case dst keeps the one it was given.
			batch, lines = nil, nil
		}
		if opts.Progress != nil {
			opts.Progress(rd.Offset())
		}
		return nil
	}

	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return s, err
		}
		s.Rows++
		for _, w := range rec.Warnings {
			s.Warnings[reasonKind(w)]++
			s.example(rec.Line, w)
		}
		if rec.Skip != "" {
			s.skip(rec.Line, rec.Skip)
			continue
		}
		batch = append(batch, rec.Book)
		lines = append(lines, rec.Line)
		if len(batch) >= size {
			if err := flush(); err != nil {
				return s, err
			}
		}
	}
	if err := flush(); err != nil {
		return s, err
	}
	return s, nil
}

// send imports one batch and counts its outcomes.
func (s *Summary) send(ctx context.Context, dst Importer, batch []litengine.BookImport, lines []int) error {
	first, last := lines[0], lines[len(lines)-1]
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("catalog: import stopped before line %d: %w", first, err)
	}
	outcomes, err := dst.ImportBooks(ctx, batch)
	if err != nil {
		return fmt.Errorf("catalog: import rows of lines %d-%d: %w", first, last, err)
	}
	if len(outcomes) != len(batch) {
		return fmt.Errorf("catalog: import rows of lines %d-%d: store returned %d outcomes for %d rows", first, last, len(outcomes), len(batch))
	}
	for i, o := range outcomes {
		switch o.Result {
		case litengine.ImportCreated:
			s.Created++
		case litengine.ImportUpdated:
			s.Updated++
		case litengine.ImportUnchanged:
			s.Unchanged++
		case litengine.ImportSkipped:
			reason := o.Reason
			if reason == "" {
				reason = "skipped by the store"
			}
			s.skip(lines[i], reason)
		default:
			return fmt.Errorf("catalog: import line %d: store returned unknown outcome %q", lines[i], o.Result)
		}
	}
	return nil
}

func (s *Summary) skip(line int, reason string) {
	s.Skipped++
	s.SkipReasons[reasonKind(reason)]++
	s.example(line, reason)
}

func (s *Summary) example(line int, msg string) {
	if len(s.Examples) < maxExamples {
		s.Examples = append(s.Examples, fmt.Sprintf("line %d: %s", line, msg))
	}
}

// reasonKind groups messages that differ only in their values:
// `isbn "812971060" fails its checksum` and `isbn "9380658797" fails its
// checksum` are both "isbn fails its checksum". It drops quoted strings,
// parenthesised remarks and numbers, which is where messages, including a
// store's, put the specifics of one row.
func reasonKind(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		switch msg[i] {
		case '"':
			for i++; i < len(msg) && msg[i] != '"'; i++ {
				if msg[i] == '\\' {
					i++ // an escaped character, as %q writes them
				}
			}
		case '(':
			for i < len(msg) && msg[i] != ')' {
				i++
			}
		default:
			b.WriteByte(msg[i])
		}
	}
	var words []string
	for _, w := range strings.Fields(b.String()) {
		core := strings.TrimRight(w, ",;:.")
		if isNumberWord(core) {
			w = w[len(core):] // keep the punctuation after the number
		}
		if w != "" {
			words = append(words, w)
		}
	}
	return strings.NewReplacer(" ;", ";", " ,", ",", " :", ":", " .", ".").Replace(strings.Join(words, " "))
}

// isNumberWord reports whether w is a number such as 12, #1, -720 or an ISBN
// with hyphens, as opposed to a word that contains a digit, like isbn13.
func isNumberWord(w string) bool {
	w = strings.TrimLeft(w, "#+-")
	return w != "" && strings.Trim(w, "0123456789-") == "" && strings.Trim(w, "-") != ""
}

// String renders the summary for a person: the counts, then the reasons and
// warnings by kind, most frequent first, then the examples.
func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d rows: %d created, %d updated, %d unchanged, %d skipped\n",
		s.Rows, s.Created, s.Updated, s.Unchanged, s.Skipped)
	section := func(title string, counts map[string]int) {
		if len(counts) == 0 {
			return
		}
		kinds := make([]string, 0, len(counts))
		for k := range counts {
			kinds = append(kinds, k)
		}
		slices.SortFunc(kinds, func(a, b string) int {
			return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
		})
		fmt.Fprintf(&b, "%s:\n", title)
		for _, k := range kinds {
			fmt.Fprintf(&b, "%8d  %s\n", counts[k], k)
		}
	}
	section("skipped rows", s.SkipReasons)
	section("warnings", s.Warnings)
	if len(s.Examples) > 0 {
		b.WriteString("examples:\n")
		for _, e := range s.Examples {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}
