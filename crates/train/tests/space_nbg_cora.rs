//! Story: a NAS-Bench-Graph cell is a real trainable GNN, not just a table key: the benchmark's GCN anchor
//! (`skip, skip, gcn, gcn` on a chain), lowered as the benchmark's own model for Cora (1,433 features, 7 classes,
//! width 256, one post-processing layer, dropout 0.7) and trained with the benchmark's own recipe (raw bag-of-words
//! features, full-graph plain SGD, lr 0.1, weight decay 5e-4, 400 epochs, test accuracy at the first best
//! validation epoch, as `examples/nbg_spearman.rs` trains), lands close to its tabulated accuracy (80.2 %).
//!
//! Measured spread of the test accuracy over training seeds 0–9 (`bash benches/test_spread.sh`): 79.5–81.9 %
//! (mean 80.8; the table says 80.2) on an AMD EPYC with AVX-512. Bar: 77 %. Until then the test trained with Adam
//! on row-normalised features (not the benchmark's recipe) from one seed, 76.8 % on this machine, under a 77 % bar.

mod common;

use tessera_core::{Sample, Space};
use tessera_spaces::nbg::NasBenchGraph;
use tessera_spaces::nbg_canon::{LINKS, OPS};
use tessera_train::data::planetoid::planetoid;
use tessera_train::{train, Control, Optimizer, TrainConfig};

#[test]
fn nas_bench_graph_gcn_cell_trains_on_cora() {
    let data = planetoid(common::shared_data().join("planetoid"), "cora").unwrap();
    let split = data.split.clone().unwrap();
    let options = [("dataset", "cora"), ("dropout", "0.7")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()));
    let space = NasBenchGraph::from_options(&options.collect()).unwrap();
    let op = |n: &str| OPS.iter().position(|o| *o == n).unwrap() as u16;
    let link = LINKS.iter().position(|l| *l == [0, 1, 2, 3]).unwrap() as u16;
    let sample = Sample::new(&[link, op("skip"), op("skip"), op("gcn"), op("gcn")]);
    let net = space.lower(&sample).unwrap();
    let mut accs = Vec::new();
    for seed in common::seeds(0) {
        let cfg = TrainConfig {
            epochs: 400,
            optimizer: Optimizer::Sgd {
                momentum: 0.0,
                nesterov: false,
            },
            lr: 0.1,
            weight_decay: 5e-4,
            max_loss: None,
            seed,
            ..TrainConfig::default()
        };
        let r = train(&net, &data, &split, &cfg, &mut |_| Control::Continue).unwrap();
        println!(
            "NAS-Bench-Graph cell {} ({} params, seed {seed}): Cora test {:.2}% (best val {:.2}% at epoch {}), {:.1}s; \
             benchmark 80.2%",
            space.key(&sample),
            net.params().unwrap(),
            r.test_accuracy,
            r.best_val_accuracy,
            r.best_epoch,
            r.train_seconds
        );
        common::spread("space_nbg_cora", "test_accuracy", seed, r.test_accuracy);
        accs.push((seed, r.test_accuracy));
    }
    common::assert_all_at_least("NAS-Bench-Graph GCN cell Cora test accuracy", &accs, 77.0);
}
