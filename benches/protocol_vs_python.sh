#!/usr/bin/env bash
# Side-by-side: `tessera protocol` against the Python reference baselines in ../shared/bench, in one run.
#   bash benches/protocol_vs_python.sh            # NAS-Bench-Graph cora (budget 100, 200 seeds) and NB201 (100 seeds)
# Needs: python3 with numpy and the nas-bench-graph wheel
# (tessera bench fetch nas-bench-graph; this script pip-installs it from the cache for the Python side).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${TESSERA_SHARED:-$root/../shared}
bin=${CARGO_TARGET_DIR:-$root/target}/release/tessera
# Always (re)build: a stale binary would measure old code (cargo does nothing when it is up to date).
(cd "$root" && cargo build --release -q -p tessera-cli)
wheel=$("$bin" bench fetch nas-bench-graph | sed 's/.* -> //')
python3 -c "import nas_bench_graph" 2>/dev/null || python3 -m pip install -q --no-deps "$wheel"
python3 -c "import numpy" 2>/dev/null || python3 -m pip install -q numpy
out=$(mktemp -d)

echo "== NAS-Bench-Graph cora: budget 100, 200 seeds, random and evolution (population 20, sample 5) =="
echo "   (each side runs 3 times in turn; the fastest wall time of each is compared; loading excluded on both sides)"
for i in 1 2 3; do
  python3 "$shared/bench/py_baseline_nbg.py" cora 100 200 > "$out/py$i.txt"
  "$bin" protocol --benchmark nas-bench-graph:cora --strategies random,evolution --budget 100 --seeds 200 \
    --curves "$out/nbg" --json > "$out/nbg$i.json"
done
sed 's/^/python : /' "$out/py1.txt"
python3 - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
runs = [json.load(open(f"{out}/nbg{i}.json")) for i in (1, 2, 3)]
pys = []
for i in (1, 2, 3):
    text = open(f"{out}/py{i}.txt").read()
    pys.append({m.group(1): (float(m.group(2)), float(m.group(3))) for m in re.finditer(r"cora (\w+)\s+budget=\S+ seeds=\S+ test=([\d.]+)±[\d.]+ wall=([\d.]+)s", text)})
d = runs[0]
for r in d["results"]:
    p = pys[0][r["strategy"]][0]
    print(f"tessera: cora {r['strategy']:9s} test={r['mean']:.2f}±{r['std']:.2f}   python {p:.2f}   diff {r['mean']-p:+.2f}")
pw = [sum(w for _, w in py.values()) for py in pys]
tw = [r["wall_s"] for r in runs]
print("wall, python (both strategies): " + ", ".join(f"{w:.3f} s" for w in pw))
print("wall, tessera (both strategies, 2 threads): " + ", ".join(f"{w*1000:.2f} ms" for w in tw) + f"  (benchmark load {d['load_s']*1000:.0f} ms)")
print(f"fastest of 3: python {min(pw):.3f} s, tessera {min(tw)*1000:.2f} ms -> {min(pw)/min(tw):.0f}x faster (median runs: {sorted(pw)[1]/sorted(tw)[1]:.0f}x)")
PY

echo
echo "== NAS-Bench-201 CIFAR-10 (CSV), regularized evolution, 100 seeds, searching on test accuracy =="
for b in 100 150; do
  py=$(python3 "$shared/bench/py_baseline_nb201.py" evo $b 100)
  echo "python : $py"
  "$bin" protocol --benchmark nb201:cifar10 --data "$shared/data/nb201" --strategies evolution --budget $b --seeds 100 \
    --metric test_accuracy --curves "$out/nb201" --json > "$out/nb201.json"
  python3 - "$out/nb201.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["results"]:
    print(f"tessera: evo budget={d['budget']} seeds={d['seeds']} mean={r['mean']:.4f} std={r['std']:.4f} optimum_hit={r['optimum_hits']}/{d['seeds']} median_queries_to_opt={r['median_queries_to_optimum']} wall={d['wall_s']:.4f}s")
PY
done
echo
echo "== NAS-Bench-201 CIFAR-10: queries to reach the optimum 94.37 (budget 1000, 100 seeds) =="
"$bin" protocol --benchmark nb201:cifar10 --data "$shared/data/nb201" --strategies random:dedup=true,local,evolution \
  --budget 1000 --seeds 100 --metric test_accuracy --curves "$out/nb201q" --json > "$out/q.json"
python3 - "$out/q.json" <<'PY'
import json, sys, statistics
d = json.load(open(sys.argv[1]))
for r in d["results"]:
    q = r["queries_to_optimum"]
    pct = lambda p: q[min(len(q) - 1, int(p * len(q)))] if q else None
    print(f"{r['strategy']:18s} hit {r['optimum_hits']:3d}/{d['seeds']}  queries to optimum: p10 {pct(.1)}  p25 {pct(.25)}  median {r['median_queries_to_optimum']}  p75 {pct(.75)}  p90 {pct(.9)}")
PY
rm -rf "$out"
