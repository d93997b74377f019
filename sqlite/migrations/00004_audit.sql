-- +goose Up
-- The audit trail: one row per change, appended in the transaction that makes
-- the change, so the trail holds exactly what committed.

-- seq is the rowid. AUTOINCREMENT never hands out a number twice, even after
-- the last rows are deleted, so a reader's cursor (seq > AfterSeq) stays valid.
-- Writes are serialised by the database's write lock (BEGIN IMMEDIATE, held
-- until COMMIT), so numbers are drawn in commit order: a reader never sees a
-- seq appear below one it has already passed.
-- data is the event's details as a JSON object (litengine.EncodeEventData).
-- No foreign keys: the trail must outlive the books, members and loans it
-- names.
CREATE TABLE audit_events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,              -- seconds since the epoch, UTC
    type           TEXT    NOT NULL,
    actor          TEXT    NOT NULL DEFAULT '',   -- API key id; '' from the command line
    book_id        INTEGER,
    user_id        INTEGER,
    transaction_id TEXT,
    fee_id         TEXT,
    data           TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(data))
) STRICT;

-- One index per filter, each in seq order so that a filtered page is a range
-- scan that stops at the limit. Events without the column are left out.
CREATE INDEX audit_events_book ON audit_events (book_id, seq) WHERE book_id IS NOT NULL;
CREATE INDEX audit_events_user ON audit_events (user_id, seq) WHERE user_id IS NOT NULL;
CREATE INDEX audit_events_transaction ON audit_events (transaction_id, seq) WHERE transaction_id IS NOT NULL;
CREATE INDEX audit_events_type ON audit_events (type, seq);
CREATE INDEX audit_events_at ON audit_events (at, seq);

-- The overdue list walks active loans in transaction order and reads due_at
-- from the index alone. Transaction ids are UUIDv7 and due dates follow the
-- borrowing time, so the overdue loans gather at the start of that order and
-- a page stops soon after its limit.
CREATE INDEX loans_active_due ON loans (id, due_at) WHERE returned_at IS NULL;

-- +goose Down
DROP INDEX loans_active_due;
DROP TABLE audit_events;
