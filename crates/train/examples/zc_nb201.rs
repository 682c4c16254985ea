//! Parity of Tessera's zero-cost proxies with NASLib's on NAS-Bench-201 (not a test: it reads the NASLib file from
//! `../shared/data` and takes minutes).
//!
//! For every NB201 cell of `zc_nasbench201.json` (NASLib's precomputed proxies, CIFAR-10 shape: C = 16, N = 5,
//! 3×32×32 inputs, 10 classes), Tessera computes the data-free proxies (`synflow`, `params`, `flops`, and `zen`
//! with `--zen`) and prints, per proxy, the Spearman correlation with the file's value of the same proxy and with
//! the file's validation accuracy (beside the file's own proxy-vs-accuracy figure), and the time per cell.
//!
//! With `--speed`, it instead times every proxy on `--limit` (default 5) cells of the file at C = 16, N = 5 with a
//! batch of 64 Gaussian 3×32×32 examples (there is no CIFAR-10 here; a proxy's cost does not depend on the values)
//! and prints the median and maximum seconds per cell.
//!
//! ```sh
//! cargo run --release -p tessera-train --example zc_nb201 -- [--file PATH] [--limit N] [--seed 0] [--zen] [--speed]
//! ```

use std::time::Instant;
use tessera_core::stats::spearman;
use tessera_core::Space;
use tessera_spaces::nb201::Nb201;
use tessera_train::proxy::{score, Proxy, ProxyBatch};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
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
    let text = text
        .replace("-Infinity", "null")
        .replace("Infinity", "null")
        .replace("NaN", "null");
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let cells = json["cifar10"].as_object().expect("a `cifar10` object");
    let space = Nb201::default();
    let nets = || {
        cells.keys().map(|key| {
            space
                .lower(&Nb201::from_naslib_str(key).expect("NASLib tuple"))
                .expect("lowers")
        })
    };
    if args.iter().any(|a| a == "--speed") {
        let n = limit
            .min(cells.len())
            .min(if limit == usize::MAX { 5 } else { limit });
        let mut rng = tessera_core::rng_for(seed, 1);
        use rand::Rng as _;
        let values: Vec<f32> = (0..64 * 3 * 32 * 32)
            .map(|_| rng.random::<f32>() * 2.0 - 1.0)
            .collect();
        let labels: Vec<u32> = (0..64).map(|i| i % 10).collect();
        let batch = ProxyBatch {
            values,
            labels,
            shape: vec![3, 32, 32],
            classes: 10,
        };
        println!(
            "{:<10} {:>10} {:>10}   (seconds per cell, {n} cells, C=16 N=5, batch 64)",
            "proxy", "median", "max"
        );
        for p in Proxy::ALL {
            let mut t: Vec<f64> = nets()
                .take(n)
                .map(|net| {
                    let start = Instant::now();
                    let _ = score(&net, p, &batch, seed);
                    start.elapsed().as_secs_f64()
                })
                .collect();
            t.sort_by(f64::total_cmp);
            println!(
                "{:<10} {:>10.3} {:>10.3}",
                p.name(),
                t[t.len() / 2],
                t[t.len() - 1]
            );
        }
        return;
    }
    let batch = ProxyBatch::data_free(&[3, 32, 32], 10, 2);
    let mut proxies = vec![
        (Proxy::Synflow, "synflow"),
        (Proxy::Params, "params"),
        (Proxy::Flops, "flops"),
    ];
    if args.iter().any(|a| a == "--zen") {
        proxies.push((Proxy::Zen, ""));
    }
    // (ours, theirs, val_accuracy) per proxy
    let mut cols: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = vec![Default::default(); proxies.len()];
    let mut secs = vec![0.0; proxies.len()];
    let mut failed = vec![0usize; proxies.len()];
    for (key, cell) in cells.iter().take(limit) {
        let sample = Nb201::from_naslib_str(key).expect("NASLib tuple");
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
            let theirs = cell
                .get(*theirs)
                .and_then(|v| v["score"].as_f64())
                .unwrap_or(f64::NAN);
            cols[k].0.push(ours);
            cols[k].1.push(theirs);
            cols[k].2.push(val);
        }
    }
    println!(
        "{:<10} {:>6} {:>7} {:>14} {:>14} {:>14} {:>10}",
        "proxy", "cells", "failed", "ρ(ours,NASLib)", "ρ(ours,val)", "ρ(NASLib,val)", "s/cell"
    );
    for (k, (p, _)) in proxies.iter().enumerate() {
        let (ours, theirs, val) = &cols[k];
        // cells the file has no value for (one synflow entry is missing) are left out of the pairs with the file
        let pairs: Vec<(f64, f64, f64)> = ours
            .iter()
            .zip(theirs)
            .zip(val)
            .filter(|((_, t), _)| t.is_finite())
            .map(|((o, t), v)| (*o, *t, *v))
            .collect();
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
