#!/usr/bin/env python3
"""Tessera training throughput beside PyTorch CPU, on the same networks, batch, steps and thread count.

Run through benches/train_vs_pytorch.sh (it builds the Rust side first). Two parts:

steps   MLP 784-256-256-10, CNN (conv3x3 1->16, conv3x3 16->32 stride 2, global avg pool, linear) and an NB201 cell
        network (C=16, N=1, the benchmark's best CIFAR-10 cell) on 1x28x28 inputs, and one MBConv network of the
        chain space (CHAIN_SAMPLE, `--chain-steps` steps): `--steps` SGD steps (momentum
        0.9, lr 0.01) at batch `--batch` on random data. Tessera's numbers come from
        `train_bench --json` (crates/train/examples/train_bench.rs); PyTorch trains the same layer graph.
search  candidate networks trained per minute in a real search: `tessera search` runs random search over the chain
        space (MBConv networks; or NB201 cells with --space nb201) on MNIST-5k with a fixed number of epochs, once
        as one process with --threads threads and once with --workers processes of one thread each (several
        candidates at once); PyTorch then trains exactly the networks Tessera sampled (read back with
        `tessera trials --json`) with the same split sizes, batch, epochs and optimiser, --threads threads, and
        evaluates the validation part after every epoch, as Tessera does.

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
# The chain space's default choices, and the network train_bench uses (CHAIN_SAMPLE in train_bench.rs).
CHAIN_WIDTHS, CHAIN_DEPTHS, CHAIN_KERNELS, CHAIN_EXPANSIONS = (0.5, 0.75, 1.0), (1, 2, 3), (3, 5, 7), (3, 4, 6)
CHAIN_SAMPLE = [2, 2, 1, 2, 2, 2, 0, 1, 2, 2, 1, 1, 0, 0, 2, 0, 1, 2, 2, 0, 0, 1]


def chain_scaled(c, m):
    """Channels after the width multiplier, rounded to a multiple of 4 (Chain::scaled)."""
    return max(int(round(c * m / 4.0)) * 4, 4)


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

    class MBConv(nn.Module):
        """Inverted residual block as the chain space lowers it (1x1 expand, depthwise, 1x1 project, BN, ReLU6)."""

        def __init__(self, cin, cout, stride, k, e):
            super().__init__()
            h = cin * e
            layers = []
            if e != 1:
                layers += [conv(cin, h, 1), nn.BatchNorm2d(h), nn.ReLU6()]
            layers += [nn.Conv2d(h, h, k, stride, k // 2, groups=h, bias=False), nn.BatchNorm2d(h), nn.ReLU6(),
                       conv(h, cout, 1), nn.BatchNorm2d(cout)]
            self.f = nn.Sequential(*layers)
            self.residual = stride == 1 and cin == cout

        def forward(self, x):
            y = self.f(x)
            return x + y if self.residual else y

    def chain(sample):
        """A network of the chain space with its default options (crates/spaces/src/chain.rs): sample = indices of
        width, then per stage depth and per block slot (kernel, expansion)."""
        m = CHAIN_WIDTHS[sample[0]]
        cin = chain_scaled(16, m)
        layers = [conv(1, cin, 3), nn.BatchNorm2d(cin), nn.ReLU6()]
        for i, (c, stride) in enumerate(zip((16, 32, 64), (1, 2, 2))):
            base = 1 + i * (1 + 2 * max(CHAIN_DEPTHS))
            cout = chain_scaled(c, m)
            for j in range(CHAIN_DEPTHS[sample[base]]):
                k, e = CHAIN_KERNELS[sample[base + 1 + 2 * j]], CHAIN_EXPANSIONS[sample[base + 2 + 2 * j]]
                layers.append(MBConv(cin, cout, stride if j == 0 else 1, k, e))
                cin = cout
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10)]
        return nn.Sequential(*layers)

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
    cmd = [args.train_bench, "--steps", str(args.steps), "--chain-steps", str(args.chain_steps), "--batch", str(args.batch),
           "--repeats", str(args.repeats), "--json"]
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
            "chain mbconv 28x28": (lambda: chain(CHAIN_SAMPLE), (1, 28, 28)),
        }
    out = []
    for name, r in rows.items():
        ref = float("nan")
        if name in makers:
            make, shape = makers[name]
            ref = torch_steps(make, shape, r.get("steps", args.steps), args.batch, args.repeats)
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


def study_text(args, threads):
    if args.space == "chain":
        space = 'kind = "chain"'
    else:
        space = f'kind = "nb201"\nchannels = {args.channels}\ncells = {args.cells}\ninput = "1x28x28"\nclasses = 10'
    return f"""[study]
