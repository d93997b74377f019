-- The borrow-of-5 transaction written by hand for pgbench: the ceiling that
-- LitEngine's HTTP borrow is measured against (scripts/bench-postgres.sh).
-- Five distinct books (a random aligned group of five) for a random member.
\set u random(1, :users)
\set g random(0, :books / 5 - 1)
\set b1 :g * 5 + 1
\set b2 :g * 5 + 2
\set b3 :g * 5 + 3
\set b4 :g * 5 + 4
\set b5 :g * 5 + 5
BEGIN;
SELECT 1 FROM users WHERE id = :u;
UPDATE books SET on_loan = on_loan + 1, updated_at = date_trunc('second', now())
 WHERE id IN (:b1, :b2, :b3, :b4, :b5) AND on_loan < totalqty;
INSERT INTO loans (id, book_id, user_id, borrowed_at, due_at) VALUES
 (gen_random_uuid()::text, :b1, :u, date_trunc('second', now()), date_trunc('second', now()) + interval '14 days'),
 (gen_random_uuid()::text, :b2, :u, date_trunc('second', now()), date_trunc('second', now()) + interval '14 days'),
 (gen_random_uuid()::text, :b3, :u, date_trunc('second', now()), date_trunc('second', now()) + interval '14 days'),
 (gen_random_uuid()::text, :b4, :u, date_trunc('second', now()), date_trunc('second', now()) + interval '14 days'),
 (gen_random_uuid()::text, :b5, :u, date_trunc('second', now()), date_trunc('second', now()) + interval '14 days');
END;
