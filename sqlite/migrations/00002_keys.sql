-- +goose Up

-- API keys. Only the SHA-256 of a key's secret is kept; the id is public and
-- sorts in creation order (UUIDv7 in hex).
CREATE TABLE api_keys (
    id          TEXT    PRIMARY KEY,
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'librarian', 'member')),
    user_id     INTEGER REFERENCES users (id),
    name        TEXT    NOT NULL DEFAULT '',
    secret_hash BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    CHECK ((role = 'member') = (user_id IS NOT NULL))
) STRICT, WITHOUT ROWID;

-- Idempotency-Keys of POST batches, scoped to the API key that sent them.
-- status is 0 while the first request runs, then its HTTP status.
CREATE TABLE idempotency_keys (
    scope        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash BLOB    NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    content_type TEXT    NOT NULL DEFAULT '',
    body         BLOB,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE api_keys;
