//! Do supernets rank networks like stand-alone training does? (Not a test: it trains a lot and takes a while.)
//!
//! For each space (the chain space on 1×28×28 with a stride-2 stem, and NB201 cells C = 8, N = 1), samples `--archs`
//! distinct architectures (seeded), trains each stand-alone on MNIST-5k (`--sa-epochs`, AdamW, cosine, batch 64,
//! stratified 70/10/20 split), then trains the space's supernet once per rule (SPOS uniform, BigNAS sandwich;
//! `--sn-epochs`, the same optimiser and schedule) and scores every architecture with inherited weights after
//! batch-norm recalibration (4 batches of 64) on the validation split. Prints Kendall τ and Spearman ρ between
//! inherited validation accuracy and stand-alone test accuracy, the supernet's training time and the time to score
//! `--score` random subnets.
//!
//! ```sh
//! cargo run --release -p tessera-train --example supernet_tau -- [--spaces chain,nb201] [--rules spos,sandwich]
//!     [--archs 30] [--sa-epochs 4] [--sn-epochs 12] [--score 1000] [--jobs 2] [--seed 0] [--data PATH/mnist_5k.csv.gz]
//! ```

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use tessera_core::stats::{kendall_tau, spearman};
use tessera_core::{rng_for, Sample};
use tessera_spaces::chain::Chain;
use tessera_spaces::nb201::Nb201;
use tessera_train::data::csv::mnist_5k;
use tessera_train::{
    train, train_supernet, Control, Normalization, Rule, Schedule, Scorer, SupernetConfig,
    SupernetSpace, TrainConfig,
};

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} needs a value")),
        None => default,
    }
}

fn recipe(epochs: u32, lr: f64, seed: u64, threads: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 64,
        lr,
        schedule: Schedule::Cosine {
            warmup_epochs: 0.0,
            min_factor: 0.0,
        },
        seed,
        threads: Some(threads),
        ..TrainConfig::default()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let spaces: String = arg(&args, "--spaces", "chain,nb201".to_string());
    let rules: String = arg(&args, "--rules", "spos,sandwich".to_string());
    let n: usize = arg(&args, "--archs", 30);
    let sa_epochs: u32 = arg(&args, "--sa-epochs", 4);
    let sn_epochs: u32 = arg(&args, "--sn-epochs", 12);
    let sa_lr: f64 = arg(&args, "--sa-lr", 2e-3);
    let sn_lr: f64 = arg(&args, "--sn-lr", 2e-3);
    let n_score: usize = arg(&args, "--score", 1000);
    let jobs: usize = arg(&args, "--jobs", 2).max(1);
    let seed: u64 = arg(&args, "--seed", 0);
    let root = env!("CARGO_MANIFEST_DIR");
    let path: String = arg(
        &args,
        "--data",
        format!("{root}/../../../shared/data/images/mnist_5k.csv.gz"),
    );

    let mut data = mnist_5k(&path).unwrap_or_else(|e| panic!("{e}"));
    let split = data.split_or_stratified(0.1, 0.2, 0).expect("split");
    data.normalize(Normalization::Scale(1.0 / 255.0), &split.train);
    let start = Instant::now();
    let mut summary = Vec::new();
    for kind in spaces.split(',') {
        let ss = match kind {
            "chain" => {
                let o = [("stem_stride", "2")]
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                SupernetSpace::Chain {
                    space: Chain::from_options(&o).expect("chain options"),
                    kernel_transform: true,
                }
            }
            "nb201" => SupernetSpace::Nb201(Nb201::new(8, 1, [1, 28, 28], 10)),
            other => panic!("unknown space {other}"),
        };
        let space = ss.space();
        let mut rng = rng_for(seed, 0x7a75);
        let mut seen = HashSet::new();
        let mut archs: Vec<Sample> = Vec::new();
        while archs.len() < n {
            let s = space.sample(&mut rng);
            if seen.insert(space.key(&s)) {
                archs.push(s);
            }
        }
        // stand-alone training, `jobs` networks at a time on one thread each
        let accs: Mutex<Vec<(usize, f64)>> = Mutex::new(Vec::new());
        let next = AtomicUsize::new(0);
        let t0 = Instant::now();
        let cfg = recipe(sa_epochs, sa_lr, 0, 1);
        std::thread::scope(|sc| {
            for _ in 0..jobs {
                sc.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= archs.len() {
                        break;
                    }
                    let net = space.lower(&archs[i]).expect("lowers");
                    let r = train(&net, &data, &split, &cfg, &mut |_| Control::Continue)
                        .expect("trains");
                    eprintln!(
                        "[{:>5.0}s] {kind} stand-alone {i:>3} test {:>6.2}  {}",
                        start.elapsed().as_secs_f64(),
                        r.test_accuracy,
                        space.describe(&archs[i])
                    );
                    accs.lock().unwrap().push((i, r.test_accuracy));
                });
            }
        });
        let mut accs = accs.into_inner().unwrap();
        accs.sort_by_key(|a| a.0);
        let alone: Vec<f64> = accs.iter().map(|a| a.1).collect();
        let alone_secs = t0.elapsed().as_secs_f64();
        for rule in rules.split(',') {
            let rule = Rule::parse(rule).expect("rule");
            let cfg = SupernetConfig {
                rule,
                train: recipe(sn_epochs, sn_lr, seed, jobs),
            };
            let t = Instant::now();
            let trained = train_supernet(&ss, &data, &split, &cfg, None, &mut |e| {
                eprintln!(
                    "[{:>5.0}s] {kind} {} epoch {} loss {:.3}",
                    start.elapsed().as_secs_f64(),
                    rule.name(),
                    e.epoch,
                    e.train_loss
                );
                Control::Continue
            })
            .expect("supernet trains");
            let train_secs = t.elapsed().as_secs_f64();
            let scorer = Scorer::new(&split, &split.val, 4, 64, seed).expect("scorer");
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(jobs)
                .build()
                .expect("pool");
            let inherited: Vec<f64> = pool.install(|| {
                archs
                    .iter()
                    .map(|s| scorer.accuracy(&trained.net, &data, s).expect("scores"))
                    .collect()
            });
            let tau = kendall_tau(&inherited, &alone);
            let rho = spearman(&inherited, &alone);
            let mut rng = rng_for(seed, 0x5c0e);
            let t = Instant::now();
            pool.install(|| {
                for _ in 0..n_score {
                    let s = space.sample(&mut rng);
                    scorer.accuracy(&trained.net, &data, &s).expect("scores");
                }
            });
            let score_secs = t.elapsed().as_secs_f64();
            for (s, (a, b)) in archs.iter().zip(inherited.iter().zip(&alone)) {
                eprintln!(
                    "  {kind} {} inherited {a:>6.2} alone {b:>6.2}  {}",
                    rule.name(),
                    space.describe(s)
                );
            }
            let line = format!(
                "{kind:<6} {:<9} {:>3} archs  τ {tau:>6.3}  ρ {rho:>6.3}  supernet {sn_epochs} ep {train_secs:>6.0} s  score {n_score} subnets {score_secs:>6.1} s  (stand-alone {n} × {sa_epochs} ep {alone_secs:.0} s, acc {:.1}–{:.1} %)",
                rule.name(),
                archs.len(),
                alone.iter().cloned().fold(f64::INFINITY, f64::min),
                alone.iter().cloned().fold(0.0, f64::max),
            );
            println!("{line}");
            summary.push(line);
        }
    }
    println!("--- summary (wall {:.0} s)", start.elapsed().as_secs_f64());
    for l in summary {
        println!("{l}");
    }
}
