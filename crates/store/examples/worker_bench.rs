//! Ask+tell round trips per second through the worker protocol, on SQLite and PostgreSQL, with 1 and 4 workers,
//! at 1k, 10k and 100k stored trials (not a test; numbers depend on the machine and its load).
//!
//! ```sh
//! cargo run --release -p tessera-store --example worker_bench [DIR]
//! TESSERA_BENCH_POSTGRES=postgres://user:pw@localhost/db cargo run --release -p tessera-store --example worker_bench
//! bash crates/store/examples/worker_bench.sh        # this, then Optuna's ask+tell on the same sizes, side by side
//! ```
//!
//! One round trip is what a worker does per trial, minus the evaluation: [`Storage::next_trial`] (under the
//! study's lock: re-queue expired leases, read the events after the worker's cursor and replay them into its
//! strategy, ask once, store the trial `running` under a lease with its ask event) and then [`Storage::put_leased`]
//! (store it `complete` with its tell event). Each is one committed transaction: SQLite in WAL mode with
//! `synchronous = NORMAL` (survives a crash of the process; `TESSERA_BENCH_SQLITE_SYNC=FULL` also survives power
//! loss) and PostgreSQL with its defaults (`synchronous_commit = on`). The strategy is random search over a
//! 6×5 space (NB201-sized), so the numbers are the storage protocol's, not a strategy's. Workers are threads with
//! one connection each. Stored trials are imported first (`import_trials`), then every worker replays the whole log
//! once before the clock starts.
//!
//! Env: `TESSERA_BENCH_POSTGRES` (else `TESSERA_TEST_POSTGRES`) for PostgreSQL (a fresh schema, dropped after);
//! `TESSERA_BENCH_TRIPS` round trips per measurement (default 2000); `TESSERA_BENCH_SIZES` (default 1000,10000,100000).

use std::sync::{Arc, Barrier};
use std::time::Instant;
use tessera_core::network::{Network, NetworkError, Op};
use tessera_core::{
    Dim, Lease, Metrics, NewEvents, Next, Sample, Space, Storage, Strategy, Told, Trial, TrialState,
};
use tessera_store::{PostgresStorage, SqliteStorage};

struct Cells(Vec<Dim>);

impl Space for Cells {
    fn name(&self) -> &str {
        "cells-6x5"
    }
    fn dims(&self) -> &[Dim] {
        &self.0
    }
    fn lower(&self, _: &Sample) -> Result<Network, NetworkError> {
        let mut n = Network::new();
        let x = n.add(Op::Input { shape: vec![4] }, &[]);
        n.add(Op::Output { classes: 2 }, &[x]);
        Ok(n)
    }
}

fn space() -> Cells {
    Cells(
        (0..6)
            .map(|d| {
                Dim::new(
                    format!("edge{d}"),
                    &["none", "skip", "conv1", "conv3", "pool"],
                )
            })
            .collect(),
    )
}

fn strategy() -> Box<dyn Strategy> {
    Box::new(tessera_strategies::random::Random::new(42))
}

fn score(s: &Sample) -> f64 {
    s.as_slice().iter().map(|&c| c as f64).sum::<f64>() + 80.0
}

fn complete(mut t: Trial) -> Trial {
    t.state = TrialState::Complete;
    t.metrics = Metrics::new().with("val_accuracy", score(&t.sample));
    t.finished_at = Some(tessera_core::storage::now());
    t.wall_seconds = 0.0;
    t.sim_seconds = 1.0;
    t
}

/// A worker's view: its strategy and cursor; replays new events exactly like `Study::work` does.
struct View {
    strategy: Box<dyn Strategy>,
    cursor: u64,
}

impl View {
    fn replay(&mut self, space: &Cells, ev: &NewEvents<'_>) {
        for e in ev.events {
            let t = ev.trial(e.trial).expect("the event's trial");
            match e.kind {
                tessera_core::EventKind::Ask => {
                    let s = self.strategy.ask(space).expect("random never runs out");
                    assert_eq!(s, t.sample, "replay diverged at trial {}", t.number);
                }
                tessera_core::EventKind::Tell => {
                    let v = [t.metrics.get("val_accuracy").unwrap_or(f64::NAN)];
                    self.strategy.tell(
                        space,
                        &Told {
                            number: t.number,
                            sample: &t.sample,
                            state: t.state,
                            values: &v,
                            metrics: &t.metrics,
                            violation: 0.0,
                        },
                    );
                }
            }
        }
    }
}

/// Grows the study to `n` trials (asked and told in order by a fresh strategy), in one transaction.
fn fill(s: &mut dyn Storage, id: i64, n: u64, space: &Cells) {
    let have = s.trials(id).unwrap().len() as u64;
    if have >= n {
        return;
    }
    // Replay what is there, then ask the rest.
    let mut v = View {
        strategy: strategy(),
        cursor: 0,
    };
    let events = s.events(id, 0).unwrap();
    let trials = s.trials(id).unwrap();
    v.replay(
        space,
        &NewEvents {
            events: &events,
            trials: &trials,
            next_number: have,
        },
    );
    let batch: Vec<Trial> = (have..n)
        .map(|k| {
            let sample = v.strategy.ask(space).unwrap();
            let mut t = complete(Trial::new(k, sample));
            t.key = format!("k{k}");
            t
        })
        .collect();
    s.import_trials(id, &batch).unwrap();
}

