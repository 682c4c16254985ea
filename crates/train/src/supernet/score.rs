//! Scoring a subnet with inherited weights: batch-norm recalibration, then accuracy.
//!
//! The supernet was trained with batch statistics, and running statistics shared by all subnets would describe none
//! of them, so before a subnet is scored its batch norms get its own statistics (OFA's "BN recalibration"): the
//! subnet runs on `batches` fixed training batches and each layer's mean and variance are averaged over them. The
//! batches are drawn once (seeded) and are the same for every subnet, so subnets are compared under one draw.

use super::train::images;
use super::{check_sample, Norm, Pass, Supernet};
use crate::data::{Dataset, Split};
use crate::error::TrainError;
use crate::train::{catch, logits_vec, score};
use burn::tensor::Device;
use rand::seq::SliceRandom;
use tessera_core::{rng_for, Sample};

/// Recalibration batches and the examples a subnet is scored on.
#[derive(Clone, Debug)]
pub struct Scorer {
    calibration: Vec<Vec<usize>>,
    examples: Vec<usize>,
    eval_batch: usize,
}

impl Scorer {
    /// `batches` batches of `batch_size` training examples (seeded draw) recalibrate; `examples` (e.g. the validation
    /// split) are scored. Errors when there is nothing to recalibrate on or to score.
    pub fn new(
        split: &Split,
        examples: &[usize],
        batches: usize,
        batch_size: usize,
        seed: u64,
    ) -> Result<Self, TrainError> {
        if batches == 0 || batch_size < 2 {
            return Err(TrainError::Config(format!(
                "batch-norm recalibration needs at least 1 batch of at least 2 examples, got {batches} of {batch_size}"
            )));
        }
        if split.train.len() < 2 || examples.is_empty() {
            return Err(TrainError::Incompatible(
                "recalibration needs training examples and scoring needs examples".into(),
            ));
        }
        let mut order = split.train.clone();
        order.shuffle(&mut rng_for(seed, 0xca1b));
        // cycle through the training split if it is smaller than the batches asked for
        let calibration = (0..batches)
            .map(|b| {
                (0..batch_size)
                    .map(|i| order[(b * batch_size + i) % order.len()])
                    .collect()
            })
            .collect();
        Ok(Scorer {
            calibration,
            examples: examples.to_vec(),
            eval_batch: 500,
        })
    }

    /// Accuracy (%) of `sample`'s subnet with inherited weights on the scorer's examples, after recalibration.
    /// `net` must be in inference mode (`Module::valid`, as [`train_supernet`](super::train::train_supernet)
    /// returns it). Errors: a sample outside the supernet ([`TrainError::Incompatible`]).
    pub fn accuracy(
        &self,
        net: &Supernet,
        data: &Dataset,
        sample: &Sample,
    ) -> Result<f64, TrainError> {
        check_sample(net.space(), sample)?;
        catch(|| {
            let device = Device::flex();
            let mut sums = Vec::new();
            for idx in &self.calibration {
                let x = images(data, idx, &device)?;
                let _ = net.forward(x, sample, &mut Pass::new(Norm::Collect(&mut sums)));
            }
            let n = self.calibration.len() as f64;
            let stats: Vec<_> = sums
                .into_iter()
                .map(|(m, v)| (m.div_scalar(n), v.div_scalar(n)))
                .collect();
            let mut correct = 0usize;
            for idx in self.examples.chunks(self.eval_batch) {
                let x = images(data, idx, &device)?;
                let logits = net.forward(x, sample, &mut Pass::new(Norm::Stats(&stats)));
                let [_, k] = logits.dims();
                let labels: Vec<u32> = idx.iter().map(|&i| data.labels[i]).collect();
                correct += score(&logits_vec(logits), k, &labels).1;
            }
            Ok(100.0 * correct as f64 / self.examples.len() as f64)
        })
    }
}
