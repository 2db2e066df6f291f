#!/usr/bin/env bash
# The benchmark behind `make bench`: for each N given, a synthetic register and order file of N
# people, then the night's steps (register import, orders ingest, orders validate, batch create)
# on a fresh database, each measured with /usr/bin/time (wall time, peak RSS); then a re-issue
# night on that database (the letters posted, a new order from each person, validate, batch: the
# new letters supersede the earlier ones); then the first night as one `nightly` run on a second
# fresh database. Prints each step as it finishes, then every N side by side.
# Usage: tools/bench.sh N [N ...]   (from the repository root, after `cargo build --release`;
#        PINBREV_BIN=path measures another binary)
# REISSUE_UP_TO=N runs the re-issue night only for the sizes up to N (for a million it adds a
# million receipts and a second batch of a million letters to the run).
# ENGINE=postgres runs pinbrev on PostgreSQL: a server started here on loopback with the
# distribution's durable defaults (fsync and synchronous commit on, as SQLite's
# synchronous=FULL is), or the one at PINBREV_BENCH_PG_URL (a database per N is created there).
set -euo pipefail
sizes=("${@:-10000}")
bin=${PINBREV_BIN:-target/release/pinbrev}
engine=${ENGINE:-sqlite}
work=$(mktemp -d)
pgdir=""
cleanup() {
  [ -n "$pgdir" ] && tools/pg.sh stop "$pgdir"
  rm -rf "$work"
}
trap cleanup EXIT
case "$engine" in
sqlite) ;;
postgres)
  if [ -n "${PINBREV_BENCH_PG_URL:-}" ]; then
    pg_base=$PINBREV_BENCH_PG_URL
  else
    pgdir=$(mktemp -d /tmp/pinbrev-pg-bench.XXXXXX)
    pg_base=$(PG_DURABLE=1 tools/pg.sh start "$pgdir")
  fi
  ;;
*) echo "ENGINE=$engine: use sqlite or postgres" >&2; exit 2 ;;
esac
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
export PINBREV_ALLOW_SYNTHETIC=true PINBREV_PIN_KEY
PINBREV_PIN_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
steps=(register-import orders-ingest orders-validate batch-create)
reissue=(receipts-ingest reissue-ingest reissue-validate reissue-batch report)
declare -A secs rss extra

step() {
  local n=$1 name=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$work/time" "$bin" -q "$@" > "$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  read -r s r < "$work/time"
  secs[$n,$name]=$s
  rss[$n,$name]=$r
  printf '%-16s %8.2f s  %8d KB peak RSS   %s\n' "$name" "$s" "$r" "$(tail -n 1 "$work/out" | cut -c1-160)"
}

