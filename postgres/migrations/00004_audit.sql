-- +goose Up
-- The audit trail: one row per change, appended in the transaction that makes
-- the change, so the trail holds exactly what committed.

-- The counter that numbers events in COMMIT order. A sequence would not: two
-- transactions can draw numbers in one order and commit in the other, and a
-- reader paging by seq that had passed the later number would skip the
-- earlier one forever. Instead the last statement of every transaction that
-- appends events adds their number to this row (see audit.go): its row lock
-- is held until COMMIT, so the next transaction reads the total only after
-- this one committed, and the numbers, without gaps, follow the commit order.
-- Exactly one row, seeded with 0; the index on a constant forbids a second.
CREATE TABLE audit_seq (
    last bigint NOT NULL
);
CREATE UNIQUE INDEX audit_seq_one_row ON audit_seq ((true));
INSERT INTO audit_seq (last) VALUES (0);

-- seq is the commit order, from 1, handed out by audit_seq. at is the
-- transaction's time, timestamptz in whole seconds like every other time.
-- data is the event's details as a JSON object (litengine.EncodeEventData),
-- kept as jsonb rather than text: PostgreSQL checks that it is a JSON object
-- on the way in, and an operator can query it in SQL (data ->> 'due_at')
-- without a cast that fails on the first bad row. jsonb does not keep key
-- order or spacing, which the domain never relies on: it decodes into a map.
-- Ids are NULL when the event does not name one. No foreign keys: the trail
-- must outlive the books, members, loans and fees it names.
CREATE TABLE audit_events (
    seq            bigint      NOT NULL,
    at             timestamptz NOT NULL,
    type           text        NOT NULL,
    actor          text        NOT NULL DEFAULT '',   -- API key id; '' from the command line
    book_id        bigint,
    user_id        bigint,
    transaction_id text COLLATE "C",
    fee_id         text COLLATE "C",
    data           jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    CONSTRAINT audit_events_pkey PRIMARY KEY (seq)
);

-- One index per filter, each in seq order so that a filtered page is a range
-- scan that stops at the limit. Events without the column are left out.
CREATE INDEX audit_events_book ON audit_events (book_id, seq) WHERE book_id IS NOT NULL;
CREATE INDEX audit_events_user ON audit_events (user_id, seq) WHERE user_id IS NOT NULL;
CREATE INDEX audit_events_transaction ON audit_events (transaction_id, seq) WHERE transaction_id IS NOT NULL;
CREATE INDEX audit_events_type ON audit_events (type, seq);
CREATE INDEX audit_events_at ON audit_events (at, seq);

-- The overdue list walks active loans in transaction order, the order of its
-- pages, and tests due_at from the index alone: a page costs the active
-- loans it passes, never the returned ones. Transaction ids are UUIDv7 and
-- due dates follow the borrowing time, so overdue loans gather at the start
-- of that order and a page stops soon after its limit.
CREATE INDEX loans_active_due ON loans (id) INCLUDE (due_at) WHERE returned_at IS NULL;

-- +goose Down
DROP INDEX loans_active_due;
DROP TABLE audit_events;
DROP TABLE audit_seq;
