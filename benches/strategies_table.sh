#!/usr/bin/env bash
# The strategy comparison table of the evaluation protocol (issue "learning strategies"): every strategy, 100 seeds,
# budgets 50/100/150 (read off the anytime curves of one budget-150 run), on NB201 CIFAR-10 (test accuracy, CSV)
# and on NAS-Bench-Graph cora, citeseer, pubmed, arxiv (test accuracy of the best-by-validation architecture).
#   bash benches/strategies_table.sh [SEEDS]      # default 100; prints a Markdown table per benchmark
# Needs a release build and the nas-bench-graph wheel (tessera bench fetch nas-bench-graph).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${TESSERA_SHARED:-$root/../shared}
bin=${CARGO_TARGET_DIR:-$root/target}/release/tessera
[ -x "$bin" ] || (cd "$root" && cargo build --release -q -p tessera-cli)
seeds=${1:-100}
strategies=random,grid,local,evolution,nsga2,gp-bo,tpe,bananas,reinforce,mcts,adaptive-evolution,linas
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for b in nb201:cifar10 nas-bench-graph:cora nas-bench-graph:citeseer nas-bench-graph:pubmed nas-bench-graph:arxiv; do
  name=${b//:/_}
  extra=()
  case $b in nb201:*) extra=(--data "$shared/data/nb201" --metric test_accuracy) ;; esac
  "$bin" protocol --benchmark "$b" --strategies "$strategies" --budget 150 --seeds "$seeds" "${extra[@]}" \
    --curves "$out/$name" --json > "$out/$name.json"
  python3 - "$out/$name.json" "$out/$name/curves_queries.csv" <<'PY'
import csv, json, math, sys
d = json.load(open(sys.argv[1]))
rows = {}
for r in csv.DictReader(open(sys.argv[2])):
    rows[(r["strategy"], int(r["queries"]))] = (float(r["mean"]), float(r["std"]), int(r["seeds"]))
names = [r["strategy"] for r in d["results"]]
print(f"\n### {d['benchmark']} — {d['seeds']} seeds, search on {d['search_metric']}, report {d['report_metric']} (mean ± 95% CI half-width); wall {d['wall_s']:.1f} s")
nb201 = d["benchmark"].startswith("nb201")
head = "| strategy | budget 50 | budget 100 | budget 150 |" + (" hits of 94.37 in 150 | median queries |" if nb201 else " Δ vs evolution at 100 (± 95% CI) |")
print(head)
print("|" + "---|" * (head.count("|") - 1))
evo = rows.get(("evolution", 100))
for res in d["results"]:
    n = res["strategy"]
    cells = []
    for q in (50, 100, 150):
        m, s, k = rows[(n, q)]
        cells.append(f"{m:.3f} ± {1.96 * s / math.sqrt(k):.3f}")
    line = f"| {n} | " + " | ".join(cells) + " |"
    if nb201:
        line += f" {res['optimum_hits']}/{d['seeds']} | {res['median_queries_to_optimum']} |"
    else:
        m, s, k = rows[(n, 100)]
        em, es, ek = evo
        diff = m - em
        ci = 1.96 * math.sqrt(s * s / k + es * es / ek)
        mark = " **beats evolution**" if n != "evolution" and diff > ci else ""
        line += f" {diff:+.3f} ± {ci:.3f}{mark} |"
    print(line)
PY
done
