//! Helpers shared by the integration tests: where the shared data lives, and the reference networks.
#![allow(dead_code)]

use std::path::PathBuf;
use tessera_core::{Activation, GnnKind, Network, Op, PoolKind};
use tessera_train::{Optimizer, Schedule, TrainConfig};

/// `shared/data` beside the repository (`TESSERA_SHARED_DATA` overrides). These files are never committed.
pub fn shared_data() -> PathBuf {
    if let Ok(p) = std::env::var("TESSERA_SHARED_DATA") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    assert!(
        p.is_dir(),
        "test data not found at {} (set TESSERA_SHARED_DATA)",
        p.display()
    );
    p
}

/// Input [inputs] → (Linear → ReLU)* → Output.
pub fn mlp(inputs: usize, hidden: &[usize], classes: usize) -> Network {
    let mut n = Network::new();
    let mut x = n.add(
        Op::Input {
            shape: vec![inputs],
        },
        &[],
    );
    for &h in hidden {
        x = n.chain(
            x,
            [Op::Linear { out: h, bias: true }, Op::act(Activation::Relu)],
        );
    }
    n.add(Op::Output { classes }, &[x]);
    n
}

/// conv3x3(16) BN ReLU maxpool2 → conv3x3(32) BN ReLU maxpool2 → flatten → Output, for [1, 28, 28].
pub fn small_cnn(classes: usize) -> Network {
    let mut n = Network::new();
    let x = n.add(
        Op::Input {
            shape: vec![1, 28, 28],
        },
        &[],
    );
    let pool = Op::Pool {
        kind: PoolKind::Max,
        kernel: 2,
        stride: 2,
        padding: 0,
    };
    let x = n.chain(
        x,
        [
            Op::conv(16, 3, 1),
            Op::BatchNorm,
            Op::act(Activation::Relu),
            pool.clone(),
        ],
    );
    let x = n.chain(
        x,
        [
            Op::conv(32, 3, 1),
            Op::BatchNorm,
            Op::act(Activation::Relu),
            pool,
            Op::Flatten,
        ],
    );
    n.add(Op::Output { classes }, &[x]);
    n
}

/// The reference CNN: conv3x3 1→16, conv3x3 16→32 stride 2, global average pool, linear.
pub fn bench_cnn() -> Network {
    let mut n = Network::new();
    let x = n.add(
        Op::Input {
            shape: vec![1, 28, 28],
        },
        &[],
    );
    let x = n.chain(
        x,
        [
            Op::conv(16, 3, 1),
            Op::act(Activation::Relu),
            Op::conv(32, 3, 2),
            Op::act(Activation::Relu),
        ],
    );
    let x = n.add(
        Op::GlobalPool {
            kind: PoolKind::Avg,
        },
        &[x],
    );
    n.add(Op::Output { classes: 10 }, &[x]);
    n
}

/// Kipf & Welling's 2-layer GCN: dropout 0.5, GCN(16), ReLU, dropout 0.5, GCN(classes).
pub fn gcn(features: usize, classes: usize) -> Network {
    let mut n = Network::new();
    let x = n.add(
        Op::Input {
            shape: vec![features],
        },
        &[],
    );
    n.chain(
        x,
        [
            Op::Dropout { p: 0.5 },
            Op::Gnn {
                kind: GnnKind::Gcn,
                out: 16,
                heads: 1,
            },
            Op::act(Activation::Relu),
            Op::Dropout { p: 0.5 },
            Op::Gnn {
                kind: GnnKind::Gcn,
                out: classes,
                heads: 1,
            },
        ],
    );
    n
}

/// The training seeds a quality test runs: its own `default`, or every seed of `TESSERA_TEST_SEEDS` (`0-9`, or
/// `1,4,7`). `benches/test_spread.sh` sets it to measure the spread of each test's metric over seeds and CPU paths;
/// each threshold is set below the lowest value measured there, and the test's doc comment gives the range.
pub fn seeds(default: u64) -> Vec<u64> {
    let Ok(list) = std::env::var("TESSERA_TEST_SEEDS") else {
        return vec![default];
    };
    let parse = |s: &str| {
        s.trim()
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("TESSERA_TEST_SEEDS: bad seed {s:?} in {list:?}"))
    };
    let mut seeds = Vec::new();
    for part in list.split(',').filter(|p| !p.trim().is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => seeds.extend(parse(a)..=parse(b)),
            None => seeds.push(parse(part)),
        }
    }
    assert!(
        !seeds.is_empty(),
        "TESSERA_TEST_SEEDS={list:?} names no seed"
    );
    seeds
}

/// Prints one measured value in the form `benches/test_spread.sh` collects: `spread <test> <metric> seed=<s> <value>`.
pub fn spread(test: &str, metric: &str, seed: u64, value: f64) {
    println!("spread {test} {metric} seed={seed} {value:.4}");
}

/// Asserts that every value of `values` (one per seed) reaches `bar`, naming the seeds that missed it.
pub fn assert_all_at_least(what: &str, values: &[(u64, f64)], bar: f64) {
    let low: Vec<String> = values
        .iter()
        .filter(|(_, v)| !(*v >= bar))
        .map(|(s, v)| format!("seed {s}: {v:.2}"))
        .collect();
    assert!(low.is_empty(), "{what} below {bar}: {}", low.join(", "));
}

/// The digits tests' training: 30 epochs of AdamW (lr 2e-3, weight decay 1e-4) at batch 32, cosine schedule with a
/// one-epoch warm-up.
pub fn digits_recipe(seed: u64) -> TrainConfig {
    TrainConfig {
        epochs: 30,
        batch_size: 32,
        optimizer: Optimizer::ADAMW,
        lr: 2e-3,
        weight_decay: 1e-4,
        schedule: Schedule::Cosine {
            warmup_epochs: 1.0,
            min_factor: 0.01,
        },
        seed,
        ..TrainConfig::default()
    }
}
