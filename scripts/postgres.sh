#!/usr/bin/env bash
# A PostgreSQL server for the receiver's tests: installs Debian's postgresql when it is missing, creates a
# cluster in /tmp/leadscore-postgres-PORT (once; outside the checkout, which the postgres user may not be
# allowed to enter), starts it on 127.0.0.1:${PGPORT:-55432} (when it is not running) and
# creates the test database afresh. Prints the database URL on standard output; everything else goes to stderr.
#   export LEADSCORE_TEST_POSTGRES=$(bash scripts/postgres.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PGPORT:-55432}
db=leadscore_test

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "postgres: installing Debian's postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

dir=${TMPDIR:-/tmp}/leadscore-postgres-$port
# The server refuses to run as root: as root, it runs as the postgres user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ ! -f "$dir/PG_VERSION" ]; then
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >&2
fi
if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  as_pg "$bin/pg_ctl" -D "$dir" -w -l "$dir/server.log" \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on" start >&2
fi
# A fresh database for each run of the tests.
"$bin/dropdb" -h 127.0.0.1 -p "$port" -U postgres --if-exists --force "$db"
"$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
echo "postgres://postgres@127.0.0.1:$port/$db"
