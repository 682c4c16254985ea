//! `zen` (Lin et al., ICCV 2021, Zen-NAS): data-free. Weights are re-drawn N(0, 1) (biases 0, normalisation layers
//! at their identity init), two Gaussian batches x and x' give f(x) and f(x + 0.01·x'), where f is the feature map
//! before global pooling (or before the classifier when there is none); the score is
//! log(mean over the batch of Σ |f(x) − f(x + 0.01·x')|) + Σ over batch norms of log √(mean of the channel
//! variances). Zen-NAS reads those variances from the running statistics its one forward updates; here they are
//! the batch variances of that forward (what the running statistics estimate).

use super::{base, bias_ids, ready, scalar, weights, ProxyBatch};
use crate::error::TrainError;
use crate::model::{Forward, Val};
use burn::module::ParamId;
use burn::tensor::Tensor;
use std::collections::HashSet;
use tessera_core::{rng_for, Network, Op};

const MIXUP: f64 = 0.01;

pub(crate) fn zen(net: &Network, batch: &ProxyBatch, seed: u64) -> Result<f64, TrainError> {
    // Which parameters are layer weights and biases: read from a model with the same ids.
    let b0 = base(net, seed)?;
    let ws: HashSet<ParamId> = weights(&b0).into_iter().map(|(id, _)| id).collect();
    let bs: HashSet<ParamId> = bias_ids(&b0).into_iter().collect();
    let mut rng = rng_for(seed, 0x7a65_6e);
    let mut gauss = |id: ParamId, t: Tensor<1>| -> Tensor<1> {
        if ws.contains(&id) {
            let n = t.dims()[0];
            let v: Vec<f32> = (0..n)
                .map(|_| crate::train::normal(&mut rng) as f32)
                .collect();
            Tensor::from_data(burn::tensor::TensorData::new(v, [n]), &t.device())
        } else if bs.contains(&id) {
            t.zeros_like()
        } else {
            t
        }
    };
    let m = ready(&b0, Some(&mut gauss), false);
    let pre = pre_pool(net);
    let b = batch.len();
    let n: usize = batch.shape.iter().product();
    let device = super::device();
    let x: Vec<f32> = (0..b * n)
        .map(|_| crate::train::normal(&mut rng) as f32)
        .collect();
    let x2: Vec<f32> = x
        .iter()
        .map(|&v| v + (MIXUP * crate::train::normal(&mut rng)) as f32)
        .collect();
    let features = |x: Vec<f32>, bn_log: Option<&mut f64>| -> Result<Tensor<2>, TrainError> {
        let mut feat: Option<Tensor<2>> = None;
        let mut bn_acc = 0.0;
        let mut tap = |i: usize, op: &Op, input: &Val, out: Val| -> Val {
            if matches!(op, Op::BatchNorm) {
                bn_acc += 0.5 * mean_channel_variance(input).ln();
            }
            if i == pre {
                feat = Some(match &out {
                    Val::D2(t) => t.clone(),
                    Val::D3(t) => t.clone().reshape([b as i64, -1]),
                    Val::D4(t) => t.clone().reshape([b as i64, -1]),
                    Val::Rows(s) => s.dense(),
                });
            }
            out
        };
        let input = Val::from_vec(x, b, &batch.shape, &device)?;
        m.forward_tapped(
            input,
            &mut Forward {
                graph: None,
                rng: None,
            },
            &mut tap,
        );
        if let Some(acc) = bn_log {
            *acc = bn_acc;
        }
        feat.ok_or_else(|| {
            TrainError::Backend("the pre-pooling feature map was not computed".into())
        })
    };
    let mut bn_log = 0.0;
    let f1 = features(x, Some(&mut bn_log))?;
    let f2 = features(x2, None)?;
    let diff = scalar((f1 - f2).abs().sum()) / b as f64;
    Ok(diff.ln() + bn_log)
}

/// The node whose output is the feature map Zen-NAS measures: the input of the first global pooling, else of the
/// classifier.
fn pre_pool(net: &Network) -> usize {
    let find = |pred: &dyn Fn(&Op) -> bool| {
        net.nodes
            .iter()
            .find(|n| pred(&n.op))
            .and_then(|n| n.inputs.first().copied())
    };
    find(&|op| matches!(op, Op::GlobalPool { .. }))
        .or_else(|| find(&|op| matches!(op, Op::Output { .. })))
        .unwrap_or(net.nodes.len().saturating_sub(1))
}

/// Mean over channels of the per-channel variance over batch and positions (dimension 1 is the channel).
fn mean_channel_variance(v: &Val) -> f64 {
    let (vals, dims) = match v {
        Val::D2(t) => (super::values(t.clone().detach()), t.dims().to_vec()),
        Val::D3(t) => (super::values(t.clone().detach()), t.dims().to_vec()),
        Val::D4(t) => (super::values(t.clone().detach()), t.dims().to_vec()),
        Val::Rows(s) => {
            let d = s.dense();
            (super::values(d.clone().detach()), d.dims().to_vec())
        }
    };
    let (b, c) = (dims[0], dims.get(1).copied().unwrap_or(1));
    let spatial: usize = dims.iter().skip(2).product();
    let count = (b * spatial) as f64;
    let mut total = 0.0;
    for ch in 0..c {
        let it = || (0..b).flat_map(move |i| (0..spatial).map(move |k| (i * c + ch) * spatial + k));
        let mean = it().map(|k| vals[k]).sum::<f64>() / count;
        total += it().map(|k| (vals[k] - mean).powi(2)).sum::<f64>() / count;
    }
    total / c as f64
}
