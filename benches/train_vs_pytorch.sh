#!/usr/bin/env bash
# Tessera (burn flex, release) beside PyTorch CPU on the same networks, batch, steps and thread count.
#
#   bash benches/train_vs_pytorch.sh            # steps/s: MLP, CNN, NB201 cell network; 200 steps at batch 64
#   bash benches/train_vs_pytorch.sh --search   # also: nets trained per minute in a real chain-space search on MNIST-5k
#
# PyTorch is optional and never installed by this script: it uses $PYTHON (default: python3, or
# /tmp/torchenv/bin/python when that exists). Without torch it prints "PyTorch not available" and Tessera's
# numbers only. MNIST-5k is read from ../shared/data/images/mnist_5k.csv.gz ($MNIST5K overrides).
# Other options are passed to benches/train_vs_pytorch.py (--steps, --batch, --repeats, --threads, --nets, --epochs,
# --channels, --cells, --space, --workers, --chain-steps).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2
export RAYON_NUM_THREADS=$threads
cargo build --release -q -p tessera-train --example train_bench
cargo build --release -q -p tessera-cli
PY=${PYTHON:-python3}
if [ -z "${PYTHON:-}" ] && [ -x /tmp/torchenv/bin/python ]; then PY=/tmp/torchenv/bin/python; fi
MNIST=${MNIST5K:-../shared/data/images/mnist_5k.csv.gz}
bin=${CARGO_TARGET_DIR:-target}/release
exec "$PY" benches/train_vs_pytorch.py --train-bench "$bin/examples/train_bench" \
  --tessera "$bin/tessera" --mnist "$MNIST" --threads "$threads" "$@"
