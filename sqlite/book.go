package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/litengine/litengine"
)

const bookColumns = `id, title, authors, isbn, published_year, totalqty, on_loan, created_at, updated_at`

// CreateBook adds a book. An ISBN already in the catalogue is a conflict.
func (db *DB) CreateBook(ctx context.Context, in *litengine.BookCreate) (*litengine.Book, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	authors, err := json.Marshal(in.Authors)
	if err != nil {
		return nil, err
	}
	var b *litengine.Book
	err = db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		row := db.queryRow(ctx, tx, `
			INSERT INTO books (title, authors, isbn, published_year, search_text, totalqty, created_at, updated_at)
			VALUES (?, ?, NULLIF(?, ''), ?, ?, ?, ?, ?)
			RETURNING `+bookColumns,
			in.Title, string(authors), in.ISBN, in.PublishedYear,
			litengine.SearchText(in.Title, in.Authors, in.ISBN), in.TotalQty, unix(now), unix(now))
		var err error
		b, err = scanBook(row)
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
			return litengine.Errorf(litengine.ECONFLICT, "A book with ISBN %s already exists.", in.ISBN)
		} else if err != nil {
			return err
		}
		var evs auditEvents
		if err := evs.add(auditEvent{Type: litengine.EventBookCreated, BookID: b.ID},
			map[string]any{"totalqty": b.TotalQty}); err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, now, evs)
	})
	return b, err
}

