#!/usr/bin/env bash
# Ask+tell round trips per second: Tessera's worker protocol (SQLite, PostgreSQL; 1 and 4 workers; 1k/10k/100k
# stored trials) and Optuna's ask+tell on the same sizes, printed one after the other.
#
#   bash crates/store/examples/worker_bench.sh [DIR]
#
# PostgreSQL is measured when TESSERA_BENCH_POSTGRES (or TESSERA_TEST_POSTGRES) holds a URL. Optuna is installed
# with pip when missing (optuna, psycopg2-binary). OPTUNA_SIZES / OPTUNA_TRIPS / OPTUNA_FILL_BUDGET tune its run
# (Optuna fills a study at a few hundred trials per second, so 100k is skipped unless the fill budget allows it).
set -euo pipefail
cd "$(dirname "$0")/../../.."
dir="${1:-$PWD}"
pg="${TESSERA_BENCH_POSTGRES:-${TESSERA_TEST_POSTGRES:-}}"

echo "== Tessera =="
cargo run --quiet --release -p tessera-store --example worker_bench -- "$dir"

echo
echo "== Optuna =="
python3 -c "import optuna, psycopg2" 2>/dev/null ||
  python3 -m pip install -q --disable-pip-version-check optuna psycopg2-binary 2>&1 | grep -v "WARNING: Running pip as the 'root'" || true
args=(--sizes "${OPTUNA_SIZES:-1000,10000,100000}" --trips "${OPTUNA_TRIPS:-300}" --fill-budget "${OPTUNA_FILL_BUDGET:-240}" --dir "$dir")
if [ -n "$pg" ]; then
  # A schema of its own, dropped afterwards.
  schema="optuna_bench_$$"
  base="${pg%%\?*}"
  psql "$base" -qc "CREATE SCHEMA $schema" >/dev/null
  args+=(--postgres "$base?options=-csearch_path%3D$schema")
  trap 'psql "$base" -qc "DROP SCHEMA IF EXISTS '"$schema"' CASCADE" >/dev/null' EXIT
fi
python3 crates/store/examples/optuna_bench.py "${args[@]}"
