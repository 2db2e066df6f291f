#!/usr/bin/env bash
# The benchmark behind `make bench`: a synthetic register and order file of N people, then the
# intake and one batch, each step measured with /usr/bin/time (wall time, peak RSS).
# Usage: tools/bench.sh N   (run from the repository root, after `cargo build --release`)
set -euo pipefail
n=${1:-10000}
bin=${PINBREV_BIN:-target/release/pinbrev}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
cargo run --release --locked --quiet --example gen_fixtures -- --persons "$n" --orders "$n" --out "$work/data" >/dev/null
export PINBREV_DB="sqlite://$work/bench.db" PINBREV_ALLOW_SYNTHETIC=true
export PINBREV_PIN_KEY
PINBREV_PIN_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
step() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$bin" -q "$@" > "$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  read -r secs rss < "$work/time"
  printf '%-16s %8.2f s  %8d KB peak RSS   %s\n' "$name" "$secs" "$rss" "$(tail -n 1 "$work/out")"
  echo "$secs" > "$work/$name.secs"
}
echo "pinbrev benchmark, N=$n ($(nproc) cores)"
step register-import register import "$work/data/register.jsonl"
step orders-ingest orders ingest "$work/data/orders.csv"
step orders-validate orders validate
step batch-create batch create --vendor bench --outbox "$work/outbox"
letters=$(grep -c . "$work"/outbox/B*/manifest.csv)
letters=$((letters - 1))
pdf_bytes=$(cat "$work"/outbox/B*/letters-*.pdf | wc -c)
secs=$(cat "$work/batch-create.secs")
awk -v l="$letters" -v b="$pdf_bytes" -v s="$secs" 'BEGIN {
  printf "batch: %d letters, %.1f letters/s, %.0f bytes/letter of PDF\n", l, l / s, b / l }'
