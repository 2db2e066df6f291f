#!/usr/bin/env bash
# Render workers on PostgreSQL, one machine: `batch create` of N synthetic orders rendering on
# one thread alone ("1 worker"), against the same with one `pinbrev worker` process beside it
# ("2 workers"). The validated database is made once and copied for every run; each run's wall
# time is the batch create's, from start to published drop. Prints every run, then the medians.
# Usage: tools/bench-workers.sh [N] [RUNS]   (after `cargo build --release`; starts its own
#        durable PostgreSQL server on loopback, or uses PINBREV_BENCH_PG_URL)
set -euo pipefail
n=${1:-100000}
runs=${2:-3}
bin=${PINBREV_BIN:-$PWD/target/release/pinbrev}
work=$(mktemp -d)
pgdir=""
cleanup() {
  [ -n "${worker_pid:-}" ] && kill "$worker_pid" 2>/dev/null || true
  [ -n "$pgdir" ] && tools/pg.sh stop "$pgdir"
  rm -rf "$work"
}
trap cleanup EXIT
if [ -n "${PINBREV_BENCH_PG_URL:-}" ]; then
  base=$PINBREV_BENCH_PG_URL
else
  pgdir=$(mktemp -d /tmp/pinbrev-pg-bench.XXXXXX)
  base=$(PG_DURABLE=1 tools/pg.sh start "$pgdir")
fi
server=${base%/*}
export PINBREV_ALLOW_SYNTHETIC=true PINBREV_RENDER_THREADS=1 PINBREV_PIN_KEY
PINBREV_PIN_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
cargo run --release --locked --quiet --example gen_fixtures -- --persons "$n" --orders "$n" --out "$work/data" >/dev/null
template=bench_workers_$$
PINBREV_DB=$server/$template "$bin" -q register import "$work/data/register.jsonl" >/dev/null
PINBREV_DB=$server/$template "$bin" -q orders ingest "$work/data/orders.csv" >/dev/null
PINBREV_DB=$server/$template "$bin" -q orders validate >/dev/null
declare -A times
for run in $(seq "$runs"); do
  for workers in 1 2; do
    db=bench_run_$$
    psql -q "$base" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE $template"
    export PINBREV_DB=$server/$db
    rm -rf "$work/outbox" && mkdir -p "$work/outbox"
    worker_pid=""
    if [ "$workers" = 2 ]; then
      "$bin" -q worker --outbox "$work/outbox" > "$work/worker.out" &
      worker_pid=$!
    fi
    start=$(date +%s.%N)
    "$bin" -q batch create --vendor bench --outbox "$work/outbox" > "$work/batch.out"
    end=$(date +%s.%N)
    if [ -n "$worker_pid" ]; then kill "$worker_pid"; wait "$worker_pid" 2>/dev/null || true; worker_pid=""; fi
    t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
    by_worker=$(psql -qtA "$PINBREV_DB" -c "SELECT COUNT(*) FROM batch_parts WHERE claimed_by LIKE 'worker@%'")
    echo "run $run, $workers worker(s): $t s ($by_worker parts by the worker process) — $(cat "$work/batch.out")"
    times[$workers]+="$t "
  done
done
for workers in 1 2; do
  median=$(echo "${times[$workers]}" | tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  echo "median, $workers worker(s): $median s"
done
psql -q "$base" -c "DROP DATABASE IF EXISTS bench_run_$$" -c "DROP DATABASE IF EXISTS $template"
