#!/usr/bin/env bash
# Installs (if needed) and starts PostgreSQL 15 with pgvector on 127.0.0.1:$PGPORT (default 5433).
# Source: ../shared/guide/stack.md "Postgres server with pgvector" (tested there: Debian 12 has no pgvector
# package, so pgvector 0.8.0 is built from Debian trixie's source package against postgresql-server-dev-15).
# Prints the DATABASE_URL on its last line. Stop with: scripts/start-postgres.sh stop
set -euo pipefail
PGPORT="${PGPORT:-5433}"; PGDATA="${PGDATA:-/tmp/pgdata-$PGPORT}"; PGVER=15; PGBIN=/usr/lib/postgresql/$PGVER/bin
if [ "${1:-}" = stop ]; then su postgres -c "$PGBIN/pg_ctl -D '$PGDATA' -m fast stop" >/dev/null; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
if [ ! -x "$PGBIN/postgres" ] || [ ! -f /usr/include/postgresql/$PGVER/server/postgres.h ] || ! command -v make >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql-$PGVER postgresql-server-dev-$PGVER make gcc dpkg-dev >/dev/null
fi
if [ ! -f /usr/share/postgresql/$PGVER/extension/vector.control ]; then
  D=$(mktemp -d); mkdir -p "$D/lists/partial"
  URI=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$URI" ] || URI=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list)
  echo "deb-src $URI trixie main" > "$D/sources.list"      # a private list: the system's apt config is untouched
  O=(-o Dir::Etc::SourceList="$D/sources.list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$D/lists" -o APT::Sandbox::User=root)
  apt-get "${O[@]}" update -qq
  (cd "$D" && apt-get "${O[@]}" source --download-only pgvector >/dev/null 2>&1 && tar xzf pgvector_*.orig.tar.gz)
  make -C "$D"/pgvector-*/ PG_CONFIG=$PGBIN/pg_config OPTFLAGS="" with_llvm=no -j2 >/dev/null
  make -C "$D"/pgvector-*/ PG_CONFIG=$PGBIN/pg_config with_llvm=no install >/dev/null; rm -rf "$D"
fi
if [ ! -f "$PGDATA/PG_VERSION" ]; then mkdir -p "$PGDATA"; chown postgres:postgres "$PGDATA"; chmod 700 "$PGDATA"
  su postgres -c "$PGBIN/initdb -D '$PGDATA' -U postgres --auth=trust -E UTF8 >/dev/null"; fi
if ! su postgres -c "$PGBIN/pg_ctl -D '$PGDATA' status" >/dev/null 2>&1; then
  su postgres -c "$PGBIN/pg_ctl -D '$PGDATA' -l '$PGDATA/server.log' -w -o '-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off' start" >/dev/null
fi
psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qtAc "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
echo "postgresql://postgres@127.0.0.1:$PGPORT/postgres"
