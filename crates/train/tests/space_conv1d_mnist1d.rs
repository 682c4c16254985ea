//! Story: the `conv1d` space on MNIST-1D. One of its networks reaches ≥ 90 % on the reference data (the pickle of
//! greydanus/mnist1d) and a similar accuracy on data from this crate's own generator.

mod common;

use tessera_core::Space;
use tessera_spaces::conv1d::Conv1d;
use tessera_train::data::mnist1d::{generate, read_mnist1d, Mnist1dConfig};
use tessera_train::{train, Control, Dataset, Normalization, Optimizer, Schedule, TrainConfig};

fn fit(net: &tessera_core::Network, mut data: Dataset) -> (f64, f64) {
    let split = data.split_or_stratified(0.1, 0.0, 0).unwrap();
    data.normalize(Normalization::Global, &split.train);
    let cfg = TrainConfig {
        epochs: 20,
        batch_size: 64,
        optimizer: Optimizer::ADAMW,
        lr: 3e-3,
        weight_decay: 1e-3,
        schedule: Schedule::Cosine { warmup_epochs: 1.0, min_factor: 0.0 },
        seed: 0,
        ..TrainConfig::default()
    };
    let r = train(net, &data, &split, &cfg, &mut |_| Control::Continue).unwrap();
    (r.test_accuracy, r.train_seconds)
}

#[test]
fn conv1d_space_net_reaches_90_percent_on_mnist1d() {
    let space = Conv1d::default(); // 1×40 input, 10 classes
    let sample = space
        .parse(
            "layers=3,l1_channels=32,l1_kernel=5,l1_down=none,l2_channels=64,l2_kernel=5,l2_down=stride2,\
             l3_channels=64,l3_kernel=5,l3_down=max2,act=relu,head=flatten",
        )
        .unwrap();
    let net = space.lower(&sample).unwrap();
    let reference = read_mnist1d(common::shared_data().join("images/mnist1d_data.pkl")).unwrap();
    let (ref_acc, ref_s) = fit(&net, reference);
    let (gen_acc, gen_s) = fit(&net, generate(&Mnist1dConfig::default()).unwrap());
    println!(
        "conv1d {} ({} params): MNIST-1D reference {ref_acc:.1}% ({ref_s:.1}s), generated {gen_acc:.1}% ({gen_s:.1}s)",
        space.key(&sample),
        net.params().unwrap()
    );
    assert!(ref_acc >= 90.0, "reference {ref_acc:.1}%");
    assert!(gen_acc >= 80.0 && (gen_acc - ref_acc).abs() <= 10.0, "generated {gen_acc:.1}% vs reference {ref_acc:.1}%");
}
