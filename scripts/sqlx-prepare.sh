#!/usr/bin/env bash
# The PostgreSQL store's queries are checked against the schema when the
# crate compiles (sqlx::query!). Without a database, the macros read what
# they need from crates/store/.sqlx (committed). This script
#   scripts/sqlx-prepare.sh           rewrites .sqlx from the migrations;
#   scripts/sqlx-prepare.sh --check   fails if .sqlx no longer matches them
#                                     (a query or a migration changed without
#                                     the data being refreshed): run in CI.
# It builds a scratch database from crates/store/migrations/postgres, then
# compiles recueil-store against it with SQLX_OFFLINE_DIR set, which makes
# the macros write their data there (what `cargo sqlx prepare` does, without
# needing sqlx-cli).
#   scripts/sqlx-prepare.sh --check -- COMMAND...
# compiles with COMMAND instead of `cargo build -p recueil-store`: CI passes
# its clippy run, so that the check costs no build of its own (a build of
# recueil-store alone resolves other features and compiles its dependencies
# a second time: 3-4 minutes from clean).
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-}"
[[ "$mode" == "--check" ]] && shift
[[ "${1:-}" == "--" ]] && shift
compile=("$@")
((${#compile[@]})) || compile=(cargo build -q -p recueil-store --lib)

admin="${RECUEIL_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
base="${admin%/*}"
db="recueil_sqlx_$$"
out="$(mktemp -d)"
cleanup() {
  psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$out"
}
trap cleanup EXIT

psql -q -v ON_ERROR_STOP=1 "$admin" -c "CREATE DATABASE $db" >/dev/null
for m in crates/store/migrations/postgres/*.sql; do
  psql -q -v ON_ERROR_STOP=1 "$base/$db" -f "$m" >/dev/null
done

# The macros only write when the crate compiles: a crate already compiled
# would write nothing, so make it compile again.
find crates/store/src -name "*.rs" -exec touch {} +
DATABASE_URL="$base/$db" SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out" \
  CARGO_TARGET_DIR="${SQLX_TARGET_DIR:-target}" \
  "${compile[@]}"

if [[ "$mode" == "--check" ]]; then
  if ! diff -r crates/store/.sqlx "$out" >/dev/null; then
    echo "error: crates/store/.sqlx is stale: the queries or the migrations changed." >&2
    diff -rq crates/store/.sqlx "$out" >&2 || true
    echo "Run scripts/sqlx-prepare.sh and commit crates/store/.sqlx." >&2
    exit 1
  fi
  echo "crates/store/.sqlx matches the queries and the migrations"
else
  rm -rf crates/store/.sqlx
  cp -r "$out" crates/store/.sqlx
  echo "wrote $(ls crates/store/.sqlx | wc -l) query descriptions to crates/store/.sqlx"
fi
