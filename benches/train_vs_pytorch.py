#!/usr/bin/env python3
"""Tessera training throughput beside PyTorch CPU, on the same networks, batch, steps and thread count.

Run through benches/train_vs_pytorch.sh (it builds the Rust side first). Two parts:

steps   MLP 784-256-256-10, CNN (conv3x3 1->16, conv3x3 16->32 stride 2, global avg pool, linear) and an NB201 cell
        network (C=16, N=1, the benchmark's best CIFAR-10 cell) on 1x28x28 inputs: `--steps` SGD steps (momentum
        0.9, lr 0.01) at batch `--batch` on random data. Tessera's numbers come from
        `train_bench --json` (crates/train/examples/train_bench.rs); PyTorch trains the same layer graph.
search  candidate networks trained per minute in a real search: `tessera search` runs random search over NB201
        cells (C, N as given) on MNIST-5k with a fixed number of epochs; PyTorch then trains exactly the cells that
        Tessera sampled (read back with `tessera trials --json`) with the same split sizes, batch, epochs and
        optimiser, and evaluates the validation part after every epoch, as Tessera does.

Without PyTorch the script prints "PyTorch not available" and Tessera's numbers only.
"""

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception:  # pragma: no cover - depends on the machine
    torch = None

NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
# |nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|
BEST_CELL = [3, 3, 3, 1, 3, 3]


if torch is not None:

    def conv(cin, cout, k, stride=1):
        return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)

    class Cell(nn.Module):
        """NB201 cell exactly as Tessera lowers it: node j sums op(edge) over all earlier nodes."""

        def __init__(self, c, ops):
            super().__init__()
            self.ops = list(ops)
            self.layers = nn.ModuleList()
            for op in self.ops:
                name = NB201_OPS[op]
                if name == "nor_conv_1x1":
                    self.layers.append(nn.Sequential(nn.ReLU(), conv(c, c, 1), nn.BatchNorm2d(c)))
                elif name == "nor_conv_3x3":
                    self.layers.append(nn.Sequential(nn.ReLU(), conv(c, c, 3), nn.BatchNorm2d(c)))
                elif name == "avg_pool_3x3":
                    self.layers.append(nn.AvgPool2d(3, 1, 1, count_include_pad=False))
                else:
                    self.layers.append(nn.Identity())

        def forward(self, x):
            nodes = [x]
            e = 0
            for _ in range(3):
                terms = []
                for inp in nodes:
                    name = NB201_OPS[self.ops[e]]
                    layer = self.layers[e]
                    e += 1
                    if name == "none":
                        continue
                    terms.append(layer(inp))
                nodes.append(sum(terms) if terms else torch.zeros_like(x))
            return nodes[3]

    class Reduction(nn.Module):
        def __init__(self, cin, c):
            super().__init__()
            self.a = nn.Sequential(nn.ReLU(), conv(cin, c, 3, 2), nn.BatchNorm2d(c), nn.ReLU(), conv(c, c, 3), nn.BatchNorm2d(c))
            self.b = nn.Sequential(nn.AvgPool2d(2, 2), conv(cin, c, 1))

        def forward(self, x):
            return self.a(x) + self.b(x)

    class Nb201(nn.Module):
        def __init__(self, ops, channels=16, cells=1, cin=1, classes=10):
            super().__init__()
            layers = [conv(cin, channels, 3), nn.BatchNorm2d(channels)]
            prev = channels
            for stage in range(3):
                c = channels << stage
                if stage > 0:
                    layers.append(Reduction(prev, c))
                for _ in range(cells):
                    layers.append(Cell(c, ops))
                prev = c
            layers += [nn.BatchNorm2d(prev), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(prev, classes)]
            self.net = nn.Sequential(*layers)

        def forward(self, x):
            return self.net(x)

    def mlp():
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))

    def cnn():
        return nn.Sequential(
            conv(1, 16, 3), nn.ReLU(), conv(16, 32, 3, 2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10)
        )


