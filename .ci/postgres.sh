#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the plan-store tests and print its connection URL.
# Installs Debian's postgresql package when the server is missing (CI runs as root).
set -euo pipefail
PORT="${POLLPLAN_PG_PORT:-55432}"
DATA="${POLLPLAN_PG_DATA:-/tmp/pollplan-pg}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
  BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
fi
RUN_AS=()
if [ "$(id -u)" = "0" ]; then RUN_AS=(runuser -u postgres --); fi
if ! "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  rm -rf "$DATA"
  mkdir -p "$DATA"
  if [ "$(id -u)" = "0" ]; then chown postgres "$DATA"; fi
  "${RUN_AS[@]}" "$BIN/initdb" -D "$DATA" -A trust -U postgres >/dev/null
  "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DATA" -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1" -l "$DATA/log" -w start >/dev/null
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
