//! Story: a NAS-Bench-Graph cell is a real trainable GNN, not just a table key: the benchmark's GCN anchor
//! (`skip, skip, gcn, gcn` on a chain) lowered with the benchmark's sizes (Cora 1,433 features, 7 classes, width
//! 256, one post-processing layer) trains on Cora's standard split close to its tabulated accuracy (80.2 %).

mod common;

use tessera_core::{Sample, Space};
use tessera_spaces::nbg::NasBenchGraph;
use tessera_spaces::nbg_canon::{LINKS, OPS};
use tessera_train::data::planetoid::planetoid;
use tessera_train::{train, Control, Normalization, Optimizer, TrainConfig};

#[test]
fn nas_bench_graph_gcn_cell_trains_on_cora() {
    let mut data = planetoid(common::shared_data().join("planetoid"), "cora").unwrap();
    let split = data.split.clone().unwrap();
    data.normalize(Normalization::RowL1, &split.train);
    let space = NasBenchGraph::from_options(&[("dataset".to_string(), "cora".to_string())].into()).unwrap();
    let op = |n: &str| OPS.iter().position(|o| *o == n).unwrap() as u16;
    let link = LINKS.iter().position(|l| *l == [0, 1, 2, 3]).unwrap() as u16;
    let sample = Sample::new(&[link, op("skip"), op("skip"), op("gcn"), op("gcn")]);
    let net = space.lower(&sample).unwrap();
    let cfg = TrainConfig {
        epochs: 100,
        optimizer: Optimizer::ADAM,
        lr: 0.01,
        weight_decay: 5e-4,
        seed: 0,
        ..TrainConfig::default()
    };
    let r = train(&net, &data, &split, &cfg, &mut |_| Control::Continue).unwrap();
    println!(
        "NAS-Bench-Graph cell {} ({} params): Cora test {:.2}% (best val {:.2}% at epoch {}), {:.1}s; benchmark 80.2%",
        space.key(&sample),
        net.params().unwrap(),
        r.test_accuracy,
        r.best_val_accuracy,
        r.best_epoch,
        r.train_seconds
    );
    assert!(r.test_accuracy >= 77.0, "test accuracy {:.2}%", r.test_accuracy);
}
