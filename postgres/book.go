package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/litengine/litengine"
)

const bookColumns = `id, title, authors, isbn, published_year, totalqty, on_loan, created_at, updated_at`

// createBook inserts book $1..$7 (title, authors, ISBN, year, search text,
// stock, time) and appends its book.created (type $8, actor $9, data $10) in
// the same statement, numbered once the row is in (see audit.go).
const createBook = `
	WITH created AS (
		INSERT INTO books (title, authors, isbn, published_year, search_text, totalqty, created_at, updated_at)
		VALUES ($1, $2, NULLIF($3, ''), $4, $5, $6, $7, $7)
		RETURNING ` + bookColumns + `
	),
	ev AS (
		SELECT 1 AS ord, $7::timestamptz AS at, $8::text AS type, $9::text AS actor, id AS book_id,
		       NULL::bigint AS user_id, NULL::text AS transaction_id, NULL::text AS fee_id, $10::jsonb AS data
		FROM created
	),` + auditTail + `
	SELECT ` + bookColumns + ` FROM created`

// CreateBook adds a book. An ISBN already in the catalogue is a conflict.
func (db *DB) CreateBook(ctx context.Context, in *litengine.BookCreate) (*litengine.Book, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	data, err := eventData(map[string]any{"totalqty": in.TotalQty})
	if err != nil {
		return nil, err
	}
	var b *litengine.Book
	err = db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		var err error
		b, err = scanBook(conn.QueryRow(ctx, createBook,
			in.Title, nonNil(in.Authors), in.ISBN, in.PublishedYear,
			litengine.SearchText(in.Title, in.Authors, in.ISBN), in.TotalQty, now,
			litengine.EventBookCreated, litengine.ActorFromContext(ctx), data))
		switch {
		case isUnique(err, "books_isbn_key"):
			return litengine.Errorf(litengine.ECONFLICT, "A book with ISBN %s already exists.", in.ISBN)
		case isUnique(err, "books_pkey"):
			// The identity drew an id that a concurrent import had just
			// written explicitly; the import moves the sequence past its ids,
			// so the next attempt draws a free one.
			return errRetry
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// FindBookByID returns one book with its stock.
func (db *DB) FindBookByID(ctx context.Context, id int64) (*litengine.Book, error) {
	var b *litengine.Book
	err := db.run(ctx, func(conn *pgxpool.Conn, _ time.Time) error {
		var err error
		b, err = scanBook(conn.QueryRow(ctx, `SELECT `+bookColumns+` FROM books WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return litengine.Errorf(litengine.ENOTFOUND, "Book %d not found.", id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// FindBooks returns one page of a catalogue search, ordered by id. The search
// text is pre-folded, so a plain substring test is Unicode- and case-insensitive.
func (db *DB) FindBooks(ctx context.Context, f litengine.BookFilter) ([]*litengine.Book, error) {
	var books []*litengine.Book
	err := db.run(ctx, func(conn *pgxpool.Conn, _ time.Time) error {
		rows, err := conn.Query(ctx, `
			SELECT `+bookColumns+` FROM books
			WHERE id > $1 AND ($2 = '' OR strpos(search_text, $2) > 0)
			ORDER BY id
			LIMIT $3`,
			f.AfterID, f.Query, f.Limit)
		if err != nil {
			return err
		}
		books, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*litengine.Book, error) { return scanBook(row) })
		return err
	})
	if err != nil {
		return nil, err
	}
	if books == nil {
		books = []*litengine.Book{}
	}
	return books, nil
}

// importBook upserts one import row in one statement that checks the unique
// columns first instead of failing on them, so that a whole batch can be
// pipelined: a failing statement would abort the transaction and every
// statement after it. (Only a concurrent writer of the same id, ISBN or key
// can still make it fail or do nothing; then the batch is retried.)
// %s is the lookup that finds the row's book: by id, ISBN or import key.
//
// Outcomes, with the same rules as the SQLite store:
//   - existing: the book the row is, if any;
//   - isbn_owner: another book that holds the row's ISBN (the row is skipped);
//   - key_owner: another book that holds the row's import key, for a new row;
//   - created / updated: the id written, if any. An update that would change
//     nothing is not made, so a re-run leaves updated_at alone.
const importBook = `
	WITH existing AS (
		SELECT id FROM books WHERE %s
	),
	isbn_owner AS (
		SELECT id FROM books WHERE isbn = NULLIF($4, '') AND id NOT IN (SELECT id FROM existing)
	),
	key_owner AS (
		SELECT id FROM books WHERE import_key = NULLIF($5, '') AND NOT EXISTS (SELECT FROM existing)
	),
	created AS (
		INSERT INTO books (id, title, authors, isbn, import_key, published_year, search_text, created_at, updated_at)
		SELECT coalesce(NULLIF($1::bigint, 0), nextval(pg_get_serial_sequence('books', 'id'))),
		       $2::text, $3::text[], NULLIF($4, ''), NULLIF($5, ''), $6::integer, $7::text, $8::timestamptz, $8
		WHERE NOT EXISTS (SELECT FROM existing) AND NOT EXISTS (SELECT FROM isbn_owner)
		  AND NOT EXISTS (SELECT FROM key_owner)
		-- A concurrent transaction may commit the same id, ISBN or key after
		-- the checks above: then nothing is created and the batch is retried.
		ON CONFLICT DO NOTHING
		RETURNING id
	),
	-- A row with an id or an ISBN updates only the book an import created
	-- under the same identity, never a book added through the API.
	foreign_owned AS (
		SELECT id FROM books
		WHERE id = (SELECT id FROM existing) AND $9::bool AND import_key IS DISTINCT FROM NULLIF($5, '')
	),
	updated AS (
		UPDATE books SET title = $2, authors = $3, isbn = NULLIF($4, ''), published_year = $6,
		                 search_text = $7, updated_at = $8
		WHERE id = (SELECT id FROM existing) AND NOT EXISTS (SELECT FROM isbn_owner)
		  AND NOT EXISTS (SELECT FROM foreign_owned)
		  AND (title, authors, isbn, published_year) IS DISTINCT FROM ($2, $3, NULLIF($4, ''), $6)
		RETURNING id
	)
	SELECT (SELECT id FROM existing), (SELECT id FROM isbn_owner), (SELECT id FROM key_owner),
	       (SELECT id FROM created), (SELECT id FROM updated), (SELECT id FROM foreign_owned)`

var (
	importByID   = fmt.Sprintf(importBook, `id = $1`)
	importByISBN = fmt.Sprintf(importBook, `isbn = NULLIF($4, '')`)
	importByKey  = fmt.Sprintf(importBook, `import_key = NULLIF($5, '')`)
)

// ImportBooks creates or updates catalogue rows by id, ISBN or import key in one
// transaction. Stock is never touched, so a re-import keeps loans consistent.
//
// Each row is one statement, run in order so that a row sees the rows before
// it exactly as in the SQLite store, but all of them travel in one pipelined
// batch with BEGIN and the locks; then the book.created events of the books
// it created (set-based, in row order) travel with COMMIT: two round trips
// whatever the number of rows (see commitBatch and endTx).
func (db *DB) ImportBooks(ctx context.Context, rows []litengine.BookImport) ([]litengine.ImportOutcome, error) {
	out := make([]litengine.ImportOutcome, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	var ids []int64
	var isbns, keys []string
	var maxID int64
	for _, r := range rows {
		switch {
		case r.ID > 0:
			ids = append(ids, r.ID)
			maxID = max(maxID, r.ID)
		case r.ISBN != "":
			isbns = append(isbns, r.ISBN)
		case r.Key != "":
			keys = append(keys, r.Key)
		}
	}
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		defer endTx(ctx, conn)
		clear(out)
		batch := beginBatch()
		// Lock every book the rows can update, in id order, before changing
		// any: borrows, returns and stock updates lock books in id order too,
		// so an import that runs alongside them never deadlocks with them.
		// Rows found later are ones this transaction created.
		batch.Queue(`
			SELECT count(*) FROM (
				SELECT FROM books
				WHERE id = ANY($1::bigint[]) OR isbn = ANY($2::text[]) OR import_key = ANY($3::text[])
				ORDER BY id
				FOR NO KEY UPDATE
			) AS locked`, nonNil(ids), nonNil(isbns), nonNil(keys))
		if maxID > 0 {
			// Move the identity past the explicit ids before writing them, so
			// that books created meanwhile through the API draw fresh ids.
			// setval is not transactional: a failed import leaves a gap, no harm.
			batch.Queue(`
				SELECT setval(seq, top)
				FROM (SELECT pg_get_serial_sequence('books', 'id') AS seq,
				             greatest($1::bigint, (SELECT max(id) FROM books)) AS top) AS s
				WHERE top > coalesce(pg_sequence_last_value(seq::regclass), 0)`, maxID)
		}
		for _, r := range rows {
			query := importByID
			switch {
			case r.ID > 0:
			case r.ISBN != "":
				query = importByISBN
			case r.Key != "":
				query = importByKey
			default:
				continue
			}
			batch.Queue(query, r.ID, r.Title, nonNil(r.Authors), r.ISBN, litengine.RowImportKey(r), r.PublishedYear,
				litengine.SearchText(r.Title, r.Authors, r.ISBN), now, r.ID > 0 || r.ISBN != "")
		}

		events, err := importRows(ctx, conn, batch, rows, out, maxID > 0)
		if err != nil {
			return uncommitted(err)
		}
		commit := &pgx.Batch{}
		events.queue(ctx, commit, now) // last: see the numbering in audit.go
		return commitBatch(ctx, conn, commit)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// importRows sends the import's first batch (BEGIN, the locks, the rows),
// fills out with each row's outcome and returns the book.created events of
// the books it created, in row order: an imported book starts without stock.
func importRows(ctx context.Context, conn *pgxpool.Conn, batch *pgx.Batch, rows []litengine.BookImport,
	out []litengine.ImportOutcome, setval bool) (*auditEvents, error) {
	results := conn.SendBatch(ctx, batch)
	defer results.Close()
	if _, err := results.Exec(); err != nil { // BEGIN
		return nil, err
	}
	if _, err := results.Exec(); err != nil { // the locks
		return nil, err
	}
	if setval {
		if _, err := results.Exec(); err != nil {
			return nil, err
		}
	}
	var events auditEvents
	for i, r := range rows {
		if r.ID <= 0 && r.ISBN == "" && r.Key == "" {
			out[i] = litengine.ImportOutcome{Result: litengine.ImportSkipped, Reason: "no id, isbn or key"}
			continue
		}
		var existing, isbnOwner, keyOwner, created, updated, foreign *int64
		if err := results.QueryRow().Scan(&existing, &isbnOwner, &keyOwner, &created, &updated, &foreign); err != nil {
			if isUnique(err, "books_isbn_key") || isUnique(err, "books_import_key_key") || isUnique(err, "books_pkey") {
				// A concurrent transaction committed the ISBN this row's
				// update writes; the next attempt sees it and skips the row.
				return nil, errRetry
			}
			return nil, fmt.Errorf("import row %d: %w", i, err)
		}
		switch {
		case foreign != nil && r.ID > 0:
			out[i] = litengine.ImportOutcome{Result: litengine.ImportSkipped, Reason: litengine.ImportIDTaken(r.ID)}
		case foreign != nil:
			out[i] = litengine.ImportOutcome{Result: litengine.ImportSkipped, Reason: litengine.ImportISBNTaken(r.ISBN, *foreign)}
		case isbnOwner != nil:
			out[i] = litengine.ImportOutcome{Result: litengine.ImportSkipped, Reason: litengine.ImportISBNTaken(r.ISBN, *isbnOwner)}
		case existing != nil && updated != nil:
			out[i] = litengine.ImportOutcome{Result: litengine.ImportUpdated, BookID: *existing}
		case existing != nil:
			out[i] = litengine.ImportOutcome{Result: litengine.ImportUnchanged, BookID: *existing}
		case keyOwner != nil:
			out[i] = litengine.ImportOutcome{Result: litengine.ImportSkipped,
				Reason: fmt.Sprintf("key %s already belongs to book %d", r.Key, *keyOwner)}
		case created != nil:
			out[i] = litengine.ImportOutcome{Result: litengine.ImportCreated, BookID: *created}
			if err := events.add(litengine.EventBookCreated, *created, 0, "", "",
				map[string]any{"totalqty": 0}); err != nil {
				return nil, err
			}
		default:
			return nil, errRetry // ON CONFLICT DO NOTHING met a concurrent insert
		}
	}
	return &events, results.Close()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func scanBook(row pgx.Row) (*litengine.Book, error) {
	var b litengine.Book
	var isbn *string
	if err := row.Scan(&b.ID, &b.Title, &b.Authors, &isbn, &b.PublishedYear, &b.TotalQty, &b.OnLoan,
		&b.CreatedAt, &b.UpdatedAt); err != nil {
		return nil, err
	}
	if isbn != nil {
		b.ISBN = *isbn
	}
	b.CreatedAt, b.UpdatedAt = b.CreatedAt.UTC(), b.UpdatedAt.UTC()
	return &b, nil
}
