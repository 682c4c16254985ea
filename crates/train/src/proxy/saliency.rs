//! Gradient saliencies on one cross-entropy batch (zero-cost-nas / NASLib definitions):
//!
//! * `snip` (Lee et al., ICLR 2019): Σ |θ ⊙ ∂L/∂θ| (the gradient of a unit weight mask).
//! * `grad_norm`: Σ over layers of ‖∂L/∂θ‖₂.
//! * `grasp` (Wang et al., ICLR 2020): Σ −θ ⊙ (H g) with g = ∂L/∂θ. The reference code gets the Hessian-gradient
//!   product by double backward; burn's autodiff has no second order, so H g is the central difference
//!   (∇L(θ + εĝ) − ∇L(θ − εĝ)) / 2ε · ‖g‖ along ĝ = g/‖g‖, in f64 (the error is O(ε²); ε = 1e-4 relative to ‖θ‖).

use super::{base, ready, scalar, shifted, weights, ProxyBatch, Weight};
use crate::error::TrainError;
use crate::model::{Forward, Model, Val};
use burn::module::ParamId;
use burn::tensor::{FloatDType, Gradients, Tensor};
use std::collections::HashMap;
use tessera_core::Network;

/// Forward + cross-entropy + backward on the batch.
pub(crate) fn loss_grads(
    m: &Model,
    batch: &ProxyBatch,
    f64s: bool,
) -> Result<Gradients, TrainError> {
    let mut x = batch.input(&super::device())?;
    if f64s {
        x = cast64(x);
    }
    let logits = m
        .forward(
            x,
            &mut Forward {
                graph: None,
                rng: None,
            },
        )
        .into_logits();
    let loss = crate::train::loss_fn(logits, &batch.labels, 0.0);
    Ok(loss.backward())
}

pub(crate) fn cast64(x: Val) -> Val {
    match x {
        Val::D2(t) => Val::D2(t.cast(FloatDType::F64)),
        Val::D3(t) => Val::D3(t.cast(FloatDType::F64)),
        Val::D4(t) => Val::D4(t.cast(FloatDType::F64)),
        rows => rows,
    }
}

pub(crate) fn snip(net: &Network, batch: &ProxyBatch, seed: u64) -> Result<f64, TrainError> {
    let m = ready(&base(net, seed)?, None, false);
    let ws = weights(&m);
    let grads = loss_grads(&m, batch, false)?;
    Ok(super::sum_over(&ws, &grads, |w, g| (w * g).abs().sum()))
}

pub(crate) fn grad_norm(net: &Network, batch: &ProxyBatch, seed: u64) -> Result<f64, TrainError> {
    let m = ready(&base(net, seed)?, None, false);
    let ws = weights(&m);
    let grads = loss_grads(&m, batch, false)?;
    Ok(super::sum_over(&ws, &grads, |_, g| g.square().sum().sqrt()))
}

pub(crate) fn grasp(net: &Network, batch: &ProxyBatch, seed: u64) -> Result<f64, TrainError> {
    let b = base(net, seed)?;
    let m = ready(&b, None, true);
    let ws = weights(&m);
    let grads = loss_grads(&m, batch, true)?;
    let g: Vec<(ParamId, Weight, Tensor<1>)> = ws
        .iter()
        .map(|(id, w)| (*id, w.clone(), w.grad(&grads)))
        .collect();
    let g_norm = g
        .iter()
        .map(|(_, _, g)| scalar(g.clone().square().sum()))
        .sum::<f64>()
        .sqrt();
    if g_norm == 0.0 || !g_norm.is_finite() {
        // No gradient reaches the weights (or it is not finite): H g is zero (or undefined).
        return Ok(if g_norm == 0.0 { 0.0 } else { f64::NAN });
    }
    let w_norm = g
        .iter()
        .map(|(_, w, _)| scalar(w.flat().square().sum()))
        .sum::<f64>()
        .sqrt();
    let eps = 1e-4 * w_norm.max(1e-12);
    let unit: HashMap<ParamId, Tensor<1>> = g
        .iter()
        .map(|(id, _, g)| (*id, g.clone().div_scalar(g_norm)))
        .collect();
    let grad_at = |sign: f64| -> Result<Vec<Tensor<1>>, TrainError> {
        // the shift is f64 and so is the copy: the parameters are cast first, then shifted
        let mut shift = shifted(&unit, sign * eps);
        let mut both = |id, t: Tensor<1>| shift(id, t.cast(FloatDType::F64));
        let mp = ready(&b, Some(&mut both), true);
        let wp = weights(&mp);
        let gp = loss_grads(&mp, batch, true)?;
        Ok(wp.iter().map(|(_, w)| w.grad(&gp)).collect())
    };
    let plus = grad_at(1.0)?;
    let minus = grad_at(-1.0)?;
    let scale = g_norm / (2.0 * eps);
    Ok(g.iter()
        .zip(plus.into_iter().zip(minus))
        .map(|((_, w, _), (p, q))| scalar((w.flat() * (p - q).mul_scalar(scale)).sum().neg()))
        .sum())
}
