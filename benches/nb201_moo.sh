#!/usr/bin/env bash
# Hardware-aware multi-objective search on NAS-Bench-201, Tessera beside the Python random-search baseline:
#   bash benches/nb201_moo.sh [SEEDS]      # default 50 seeds
# 1. Objectives CIFAR-10 test accuracy (max) × raspi4 latency (min), 500 queries, reference point (90 %, 25.68 ms):
#    mean hypervolume / the true front's (computed over all 15,625 architectures), fraction of the true front found.
# 2. Constraint latency_ms@pixel3 <= L (30 % of architectures feasible), 300 queries: infeasible architectures
#    evaluated (from the stored SQLite trials; must be 0) and seeds whose best feasible is the true best.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${TESSERA_SHARED:-$root/../shared}
seeds=${1:-50}
cd "$root"
cargo build --release -q -p tessera-report --example nb201_moo
bin=${CARGO_TARGET_DIR:-$root/target}/release/examples/nb201_moo
echo "== python: $(python3 "$shared/bench/py_baseline_nb201.py" hv 500 "$seeds")"
# nsga2:archive=true,variation=neighbour is the engineered NSGA-II (archive elitism, one-edge neighbour variation;
# see crates/strategies/src/nsga2.rs). Budgets count evaluated queries only: samples rejected by the constraint
# before evaluation are stored `infeasible` and cost nothing (the "rejected unevaluated" column).
# $sur is the surrogate-assisted NSGA-II (NSGANetV2-style screening of bred children by exact expected hypervolume
# improvement: a GP predicts accuracy, the study's foresight gives the tabulated latency exactly; the studies carry
# the reference point on their objectives). $gp is GP-BO with a wider acquisition search; like NSGA-II and BANANAS it
# uses the study's foresight to propose feasible samples only.
eng=nsga2:archive=true,variation=neighbour
sur=$eng,surrogate=true,offspring=2,model=gp
gp=gp-bo:max_evals=1500,starts=10,random_starts=10,polish_every=8
"$bin" --data "$shared/data/nb201" --seeds "$seeds" --budget 500 --strategy $sur --strategy $eng --strategy nsga2 --strategy random \
  --constraint-seeds "$seeds" --constraint-budget 300 \
  --constraint-strategy $gp --constraint-strategy bananas --constraint-strategy $eng --constraint-strategy nsga2 \
  --constraint-strategy evolution --constraint-strategy local --constraint-strategy random
echo
echo "== the budget NSGA-II needs for 95% of the true hypervolume"
for b in 1000 2000; do
  "$bin" --data "$shared/data/nb201" --seeds "$seeds" --budget $b --strategy $sur --strategy $eng --strategy random --constraint-seeds 0 | grep hv/true | sed "s/^/budget $b: /"
done
