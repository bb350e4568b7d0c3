# Sourced by the other scripts: makes sure a PostgreSQL server answers on 127.0.0.1:5432
# and exports PG_SERVER_URL (a server URL without a database name) that reaches it.
# Installs PostgreSQL from the distribution's packages when it is missing (needs root).

say() { printf '==> %s\n' "$*"; }

pg_reachable() { # $1: password or empty
  PGPASSWORD="$1" PGCONNECT_TIMEOUT=3 psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1
}

ensure_postgres() {
  if [ -n "${PG_SERVER_URL:-}" ]; then
    say "using PostgreSQL at ${PG_SERVER_URL} (PG_SERVER_URL)"
    return
  fi
  if ! command -v psql >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
      say "PostgreSQL is not installed; install it (e.g. apt-get install postgresql) or set PG_SERVER_URL"; exit 1
    fi
    say "installing PostgreSQL (apt-get install postgresql)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    say "PostgreSQL is not running; starting it"
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
      version=$(ls /etc/postgresql | sort -V | tail -n 1)
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster "$version" main start
    else
      say "no PostgreSQL cluster found to start; start one on 127.0.0.1:5432 or set PG_SERVER_URL"; exit 1
    fi
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
  if pg_reachable ""; then
    PG_SERVER_URL="postgres://postgres@127.0.0.1:5432"
  elif pg_reachable "postgres"; then
    PG_SERVER_URL="postgres://postgres:postgres@127.0.0.1:5432"
  elif [ "$(id -u)" = 0 ] && command -v su >/dev/null 2>&1; then
    # A fresh package install asks for a password over TCP: give the local superuser one.
    say "setting a local password for the postgres role (TCP logins need one here)"
    su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
    PG_SERVER_URL="postgres://postgres:postgres@127.0.0.1:5432"
  else
    say "cannot log in to PostgreSQL as postgres on 127.0.0.1:5432; set PG_SERVER_URL=postgres://user:password@host:port"; exit 1
  fi
  export PG_SERVER_URL
  say "PostgreSQL ready at ${PG_SERVER_URL}"
}

ensure_cargo() {
  if ! command -v cargo >/dev/null 2>&1; then
    say "cargo is missing: install the Rust toolchain (https://rustup.rs) and run this again"; exit 1
  fi
}
