//! Story: MNIST-1D, from the reference pickle (read in Rust) and from this crate's own generator, trains a small
//! 1-D CNN; both reach a similar accuracy.
//!
//! Measured spread of the test accuracy over training seeds 0–9 (`bash benches/test_spread.sh`, AMD EPYC with
//! AVX-512): reference data 96.7–98.0 % (mean 97.2), generated data 95.9–99.1 % (mean 98.1). Bars: 94 % and 92 %.

mod common;

use tessera_core::{Activation, Network, Op, PoolKind};
use tessera_train::data::mnist1d::{generate, read_mnist1d, Mnist1dConfig};
use tessera_train::{train, Control, Dataset, Normalization, Optimizer, Schedule, TrainConfig};

fn cnn1d() -> Network {
    let mut n = Network::new();
    let x = n.add(Op::Input { shape: vec![1, 40] }, &[]);
    let conv = |out, stride| Op::Conv {
        out,
        kernel: 5,
        stride,
        padding: 2,
        dilation: 1,
        groups: 1,
        bias: false,
    };
    let x = n.chain(
        x,
        [
            conv(32, 1),
            Op::BatchNorm,
            Op::act(Activation::Relu),
            conv(64, 2),
            Op::BatchNorm,
            Op::act(Activation::Relu),
            conv(64, 2),
            Op::BatchNorm,
            Op::act(Activation::Relu),
            Op::Pool {
                kind: PoolKind::Max,
                kernel: 2,
                stride: 2,
                padding: 0,
            },
            Op::Flatten,
        ],
    );
    n.add(Op::Output { classes: 10 }, &[x]);
    n
}

fn fit(mut data: Dataset, seed: u64) -> (f64, f64) {
    let split = data.split_or_stratified(0.1, 0.0, 0).unwrap();
    data.normalize(Normalization::Global, &split.train);
    let cfg = TrainConfig {
        epochs: 20,
        batch_size: 64,
        optimizer: Optimizer::ADAMW,
        lr: 3e-3,
        weight_decay: 1e-3,
        schedule: Schedule::Cosine {
            warmup_epochs: 1.0,
            min_factor: 0.0,
        },
        seed,
        ..TrainConfig::default()
    };
    let r = train(&cnn1d(), &data, &split, &cfg, &mut |_| Control::Continue).unwrap();
    (r.test_accuracy, r.train_seconds)
}

#[test]
fn mnist1d_reference_and_generated_data_train_a_1d_cnn() {
    let reference = read_mnist1d(common::shared_data().join("images/mnist1d_data.pkl")).unwrap();
    assert_eq!(
        (reference.len(), reference.shape.clone(), reference.classes),
        (5000, vec![1, 40], 10)
    );
    let s = reference.split.clone().unwrap();
    assert_eq!((s.train.len(), s.test.len()), (4000, 1000));
    let generated = generate(&Mnist1dConfig::default()).unwrap();
    let (mut refs, mut gens) = (Vec::new(), Vec::new());
    for seed in common::seeds(0) {
        let (ref_acc, ref_s) = fit(reference.clone(), seed);
        let (gen_acc, gen_s) = fit(generated.clone(), seed);
        println!(
            "MNIST-1D 1-D CNN (seed {seed}): reference data {ref_acc:.1}% ({ref_s:.1}s), generated data {gen_acc:.1}% ({gen_s:.1}s)"
        );
        common::spread("mnist1d", "reference_test_accuracy", seed, ref_acc);
        common::spread("mnist1d", "generated_test_accuracy", seed, gen_acc);
        refs.push((seed, ref_acc));
        gens.push((seed, gen_acc));
    }
    common::assert_all_at_least("MNIST-1D reference test accuracy", &refs, 94.0);
    common::assert_all_at_least("MNIST-1D generated test accuracy", &gens, 92.0);
}
