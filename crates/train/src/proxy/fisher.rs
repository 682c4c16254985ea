//! `fisher` (Turner et al., ICLR 2020; Theis et al. 2018), as zero-cost-nas computes it: at the output `a` of every
//! convolution and linear map, with `γ = ∂L/∂a` on a cross-entropy batch, the channel saliency is
//! ½ · mean over the batch of (Σ_spatial a ⊙ γ)²; the score sums it over channels and layers. The gradient at an
//! activation is read from a zero "probe" added to it (burn keeps gradients of leaves only).

use super::{base, ready, values, ProxyBatch};
use crate::error::TrainError;
use crate::model::{Forward, Val};
use tessera_core::{Network, Op};

pub(crate) fn fisher(net: &Network, batch: &ProxyBatch, seed: u64) -> Result<f64, TrainError> {
    let m = ready(&base(net, seed)?, None, false);
    let x = batch.input(&super::device())?;
    let mut probes: Vec<(Val, Val)> = Vec::new();
    let mut tap = |_: usize, op: &Op, _: &Val, out: Val| -> Val {
        let layer = matches!(
            op,
            Op::Conv { .. }
                | Op::DepthwiseConv { .. }
                | Op::SepConv { .. }
                | Op::Linear { .. }
                | Op::Output { .. }
        );
        if !layer {
            return out;
        }
        let probe = zeros_leaf(&out);
        probes.push((out.clone(), probe.clone()));
        out.add(probe)
    };
    let logits = m
        .forward_tapped(
            x,
            &mut Forward {
                graph: None,
                rng: None,
            },
            &mut tap,
        )
        .into_logits();
    let loss = crate::train::loss_fn(logits, &batch.labels, 0.0);
    let grads = loss.backward();
    let mut total = 0.0;
    for (act, probe) in probes {
        let (a, g, dims) = match (act, probe) {
            (Val::D2(a), Val::D2(p)) => {
                let d = a.dims().to_vec();
                (values(a.detach()), p.grad(&grads).map(values), d)
            }
            (Val::D3(a), Val::D3(p)) => {
                let d = a.dims().to_vec();
                (values(a.detach()), p.grad(&grads).map(values), d)
            }
            (Val::D4(a), Val::D4(p)) => {
                let d = a.dims().to_vec();
                (values(a.detach()), p.grad(&grads).map(values), d)
            }
            _ => continue,
        };
        let Some(g) = g else { continue };
        let (b, c) = (dims[0], dims.get(1).copied().unwrap_or(1));
        let spatial: usize = dims.iter().skip(2).product();
        for ch in 0..c {
            let mut acc = 0.0;
            for i in 0..b {
                let base = (i * c + ch) * spatial;
                let s: f64 = (base..base + spatial).map(|k| a[k] * g[k]).sum();
                acc += s * s;
            }
            total += 0.5 * acc / b as f64;
        }
    }
    Ok(total)
}

/// A zero tensor shaped like `v` that keeps its gradient.
fn zeros_leaf(v: &Val) -> Val {
    match v {
        Val::D2(t) => Val::D2(t.zeros_like().detach().require_grad()),
        Val::D3(t) => Val::D3(t.zeros_like().detach().require_grad()),
        Val::D4(t) => Val::D4(t.zeros_like().detach().require_grad()),
        Val::Rows(s) => Val::D2(s.dense().zeros_like().detach().require_grad()),
    }
}
