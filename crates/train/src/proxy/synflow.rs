//! `synflow` (Tanaka et al., NeurIPS 2020, as a zero-cost proxy in Abdelfattah et al., ICLR 2021): data-free.
//!
//! The network is made linear and positive: batch norm is removed (zero-cost-nas builds the copy with `bn=False`;
//! with an all-ones batch of one, batch statistics would zero every activation), every parameter is replaced by its
//! absolute value, and the input is all ones. With `R` the sum of the outputs, the score is Σ over layer weights of
//! |θ ⊙ ∂R/∂θ|. The whole pass runs in f64: on the NAS-Bench-201 skeleton `R` reaches 10^50, past f32's range.

use super::{base, ready, sum_over, weights};
use crate::error::TrainError;
use crate::model::{Forward, Val};
use burn::tensor::Tensor;
use tessera_core::{Network, Op};

pub(crate) fn synflow(net: &Network, seed: u64) -> Result<f64, TrainError> {
    let mut linear = net.clone();
    for n in &mut linear.nodes {
        if matches!(n.op, Op::BatchNorm) {
            n.op = Op::Identity;
        }
    }
    let mut abs = |_, t: Tensor<1>| t.abs();
    let m = ready(&base(&linear, seed)?, Some(&mut abs), true);
    let device = super::device();
    let shape = m.input_shape().to_vec();
    let n: usize = shape.iter().product();
    let x = super::saliency::cast64(Val::from_vec(vec![1.0; n], 1, &shape, &device)?);
    let ws = weights(&m);
    let out = m
        .forward(
            x,
            &mut Forward {
                graph: None,
                rng: None,
            },
        )
        .into_logits();
    let grads = out.sum().backward();
    Ok(sum_over(&ws, &grads, |w, g| (w * g).abs().sum()))
}
