-- +goose Up
-- Circulation rules: member categories and suspension, renewals, and the fee
-- ledger. Columns added with a constant default rewrite no table.

ALTER TABLE users
    ADD COLUMN category  text    NOT NULL DEFAULT '',    -- selects the loan policy; '' is the default
    ADD COLUMN suspended boolean NOT NULL DEFAULT false; -- a suspended member may not borrow or renew

ALTER TABLE loans
    ADD COLUMN renewals integer NOT NULL DEFAULT 0 CHECK (renewals >= 0);

-- Money a member owes: the late fee of one loan, in minor units of currency.
-- The id is a UUIDv7 string like a loan's, so the key order is the order in
-- which fees were assessed.
CREATE TABLE fees (
    id           text COLLATE "C" NOT NULL,
    user_id      bigint      NOT NULL REFERENCES users (id),
    loan_id      text COLLATE "C" NOT NULL REFERENCES loans (id),
    book_id      bigint      NOT NULL,
    amount       bigint      NOT NULL CHECK (amount > 0),
    paid         bigint      NOT NULL DEFAULT 0,
    currency     text        NOT NULL,
    assessed_at  timestamptz NOT NULL,
    waived_at    timestamptz,
    waive_reason text        NOT NULL DEFAULT '',
    CONSTRAINT fees_pkey PRIMARY KEY (id),
    -- One late fee per loan.
    CONSTRAINT fees_loan_id_key UNIQUE (loan_id),
    -- Never paid beyond what was assessed, whatever the code path.
    CONSTRAINT fees_paid_check CHECK (paid >= 0 AND paid <= amount),
    -- A waiver always says why.
    CONSTRAINT fees_waive_check CHECK ((waived_at IS NULL) = (waive_reason = ''))
);

CREATE INDEX fees_user ON fees (user_id, id);

-- A member's active loans, counted by every borrow against the loan limit.
CREATE INDEX loans_user_active ON loans (user_id) WHERE returned_at IS NULL;

-- +goose Down
DROP INDEX loans_user_active;
DROP TABLE fees;
ALTER TABLE loans DROP COLUMN renewals;
ALTER TABLE users DROP COLUMN suspended, DROP COLUMN category;
