-- +goose Up
-- Circulation rules: member categories and suspension, renewals, late fees.

-- category selects the member's loan policy ('' is the default policy);
-- a suspended member may not borrow or renew.
ALTER TABLE users ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0 CHECK (suspended IN (0, 1));

ALTER TABLE loans ADD COLUMN renewals INTEGER NOT NULL DEFAULT 0 CHECK (renewals >= 0);

-- Counting a member's active loans, which every borrow does, reads only this.
CREATE INDEX loans_user_active ON loans (user_id) WHERE returned_at IS NULL;

-- The fee ledger: the late fee of a loan returned after its due date, at most
-- one per loan. The id is a UUIDv7 like a loan's, so the primary key order is
-- the order in which fees were assessed. Amounts are minor units of currency;
-- what is outstanding is amount - paid unless the fee was waived.
CREATE TABLE fees (
    id           TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    loan_id      TEXT    NOT NULL UNIQUE REFERENCES loans (id),
    book_id      INTEGER NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount > 0),
    paid         INTEGER NOT NULL DEFAULT 0 CHECK (paid >= 0 AND paid <= amount),
    currency     TEXT    NOT NULL,
    assessed_at  INTEGER NOT NULL,
    waived_at    INTEGER,
    waive_reason TEXT    NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;

CREATE INDEX fees_user ON fees (user_id, id);

-- +goose Down
DROP TABLE fees;
DROP INDEX loans_user_active;
ALTER TABLE loans DROP COLUMN renewals;
ALTER TABLE users DROP COLUMN suspended;
ALTER TABLE users DROP COLUMN category;
