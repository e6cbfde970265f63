# PostgreSQL for the migration tests: one throwaway server on a free port,
# stopped and deleted (its data directory is ~280 MB) when the shell exits.
# Sourced by .ci/run; `source .ci/postgres.sh && start_throwaway_postgres`
# gives any shell the same server.

# Runs a PostgreSQL server binary: as the `postgres` user when we are root
# (PostgreSQL refuses to run as root), as ourselves otherwise.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Installs PostgreSQL where missing (root only), starts it in a fresh
# directory and exports BLUEGREEN_TEST_DATABASE_URL, where the tests find it.
# Sets pg_bin, pg_dir and pg_port; an EXIT trap stops the server and removes pg_dir.
start_throwaway_postgres() {
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
  if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
    pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
  fi
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  fi
  pg_dir="$(mktemp -d /tmp/bluegreen-ci-pg.XXXXXX)"
  trap stop_throwaway_postgres EXIT
  [ "$(id -u)" -ne 0 ] || chown postgres "$pg_dir"
  pg_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  as_postgres "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust >/dev/null
  as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir -c fsync=off" start >/dev/null
  export BLUEGREEN_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
  echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"
}

# Stops the server and deletes its directory; safe to call twice.
stop_throwaway_postgres() {
  [ -n "${pg_dir:-}" ] || return 0
  if [ -d "$pg_dir/data" ]; then
    as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$pg_dir"
  pg_dir=""
}
