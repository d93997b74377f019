-- +goose Up
-- A replayed creation must send its Location header again.
ALTER TABLE idempotency_keys ADD COLUMN location TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN location;