for n in "${sizes[@]}"; do
  run="$work/n$n"
  mkdir -p "$run"
  cargo run --release --locked --quiet --example gen_fixtures -- --persons "$n" --orders "$n" --out "$run/data" >/dev/null
  if [ "$engine" = postgres ]; then
    export PINBREV_DB="${pg_base%/*}/bench_${n}_$$"
  else
    export PINBREV_DB="sqlite://$run/bench.db"
  fi
  echo "pinbrev benchmark, N=$n, $engine ($(nproc) cores, $($bin --version))"
  step "$n" register-import register import "$run/data/register.jsonl"
  step "$n" orders-ingest orders ingest "$run/data/orders.csv"
  step "$n" orders-validate orders validate
  step "$n" batch-create batch create --vendor bench --outbox "$run/outbox"
  letters=$(($(grep -c . "$run"/outbox/B*/manifest.csv) - 1))
  pdf_bytes=$(cat "$run"/outbox/B*/letters-*.pdf | wc -c)
  extra[$n,letters]=$letters
  extra[$n,rate]=$(awk -v l="$letters" -v s="${secs[$n,batch-create]}" 'BEGIN { printf "%.0f", l / s }')
  extra[$n,bpl]=$(awk -v l="$letters" -v b="$pdf_bytes" 'BEGIN { printf "%.0f", b / l }')
  extra[$n,total]=$(awk -v a="${secs[$n,register-import]}" -v b="${secs[$n,orders-ingest]}" \
    -v c="${secs[$n,orders-validate]}" -v d="${secs[$n,batch-create]}" 'BEGIN { printf "%.2f", a + b + c + d }')
  echo "batch: ${extra[$n,letters]} letters, ${extra[$n,rate]} letters/s, ${extra[$n,bpl]} bytes/letter of PDF"
  # Per order: the same at every N when the cost is linear in N.
  extra[$n,per]=$(awk -v t="${extra[$n,total]}" -v n="$n" 'BEGIN { printf "%.1f", t * 1e6 / n }')
  echo "the four steps: ${extra[$n,total]} s, ${extra[$n,per]} microseconds an order"
  # A re-issue night on the same database: every letter reported posted by the vendor, then a
  # new order from each of the same people, whose letters supersede the earlier ones.
  if [ "$n" -le "${REISSUE_UP_TO:-$n}" ]; then
    batch_dir=$(ls -d "$run"/outbox/B*)
    posted=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    awk -F, -v b="${batch_dir##*/}" -v t="$posted" 'NR == 1 { print "batch_id,letter_id,event,occurred_at,detail"; next }
      { print b "," $2 ",posted," t "," }' "$batch_dir/manifest.csv" > "$run/posted.csv"
    awk -F, -v OFS=, 'NR > 1 { $1 = "REISSUE-" substr($1, 7) } { print }' "$run/data/orders.csv" > "$run/reissue.csv"
    step "$n" receipts-ingest receipts ingest "$run/posted.csv"
    step "$n" reissue-ingest orders ingest "$run/reissue.csv"
    step "$n" reissue-validate orders validate
    step "$n" reissue-batch batch create --vendor bench --outbox "$run/outbox"
    superseded=$(grep -oE '[0-9]+ earlier letters? superseded' "$work/out" | cut -d' ' -f1)
    [ "${superseded:-0}" -gt 0 ] || { echo "the re-issue superseded no letter" >&2; exit 1; }
    extra[$n,superseded]=$superseded
    echo "re-issue: $superseded earlier letters superseded"
    # The operator's report of the two nights: the synthetic orders were placed on 2026-11-20
    # to 23, so from December on every posted one is an SLA breach that the report lists.
    step "$n" report report --since 2026-11-01 --format json --out "$run/report.json"
  else
    echo "re-issue night not run (REISSUE_UP_TO=$REISSUE_UP_TO)"
  fi
  # The same night as the cron job runs it: one `nightly` process, on a second fresh database,
  # with the same two files in its inbox (it also reads receipts, here none, and purges).
  steps_db=$PINBREV_DB
  export PINBREV_DB="${steps_db}_nightly"
  [ "$engine" = postgres ] || PINBREV_DB="sqlite://$run/nightly.db"
  mkdir -p "$run/inbox" "$run/nightly-outbox" "$run/receipts"
  ln "$run/data/register.jsonl" "$run/data/orders.csv" "$run/inbox/"
  step "$n" nightly nightly --inbox "$run/inbox" --outbox "$run/nightly-outbox" \
    --receipts "$run/receipts" --vendor bench
  night_letters=$(($(grep -c . "$run"/nightly-outbox/B*/manifest.csv) - 1))
  [ "$night_letters" = "$letters" ] || { echo "nightly made $night_letters letters, the steps $letters" >&2; exit 1; }
  echo "the whole night as one nightly run: ${secs[$n,nightly]} s"
  echo
  rm -rf "$run"
  if [ "$engine" = postgres ]; then
    # FORCE cannot end the server's own sessions there (an autovacuum worker) without
    # pg_signal_backend: a database left behind is named, and the run goes on to its figures.
    for db in "$steps_db" "$PINBREV_DB"; do
      psql -q "$pg_base" -c "DROP DATABASE ${db##*/} WITH (FORCE)" ||
        echo "bench: database ${db##*/} could not be dropped; it is left on the server" >&2
    done
  fi
done

# Every N side by side: wall time and peak RSS per step, then the batch's figures.
printf '%-24s' "N"
for n in "${sizes[@]}"; do printf '%22s' "$n"; done
echo
for s in "${steps[@]}" nightly "${reissue[@]}"; do
  label=$s
  [ "$s" = nightly ] && label="nightly (one process)"
  printf '%-24s' "$label"
  for n in "${sizes[@]}"; do
    if [ -n "${secs[$n,$s]:-}" ]; then
      printf '%22s' "$(awk -v t="${secs[$n,$s]}" -v m="${rss[$n,$s]}" 'BEGIN { printf "%.2f s %4.0f MB", t, m / 1024 }')"
    else
      printf '%22s' "not run"
    fi
  done
  echo
done
for row in "four steps (s):total" "microseconds/order:per" "letters:letters" "letters/s:rate" "bytes/letter:bpl" \
  "re-issue superseded:superseded"; do
  printf '%-24s' "${row%%:*}"
  for n in "${sizes[@]}"; do printf '%22s' "${extra[$n,${row##*:}]:-not run}"; done
  echo
  [ "${row##*:}" = per ] || continue
  # The same figure step by step: which step's cost grows faster than N.
  for s in "${steps[@]}"; do
    printf '%-24s' "  $s"
    for n in "${sizes[@]}"; do
      printf '%22s' "$(awk -v t="${secs[$n,$s]}" -v n="$n" 'BEGIN { printf "%.1f", t * 1e6 / n }')"
    done
    echo
  done
done
