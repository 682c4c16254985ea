//! Does Tessera's training rank NAS-Bench-Graph cells like the benchmark does?
//!
//! Samples `--archs` random valid cells that are in the benchmark's table (seeded, distinct `valid_hash` keys),
//! lowers each with the benchmark's tuned model sizes for the dataset, trains it on the Planetoid standard split
//! with the benchmark's tuned hyper-parameters (`--runs` seeds averaged; test accuracy at the best validation
//! epoch), and prints per cell (ours, the table's `perf`), then the Spearman (average ranks for ties) and Pearson
//! correlations and the wall time.
//!
//! ```sh
//! cargo run --release -p tessera-train --example nbg_spearman -- [--archs 40] [--seed 0] [--dataset cora]
//!     [--epochs 400] [--runs 1] [--first-run 0] [--jobs 1] [--keys K1,K2]
//!     [--features raw|row-l1] [--optimizer sgd|adam] [--momentum 0] [--lr 0.1] [--wd 5e-4] [--dropout 0.7]
//!     [--clip NORM]
//! ```
//!
//! Defaults are the benchmark's Cora setting (paper's tuned hyper-parameters: SGD, lr 0.1, weight decay 5e-4,
//! dropout 0.7, 400 epochs; width 256, no pre-processing layer, one post-processing layer). Data: the Planetoid
//! files in `$TESSERA_SHARED_DATA/planetoid` (default `../shared/data` beside the repository); the table: the
//! `nas-bench-graph` wheel in the Tessera cache (`tessera bench fetch nas-bench-graph`).
//!
//! The network is the benchmark's own model (see the `nas-bench-graph` space); the training loop is the authors'
//! too: full-graph steps, cross-entropy on the training nodes, plain SGD (PyTorch's default: no momentum), and the
//! test accuracy of the first epoch with the best validation accuracy. `--features raw` (the default) keeps the
//! 0/1 bag-of-words features as the benchmark does (`row-l1` scales each row to sum 1). `--clip` caps the global
//! gradient norm (0: off, the benchmark's setting).
//! `--jobs N` trains N cells at once, each in its own rayon pool (a full-graph step on Cora keeps fewer than two
//! cores busy). `--runs` seeds are averaged per cell, starting at run `--first-run`; `--keys` keeps only the listed
//! cells of the sample.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use tessera_bench::benchmarks::NbgBenchmark;
use tessera_bench::{fetch, NbgTable};
use tessera_core::stats::{pearson, spearman};
use tessera_core::{rng_for, Space};
use tessera_spaces::nbg::NasBenchGraph;
use tessera_train::data::planetoid::planetoid;
use tessera_train::{train, Control, Normalization, Optimizer, TrainConfig};

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} needs a value of the right type")),
        None => default,
    }
}

