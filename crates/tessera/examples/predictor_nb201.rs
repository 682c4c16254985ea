//! Predictor quality on NAS-Bench-201 CIFAR-10 (issue 17's must-show figure): each model kind is fitted on 200
//! random architectures of the table (as `[evaluator] kind = "predictor"` does, with its 20 % validation hold-out
//! and refit on all 200), then predicts every other architecture of the space (15,425), and its Kendall τ and
//! Spearman ρ with the tabulated test accuracy are printed beside the other kinds', with the wall time of fitting
//! and predicting. Goal: τ ≥ 0.7.
//!
//! ```text
//! cargo run --release -p tessera --example predictor_nb201 -- [DATA_DIR] [SEEDS]
//! ```
//! DATA_DIR defaults to `../shared/data/nb201` beside the repository; SEEDS (default 3) draws of 200 samples.
//!
//! Measured (AMD EPYC, 2 vCPU, release, seeds 0-4): mean τ on the 15,425 others with the `paths` encoding
//! (NB201's default) mlp-ensemble 0.779, gp 0.779, gbt 0.728 (per seed 0.769-0.789, 0.775-0.783, 0.706-0.743;
//! Spearman 0.88-0.94); with `pairs` 0.677, 0.659, 0.651. 0.4-0.7 s per model to fit, validate and predict the whole
//! space with `paths`. Fitting raw values instead of ranks (pairs) gave 0.583, 0.546, 0.572.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;
use tessera::predictor_setup::{benchmark_pairs, HELD_OUT};
use tessera_bench::benchmarks::{self, DataPaths};
use tessera_core::stats::{kendall_tau, spearman};
use tessera_core::{EvalContext, Sample};
use tessera_strategies::predictor::{fit_validated, ModelKind};
use tessera_strategies::surrogate::Encoding;

/// `paths` is the default on NB201; `pairs` the default of spaces without a path encoding.
const ENCODINGS: [Encoding; 2] = [Encoding::Paths, Encoding::Pairs];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nb201")
    });
    let seeds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    let paths = DataPaths {
        nb201_dir: Some(dir),
        cache_dir: None,
        analog: false,
        fetch: false,
    };
    let bench = benchmarks::open("nb201:cifar10", &paths).expect("NB201 table");
    // the whole space with its tabulated accuracy
    let all: Vec<(Sample, f64)> = (0..15_625u32)
        .map(|c| {
            Sample::new(&std::array::from_fn::<u16, 6, _>(|i| {
                ((c / 5u32.pow(5 - i as u32)) % 5) as u16
            }))
        })
        .filter(|s| bench.evaluator.contains(s))
        .map(|s| {
            let v = bench
                .evaluator
                .evaluate(&s, &EvalContext { trial: 0, seed: 0 })
                .unwrap()
                .metrics
                .get("test_accuracy")
                .unwrap();
            (s, v)
        })
        .collect();
    println!(
        "NB201 CIFAR-10 test accuracy, {} architectures; fitted on 200 random ones, τ on the rest",
        all.len()
    );
    println!(
        "{:<14} {:>8} {:>5} {:>9} {:>9} {:>9} {:>11} {:>9}",
        "model", "encoding", "seed", "val τ", "rest τ", "rest ρ", "rest count", "wall s"
    );
    let mut mean = vec![0.0; ENCODINGS.len() * ModelKind::ALL.len()];
    for seed in 0..seeds {
        let pairs = benchmark_pairs("nb201:cifar10", &paths, "test_accuracy", 200, seed)
            .expect("200 samples");
        let train: HashSet<&Sample> = pairs.samples.iter().collect();
        let rest: Vec<&(Sample, f64)> = all.iter().filter(|(s, _)| !train.contains(s)).collect();
        let truth: Vec<f64> = rest.iter().map(|(_, v)| *v).collect();
        for (k, (enc, kind)) in ENCODINGS
            .into_iter()
            .flat_map(|e| ModelKind::ALL.map(|k| (e, k)))
            .enumerate()
        {
            let xs: Vec<Vec<f64>> = pairs
                .samples
                .iter()
                .map(|s| enc.encode(pairs.space.as_ref(), s))
                .collect();
            let rest_x: Vec<Vec<f64>> = rest
                .iter()
                .map(|(s, _)| enc.encode(pairs.space.as_ref(), s))
                .collect();
            let start = Instant::now();
            let (model, val) =
                fit_validated(kind, &xs, &pairs.values, HELD_OUT, seed).expect("fits");
            let pred = model.predict(&rest_x);
            let wall = start.elapsed().as_secs_f64();
            let tau = kendall_tau(&pred, &truth);
            mean[k] += tau / seeds as f64;
            println!(
                "{:<14} {:>8} {:>5} {:>9.3} {:>9.3} {:>9.3} {:>11} {:>9.2}",
                kind.name(),
                enc.name(),
                seed,
                val.kendall_tau,
                tau,
                spearman(&pred, &truth),
                truth.len(),
                wall
            );
        }
    }
    let names = ENCODINGS
        .into_iter()
        .flat_map(|e| ModelKind::ALL.map(|k| format!("{}/{}", k.name(), e.name())));
    let line: Vec<String> = names
        .zip(&mean)
        .map(|(n, t)| format!("{n} {t:.3}"))
        .collect();
    println!(
        "mean τ on the rest over {seeds} seeds: {} (goal ≥ 0.7)",
        line.join(", ")
    );
}
