//! Parity of Tessera's zero-cost proxies with NASLib's on NAS-Bench-201 (not a test: it reads the NASLib file from
//! `../shared/data` and takes minutes).
//!
//! For every NB201 cell of `zc_nasbench201.json` (NASLib's precomputed proxies, CIFAR-10 shape: C = 16, N = 5,
//! 3×32×32 inputs, 10 classes), Tessera computes the data-free proxies (`synflow`, `params`, `flops`, and `zen`
//! with `--zen`) and prints, per proxy, the Spearman correlation with the file's value of the same proxy and with
//! the file's validation accuracy (beside the file's own proxy-vs-accuracy figure), and the time per cell.
//!
//! ```sh
//! cargo run --release -p tessera-train --example zc_nb201 -- [--file PATH] [--limit N] [--seed 0] [--json]
//! ```

use std::time::Instant;
use tessera_core::stats::spearman;
use tessera_core::Space;
use tessera_spaces::nb201::Nb201;
use tessera_train::proxy::{score, Proxy, ProxyBatch};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = env!("CARGO_MANIFEST_DIR");
    let default = format!("{root}/../../../shared/data/naslib/zc_nasbench201.json");
    let file = arg(&args, "--file").unwrap_or(default);
    let limit: usize = arg(&args, "--limit").map_or(usize::MAX, |v| v.parse().expect("--limit N"));
    let seed: u64 = arg(&args, "--seed").map_or(0, |v| v.parse().expect("--seed N"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    // Python's json writes -Infinity and NaN (NASLib's nwot of cells without a path); JSON has no such numbers.
    let text = text.replace("-Infinity", "null").replace("Infinity", "null").replace("NaN", "null");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let cells = json["cifar10"].as_object().expect("a `cifar10` object");
    let space = Nb201::default();
    let batch = ProxyBatch::data_free(&[3, 32, 32], 10, 2);
    let mut proxies = vec![(Proxy::Synflow, "synflow"), (Proxy::Params, "params"), (Proxy::Flops, "flops")];
    if args.iter().any(|a| a == "--zen") {
        proxies.push((Proxy::Zen, ""));
    }
    // (ours, theirs, val_accuracy) per proxy
    let mut cols: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = vec![Default::default(); proxies.len()];
    let mut secs = vec![0.0; proxies.len()];
    let mut failed = vec![0usize; proxies.len()];
    for (key, cell) in cells.iter().take(limit) {
        let t: Vec<u8> = key.trim_matches(|c| c == '(' || c == ')').split(',').map(|x| x.trim().parse().expect("op id")).collect();
        let sample = Nb201::from_naslib(t.try_into().expect("6 ops")).expect("NASLib tuple");
        let net = space.lower(&sample).expect("lowers");
        let val = cell["val_accuracy"].as_f64().expect("val_accuracy");
        for (k, (p, theirs)) in proxies.iter().enumerate() {
            let start = Instant::now();
            let ours = score(&net, *p, &batch, seed);
            secs[k] += start.elapsed().as_secs_f64();
            let Ok(ours) = ours else {
                failed[k] += 1;
                continue;
            };
            let theirs = cell.get(*theirs).and_then(|v| v["score"].as_f64()).unwrap_or(f64::NAN);
            cols[k].0.push(ours);
            cols[k].1.push(theirs);
            cols[k].2.push(val);
        }
    }
    println!("{:<10} {:>6} {:>7} {:>14} {:>14} {:>14} {:>10}", "proxy", "cells", "failed", "ρ(ours,NASLib)", "ρ(ours,val)", "ρ(NASLib,val)", "s/cell");
    for (k, (p, _)) in proxies.iter().enumerate() {
        let (ours, theirs, val) = &cols[k];
        // cells the file has no value for (one synflow entry is missing) are left out of the pairs with the file
        let pairs: Vec<(f64, f64, f64)> =
            ours.iter().zip(theirs).zip(val).filter(|((_, t), _)| t.is_finite()).map(|((o, t), v)| (*o, *t, *v)).collect();
        let o: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        let t: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        let v: Vec<f64> = pairs.iter().map(|p| p.2).collect();
        let n = ours.len() + failed[k];
        println!(
            "{:<10} {:>6} {:>7} {:>14.4} {:>14.4} {:>14.4} {:>10.4}",
            p.name(),
            ours.len(),
            failed[k],
            spearman(&o, &t),
            spearman(ours, val),
            spearman(&t, &v),
            secs[k] / n.max(1) as f64
        );
    }
}
