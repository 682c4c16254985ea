//! Story: a long search does not leak. Keras Tuner (#873) and Optuna (#1178) users watch memory grow trial after
//! trial; here the resident set after 200 sequential trials stays within 10 % of the one after 20.

mod common;

use std::sync::Arc;
use tessera_core::{Dim, EvalContext, Evaluator, Network, NetworkError, Sample, Space};
use tessera_train::data::digits::digits;
use tessera_train::{Normalization, TrainConfig, TrainEvaluator};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

struct Widths;
impl Space for Widths {
    fn name(&self) -> &str {
        "widths"
    }
    fn dims(&self) -> &[Dim] {
        static DIMS: std::sync::OnceLock<Vec<Dim>> = std::sync::OnceLock::new();
        DIMS.get_or_init(|| {
            vec![
                Dim::new("width", &["8", "16", "32", "64"]),
                Dim::new("depth", &["1", "2"]),
            ]
        })
    }
    fn lower(&self, s: &Sample) -> Result<Network, NetworkError> {
        let w = [8, 16, 32, 64][s[0] as usize];
        Ok(common::mlp(64, &vec![w; s[1] as usize + 1], 10))
    }
}

#[test]
fn rss_after_200_trials_is_within_10_percent_of_rss_after_20() {
    let mut data = digits().unwrap();
    let split = data.split_or_stratified(0.1, 0.2, 0).unwrap();
    data.normalize(Normalization::Scale(1.0 / 16.0), &split.train);
    let cfg = TrainConfig {
        epochs: 1,
        batch_size: 128,
        ..TrainConfig::default()
    };
    let ev = TrainEvaluator::new(Arc::new(Widths), Arc::new(data), split, cfg);
    let mut at_20 = 0;
    for trial in 0..200u64 {
        let s = Sample::new(&[(trial % 4) as u16, ((trial / 4) % 2) as u16]);
        ev.evaluate(&s, &EvalContext { trial, seed: trial })
            .unwrap();
        if trial + 1 == 20 {
            at_20 = rss_bytes();
        }
    }
    let at_200 = rss_bytes();
    println!(
        "RSS after 20 trials {:.1} MB, after 200 {:.1} MB",
        at_20 as f64 / 1e6,
        at_200 as f64 / 1e6
    );
    assert!(
        (at_200 as f64) <= at_20 as f64 * 1.10,
        "RSS grew from {at_20} to {at_200} bytes"
    );
}
