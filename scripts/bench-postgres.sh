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
#
# PIN=1 (needs a local PostgreSQL, root and at least 2 CPUs) gives PostgreSQL
# CPU 1 and every client (the engine with its load generator, or pgbench) CPU
# 0, so that the database has the same CPU in both runs whatever the client
# costs. The affinity of the running server is restored at exit.
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
client=()
postmaster=""
restore() {
	kill "$engine" 2>/dev/null || true
	rm -rf "$bin"
	if [ -n "$postmaster" ]; then
		for pid in $(pgrep -u postgres); do taskset -a -p -c 0-$(( $(nproc) - 1 )) "$pid" >/dev/null 2>&1 || true; done
	fi
}
trap restore EXIT
if [ "${PIN:-0}" = 1 ]; then
	postmaster=$(head -n1 "$(psql "$server/postgres" -Atc 'SHOW data_directory')/postmaster.pid")
	# New backends inherit the postmaster's affinity; running ones are moved too.
	for pid in $(pgrep -u postgres); do taskset -a -p -c 1 "$pid" >/dev/null; done
	client=(taskset -c 0)
	echo "PostgreSQL pinned to CPU 1, clients to CPU 0"
fi
go build -o "$bin/litengine" ./cmd/litengine
go build -o "$bin/litengine-load" ./cmd/litengine-load

psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $dbname" -c "CREATE DATABASE $dbname"
"$bin/litengine" import --db "$url" "$data" | head -n1
LITENGINE_KEY=$("$bin/litengine" keys create --db "$url" --role admin --name bench | tail -n1)
export LITENGINE_KEY

maxconns=$(( $(nproc) * 4 ))
"${client[@]}" "$bin/litengine" serve --db "$url" --addr "$addr" --log-level warn --pg-max-conns "$maxconns" \
	--admin-key-file "" --rate-limit=false &
engine=$!
for _ in $(seq 1 50); do curl -fs "http://$addr/readyz" >/dev/null && break; sleep 0.2; done

echo "== engine over HTTP (pool of $maxconns connections)"
"${client[@]}" "$bin/litengine-load" --url "http://$addr" --clients "$(echo $clients | tr ' ' ',')" \
	--duration "${secs}s" --warmup 2s --users "$users" --books "$books" --batch 5
echo
"${client[@]}" "$bin/litengine-load" --url "http://$addr" --clients 32 --duration "${secs}s" --warmup 2s \
	--users 10 --books "$books" --batch 1 --inventory-runs 1 | tail -n1 | sed 's/^/borrow of 1 book, 32 clients: /'
kill "$engine"; wait "$engine" 2>/dev/null || true

echo
echo "== pgbench, same transaction as raw SQL"
echo "| clients | tps | latency avg ms |"
echo "| ---: | ---: | ---: |"
for c in $clients; do
	out=$("${client[@]}" pgbench -n -M prepared -c "$c" -j "$(( c < 2 ? c : 2 ))" -T "$secs" \
		-D users="$users" -D books="$books" -f bench/borrow5.pgbench.sql "$url" 2>&1)
	tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
	lat=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
	echo "| $c | ${tps%.*} | $lat |"
done
