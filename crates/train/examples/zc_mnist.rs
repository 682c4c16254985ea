//! Do Tessera's zero-cost proxies rank real trained networks? (Not a test: it trains every cell and takes a while.)
//!
//! Samples `--archs` distinct NB201 cells (seeded; C = 8, N = 1 on 1×28×28 inputs), trains each stand-alone on
//! MNIST-5k with one recipe (AdamW lr 1e-3, batch 64, `--epochs` epochs, stratified 70/10/20 split, seed 0), scores
//! each with every proxy at initialisation on one batch of `--batch` training examples, and prints per proxy the
//! Spearman correlation with the test accuracy beside the published NB201 CIFAR-10 figure (Abdelfattah et al.,
//! ICLR 2021, Table 2), and the mean time per cell. A proxy that fails on a cell (NaN/inf, e.g. `jacob_cov` of a
//! cell that passes nothing) ranks that cell last, as NASLib's −1e8 does.
//!
//! ```sh
//! cargo run --release -p tessera-train --example zc_mnist -- [--archs 50] [--epochs 3] [--batch 64] [--seed 0]
//!     [--data PATH/mnist_5k.csv.gz] [--jobs 2]
//! ```

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Instant;
use tessera_core::stats::spearman;
use tessera_core::{rng_for, Space};
use tessera_spaces::nb201::Nb201;
use tessera_train::data::csv::mnist_5k;
use tessera_train::proxy::{score, Proxy, ProxyBatch};
use tessera_train::{train, Control, Normalization, TrainConfig};

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} needs a value")),
        None => default,
    }
}

/// Published Spearman ρ with test accuracy on NB201 CIFAR-10 (Abdelfattah et al. 2021, Table 2).
fn published(p: Proxy) -> &'static str {
    match p {
        Proxy::Synflow => "0.737",
        Proxy::JacobCov => "0.731",
        Proxy::Snip => "0.596",
        Proxy::GradNorm => "0.594",
        Proxy::Grasp => "0.514",
        Proxy::Fisher => "0.360",
        _ => "",
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = arg(&args, "--archs", 50);
    let epochs: u32 = arg(&args, "--epochs", 3);
    let bs: usize = arg(&args, "--batch", 64);
    let seed: u64 = arg(&args, "--seed", 0);
    let jobs: usize = arg(&args, "--jobs", 2).max(1);
    let root = env!("CARGO_MANIFEST_DIR");
    let path: String = arg(
        &args,
        "--data",
        format!("{root}/../../../shared/data/images/mnist_5k.csv.gz"),
    );

    let mut data = mnist_5k(&path).unwrap_or_else(|e| panic!("{e}"));
    let split = data.split_or_stratified(0.1, 0.2, 0).expect("split");
    data.normalize(Normalization::Scale(1.0 / 255.0), &split.train);
    let batch = ProxyBatch::draw(&data, &split.train, bs, seed).expect("proxy batch");
    let space = Nb201::new(8, 1, [1, 28, 28], 10);

    let mut rng = rng_for(seed, 0x7a63);
    let mut seen = HashSet::new();
    let mut cells = Vec::new();
    while cells.len() < n {
        let s = space.sample(&mut rng);
        if seen.insert(space.key(&s)) {
            cells.push(s);
        }
    }
    let cfg = TrainConfig {
        epochs,
        seed: 0,
        threads: Some(1),
        ..TrainConfig::default()
    };
    let rows: Mutex<Vec<(usize, f64, Vec<Option<f64>>, Vec<f64>)>> = Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|sc| {
        for _ in 0..jobs {
            sc.spawn(|| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .build()
                    .expect("pool");
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if i >= cells.len() {
                        break;
                    }
                    let net = space.lower(&cells[i]).expect("lowers");
                    let mut scores = Vec::new();
                    let mut secs = Vec::new();
                    for p in Proxy::ALL {
                        let t = Instant::now();
                        scores.push(pool.install(|| score(&net, p, &batch, seed)).ok());
                        secs.push(t.elapsed().as_secs_f64());
                    }
                    let r = train(&net, &data, &split, &cfg, &mut |_| Control::Continue)
                        .expect("trains");
                    eprintln!(
                        "[{:>4.0}s] cell {i:>3} test {:>6.2}  {}",
                        start.elapsed().as_secs_f64(),
                        r.test_accuracy,
                        space.describe(&cells[i])
                    );
                    rows.lock()
                        .unwrap()
                        .push((i, r.test_accuracy, scores, secs));
                }
            });
        }
    });
    let rows = rows.into_inner().unwrap();
    let acc: Vec<f64> = rows.iter().map(|r| r.1).collect();
    println!(
        "NB201 C=8 N=1 on MNIST-5k, {} cells, {epochs} epochs, proxy batch {bs}, seed {seed}",
        rows.len()
    );
    println!(
        "{:<10} {:>8} {:>7} {:>16} {:>10}",
        "proxy", "ρ(test)", "failed", "published CIFAR-10", "s/cell"
    );
    for (k, p) in Proxy::ALL.iter().enumerate() {
        let vals: Vec<f64> = rows
            .iter()
            .map(|r| r.2[k].unwrap_or(f64::NEG_INFINITY))
            .collect();
        let failed = rows.iter().filter(|r| r.2[k].is_none()).count();
        let secs = rows.iter().map(|r| r.3[k]).sum::<f64>() / rows.len() as f64;
        println!(
            "{:<10} {:>8.3} {:>7} {:>16} {:>10.3}",
            p.name(),
            spearman(&vals, &acc),
            failed,
            published(*p),
            secs
        );
    }
    println!("wall {:.0} s", start.elapsed().as_secs_f64());
}