name = "bench"
seed = 0
budget = {{ trials = {args.nets} }}

[space]
{space}

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
threads = {threads}

[strategy]
kind = "random"

[[objective]]
metric = "val_accuracy"
direction = "max"
"""


def tessera_search(args, workers):
    """Runs `tessera search` (one process, `--threads` threads; or `--workers N` processes of one thread each) and
    returns (seconds of the whole command, trials sorted by number)."""
    work = tempfile.mkdtemp(prefix="tessera-bench-")
    study = os.path.join(work, "bench.toml")
    db = os.path.join(work, "bench.db")
    with open(study, "w") as f:
        f.write(study_text(args, 1 if workers else args.threads))
    cmd = [args.tessera, "search", study, "--quiet", "--json", "--storage", db]
    if workers:
        cmd += ["--workers", str(workers)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    seconds = time.perf_counter() - t0
    trials = json.loads(subprocess.run([args.tessera, "trials", "bench", "--json", "--storage", db], check=True,
                                       capture_output=True, text=True).stdout)
    return seconds, sorted(trials, key=lambda t: t["number"])


def run_search(args):
    """Tessera's `search` on MNIST-5k (sequential, then with workers), then PyTorch on the very same networks."""
    label = "chain-space networks" if args.space == "chain" else f"NB201 cells (C={args.channels}, N={args.cells})"
    print(f"search: {args.nets} {label} on MNIST-5k, {args.epochs} epoch(s), batch {args.batch}, SGD, random search")
    rates = {}
    samples = None
    for workers in ([0, args.workers] if args.workers else [0]):
        secs, trials = tessera_search(args, workers)
        got = [t["sample"] for t in trials]
        if samples is not None and sorted(map(tuple, got)) != sorted(map(tuple, samples)):
            sys.exit("the worker run trained other networks than the sequential run")
        samples = got
        accs = [t["metrics"].get("val_accuracy", float("nan")) for t in trials]
        rate = len(trials) / secs * 60
        how = f"--workers {workers}, 1 thread each" if workers else f"1 process, {args.threads} threads"
        rates[how] = rate
        print(f"  Tessera `tessera search` ({how}, whole command): {secs:.1f} s, {rate:.1f} nets/min, "
              f"mean val acc {statistics.mean(accs):.1f}%")
    if torch is None:
        print("  PyTorch not available (pip install torch to compare)")
        return rates
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
    for i, sample in enumerate(samples):
        torch.manual_seed(i)
        model = chain(sample) if args.space == "chain" else Nb201(sample, args.channels, args.cells)
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
    ref_rate = len(samples) / ref_s * 60
    print(f"  PyTorch {torch.__version__} loop (same networks, {args.threads} threads, data loading included): {ref_s:.1f} s, "
          f"{ref_rate:.1f} nets/min, mean val acc {statistics.mean(ref_accs):.1f}%")
    for how, rate in rates.items():
        print(f"  Tessera ({how}) / PyTorch nets per minute: {rate / ref_rate:.2f}")
    rates["pytorch"] = ref_rate
    return rates


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train-bench", required=True, help="path of the built train_bench example")
    p.add_argument("--tessera", help="path of the tessera binary (for --search)")
    p.add_argument("--mnist", help="mnist_5k.csv.gz (for --search)")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--chain-steps", type=int, default=20, help="steps for the (much larger) chain-space network")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--search", action="store_true", help="also measure nets per minute in a real search")
    p.add_argument("--nets", type=int, default=12)
    p.add_argument("--space", choices=["chain", "nb201"], default="chain", help="the space searched (--search)")
    p.add_argument("--workers", type=int, default=2, help="also run the search with this many workers (0: no)")
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
