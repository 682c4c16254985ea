//! Story: a user searches the MobileNet-like `chain` space on MNIST; a small network from it (inverted-residual
//! blocks with depthwise 3×3/5×5 convolutions) trains to ≥ 89 % test accuracy on the MNIST 5k subset in 5 epochs.
//!
//! Measured spread of the test accuracy over training seeds 0–9 (`bash benches/test_spread.sh`): 91.8–96.3 %
//! (mean 94.9; nine seeds at 94.6 or more, seed 3 at 91.8) on an AMD EPYC with AVX-512. The bar was 95 % until
//! then, which seed 0 (95.5 %, the one the test ran) and five other seeds of ten cleared: one run is no distribution.
//! Bar: 89 %.

mod common;

use tessera_core::Space;
use tessera_spaces::chain::Chain;
use tessera_train::data::csv::mnist_5k;
use tessera_train::{train, Control, Normalization, Optimizer, Schedule, TrainConfig};

#[test]
fn chain_space_cnn_reaches_95_percent_on_mnist_5k() {
    let mut data = mnist_5k(common::shared_data().join("images/mnist_5k.csv.gz")).unwrap();
    let split = data.split_or_stratified(0.1, 0.2, 0).unwrap();
    data.normalize(Normalization::Global, &split.train);
    // 1×28×28 in, a stride-2 stem (burn's CPU depthwise convolutions are slow: keep the maps at 14×14 and below),
    // then stages of 16/32/64 channels at strides 1/2/2
    let options = [("stem_stride", "2")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let space = Chain::from_options(&options).unwrap();
    let sample = space
        .parse(
            "width=0.75,s1_depth=1,s1b1_kernel=3,s1b1_expand=3,s2_depth=1,s2b1_kernel=5,s2b1_expand=3,\
             s3_depth=1,s3b1_kernel=3,s3b1_expand=4",
        )
        .unwrap();
    let net = space.lower(&sample).unwrap();
    let (params, flops) = net.costs().unwrap();
    let mut accs = Vec::new();
    for seed in common::seeds(0) {
        let cfg = TrainConfig {
            epochs: 5,
            batch_size: 64,
            optimizer: Optimizer::ADAMW,
            lr: 4e-3,
            weight_decay: 1e-4,
            schedule: Schedule::Cosine {
                warmup_epochs: 0.5,
                min_factor: 0.01,
            },
            seed,
            ..TrainConfig::default()
        };
        let r = train(&net, &data, &split, &cfg, &mut |e| {
            println!(
                "epoch {}: train {:.3} / {:.1}%, val {:.1}% ({:.1}s)",
                e.epoch, e.train_loss, e.train_accuracy, e.val_accuracy, e.seconds
            );
            Control::Continue
        })
        .unwrap();
        println!(
            "chain {} ({params} params, {:.2} MFLOPs, seed {seed}): MNIST-5k test {:.2}% (best val {:.2}%), {} steps in {:.1}s",
            space.key(&sample),
            flops as f64 / 1e6,
            r.test_accuracy,
            r.best_val_accuracy,
            r.steps,
            r.train_seconds
        );
        common::spread("space_chain_mnist", "test_accuracy", seed, r.test_accuracy);
        accs.push((seed, r.test_accuracy));
    }
    common::assert_all_at_least("chain-space CNN test accuracy", &accs, 89.0);
}
