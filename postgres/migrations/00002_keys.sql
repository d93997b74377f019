-- +goose Up

-- API keys. Only the SHA-256 of a key's secret is kept; the id is public and
-- sorts in creation order (UUIDv7 in hex).
CREATE TABLE api_keys (
    id          text        COLLATE "C" PRIMARY KEY,
    role        text        NOT NULL CHECK (role IN ('admin', 'librarian', 'member')),
    user_id     bigint      CONSTRAINT api_keys_user_fkey REFERENCES users (id),
    name        text        NOT NULL DEFAULT '',
    secret_hash bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    CHECK ((role = 'member') = (user_id IS NOT NULL))
);

-- Idempotency-Keys of POST batches, scoped to the API key that sent them.
-- status is 0 while the first request runs, then its HTTP status.
CREATE TABLE idempotency_keys (
    scope        text        COLLATE "C" NOT NULL,
    key          text        COLLATE "C" NOT NULL,
    request_hash bytea       NOT NULL,
    status       integer     NOT NULL DEFAULT 0,
    content_type text        NOT NULL DEFAULT '',
    body         bytea,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE api_keys;
