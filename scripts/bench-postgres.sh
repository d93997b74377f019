#!/usr/bin/env bash
# Measures borrow-of-5 on PostgreSQL: the engine over HTTP (cmd/litengine-load)
# and the same transaction as raw SQL under pgbench (bench/borrow5.pgbench.sql),
# at the same client counts, in one run, on a fresh database.
#
#   scripts/bench-postgres.sh [SECONDS_PER_RUN]
#
# Environment: LITENGINE_BENCH_PG (server URL without database, default
# postgres://postgres@127.0.0.1:5432), LITENGINE_DATA_DIR (the directory of
# goodbooks10k_books.csv, default ../shared/data), CLIENTS (default "1 8 32 64").
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-10}"
server="${LITENGINE_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
dbname=litengine_bench
url="$server/$dbname?sslmode=disable"
data="${LITENGINE_DATA_DIR:-../shared/data}/goodbooks10k_books.csv"
clients="${CLIENTS:-1 8 32 64}"
users=1000
books=10000
addr=127.0.0.1:18999

bin="$(mktemp -d)"
trap 'kill "$engine" 2>/dev/null || true; rm -rf "$bin"' EXIT
go build -o "$bin/litengine" ./cmd/litengine
go build -o "$bin/litengine-load" ./cmd/litengine-load

psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $dbname" -c "CREATE DATABASE $dbname"
"$bin/litengine" import --db "$url" "$data" | head -n1

maxconns=$(( $(nproc) * 4 ))
"$bin/litengine" serve --db "$url" --addr "$addr" --log-level warn --pg-max-conns "$maxconns" &
engine=$!
for _ in $(seq 1 50); do curl -fs "http://$addr/readyz" >/dev/null && break; sleep 0.2; done

echo "== engine over HTTP (pool of $maxconns connections)"
"$bin/litengine-load" --url "http://$addr" --clients "$(echo $clients | tr ' ' ',')" \
	--duration "${secs}s" --warmup 2s --users "$users" --books "$books" --batch 5
echo
"$bin/litengine-load" --url "http://$addr" --clients 32 --duration "${secs}s" --warmup 2s \
	--users 10 --books "$books" --batch 1 --inventory-runs 1 | tail -n1 | sed 's/^/borrow of 1 book, 32 clients: /'
kill "$engine"; wait "$engine" 2>/dev/null || true

echo
echo "== pgbench, same transaction as raw SQL"
echo "| clients | tps | latency avg ms |"
echo "| ---: | ---: | ---: |"
for c in $clients; do
	out=$(pgbench -n -M prepared -c "$c" -j "$(( c < 2 ? c : 2 ))" -T "$secs" \
		-D users="$users" -D books="$books" -f bench/borrow5.pgbench.sql "$url" 2>&1)
	tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
	lat=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
	echo "| $c | ${tps%.*} | $lat |"
done