/// `workers` threads, `trips` round trips in all; returns round trips per second.
fn measure(
    connect: &(dyn Fn() -> Box<dyn Storage> + Sync),
    id: i64,
    workers: usize,
    trips: usize,
) -> f64 {
    let space = Arc::new(space());
    let barrier = Barrier::new(workers + 1);
    let per = trips / workers;
    std::thread::scope(|sc| {
        for w in 0..workers {
            let (space, barrier) = (space.clone(), &barrier);
            sc.spawn(move || {
                let mut s = connect();
                let lease = Lease {
                    worker: format!("bench-{w}"),
                    seconds: 60.0,
                    max_retries: 3,
                };
                let mut v = View {
                    strategy: strategy(),
                    cursor: 0,
                };
                // Warm up: replay the whole log (not timed).
                let mut ask = |ev: &NewEvents<'_>| {
                    v.replay(&space, ev);
                    None
                };
                if let Next::Idle { cursor, .. } = s.next_trial(id, &lease, 0, &mut ask).unwrap() {
                    v.cursor = cursor;
                }
                barrier.wait();
                for _ in 0..per {
                    let cursor = v.cursor;
                    let mut ask = |ev: &NewEvents<'_>| {
                        v.replay(&space, ev);
                        let sample = v.strategy.ask(&*space)?;
                        let mut t = Trial::new(ev.next_number, sample);
                        t.state = TrialState::Running;
                        t.key = format!("k{}", ev.next_number);
                        Some(t)
                    };
                    match s.next_trial(id, &lease, cursor, &mut ask) {
                        Ok(Next::Asked { trial, cursor }) => {
                            v.cursor = cursor;
                            let done = complete(trial);
                            // A busy database (SQLite's lock held past the busy timeout) is retried, as workers do.
                            while let Err(e) = s.put_leased(id, &done, &lease) {
                                assert!(e.is_transient(), "{e}");
                            }
                        }
                        Err(e) if e.is_transient() => {
                            // The ask may or may not have committed: start over like a worker (replay from 0).
                            v = View {
                                strategy: strategy(),
                                cursor: 0,
                            };
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                }
                barrier.wait();
            });
        }
        barrier.wait();
        let t0 = Instant::now();
        barrier.wait();
        (per * workers) as f64 / t0.elapsed().as_secs_f64()
    })
}

fn bench(
    label: &str,
    connect: &(dyn Fn() -> Box<dyn Storage> + Sync),
    sizes: &[u64],
    trips: usize,
) {
    let space = space();
    for &n in sizes {
        let mut s = connect();
        let id = s.open_study(&format!("bench-{n}"), "{}").unwrap().id;
        let t0 = Instant::now();
        fill(&mut *s, id, n, &space);
        let fill_s = t0.elapsed().as_secs_f64();
        let mut row = format!("{label:<10} | {n:>8} |");
        for workers in [1, 4] {
            let stored = s.trials(id).unwrap().len();
            let rate = measure(connect, id, workers, trips);
            row.push_str(&format!(" {rate:>9.0} ({stored:>6}) |"));
        }
        row.push_str(&format!(" fill {fill_s:.1} s"));
        println!("{row}");
    }
}

fn main() {
    let base = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::current_dir().unwrap());
    let trips: usize = std::env::var("TESSERA_BENCH_TRIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let sizes: Vec<u64> = std::env::var("TESSERA_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
    println!("ask+tell round trips per second (stored trials at the start of the measurement in parentheses), {trips} per measurement");
    println!(
        "{:<10} | {:>8} | {:>18} | {:>18} |",
        "storage", "stored", "1 worker", "4 workers"
    );

    let dir = tempfile::Builder::new()
        .prefix("worker-bench-")
        .tempdir_in(&base)
        .expect("temp dir");
    let path = dir.path().join("bench.db");
    let sync = std::env::var("TESSERA_BENCH_SQLITE_SYNC").unwrap_or_else(|_| "NORMAL".into());
    let connect_sqlite = |path: &std::path::Path| {
        let s = SqliteStorage::open(path).unwrap();
        s.set_synchronous(&sync).unwrap();
        Box::new(s) as Box<dyn Storage>
    };
    bench(
        &format!("sqlite/{}", sync.to_lowercase()),
        &|| connect_sqlite(&path),
        &sizes,
        trips,
    );

    let pg = std::env::var("TESSERA_BENCH_POSTGRES")
        .or_else(|_| std::env::var("TESSERA_TEST_POSTGRES"))
        .ok()
        .filter(|u| !u.is_empty());
    match pg {
        None => println!("postgres   | skipped: set TESSERA_BENCH_POSTGRES (or TESSERA_TEST_POSTGRES) to a database URL"),
        Some(url) => {
            let schema = format!("worker_bench_{}", std::process::id());
            let sep = if url.contains('?') { '&' } else { '?' };
            let full = format!("{url}{sep}schema={schema}");
            bench("postgres", &|| Box::new(PostgresStorage::open(&full).unwrap()) as Box<dyn Storage>, &sizes, trips);
            if std::env::var("TESSERA_BENCH_KEEP").is_ok() {
                println!("kept schema {schema}");
            } else if let Ok(mut c) = postgres::Client::connect(url.split('?').next().unwrap(), postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"));
            }
        }
    }
}
