//! Training throughput of the reference networks on this machine, to compare with PyTorch CPU.
//!
//! `cargo run -p tessera-train --release --example train_bench [-- --steps 200 --chain-steps 20 --batch 64 --repeats 3
//! --only mlp,cnn,nb201,chain --json]`
//!
//! Trains each network for `steps` optimiser steps (SGD with momentum, batch 64, random 28×28 inputs) through the
//! same `train` loop studies use (batch assembly, forward, loss, backward, optimiser step, divergence check), and
//! prints the median steps/s of `repeats` runs. The networks are the ones of DESIGN.md §4:
//! MLP 784-256-256-10 and CNN conv3x3 1→16, conv3x3 16→32 stride 2, global average pool, linear; plus an
//! NAS-Bench-201 network (C = 16, N = 1 cell per stage, the benchmark's best CIFAR-10 cell) on 1×28×28, and one
//! MBConv network of the chain space (`CHAIN_SAMPLE`, `--chain-steps` steps).
//! `benches/train_vs_pytorch.sh` runs the same networks in PyTorch beside it.

use rand::Rng as _;
use std::time::Instant;
use tessera_core::{Activation, Network, Op, PoolKind, Space};
use tessera_train::{train, Control, Dataset, Optimizer, Split, TrainConfig};

fn mlp() -> Network {
    let mut n = Network::new();
    let x = n.add(Op::Input { shape: vec![784] }, &[]);
    let x = n.chain(
        x,
        [
            Op::Linear {
                out: 256,
                bias: true,
            },
            Op::act(Activation::Relu),
            Op::Linear {
                out: 256,
                bias: true,
            },
            Op::act(Activation::Relu),
        ],
    );
    n.add(Op::Output { classes: 10 }, &[x]);
    n
}

fn cnn() -> Network {
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

/// The NB201 skeleton with one cell per stage at C = 16 on MNIST-sized input, with the best CIFAR-10 cell.
fn nb201() -> Network {
    let space = tessera_spaces::nb201::Nb201::new(16, 1, [1, 28, 28], 10);
    let cell = tessera_spaces::nb201::Nb201::parse_str(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    )
    .expect("a valid cell");
    space.lower(&cell).expect("lowers")
}

/// One MobileNet-like network of the chain space (MBConv blocks with depthwise 5×5/7×7 convs, expansions up to 6).
fn chain() -> Network {
    let space = tessera_spaces::chain::Chain::default();
    let sample = tessera_core::Sample::new(&CHAIN_SAMPLE);
    space.lower(&sample).expect("lowers")
}
/// width 1.0; stage depths 3, 2, 1; the Python side of benches/train_vs_pytorch.py builds the same network.
pub const CHAIN_SAMPLE: [u16; 22] = [
    2, 2, 1, 2, 2, 2, 0, 1, 2, 2, 1, 1, 0, 0, 2, 0, 1, 2, 2, 0, 0, 1,
];

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let steps = arg("--steps", 200);
    let batch = arg("--batch", 64);
    let repeats = arg("--repeats", 3).max(1);
    let json = std::env::args().any(|a| a == "--json");
    // `--only mlp,chain`: run the networks whose names start with these words.
    let only = std::env::args().skip_while(|a| a != "--only").nth(1);
    let n = steps * batch;
    let mut rng = tessera_core::rng_for(0, 0);
    let features: Vec<f32> = (0..n * 784).map(|_| rng.random::<f32>()).collect();
    let labels: Vec<u32> = (0..n).map(|_| rng.random_range(0..10)).collect();
    let split = Split {
        train: (0..n).collect(),
        val: vec![],
        test: vec![],
    };
    let backend = format!(
        "burn 0.22.1 flex, {} rayon threads",
        rayon::current_num_threads()
    );
    if !json {
        println!("{backend}, batch {batch}, {steps} steps, median of {repeats}");
        println!(
            "{:<22} {:>10} {:>12} {:>10}",
            "network", "steps/s", "MFLOP/step", "GFLOP/s"
        );
    }
    // The chain network is ~20× the work of the others per step: fewer steps keep the benchmark short.
    let chain_steps = arg("--chain-steps", 20).min(steps);
    let mut results = Vec::new();
    for (name, net, shape) in [
        ("mlp 784-256-256-10", mlp(), vec![784]),
        ("cnn conv16-conv32s2", cnn(), vec![1, 28, 28]),
        ("nb201 C16 N1 28x28", nb201(), vec![1, 28, 28]),
        ("chain mbconv 28x28", chain(), vec![1, 28, 28]),
    ] {
        if only
            .as_ref()
            .is_some_and(|o| !o.split(',').any(|w| name.starts_with(w)))
        {
            continue;
        }
        let data =
            Dataset::new(name, features.clone(), shape, labels.clone(), 10).expect("valid dataset");
        let steps = if name.starts_with("chain") {
            chain_steps
        } else {
            steps
        };
        let cfg = TrainConfig {
            epochs: 1,
            max_steps: Some(steps as u64),
            batch_size: batch,
            optimizer: Optimizer::SGD,
            lr: 0.01,
            max_loss: None,
            ..TrainConfig::default()
        };
        let mut rates = Vec::new();
        for _ in 0..repeats {
            let t = Instant::now();
            let r = train(&net, &data, &split, &cfg, &mut |_| Control::Continue)
                .expect("training runs");
            assert_eq!(r.steps, steps as u64);
            rates.push(steps as f64 / t.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        let rate = rates[rates.len() / 2];
        // a training step is ≈ 3× the forward MACs × 2 FLOP per MAC
        let mflop = net.flops().expect("valid network") as f64 * batch as f64 * 6.0 / 1e6;
        if json {
            results.push(format!(r#"{{"network": "{name}", "steps": {steps}, "steps_per_s": {rate:.3}, "mflop_per_step": {mflop:.1}}}"#));
        } else {
            println!(
                "{name:<22} {rate:>10.1} {mflop:>12.1} {:>10.2}",
                rate * mflop / 1e3
            );
        }
    }
    if json {
        println!(
            r#"{{"backend": "{backend}", "batch": {batch}, "steps": {steps}, "results": [{}]}}"#,
            results.join(", ")
        );
    }
}
