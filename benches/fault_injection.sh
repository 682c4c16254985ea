#!/usr/bin/env bash
# Fault injection on real services: what a user's study survives.
#
#   bash benches/fault_injection.sh            # both scenarios (the first needs TESSERA_TEST_POSTGRES and root)
#
# 1. PostgreSQL restarts during `tessera search --workers 2`: the workers and the parent reconnect, the summary is
#    printed, and the budget is met exactly (every trial complete, none twice).
# 2. The disk fills up under a SQLite study (a 1 MiB tmpfs): `search` stops with exit code 1 and a message; once
#    space is freed (the tmpfs grown), the same command resumes, and the study's trials equal those of an
#    uninterrupted run of the same study file.
# Needs root (pg_ctlcluster restart, mount). Exits non-zero on the first failed check. CI runs it after the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p tessera-cli
bin=${CARGO_TARGET_DIR:-target}/debug/tessera
data=$(cd ../shared/data/nb201 && pwd)
work=$(mktemp -d)
cleanup() { mountpoint -q "$work/full" && umount "$work/full"; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

study() { # name budget delay_ms
  cat > "$work/$1.toml" <<EOF
[study]
name = "$1"
seed = 5
budget = { trials = $2 }
[evaluator]
kind = "benchmark"
benchmark = "nb201:cifar10"
data = "$data"
delay_ms = $3
[strategy]
kind = "evolution"
population = 20
sample = 5
[[objective]]
metric = "test_accuracy"
direction = "max"
EOF
}

# What must be equal between two runs of one study: which sample each trial evaluated and what came out.
trials() { "$bin" trials "$1" --json --storage "$2" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    print(t["number"], t["sample"], t["state"], json.dumps(t["metrics"], sort_keys=True))'; }

if [ -n "${TESSERA_TEST_POSTGRES:-}" ] && command -v pg_ctlcluster >/dev/null; then
  echo "== 1. PostgreSQL restart during search --workers 2"
  ver=$(ls /etc/postgresql | sort -n | tail -n 1)
  name="fault-pg-$$-$(date +%s)"
  study "$name" 600 20
  "$bin" search "$work/$name.toml" --workers 2 --json --storage "$TESSERA_TEST_POSTGRES" > "$work/pg.json" 2> "$work/pg.err" &
  pid=$!
  sleep 4
  pg_ctlcluster "$ver" main restart
  echo "   server restarted at $(date +%T)"
  wait "$pid" || { tail -5 "$work/pg.err"; fail "search --workers exited $? after the restart"; }
  python3 - "$work/pg.json" <<'EOF' || fail "summary after the PostgreSQL restart"
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
print("   summary:", {k: s[k] for k in ("trials", "complete", "failed", "unfinished", "retries")})
assert s["trials"] == 600 and s["complete"] == 600 and s["unfinished"] == 0, s
EOF
  n=$("$bin" trials "$name" --json --storage "$TESSERA_TEST_POSTGRES" | python3 -c '
import json, sys
t = json.load(sys.stdin)
assert len({x["number"] for x in t}) == len(t), "a trial number twice"
print(len(t))')
  [ "$n" = 600 ] || fail "stored trials $n, want 600"
  echo "   ok: 600/600 complete, summary printed"
else
  echo "== 1. skipped: needs TESSERA_TEST_POSTGRES and pg_ctlcluster"
fi

echo "== 2. disk full under a SQLite study, then resume"
study full 3000 0
"$bin" search "$work/full.toml" --quiet --storage "$work/reference.db" > /dev/null
mkdir "$work/full"
mount -t tmpfs -o size=1m tmpfs "$work/full"
set +e
"$bin" search "$work/full.toml" --quiet --storage "$work/full/t.db" > /dev/null 2> "$work/full.err"
code=$?
set -e
echo "   exit $code: $(head -c 300 "$work/full.err")"
[ "$code" = 1 ] || fail "disk full: exit code $code, want 1"
grep -qi "full\|space" "$work/full.err" || fail "disk full: the message does not say so"
before=$("$bin" trials full --json --storage "$work/full/t.db" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
mount -o remount,size=64m "$work/full"
"$bin" search "$work/full.toml" --quiet --storage "$work/full/t.db" > /dev/null
diff <(trials full "$work/reference.db") <(trials full "$work/full/t.db") > /dev/null || fail "the resumed study differs from the uninterrupted one"
echo "   ok: stopped after $before stored trials, resumed to the same 3000 trials as an uninterrupted run"
echo "all fault-injection checks passed"
