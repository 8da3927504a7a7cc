#!/usr/bin/env bash
# Wharf's test command: installs and starts what the tests need, then runs every check.
#
#   bash tests/run.sh
#
# - PostgreSQL: uses WHARF_TEST_DATABASE_URL (default: the server at 127.0.0.1:5432);
#   when nothing answers there, starts a throwaway cluster from Debian's `postgresql`
#   package on a free loopback port (installing the package if needed) and stops it after.
# - Cargo's target directory: $CARGO_TARGET_DIR, else ~/.cache/wharf-target (outside the
#   clone, so fresh clones reuse earlier builds); works from empty too.
# - Python: a venv at ~/.cache/wharf-venv (WHARF_VENV) with moto[server], schemathesis and
#   openapi-python-client (tests/aws/requirements.txt), reinstalled when the requirements
#   change.
# - curl and jq (Debian's) for the README's curl journey, which a test runs as written.
# - npm: `npm ci` in tests/ for the test identity provider (oidc-provider) and the browser
#   journeys (playwright-core, axe-core), installing Debian's nodejs and npm first if node
#   is missing.
# - Chromium: Debian's `chromium` at /usr/bin/chromium for the browser journeys, installed
#   when missing; screenshots land in tests/artifacts/screenshots/.
# - Runs: cargo fmt --check, cargo clippy -D warnings, the whole workspace's tests.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'tests/run.sh: %s\n' "$*" >&2; exit 1; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wharf-target}"
mkdir -p "$CARGO_TARGET_DIR"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
command -v cargo >/dev/null || die "cargo is not installed (see README: Rust toolchain)"

started_pids=()
cleanup() {
  local status=$?
  if [[ -n "${pg_dir:-}" ]]; then
    log "stopping the throwaway PostgreSQL cluster"
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
  for pid in "${started_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  exit "$status"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

apt_install() {
  if [[ $(id -u) -ne 0 ]]; then die "need root to apt-get install $*"; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

postgres_answers() {
  command -v psql >/dev/null && psql "$1" -tAc 'SELECT 1' >/dev/null 2>&1
}

start_throwaway_postgres() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    log "installing Debian's postgresql package"
    apt_install postgresql postgresql-client
  fi
  pg_bin="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")"
  id postgres >/dev/null 2>&1 || die "the postgres user is missing after installing postgresql"
  pg_dir="$(mktemp -d /tmp/wharf-pg.XXXXXX)"
  chown postgres "$pg_dir"
  local port
  port="$(free_port)"
  runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust >/dev/null
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -w -l "$pg_dir/server.log" \
    -o "-h 127.0.0.1 -p $port -k $pg_dir -c fsync=off" start >/dev/null \
    || die "the throwaway PostgreSQL did not start: $(tail -n 5 "$pg_dir/server.log")"
  WHARF_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

log "PostgreSQL"
export WHARF_TEST_DATABASE_URL="${WHARF_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if ! command -v psql >/dev/null; then apt_install postgresql-client; fi
if postgres_answers "$WHARF_TEST_DATABASE_URL"; then
  echo "using the server at ${WHARF_TEST_DATABASE_URL%%\?*}"
else
  echo "nothing answers at $WHARF_TEST_DATABASE_URL; starting a throwaway cluster"
  start_throwaway_postgres
  export WHARF_TEST_DATABASE_URL
  postgres_answers "$WHARF_TEST_DATABASE_URL" || die "the throwaway PostgreSQL does not answer"
  echo "started at $WHARF_TEST_DATABASE_URL"
fi
# Databases left behind by earlier runs that were interrupted. A test database is named
# wharf_t_<UUIDv7>, whose first 12 hex digits are its creation time in ms: only those older
# than any run can last are dropped, so a run going on beside this one keeps its own.
now_ms=$(( $(date +%s) * 1000 ))
psql "$WHARF_TEST_DATABASE_URL" -tAc "SELECT datname FROM pg_database WHERE datname ~ '^wharf_t_[0-9a-f]{32}$'" |
  while read -r name; do
    [[ -n "$name" ]] || continue
    created_ms=$(( 16#${name:8:12} ))
    if (( now_ms - created_ms > 3 * 3600 * 1000 )); then
      psql "$WHARF_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null
    fi
  done

log "curl and jq for the README's curl journey (tests/tests/readme.rs)"
for tool in curl jq; do
  command -v "$tool" >/dev/null || apt_install "$tool"
done
echo "curl and jq are here"

log "npm packages for the end-to-end tests"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "installing Debian's nodejs and npm"
  apt_install nodejs npm
fi
(cd tests && npm ci --no-audit --no-fund --loglevel=error)

log "Chromium for the browser journeys (tests/browser, driven by playwright-core)"
if [[ ! -x /usr/bin/chromium ]]; then
  log "installing Debian's chromium"
  apt_install chromium fonts-dejavu-core
fi
/usr/bin/chromium --version 2>/dev/null || die "/usr/bin/chromium does not run"

log "Python packages: moto (the AWS stand-in), schemathesis, openapi-python-client (tests/aws/requirements.txt)"
venv="${WHARF_VENV:-$HOME/.cache/wharf-venv}"
command -v python3 >/dev/null || apt_install python3
# Key on the requirements and the interpreter: a venv is tied to the python that made it.
want="$( { cat tests/aws/requirements.txt; python3 -c 'import sys; print(sys.executable, sys.version)'; } | sha256sum | cut -d' ' -f1)"
have="$(cat "$venv/.wharf-requirements.sha256" 2>/dev/null || true)"
if [[ -x "$venv/bin/python" && "$have" == "$want" ]] && "$venv/bin/python" -c 'import moto, schemathesis, openapi_python_client' 2>/dev/null; then
  echo "venv $venv is up to date"
else
  [[ -e "$venv" ]] && { echo "venv $venv is stale or broken: rebuilding it"; rm -rf "$venv"; }
  mkdir -p "$(dirname "$venv")"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    echo "python3 -m venv failed; installing Debian's python3-venv and retrying"
    rm -rf "$venv"
    apt_install python3-venv
    python3 -m venv "$venv"
  fi
  start=$SECONDS
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/aws/requirements.txt
  echo "$want" >"$venv/.wharf-requirements.sha256" # written last: an interrupted install is redone
  echo "installed into $venv in $((SECONDS - start))s"
fi
export WHARF_TEST_PYTHON="$venv/bin/python"
# moto accepts any credentials; the SDK must never go looking for instance metadata.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "building the wharf binary"
cargo build -p wharf --locked
export WHARF_TEST_BIN="$CARGO_TARGET_DIR/debug/wharf"

log "cargo test"
cargo test --workspace --locked