// FindBookByID returns one book with its stock.
func (db *DB) FindBookByID(ctx context.Context, id int64) (*litengine.Book, error) {
	b, err := scanBook(db.readRow(ctx, `SELECT `+bookColumns+` FROM books WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, litengine.Errorf(litengine.ENOTFOUND, "Book %d not found.", id)
	}
	return b, err
}

// FindBooks returns one page of a catalogue search, ordered by id. The search
// text is pre-folded, so a plain substring test is Unicode- and case-insensitive.
func (db *DB) FindBooks(ctx context.Context, f litengine.BookFilter) ([]*litengine.Book, error) {
	rows, err := db.read(ctx, `
		SELECT `+bookColumns+` FROM books
		WHERE id > ? AND (? = '' OR instr(search_text, ?) > 0)
		ORDER BY id
		LIMIT ?`,
		f.AfterID, f.Query, f.Query, f.Limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	books := make([]*litengine.Book, 0, f.Limit)
	for rows.Next() {
		b, err := scanBook(rows)
		if err != nil {
			return nil, err
		}
		books = append(books, b)
	}
	return books, rows.Err()
}

// ImportBooks creates or updates catalogue rows by id, ISBN or import key in one
// transaction. Stock is never touched, so a re-import keeps loans consistent.
func (db *DB) ImportBooks(ctx context.Context, rows []litengine.BookImport) ([]litengine.ImportOutcome, error) {
	out := make([]litengine.ImportOutcome, len(rows))
	err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		var evs auditEvents
		for i, r := range rows {
			o, err := db.importBook(ctx, tx, r, now)
			if err != nil {
				return fmt.Errorf("import row %d: %w", i, err)
			}
			out[i] = o
			// Only a created book is new to the trail: an update changes
			// catalogue text, which the trail does not follow. An import
			// never touches stock, so a created book has none.
			if o.Result == litengine.ImportCreated {
				if err := evs.add(auditEvent{Type: litengine.EventBookCreated, BookID: o.BookID},
					map[string]any{"totalqty": int64(0)}); err != nil {
					return err
				}
			}
		}
		// The events of the whole import go in one statement after its rows.
		return db.appendEvents(ctx, tx, now, evs)
	})
	return out, err
}

// importBook upserts one row. SQLite runs in process, so a statement per row
// costs no network round trip; a unique-constraint failure rolls back that
// statement only, leaving the batch's transaction intact.
func (db *DB) importBook(ctx context.Context, tx *sql.Tx, r litengine.BookImport, now time.Time) (litengine.ImportOutcome, error) {
	authors, err := json.Marshal(r.Authors)
	if err != nil {
		return litengine.ImportOutcome{}, err
	}
	search := litengine.SearchText(r.Title, r.Authors, r.ISBN)
	var existing *int64
	switch {
	case r.ID > 0:
		// A row updates only the book an import created under the same
		// identity, never a book added through the API that holds its id.
		r.Key = litengine.RowImportKey(r)
		var key sql.NullString
		err = db.queryRow(ctx, tx, `SELECT id, import_key FROM books WHERE id = ?`, r.ID).Scan(&existing, &key)
		if err == nil && key.String != r.Key {
			return litengine.ImportOutcome{Result: litengine.ImportSkipped, Reason: litengine.ImportIDTaken(r.ID)}, nil
		}
	case r.ISBN != "":
		// The same for a row known by its ISBN alone.
		r.Key = litengine.RowImportKey(r)
		var key sql.NullString
		err = db.queryRow(ctx, tx, `SELECT id, import_key FROM books WHERE isbn = ?`, r.ISBN).Scan(&existing, &key)
		if err == nil && key.String != r.Key {
			return litengine.ImportOutcome{Result: litengine.ImportSkipped, Reason: litengine.ImportISBNTaken(r.ISBN, *existing)}, nil
		}
	case r.Key != "":
		err = db.queryRow(ctx, tx, `SELECT id FROM books WHERE import_key = ?`, r.Key).Scan(&existing)
	default:
		return litengine.ImportOutcome{Result: litengine.ImportSkipped, Reason: "no id, isbn or key"}, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return litengine.ImportOutcome{}, err
	}

	var res sql.Result
	if existing == nil {
		var id any
		if r.ID > 0 {
			id = r.ID
		}
		res, err = db.exec(ctx, tx, `
			INSERT INTO books (id, title, authors, isbn, import_key, published_year, search_text, created_at, updated_at)
			VALUES (?, ?, ?, NULLIF(?, ''), NULLIF(?, ''), ?, ?, ?, ?)`,
			id, r.Title, string(authors), r.ISBN, r.Key, r.PublishedYear, search, unix(now), unix(now))
	} else {
		res, err = db.exec(ctx, tx, `
			UPDATE books SET title = ?, authors = ?, isbn = NULLIF(?, ''), published_year = ?, search_text = ?, updated_at = ?
			WHERE id = ? AND (title, authors, coalesce(isbn, ''), coalesce(published_year, 'none'))
			             IS NOT (?, ?, ?, coalesce(?, 'none'))`,
			r.Title, string(authors), r.ISBN, r.PublishedYear, search, unix(now), *existing,
			r.Title, string(authors), r.ISBN, r.PublishedYear)
	}
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
		var owner int64
		if err := db.queryRow(ctx, tx, `SELECT id FROM books WHERE isbn = ?`, r.ISBN).Scan(&owner); err == nil {
			return litengine.ImportOutcome{Result: litengine.ImportSkipped, Reason: litengine.ImportISBNTaken(r.ISBN, owner)}, nil
		}
		_ = db.queryRow(ctx, tx, `SELECT id FROM books WHERE import_key = ?`, r.Key).Scan(&owner)
		return litengine.ImportOutcome{Result: litengine.ImportSkipped,
			Reason: fmt.Sprintf("key %s already belongs to book %d", r.Key, owner)}, nil
	} else if err != nil {
		return litengine.ImportOutcome{}, err
	}
	if existing == nil {
		id, err := res.LastInsertId()
		return litengine.ImportOutcome{Result: litengine.ImportCreated, BookID: id}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return litengine.ImportOutcome{Result: litengine.ImportUnchanged, BookID: *existing}, nil
	}
	return litengine.ImportOutcome{Result: litengine.ImportUpdated, BookID: *existing}, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanBook(s scanner) (*litengine.Book, error) {
	var (
		b                litengine.Book
		authors          string
		isbn             sql.NullString
		year             sql.NullInt32
		created, updated int64
	)
	if err := s.Scan(&b.ID, &b.Title, &authors, &isbn, &year, &b.TotalQty, &b.OnLoan, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(authors), &b.Authors); err != nil {
		return nil, fmt.Errorf("book %d: authors: %w", b.ID, err)
	}
	b.ISBN = isbn.String
	if year.Valid {
		b.PublishedYear = &year.Int32
	}
	b.CreatedAt, b.UpdatedAt = fromUnix(created), fromUnix(updated)
	return &b, nil
}
