//! Throughput of `SqliteStorage` on this machine (not a test; numbers vary with the disk).
//!
//! `cargo run --release -p tessera-store --example store_bench [DIR]`
//!
//! Writes a study the way the study loop does (each trial `put` as running, then as complete: two committed
//! transactions per trial), and reports, once the study holds 1k, 10k and 100k trials:
//! * puts/s and trials/s (two puts per trial) for the next 1,000 trials,
//! * put→read round trips/s: one put, then reading that trial's study counts back with `studies()`,
//! * the time of one `trials()` (the resume replay) and one `studies()`.
//!
//! The database goes to a temporary directory inside DIR (default: the current directory, so a real disk rather
//! than a RAM-backed /tmp).

use std::time::Instant;
use tessera_core::{Metrics, Sample, Storage, Trial, TrialState};
use tessera_store::SqliteStorage;

fn trial(n: u64, state: TrialState) -> Trial {
    let mut t = Trial::new(
        n,
        Sample::new(&[(n % 5) as u16, (n / 5 % 5) as u16, 1, 2, 3, 4]),
    );
    t.key = format!(
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|conv~{n}|"
    );
    t.description = t.key.clone();
    t.state = state;
    t.profile = Metrics::new()
        .with("params", 372_106.0)
        .with("flops", 40.9e6)
        .with("latency_ms", 0.0153);
    t.started_at = Some(1.7e9 + n as f64);
    if state.is_finished() {
        t.metrics = Metrics::new()
            .with("val_accuracy", 89.1)
            .with("test_accuracy", 88.7)
            .with("train_loss", 0.31);
        t.finished_at = Some(1.7e9 + n as f64 + 1.0);
        t.wall_seconds = 0.0004;
        t.sim_seconds = 1_234.5;
    }
    t
}

fn main() {
    let base = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::current_dir().unwrap());
    let dir = tempfile::Builder::new()
        .prefix("store-bench-")
        .tempdir_in(&base)
        .expect("temp dir");
    let path = dir.path().join("bench.db");
    let mut s = SqliteStorage::open(&path).expect("open");
    let id = s.open_study("bench", "{}").unwrap().id;
    println!("database: {}", path.display());
    println!(
        "{:>8} | {:>9} | {:>9} | {:>17} | {:>12} | {:>11}",
        "stored", "puts/s", "trials/s", "put+read trips/s", "trials() ms", "studies() ms"
    );

    let mut next = 0u64;
    let fill_to = |s: &mut SqliteStorage, n: u64, next: &mut u64| {
        while *next < n {
            s.put_trial(id, &trial(*next, TrialState::Running)).unwrap();
            s.put_trial(id, &trial(*next, TrialState::Complete))
                .unwrap();
            *next += 1;
        }
    };
    for stored in [1_000u64, 10_000, 100_000] {
        fill_to(&mut s, stored, &mut next);
        // The next 1,000 trials: two puts each.
        let t0 = Instant::now();
        for _ in 0..1_000 {
            s.put_trial(id, &trial(next, TrialState::Running)).unwrap();
            s.put_trial(id, &trial(next, TrialState::Complete)).unwrap();
            next += 1;
        }
        let dt = t0.elapsed().as_secs_f64();
        // 500 round trips: put one finished trial, read the study's counts back.
        let t0 = Instant::now();
        for _ in 0..500 {
            s.put_trial(id, &trial(next, TrialState::Complete)).unwrap();
            let info = s.studies().unwrap();
            assert_eq!(info[0].total(), next + 1);
            next += 1;
        }
        let trips = 500.0 / t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let all = s.trials(id).unwrap();
        let read_ms = t0.elapsed().as_secs_f64() * 1e3;
        assert_eq!(all.len() as u64, next);
        let t0 = Instant::now();
        let _ = s.studies().unwrap();
        let studies_ms = t0.elapsed().as_secs_f64() * 1e3;
        println!(
            "{stored:>8} | {:>9.0} | {:>9.0} | {trips:>17.0} | {read_ms:>12.1} | {studies_ms:>11.2}",
            2_000.0 / dt,
            1_000.0 / dt
        );
    }
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(path.with_extension("db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!(
        "file size (db + wal): {:.1} MB for {next} trials",
        bytes as f64 / 1e6
    );
}
