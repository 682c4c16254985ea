#!/usr/bin/env bash
# The spread of every training test's quality metric over seeds and CPU paths: what each test's threshold is set from.
#
#   bash benches/test_spread.sh                       # seeds 0-9, this CPU and an emulated AVX2 Zen 3 (qemu-user)
#   bash benches/test_spread.sh --seeds 0-4 --cpus "native Nehalem" --tests "digits_mlp mnist5k_cnn"
#
# Each quality test in crates/train/tests runs every seed of TESSERA_TEST_SEEDS and prints one `spread` line per
# seed and metric. `--cpus` names the CPU paths: `native` runs on this machine (its widest SIMD: AVX-512 where the
# CPU has it); any other word is a qemu-user CPU model (`qemu-x86_64 -cpu MODEL`, Debian package qemu-user) that
# the test binaries run under as cargo's runner, so the SIMD dispatch of burn's kernels (macerator, gemm) takes
# that CPU's path: `EPYC-Milan` is a Zen 3 with AVX2 and no AVX-512, `Nehalem` has SSE4.2 only (the narrowest level
# the kernels dispatch to). Emulation is slow (about 10-40x): measure the long tests natively and on fewer seeds.
# Prints, per test and metric and CPU, n, min, mean, max; raw lines go to $OUT (default target/test_spread.tsv).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=0-9
cpus="native EPYC-Milan"
tests="digits_mlp space_mlp_digits training_controls cora_gcn mnist1d space_conv1d_mnist1d mnist5k_cnn space_chain_mnist space_nbg_cora"
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --tests) tests=$2; shift 2 ;;
    *) echo "unknown option $1 (--seeds, --cpus, --tests)" >&2; exit 2 ;;
  esac
done
out=${OUT:-${CARGO_TARGET_DIR:-target}/test_spread.tsv}
mkdir -p "$(dirname "$out")"
: > "$out"
cargo test -q -p tessera-train --no-run 2>/dev/null
runner_var=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER
status=0
for cpu in $cpus; do
  for t in $tests; do
    echo "== $t on $cpu, seeds $seeds" >&2
    log=$(mktemp)
    if [ "$cpu" = native ]; then
      env -u $runner_var TESSERA_TEST_SEEDS="$seeds" cargo test -q -p tessera-train --test "$t" -- --nocapture --test-threads 1 >"$log" 2>&1 || { status=1; tail -5 "$log" >&2; }
    else
      command -v qemu-x86_64 >/dev/null || { echo "qemu-x86_64 not found (apt-get install qemu-user)" >&2; exit 2; }
      env $runner_var="qemu-x86_64 -cpu $cpu" TESSERA_TEST_SEEDS="$seeds" \
        cargo test -q -p tessera-train --test "$t" -- --nocapture --test-threads 1 >"$log" 2>&1 || { status=1; tail -5 "$log" >&2; }
    fi
    grep '^spread ' "$log" | sed "s/^spread /$cpu /" >> "$out" || true
    rm -f "$log"
  done
done
python3 - "$out" <<'EOF'
import sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    cpu, test, metric, seed, value = line.split()
    rows[(test, metric, cpu)].append(float(value))
print(f"{'test':<28} {'metric':<26} {'cpu':<12} {'n':>3} {'min':>7} {'mean':>7} {'max':>7}")
for (test, metric, cpu), v in sorted(rows.items()):
    print(f"{test:<28} {metric:<26} {cpu:<12} {len(v):>3} {min(v):7.2f} {sum(v)/len(v):7.2f} {max(v):7.2f}")
EOF
exit $status