def torch_steps(make, shape, steps, batch, repeats):
    """Median steps/s of `repeats` runs of `steps` SGD steps on shuffled random data."""
    g = torch.Generator().manual_seed(0)
    n = steps * batch
    x = torch.rand((n, *shape), generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    rates = []
    for r in range(repeats):
        torch.manual_seed(r)
        model = make()
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        perm = torch.randperm(n, generator=g)
        t0 = time.perf_counter()
        for s in range(steps):
            idx = perm[s * batch:(s + 1) * batch]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            if not torch.isfinite(loss):
                raise RuntimeError("diverged")
        rates.append(steps / (time.perf_counter() - t0))
    return statistics.median(rates)


def run_steps(args):
    cmd = [args.train_bench, "--steps", str(args.steps), "--batch", str(args.batch), "--repeats", str(args.repeats), "--json"]
    ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    rows = {r["network"]: r for r in ours["results"]}
    print(f"training throughput: batch {args.batch}, {args.steps} SGD steps, median of {args.repeats}, {args.threads} threads")
    if torch is None:
        print("PyTorch not available (pip install torch to compare); Tessera only")
    else:
        torch.set_num_threads(args.threads)
        print(f"Tessera: {ours['backend']};  PyTorch {torch.__version__} CPU")
    print(f"{'network':<28} {'Tessera steps/s':>16} {'PyTorch steps/s':>16} {'Tessera/PyTorch':>16}")
    makers = {}
    if torch is not None:
        makers = {
            "mlp 784-256-256-10": (mlp, (1, 28, 28)),
            "cnn conv16-conv32s2": (cnn, (1, 28, 28)),
            "nb201 C16 N1 28x28": (lambda: Nb201(BEST_CELL, 16, 1), (1, 28, 28)),
        }
    out = []
    for name, r in rows.items():
        ref = float("nan")
        if name in makers:
            make, shape = makers[name]
            ref = torch_steps(make, shape, args.steps, args.batch, args.repeats)
        ratio = r["steps_per_s"] / ref if ref == ref else float("nan")
        out.append({"network": name, "tessera": r["steps_per_s"], "pytorch": ref, "ratio": ratio})
        print(f"{name:<28} {r['steps_per_s']:>16.1f} {ref:>16.1f} {ratio:>16.2f}")
    return out


def load_mnist5k(path):
    xs, ys = [], []
    with gzip.open(path, "rt") as f:
        for line in f:
            v = line.strip().split(",")
            if len(v) < 785:
                continue
            xs.append([float(a) for a in v[:784]])
            ys.append(int(float(v[784])))
    return xs, ys


def run_search(args):
    """Tessera's `search` over NB201 cells on MNIST-5k, then PyTorch on the very same cells."""
    work = tempfile.mkdtemp(prefix="tessera-bench-")
    study = os.path.join(work, "bench.toml")
    db = os.path.join(work, "bench.db")
    with open(study, "w") as f:
        f.write(f"""[study]
name = "bench"
seed = 0
budget = {{ trials = {args.nets} }}

[space]
kind = "nb201"
channels = {args.channels}
cells = {args.cells}
input = "1x28x28"
classes = 10

[evaluator]
kind = "train"
dataset = "csv:{os.path.abspath(args.mnist)}"
normalize = "scale:0.00392156862745098"
val = 0.1
test = 0.1
optimizer = "sgd"
lr = 0.05
epochs = {args.epochs}
batch_size = {args.batch}
latency = false
threads = {args.threads}

[strategy]
kind = "random"

[[objective]]
metric = "val_accuracy"
direction = "max"
""")
    t0 = time.perf_counter()
    subprocess.run([args.tessera, "search", study, "--quiet", "--json", "--storage", db], check=True, capture_output=True)
    ours_s = time.perf_counter() - t0
    trials = json.loads(subprocess.run([args.tessera, "trials", "bench", "--json", "--storage", db], check=True,
                                       capture_output=True, text=True).stdout)
    cells = [t["sample"] for t in trials]
    accs = [t["metrics"].get("val_accuracy", float("nan")) for t in trials]
    ours_rate = len(cells) / ours_s * 60
    print(f"search: {len(cells)} NB201 cells (C={args.channels}, N={args.cells}) on MNIST-5k, {args.epochs} epoch(s), batch "
          f"{args.batch}, SGD, random search")
    print(f"  Tessera `tessera search` (whole process): {ours_s:.1f} s, {ours_rate:.1f} nets/min, "
          f"mean val acc {statistics.mean(accs):.1f}%")
    if torch is None:
        print("  PyTorch not available (pip install torch to compare)")
        return {"tessera_nets_per_min": ours_rate}
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    xs, ys = load_mnist5k(args.mnist)
    x = torch.tensor(xs).view(-1, 1, 28, 28) / 255.0
    y = torch.tensor(ys)
    n = len(ys)
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(n, generator=g)
    n_val, n_test = n // 10, n // 10
    val_idx, train_idx = perm[:n_val], perm[n_val + n_test:]
    ref_accs = []
    for i, ops in enumerate(cells):
        torch.manual_seed(i)
        model = Nb201(ops, args.channels, args.cells)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        for _ in range(args.epochs):
            model.train()
            order = train_idx[torch.randperm(len(train_idx), generator=g)]
            for s in range(0, len(order), args.batch):
                idx = order[s:s + args.batch]
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(x[idx]), y[idx])
                loss.backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                correct = sum((model(x[val_idx[s:s + 512]]).argmax(1) == y[val_idx[s:s + 512]]).sum().item()
                              for s in range(0, n_val, 512))
        ref_accs.append(100.0 * correct / n_val)
    ref_s = time.perf_counter() - t0
    ref_rate = len(cells) / ref_s * 60
    print(f"  PyTorch {torch.__version__} loop (same cells, data loading included): {ref_s:.1f} s, {ref_rate:.1f} nets/min, "
          f"mean val acc {statistics.mean(ref_accs):.1f}%")
    print(f"  Tessera/PyTorch nets per minute: {ours_rate / ref_rate:.2f}")
    return {"tessera_nets_per_min": ours_rate, "pytorch_nets_per_min": ref_rate}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train-bench", required=True, help="path of the built train_bench example")
    p.add_argument("--tessera", help="path of the tessera binary (for --search)")
    p.add_argument("--mnist", help="mnist_5k.csv.gz (for --search)")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--search", action="store_true", help="also measure nets per minute in a real search")
    p.add_argument("--nets", type=int, default=12)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--cells", type=int, default=1)
    p.add_argument("--skip-steps", action="store_true")
    args = p.parse_args()
    if not args.skip_steps:
        run_steps(args)
    if args.search:
        if not (args.tessera and args.mnist):
            sys.exit("--search needs --tessera and --mnist")
        run_search(args)


if __name__ == "__main__":
    main()
