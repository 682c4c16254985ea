//! Story: a resumed or repeated study must see the same numbers: the same seed gives bit-identical metrics, and a
//! different seed really changes the run.

mod common;

use tessera_train::data::digits::digits;
use tessera_train::{train, Control, Normalization, Optimizer, Schedule, TrainConfig};

#[test]
fn same_seed_same_metrics_different_seed_different_metrics() {
    let mut data = digits().unwrap();
    let split = data.split_or_stratified(0.1, 0.2, 3).unwrap();
    data.normalize(Normalization::PerFeature, &split.train);
    // dropout, gradient noise, clipping and label smoothing all draw on the seed too
    let mut net = common::mlp(64, &[64], 10);
    let out = net.nodes.len() - 1;
    net.nodes.insert(
        out,
        tessera_core::Node {
            op: tessera_core::Op::Dropout { p: 0.2 },
            inputs: vec![out - 1],
        },
    );
    net.nodes[out + 1].inputs = vec![out];
    let cfg = TrainConfig {
        epochs: 3,
        batch_size: 32,
        optimizer: Optimizer::Sgd {
            momentum: 0.9,
            nesterov: true,
        },
        lr: 0.05,
        weight_decay: 5e-4,
        schedule: Schedule::Step {
            every_epochs: 2,
            gamma: 0.5,
        },
        label_smoothing: 0.1,
        grad_clip_norm: Some(1.0),
        grad_noise: Some(0.01),
        seed: 42,
        ..TrainConfig::default()
    };
    let run = |seed: u64| {
        let cfg = TrainConfig {
            seed,
            ..cfg.clone()
        };
        let r = train(&net, &data, &split, &cfg, &mut |_| Control::Continue).unwrap();
        (
            r.epochs
                .iter()
                .map(|e| (e.train_loss, e.val_accuracy, e.val_loss))
                .collect::<Vec<_>>(),
            r.test_accuracy,
            r.test_loss,
        )
    };
    let a = run(42);
    let b = run(42);
    assert_eq!(a, b, "same seed, different metrics");
    let c = run(43);
    assert_ne!(a.0, c.0, "a different seed changed nothing");
}

#[test]
fn trials_trained_concurrently_match_trials_trained_alone() {
    let mut data = digits().unwrap();
    let split = data.split_or_stratified(0.1, 0.2, 0).unwrap();
    data.normalize(Normalization::Scale(1.0 / 16.0), &split.train);
    let nets = [common::mlp(64, &[32], 10), common::mlp(64, &[48, 16], 10)];
    let cfg = TrainConfig {
        epochs: 2,
        seed: 7,
        ..TrainConfig::default()
    };
    let one = |net: &tessera_core::Network| {
        let r = train(net, &data, &split, &cfg, &mut |_| Control::Continue).unwrap();
        (r.train_loss, r.best_val_accuracy, r.test_accuracy)
    };
    let alone: Vec<_> = nets.iter().map(one).collect();
    let together: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = nets.iter().map(|n| s.spawn(move || one(n))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(alone, together);
}
