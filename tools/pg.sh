#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, on loopback only.
#   tools/pg.sh start DIR   installs Debian's postgresql if it is missing, makes a new cluster in
#                           DIR (owned by the postgres user), starts it on 127.0.0.1 and a free
#                           port, creates the role and database `pinbrev`, and prints the URL.
#   tools/pg.sh stop DIR    stops that server and removes DIR.
# The server skips fsync (the tests do not measure durability); PG_DURABLE=1 keeps the
# distribution's durable defaults (for benchmarks).
# PG_OPTIONS adds server settings ("-c name=value ...").
# Run as root (as `make test` is) or as a user that can run the server binaries itself.
set -euo pipefail
cmd=${1:?usage: tools/pg.sh start|stop DIR}
dir=${2:?usage: tools/pg.sh start|stop DIR}

bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  done
  return 1
}

# Runs a server binary as the postgres user when we are root (PostgreSQL refuses to run as root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  if ! bin=$(bindir); then
    echo "installing postgresql (Debian)" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bin=$(bindir)
  fi
  rm -rf "$dir" && mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
  # A port that is free: a few tries at random ones (a taken port fails the start at once).
  # Durability is not what the tests measure: fsync off keeps them quick.
  quick="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PG_DURABLE:-0}" = 1 ] && quick=""
  for try in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir $quick -c max_connections=200 ${PG_OPTIONS:-}" \
      start >/dev/null; then
      break
    fi
    [ "$try" = 8 ] && { echo "PostgreSQL did not start; see $dir/server.log" >&2; cat "$dir/server.log" >&2; exit 1; }
  done
  as_pg "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE pinbrev LOGIN CREATEDB" -c "CREATE DATABASE pinbrev OWNER pinbrev" >/dev/null
  echo "postgres://pinbrev@127.0.0.1:$port/pinbrev"
  ;;
stop)
  if [ -d "$dir/data" ] && bin=$(bindir); then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: tools/pg.sh start|stop DIR" >&2
  exit 2
  ;;
esac
