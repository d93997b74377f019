// Package litengine is the domain of LitEngine, a headless library-circulation
// engine: books and their stock, members, loans, the rules that keep them
// consistent and the service interfaces that the stores implement.
package litengine

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"
)

// Limits of catalogue data, the same for the API and for imports. MaxID
// keeps ids exact in JavaScript clients, whose numbers are doubles.
const (
	MaxTitleRunes  = 1000
	MaxAuthorRunes = 500
	MaxAuthors     = 100
	MaxID          = 1<<53 - 1
)

// Book is a title in the catalogue with its stock. Available is always
// TotalQty - OnLoan and never negative: the stores enforce it.
type Book struct {
	ID            int64
	Title         string
	Authors       []string
	ISBN          string // ISBN-13 digits, or empty
	PublishedYear *int32 // negative for BCE; nil when unknown
	TotalQty      int64
	OnLoan        int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Available is the number of copies that can be lent now.
func (b *Book) Available() int64 { return b.TotalQty - b.OnLoan }

// BookCreate is a new book as a client sends it.
type BookCreate struct {
	Title         string
	Authors       []string
	ISBN          string // any accepted form; normalised by Validate
	PublishedYear *int32
	TotalQty      int64
}

// Validate cleans the fields and checks them, normalising the ISBN to 13 digits.
func (b *BookCreate) Validate() error {
	if !Printable(b.Title) {
		return Errorf(EINVALID, "The title contains control characters or invalid UTF-8.")
	}
	b.Title = CleanText(b.Title)
	authors := make([]string, 0, len(b.Authors))
	for _, a := range b.Authors {
		if !Printable(a) {
			return Errorf(EINVALID, "An author name contains control characters or invalid UTF-8.")
		}
		if a = CleanText(a); a != "" {
			authors = append(authors, a)
		}
	}
	b.Authors = authors
	if err := ValidateBookText(b.Title, b.Authors); err != nil {
		return err
	}
	if b.ISBN != "" {
		isbn, ok := NormalizeISBN(b.ISBN)
		if !ok {
			return Errorf(EINVALID, "%q is not a valid ISBN-10 or ISBN-13.", b.ISBN)
		}
		b.ISBN = isbn
	}
	if b.TotalQty < 0 {
		return Errorf(EINVALID, "totalqty must not be negative.")
	}
	return nil
}

// ValidateBookText checks a cleaned title and author list against the limits
// of catalogue data, for books added through the API and imported alike.
func ValidateBookText(title string, authors []string) error {
	switch {
	case title == "":
		return Errorf(EINVALID, "Book title is required.")
	case utf8.RuneCountInString(title) > MaxTitleRunes:
		return Errorf(EINVALID, "The title is longer than %d characters.", MaxTitleRunes)
	case !Printable(title):
		return Errorf(EINVALID, "The title contains control characters or invalid UTF-8.")
	case len(authors) > MaxAuthors:
		return Errorf(EINVALID, "%d authors, more than %d.", len(authors), MaxAuthors)
	}
	for _, a := range authors {
		if utf8.RuneCountInString(a) > MaxAuthorRunes || !Printable(a) {
			return Errorf(EINVALID, "An author name is longer than %d characters or contains control characters.", MaxAuthorRunes)
		}
	}
	return nil
}

// SearchText is what a catalogue search matches: title, authors and ISBN, folded.
func SearchText(title string, authors []string, isbn string) string {
	s := title
	for _, a := range authors {
		s += " | " + a
	}
	if isbn != "" {
		s += " | " + isbn
	}
	return SearchKey(s)
}

// BookFilter selects one page of a catalogue search, ordered by id.
type BookFilter struct {
	Query   string // matched as a substring of SearchText; empty matches all
	AfterID int64  // cursor: only books with a greater id
	Limit   int
}

// BookImport is one catalogue row to load. When ID is set it becomes the book's
// id, so that references in the source keep working and a re-run updates the
// same book instead of adding another.
type BookImport struct {
	ID            int64
	Title         string
	Authors       []string
	ISBN          string // ISBN-13 digits, or empty
	PublishedYear *int32
	// Key identifies a row without ID or ISBN across re-runs.
	Key string
}

// Import outcomes of one row.
const (
	ImportCreated   = "created"
	ImportUpdated   = "updated"
	ImportUnchanged = "unchanged"
	ImportSkipped   = "skipped"
)

// RowImportKey is the identity under which an import row creates its book and
// finds it again: its id, else its ISBN, else its own Key. A row updates only
// a book created under the same identity, never a book added through the API.
func RowImportKey(r BookImport) string {
	switch {
	case r.ID > 0:
		return fmt.Sprintf("id:%d", r.ID)
	case r.ISBN != "":
		return "isbn:" + r.ISBN
	}
	return r.Key
}

// ImportISBNTaken is the skip reason of a row whose ISBN belongs to a book
// that the row may not update.
func ImportISBNTaken(isbn string, owner int64) string {
	return fmt.Sprintf("isbn %s already belongs to book %d", isbn, owner)
}

// ImportIDTaken is the skip reason of a row whose id belongs to a book that
// no import created.
func ImportIDTaken(id int64) string {
	return fmt.Sprintf("book id %d already belongs to a book not created by an import", id)
}

// ImportOutcome says what became of one imported row.
type ImportOutcome struct {
	Result string // one of the Import* outcomes
	BookID int64
	Reason string // why a row was skipped
}

// BookService manages the catalogue.
type BookService interface {
	CreateBook(ctx context.Context, b *BookCreate) (*Book, error)
	FindBookByID(ctx context.Context, id int64) (*Book, error)
	FindBooks(ctx context.Context, f BookFilter) ([]*Book, error)
	// ImportBooks loads rows in one transaction, creating or updating by ID,
	// ISBN or Key; catalogue stock is never touched. Outcomes are in row order.
	ImportBooks(ctx context.Context, rows []BookImport) ([]ImportOutcome, error)
}
