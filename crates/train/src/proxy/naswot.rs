//! `naswot` (Mellor et al., ICML 2021; NASLib's `nwot`): every ReLU's input, flattened per example, gives a binary
//! code c (unit active or not); the kernel K = Σ over ReLUs of c cᵀ + (1 − c)(1 − c)ᵀ counts, for each pair of
//! examples, the units on which they agree. The score is log |det K| (NumPy's `slogdet`), here from an LU
//! factorisation in f64. A network with no ReLU has K = 0: −∞, reported as a failed score.

use super::{base, ready, values, ProxyBatch};
use crate::error::TrainError;
use crate::model::{Forward, Val};
use burn::tensor::Tensor;
use nalgebra::DMatrix;
use tessera_core::{Activation, Network, Op};

pub(crate) fn naswot(net: &Network, batch: &ProxyBatch, seed: u64) -> Result<f64, TrainError> {
    let m = ready(&base(net, seed)?, None, false);
    let x = batch.input(&super::device())?;
    let b = batch.len();
    let mut k: Option<Tensor<2>> = None;
    let mut tap = |_: usize, op: &Op, input: &Val, out: Val| -> Val {
        if !matches!(
            op,
            Op::Act {
                act: Activation::Relu
            }
        ) {
            return out;
        }
        let flat: Tensor<2> = match input {
            Val::D2(t) => t.clone(),
            Val::D3(t) => t.clone().reshape([b as i64, -1]),
            Val::D4(t) => t.clone().reshape([b as i64, -1]),
            Val::Rows(s) => s.dense(),
        };
        let c = flat.detach().inner().greater_elem(0.0).float();
        let nc = c.clone().neg().add_scalar(1.0);
        let kk = c.clone().matmul(c.transpose()) + nc.clone().matmul(nc.transpose());
        k = Some(match k.take() {
            Some(acc) => acc + kk,
            None => kk,
        });
        out
    };
    m.forward_tapped(
        x,
        &mut Forward {
            graph: None,
            rng: None,
        },
        &mut tap,
    );
    let Some(k) = k else {
        return Ok(f64::NEG_INFINITY);
    };
    Ok(log_abs_det(&values(k), b))
}

/// log |det M| of a row-major `b×b` matrix.
pub(crate) fn log_abs_det(m: &[f64], b: usize) -> f64 {
    let lu = DMatrix::from_row_slice(b, b, m).lu();
    let u = lu.u();
    (0..b).map(|i| u[(i, i)].abs().ln()).sum()
}
