-- +goose Up
-- Times are whole seconds since the Unix epoch, UTC: the API's precision.

CREATE TABLE books (
    id             INTEGER PRIMARY KEY,
    title          TEXT    NOT NULL CHECK (title <> ''),
    authors        TEXT    NOT NULL DEFAULT '[]',  -- JSON array of names
    isbn           TEXT    UNIQUE,                 -- ISBN-13 digits
    import_key     TEXT    UNIQUE,                 -- identity of an imported row without id or ISBN
    published_year INTEGER,
    search_text    TEXT    NOT NULL,               -- litengine.SearchText: what catalogue search matches
    totalqty       INTEGER NOT NULL DEFAULT 0,
    on_loan        INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    -- The stock invariant lives here, so that no code path can oversell:
    -- available = totalqty - on_loan is never negative.
    CHECK (on_loan >= 0 AND on_loan <= totalqty)
) STRICT;

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL CHECK (name <> ''),
    email      TEXT,
    email_key  TEXT    UNIQUE,  -- lower-cased email: one member per address
    created_at INTEGER NOT NULL
) STRICT;

-- One row per lent copy. The id is the transaction ID (UUIDv7), so the primary
-- key order is the order in which loans were made.
CREATE TABLE loans (
    id          TEXT    PRIMARY KEY,
    book_id     INTEGER NOT NULL REFERENCES books (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    borrowed_at INTEGER NOT NULL,
    due_at      INTEGER NOT NULL,
    returned_at INTEGER,
    CHECK (due_at >= borrowed_at),
    CHECK (returned_at IS NULL OR returned_at >= borrowed_at)
) STRICT, WITHOUT ROWID;

CREATE INDEX loans_user ON loans (user_id, id);
CREATE INDEX loans_book_active ON loans (book_id) WHERE returned_at IS NULL;

-- +goose Down
DROP TABLE loans;
DROP TABLE users;
DROP TABLE books;
