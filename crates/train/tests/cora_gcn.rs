//! Story: Cora in the raw Planetoid format, read in Rust, with the standard split: Kipf & Welling's 2-layer GCN and
//! their hyper-parameters reach ≥ 80 % test accuracy (literature: 81.5 %).
//!
//! Measured spread of the test accuracy over training seeds 0–9 (`bash benches/test_spread.sh`): 81.6–83.1 %
//! (mean 82.1) on an AMD EPYC with AVX-512; seeds 0–4 gave the same values on an emulated AVX2 Zen 3 (qemu-user
//! `-cpu EPYC-Milan`). Bar: 80 %.

mod common;

use tessera_train::data::planetoid::planetoid;
use tessera_train::{train, Control, Normalization, Optimizer, TrainConfig};

#[test]
fn cora_two_layer_gcn_reaches_80_percent() {
    let mut data = planetoid(common::shared_data().join("planetoid"), "cora").unwrap();
    let split = data.split.clone().unwrap();
    assert_eq!(
        (data.len(), data.shape.clone(), data.classes),
        (2708, vec![1433], 7)
    );
    assert_eq!(
        (split.train.len(), split.val.len(), split.test.len()),
        (140, 500, 1000)
    );
    assert_eq!(data.graph.as_ref().unwrap().edges.len(), 10556);
    data.normalize(Normalization::RowL1, &split.train);
    let net = common::gcn(1433, 7);
    let mut accs = Vec::new();
    for seed in common::seeds(0) {
        let cfg = TrainConfig {
            epochs: 200,
            optimizer: Optimizer::ADAM,
            lr: 0.01,
            weight_decay: 5e-4,
            seed,
            ..TrainConfig::default()
        };
        let r = train(&net, &data, &split, &cfg, &mut |_| Control::Continue).unwrap();
        println!(
            "Cora GCN (seed {seed}): test {:.2}% (best val {:.2}% at epoch {}), {:.2}s",
            r.test_accuracy, r.best_val_accuracy, r.best_epoch, r.train_seconds
        );
        common::spread("cora_gcn", "test_accuracy", seed, r.test_accuracy);
        accs.push((seed, r.test_accuracy));
    }
    common::assert_all_at_least("Cora GCN test accuracy", &accs, 80.0);
}

#[test]
fn citeseer_reads_with_its_test_index_gaps() {
    let data = planetoid(common::shared_data().join("planetoid"), "citeseer").unwrap();
    let split = data.split.clone().unwrap();
    assert_eq!(
        (data.len(), data.shape.clone(), data.classes),
        (3327, vec![3703], 6)
    );
    assert_eq!(
        (split.train.len(), split.val.len(), split.test.len()),
        (120, 500, 1000)
    );
}