/// A comma-separated list option (`--keys 1,2`); empty when absent.
fn list(args: &[String], name: &str) -> Vec<String> {
    arg(args, name, String::new())
        .split(',')
        .filter(|k| !k.is_empty())
        .map(String::from)
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n_archs: usize = arg(&args, "--archs", 40);
    let seed: u64 = arg(&args, "--seed", 0);
    let dataset: String = arg(&args, "--dataset", "cora".to_string());
    let epochs: u32 = arg(&args, "--epochs", 400);
    let runs: u64 = arg(&args, "--runs", 1);
    let first_run: u64 = arg(&args, "--first-run", 0);
    let jobs: usize = arg(&args, "--jobs", 1).max(1);
    let momentum: f64 = arg(&args, "--momentum", 0.0);
    let keys = list(&args, "--keys");
    let lr: f64 = arg(&args, "--lr", 0.1);
    let wd: f64 = arg(&args, "--wd", 5e-4);
    let dropout: f32 = arg(&args, "--dropout", 0.7);
    let clip: f32 = arg(&args, "--clip", 0.0);
    let optimizer = match arg(&args, "--optimizer", "sgd".to_string()).as_str() {
        "sgd" => Optimizer::Sgd {
            momentum,
            nesterov: false,
        },
        "adam" => Optimizer::ADAM,
        o => panic!("--optimizer: sgd or adam, got {o}"),
    };

    let wheel =
        fetch::locate("nas-bench-graph").expect("run `tessera bench fetch nas-bench-graph` first");
    let bench =
        NbgBenchmark::new(NbgTable::load_from_wheel(&wheel, &dataset).expect("benchmark table"));
    let opts = [
        ("dataset".to_string(), dataset.clone()),
        ("dropout".to_string(), dropout.to_string()),
    ];
    let space = NasBenchGraph::from_options(&opts.into_iter().collect()).expect("space options");
    let data_dir = std::env::var("TESSERA_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let mut data =
        planetoid(data_dir.join("planetoid"), &dataset).expect("Planetoid data (Cora or CiteSeer)");
    let split = data.split.clone().expect("standard split");
    match arg(&args, "--features", "raw".to_string()).as_str() {
        "row-l1" => data.normalize(Normalization::RowL1, &split.train),
        "raw" => {}
        o => panic!("--features: row-l1 or raw, got {o}"),
    }

    // distinct benchmark cells, drawn uniformly over (link, ops) like the space's sampler
    let mut rng = rng_for(seed, 0x6e62_6773);
    let mut seen = HashSet::new();
    let mut cells = Vec::new();
    while cells.len() < n_archs {
        let s = space.sample(&mut rng);
        if let Some(r) = bench.record(&s) {
            if seen.insert(space.key(&s)) {
                cells.push((s, r.perf * 100.0));
            }
        }
    }
    if !keys.is_empty() {
        cells.retain(|(s, _)| keys.contains(&space.key(s)));
    }
    let n_archs = cells.len();

    println!(
        "NAS-Bench-Graph {dataset}: {n_archs} cells (seed {seed}); width {}, pre {}, post {}, dropout {dropout}; \
         {optimizer:?} lr {lr} wd {wd}, {epochs} epochs, {runs} run(s) each, {jobs} job(s) at once",
        space.dim, space.pre, space.post
    );
    let start = Instant::now();
    // `jobs` cells train at once, each in its own rayon pool of `threads / jobs` threads: on small graphs a training
    // step keeps fewer than two cores busy, and independent runs in parallel use the machine better.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_job = (threads / jobs).max(1);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<f64>>> = Mutex::new(vec![None; n_archs]);
    let done = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(per_job).build().expect("rayon pool");
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((s, perf)) = cells.get(i) else { break };
                    let net = space.lower(s).expect("lowering");
                    let mut accs = Vec::new();
                    for r in first_run..first_run + runs {
                        let cfg = TrainConfig {
                            epochs,
                            optimizer,
                            lr,
                            weight_decay: wd,
                            seed: seed * 1000 + r,
                            max_loss: None,
                            grad_clip_norm: (clip > 0.0).then_some(clip),
                            ..TrainConfig::default()
                        };
                        match pool.install(|| train(&net, &data, &split, &cfg, &mut |_| Control::Continue)) {
                            Ok(rep) => accs.push(rep.test_accuracy),
                            Err(e) => {
                                eprintln!("  {}: run {r} failed: {e}", space.describe(s));
                                accs.push(100.0 / data.classes as f64);
                            }
                        }
                    }
                    let acc = accs.iter().sum::<f64>() / accs.len() as f64;
                    results.lock().expect("results")[i] = Some(acc);
                    let k = done.fetch_add(1, Ordering::SeqCst) + 1;
                    let runs_txt: Vec<String> = accs.iter().map(|a| format!("{a:.1}")).collect();
                    println!(
                        "[{k:>2}/{n_archs}] {:<40} key {:>5}  ours {acc:6.2} ({})  bench {perf:6.2}  ({:.0}s)",
                        space.describe(s),
                        space.key(s),
                        runs_txt.join(" "),
                        start.elapsed().as_secs_f64()
                    );
                }
            });
        }
    });
    let ours: Vec<f64> = results
        .into_inner()
        .expect("results")
        .into_iter()
        .map(|a| a.expect("every cell ran"))
        .collect();
    let theirs: Vec<f64> = cells.iter().map(|c| c.1).collect();
    println!(
        "Spearman {:.3}  Pearson {:.3}  over {n_archs} cells; wall {:.1}s",
        spearman(&ours, &theirs),
        pearson(&ours, &theirs),
        start.elapsed().as_secs_f64()
    );
}
