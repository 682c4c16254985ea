"""Optuna's ask+tell round trips per second on the same sizes as worker_bench.rs (run by worker_bench.sh).

One round trip: study.ask() with a RandomSampler over 6 categorical parameters of 5 choices (the same space as the
Rust benchmark), then study.tell(trial, value). Storages: Optuna's RDBStorage on a SQLite file and, when a URL is
given, on PostgreSQL (psycopg2); "1 worker" is one process, "4 workers" four processes on the same study (Optuna's
own way to parallelise). Stored trials are added first with study.add_trials (not timed). Filling is slow in Optuna
(a transaction per trial), so sizes whose fill would exceed --fill-budget seconds are reported as skipped.

    python3 optuna_bench.py --sizes 1000,10000,100000 --trips 300 [--postgres URL]
"""

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time

import optuna
from optuna.distributions import CategoricalDistribution

optuna.logging.set_verbosity(optuna.logging.ERROR)
SPACE = {f"edge{d}": CategoricalDistribution(["none", "skip", "conv1", "conv3", "pool"]) for d in range(6)}


def storage_for(url):
    return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True}) if url else optuna.storages.InMemoryStorage()


def fill(study, n):
    have = len(study.get_trials(deepcopy=False))
    batch = []
    for k in range(have, n):
        params = {name: dist.choices[(k * 7 + i) % 5] for i, (name, dist) in enumerate(SPACE.items())}
        batch.append(optuna.trial.create_trial(params=params, distributions=SPACE, value=80.0 + k % 17))
        if len(batch) == 1000:
            study.add_trials(batch)
            batch = []
    if batch:
        study.add_trials(batch)


def worker(url, name, trips, barrier, out):
    study = optuna.load_study(study_name=name, storage=storage_for(url), sampler=optuna.samplers.RandomSampler(seed=os.getpid()))
    barrier.wait()
    t0 = time.perf_counter()
    for _ in range(trips):
        trial = study.ask(SPACE)
        study.tell(trial, 80.0 + sum(len(v) for v in trial.params.values()))
    out.put(time.perf_counter() - t0)


def measure(url, name, workers, trips):
    if url is None:
        # In memory: one process only (the storage is not shared).
        study = optuna.load_study(study_name=name, storage=MEMORY, sampler=optuna.samplers.RandomSampler(seed=1))
        t0 = time.perf_counter()
        for _ in range(trips):
            trial = study.ask(SPACE)
            study.tell(trial, 1.0)
        return trips / (time.perf_counter() - t0)
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(workers + 1), ctx.Queue()
    per = max(1, trips // workers)
    procs = [ctx.Process(target=worker, args=(url, name, per, barrier, out)) for _ in range(workers)]
    for p in procs:
        p.start()
    barrier.wait()
    t0 = time.perf_counter()
    for p in procs:
        p.join()
    return per * workers / (time.perf_counter() - t0)


MEMORY = None


def main():
    global MEMORY
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--trips", type=int, default=300)
    ap.add_argument("--postgres", default=None)
    ap.add_argument("--fill-budget", type=float, default=240.0, help="seconds allowed for filling one size")
    ap.add_argument("--dir", default=".")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",") if x]
    print(f"optuna {optuna.__version__}: ask+tell round trips per second (stored trials before the measurement), {a.trips} per measurement")
    print(f"{'storage':<16} | {'stored':>8} | {'1 worker':>18} | {'4 workers':>18} |")
    tmp = tempfile.mkdtemp(prefix="optuna-bench-", dir=a.dir)
    backends = [("optuna/memory", None), ("optuna/sqlite", f"sqlite:///{tmp}/optuna.db")]
    if a.postgres:
        backends.append(("optuna/postgres", a.postgres.replace("postgres://", "postgresql+psycopg2://", 1).replace("postgresql://", "postgresql+psycopg2://", 1)))
    for label, url in backends:
        fill_rate = None
        MEMORY = optuna.storages.InMemoryStorage() if url is None else None
        for n in sizes:
            name = f"bench-{n}-{os.getpid()}"
            storage = MEMORY if url is None else storage_for(url)
            study = optuna.create_study(study_name=name, storage=storage, load_if_exists=True)
            if fill_rate is not None and n / fill_rate > a.fill_budget:
                print(f"{label:<16} | {n:>8} | skipped: filling {n} trials would take ~{n / fill_rate:.0f} s ({fill_rate:.0f} trials/s)")
                continue
            t0 = time.perf_counter()
            fill(study, n)
            dt = time.perf_counter() - t0
            fill_rate = n / dt if dt > 0 else None
            row = f"{label:<16} | {n:>8} |"
            for workers in (1, 4):
                if url is None and workers > 1:
                    row += f" {'-':>18} |"
                    continue
                stored = len(study.get_trials(deepcopy=False))
                rate = measure(url, name, workers, a.trips)
                row += f" {rate:>9.0f} ({stored:>6}) |"
            print(row + f" fill {dt:.1f} s", flush=True)


if __name__ == "__main__":
    main()
