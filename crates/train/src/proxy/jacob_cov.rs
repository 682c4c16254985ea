//! `jacob_cov` (Mellor et al., 2020, v1 of "Neural Architecture Search without Training"), as zero-cost-nas: the
//! Jacobians J of the summed outputs with respect to each input of the batch, their B×B correlation matrix Σ, and
//! −Σ_i [log(λ_i + k) + 1/(λ_i + k)] over its eigenvalues λ, k = 1e-5. Σ is symmetric, so its eigenvalues come from
//! a symmetric solver (NumPy's general `eig` returns the same values up to rounding); values below 0 by rounding are
//! clamped to 0 (NumPy would give NaN). A network whose output does not depend on its input (J = 0) has no
//! correlation: NaN, reported as a failed score.

use super::{base, ready, values, ProxyBatch};
use crate::error::TrainError;
use crate::model::{Forward, Val};
use nalgebra::DMatrix;
use tessera_core::Network;

pub(crate) fn jacob_cov(net: &Network, batch: &ProxyBatch, seed: u64) -> Result<f64, TrainError> {
    let m = ready(&base(net, seed)?, None, false);
    let x = batch.input(&super::device())?;
    let (x, leaf) = match x {
        Val::D2(t) => {
            let t = t.require_grad();
            (Val::D2(t.clone()), Val::D2(t))
        }
        Val::D3(t) => {
            let t = t.require_grad();
            (Val::D3(t.clone()), Val::D3(t))
        }
        Val::D4(t) => {
            let t = t.require_grad();
            (Val::D4(t.clone()), Val::D4(t))
        }
        rows => (rows.clone(), rows),
    };
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
    let j = match leaf {
        Val::D2(t) => t.grad(&grads).map(values),
        Val::D3(t) => t.grad(&grads).map(values),
        Val::D4(t) => t.grad(&grads).map(values),
        Val::Rows(_) => None,
    };
    // no gradient reaches the input when the output does not depend on it: no correlation, NaN
    Ok(j.map_or(f64::NAN, |j| score(&j, batch.len())))
}

/// The score of a `[b, n]` row-major Jacobian.
pub(crate) fn score(j: &[f64], b: usize) -> f64 {
    let n = j.len() / b;
    let rows: Vec<Vec<f64>> = (0..b)
        .map(|i| {
            let r = &j[i * n..(i + 1) * n];
            let mean = r.iter().sum::<f64>() / n as f64;
            r.iter().map(|v| v - mean).collect()
        })
        .collect();
    let norms: Vec<f64> = rows
        .iter()
        .map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt())
        .collect();
    let corr = DMatrix::from_fn(b, b, |i, k| {
        let dot: f64 = rows[i].iter().zip(&rows[k]).map(|(a, c)| a * c).sum();
        dot / (norms[i] * norms[k])
    });
    if corr.iter().any(|v| !v.is_finite()) {
        return f64::NAN;
    }
    let k = 1e-5;
    -corr
        .symmetric_eigenvalues()
        .iter()
        .map(|&l| l.max(0.0) + k)
        .map(|v| v.ln() + 1.0 / v)
        .sum::<f64>()
}
