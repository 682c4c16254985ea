//! Sparse node features: the non-zeros of a mostly-zero `[N, F]` input matrix, with a sparse × dense product that
//! has its own backward pass.
//!
//! Citation graphs carry bag-of-words features: Cora's `[2708, 1433]` matrix is 1.3 % non-zero. Graph data trains
//! full-batch, so every graph layer that reads the input computes `X W` over all nodes, the largest product of a
//! step (`N·F·out` = 1 GMAC per layer at width 256, forward, and as much again for `∂W = Xᵀ ∂Y`). Over the
//! non-zeros both cost `nnz·out`, 80 times fewer.
//!
//! Why hand-written: burn has no sparse tensors. Written with burn's gather (`select`) and scatter-add
//! (`select_assign`), the product materialises `[nnz, out]` blocks forward and backward (several hundred MB of
//! copies per step on Cora) and was no faster than the dense GEMM. So this module adds the product as a backend
//! extension ([`SparseBackend`], like [`crate::depthwise`]): the forward walks the rows (CSR), the weight gradient
//! walks the columns (CSC), each output row a run of contiguous multiply-adds, rayon over rows or columns. Sums run in
//! a fixed order, so results do not depend on the number of threads. The input itself never needs a gradient.
//!
//! Dropout on a sparse input draws one mask value per non-zero ([`SparseRows::scale_values`]): a dropped zero is
//! still zero, so the result has the distribution of dense dropout.

use crate::depthwise::f32s;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch, Flex};
use burn::tensor::{Device, Tensor, TensorData};
use macerator::{AutoArch, Simd, WithSimd};
use rayon::prelude::*;
use std::sync::Arc;

/// Where the non-zeros are: row-major (CSR) and, for the transposed product, column-major (CSC) positions.
#[derive(Debug)]
struct Pattern {
    n: usize,
    f: usize,
    /// Non-zeros of row `i` are `row_ptr[i]..row_ptr[i + 1]`, in column order.
    row_ptr: Vec<usize>,
    col: Vec<u32>,
    /// Non-zeros of column `j` are `col_ptr[j]..col_ptr[j + 1]`, in row order; `csc_row` is their row and
    /// `csc_pos` their index in the row-major value array.
    col_ptr: Vec<usize>,
    csc_row: Vec<u32>,
    csc_pos: Vec<u32>,
}

/// A sparse `[n, f]` matrix (the pattern shared between copies; values per copy, since dropout rescales them).
#[derive(Clone, Debug)]
pub struct SparseRows {
    pattern: Arc<Pattern>,
    /// Row-major values of the non-zeros.
    vals: Arc<Vec<f32>>,
    device: Device,
}

impl SparseRows {
    /// Above this fraction of non-zeros the dense product is the faster one (a GEMM streams `N·F·out`
    /// multiply-adds at full SIMD width; the sparse product does `nnz·out` with an indirection per non-zero).
    pub const MAX_DENSITY: f64 = 0.1;

    /// The non-zeros of the row-major `[n, f]` matrix `values`, or `None` when more than [`Self::MAX_DENSITY`] of
    /// it is non-zero (or it is empty or too large to index with 32 bits).
    pub fn from_dense(values: &[f32], n: usize, f: usize, device: &Device) -> Option<SparseRows> {
        debug_assert_eq!(values.len(), n * f);
        let nnz = values.iter().filter(|v| **v != 0.0).count();
        if n * f == 0
            || nnz as f64 > Self::MAX_DENSITY * (n * f) as f64
            || n.max(nnz) > u32::MAX as usize
        {
            return None;
        }
        let mut row_ptr = Vec::with_capacity(n + 1);
        let (mut col, mut vals) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
        let mut col_count = vec![0usize; f];
        for row in values.chunks_exact(f) {
            row_ptr.push(col.len());
            for (j, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    col.push(j as u32);
                    vals.push(v);
                    col_count[j] += 1;
                }
            }
        }
        row_ptr.push(col.len());
        let mut col_ptr = Vec::with_capacity(f + 1);
        col_ptr.push(0);
        for c in &col_count {
            col_ptr.push(col_ptr.last().expect("starts at 0") + c);
        }
        let mut next = col_ptr[..f].to_vec();
        let (mut csc_row, mut csc_pos) = (vec![0u32; nnz], vec![0u32; nnz]);
        for i in 0..n {
            for k in row_ptr[i]..row_ptr[i + 1] {
                let j = col[k] as usize;
                csc_row[next[j]] = i as u32;
                csc_pos[next[j]] = k as u32;
                next[j] += 1;
            }
        }
        let pattern = Pattern {
            n,
            f,
            row_ptr,
            col,
            col_ptr,
            csc_row,
            csc_pos,
        };
        Some(SparseRows {
            pattern: Arc::new(pattern),
            vals: Arc::new(vals),
            device: device.clone(),
        })
    }

    pub fn rows(&self) -> usize {
        self.pattern.n
    }

    pub fn cols(&self) -> usize {
        self.pattern.f
    }

    pub fn nnz(&self) -> usize {
        self.vals.len()
    }

    pub fn device(&self) -> Device {
        self.device.clone()
    }

    /// `X W` for `w` `[f, out]`, differentiable in `w`.
    pub fn matmul(&self, w: Tensor<2>) -> Tensor<2> {
        assert_eq!(
            w.dims()[0],
            self.cols(),
            "sparse [{}, {}] × {:?}",
            self.rows(),
            self.cols(),
            w.dims()
        );
        Tensor::from_dispatch(<Dispatch as SparseBackend>::sparse_matmul(
            w.into_dispatch(),
            self.clone(),
        ))
    }

    /// `X W + b`.
    pub fn linear(&self, w: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<2> {
        let y = self.matmul(w);
        match bias {
            Some(b) => y + b.unsqueeze::<2>(),
            None => y,
        }
    }

    /// The same matrix as a dense tensor (for ops that have no sparse form).
    pub fn dense(&self) -> Tensor<2> {
        let p = &*self.pattern;
        let mut d = vec![0.0f32; p.n * p.f];
        for i in 0..p.n {
            for k in p.row_ptr[i]..p.row_ptr[i + 1] {
                d[i * p.f + p.col[k] as usize] = self.vals[k];
            }
        }
        Tensor::from_data(TensorData::new(d, [p.n, p.f]), &self.device)
    }

    /// Every non-zero multiplied by its entry of `factors` (`nnz` values, in row-major order of the non-zeros).
    pub fn scale_values(&self, factors: &[f32]) -> SparseRows {
        assert_eq!(factors.len(), self.nnz(), "one factor per non-zero");
        let vals = self.vals.iter().zip(factors).map(|(v, m)| v * m).collect();
        SparseRows {
            vals: Arc::new(vals),
            ..self.clone()
        }
    }
}

/// The sparse × dense product as a backend operation: `X [n, f]` (sparse, constant) times `w [f, out]`.
#[backend_extension(Flex, Autodiff)]
pub trait SparseBackend: Backend {
    fn sparse_matmul(w: FloatTensor<Self>, x: SparseRows) -> FloatTensor<Self>;
}

impl SparseBackend for Flex {
    fn sparse_matmul(w: FlexTensor, x: SparseRows) -> FlexTensor {
        let o = w.layout().shape()[1];
        let y = csr_times(&x, &f32s(&w), o);
        FlexTensor::from_data(TensorData::new(y, [x.rows(), o]))
    }
}

/// The backward step: `∂W = Xᵀ ∂Y`.
#[derive(Debug)]
struct SparseMatmulBackward;

impl Backward<Flex, 1> for SparseMatmulBackward {
    type State = SparseRows;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_w] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        if let Some(node) = node_w {
            let x = ops.state;
            let o = grad.layout().shape()[1];
            let dw = csc_times(&x, &f32s(&grad), o);
            grads.register::<Flex>(
                node.id,
                FlexTensor::from_data(TensorData::new(dw, [x.cols(), o])),
            );
        }
    }
}

impl<C: CheckpointStrategy> SparseBackend for Autodiff<Flex, C> {
    fn sparse_matmul(w: FloatTensor<Self>, x: SparseRows) -> FloatTensor<Self> {
        match SparseMatmulBackward
            .prepare::<C>([w.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let y = Flex::sparse_matmul(w.into_primitive(), x.clone());
                prep.finish(x, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::sparse_matmul(w.into_primitive(), x)),
        }
    }
}

/// Output rows per rayon task (a row is a few dozen multiply-adds of `out` values).
const ROWS_PER_TASK: usize = 64;

/// `Y[i] = Σ_k vals[k] · W[col[k]]` over row `i`'s non-zeros.
fn csr_times(x: &SparseRows, w: &[f32], o: usize) -> Vec<f32> {
    let p = &*x.pattern;
    weighted_row_sums(p.n, o, w, |i| {
        (p.row_ptr[i]..p.row_ptr[i + 1]).map(|k| (p.col[k] as usize, x.vals[k]))
    })
}

/// `∂W[j] = Σ_k vals[k] · ∂Y[row[k]]` over column `j`'s non-zeros.
fn csc_times(x: &SparseRows, dy: &[f32], o: usize) -> Vec<f32> {
    let p = &*x.pattern;
    weighted_row_sums(p.f, o, dy, |j| {
        (p.col_ptr[j]..p.col_ptr[j + 1])
            .map(|k| (p.csc_row[k] as usize, x.vals[p.csc_pos[k] as usize]))
    })
}

/// `rows × o` output whose row `r` is `Σ v · w[s]` over `(s, v)` in `terms(r)`; rayon over blocks of rows.
fn weighted_row_sums<F, I>(rows: usize, o: usize, w: &[f32], terms: F) -> Vec<f32>
where
    F: Fn(usize) -> I + Sync,
    I: Iterator<Item = (usize, f32)>,
{
    let mut y = vec![0.0f32; rows * o];
    y.par_chunks_mut(ROWS_PER_TASK * o)
        .enumerate()
        .for_each(|(t, out)| {
            let first = t * ROWS_PER_TASK;
            let terms = |r: usize| terms(first + r);
            AutoArch::new().dispatch(Axpys {
                out,
                o,
                w,
                terms: &terms,
            });
        });
    y
}

/// Rows `out[r] = Σ (s, v) in terms(r): v · w[s]`, for a block of output rows of width `o`: contiguous
/// multiply-adds, compiled for the machine's SIMD width.
struct Axpys<'a, F> {
    out: &'a mut [f32],
    o: usize,
    w: &'a [f32],
    terms: &'a F,
}

impl<F, I> WithSimd for Axpys<'_, F>
where
    F: Fn(usize) -> I,
    I: Iterator<Item = (usize, f32)>,
{
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self) {
        let Axpys { out, o, w, terms } = self;
        for (r, row) in out.chunks_exact_mut(o).enumerate() {
            for (s, v) in terms(r) {
                for (a, b) in row.iter_mut().zip(&w[s * o..(s + 1) * o]) {
                    *a += v * b;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Tolerance;

    fn sample(n: usize, f: usize) -> Vec<f32> {
        // about 7 % non-zero, deterministic, with empty rows and columns
        (0..n * f)
            .map(|k| {
                if (k * 7919) % 97 < 7 && k % f != 3 && k / f != 5 {
                    0.25 + (k % 5) as f32
                } else {
                    0.0
                }
            })
            .collect()
    }

    #[test]
    fn sparse_product_value_and_weight_gradient_match_dense_matmul() {
        let device = Device::flex().autodiff();
        // 150 rows: more than one rayon task of rows, and a partial last one
        let (n, f, o) = (150, 53, 9);
        let x = sample(n, f);
        let sp = SparseRows::from_dense(&x, n, f, &device).expect("sparse enough");
        assert_eq!(sp.nnz(), x.iter().filter(|v| **v != 0.0).count());
        let w0: Vec<f32> = (0..f * o)
            .map(|k| ((k * 31) % 17) as f32 / 17.0 - 0.5)
            .collect();
        let run = |sparse: bool| {
            let w =
                Tensor::<2>::from_data(TensorData::new(w0.clone(), [f, o]), &device).require_grad();
            let y = if sparse {
                sp.linear(w.clone(), None)
            } else {
                Tensor::<2>::from_data(TensorData::new(x.clone(), [n, f]), &device)
                    .matmul(w.clone())
            };
            let loss = (y.clone() * y.clone()).sum();
            let g = w.grad(&loss.backward()).expect("weight gradient");
            (y.into_data(), g.into_data())
        };
        let (ys, gs) = run(true);
        let (yd, gd) = run(false);
        ys.assert_approx_eq::<f32>(&yd, Tolerance::absolute(1e-4));
        gs.assert_approx_eq::<f32>(&gd, Tolerance::absolute(1e-3));
        sp.dense().into_data().assert_approx_eq::<f32>(
            &TensorData::new(x.clone(), [n, f]),
            Tolerance::absolute(0.0),
        );

        // without autodiff, and with rescaled values (dropout)
        let plain = SparseRows::from_dense(&x, n, f, &Device::flex()).expect("sparse enough");
        let half = plain.scale_values(&vec![0.5; plain.nnz()]);
        let w = Tensor::<2>::from_data(TensorData::new(w0.clone(), [f, o]), &Device::flex());
        let expect = Tensor::<2>::from_data(TensorData::new(x, [n, f]), &Device::flex())
            .matmul(w.clone())
            * 0.5;
        half.matmul(w)
            .into_data()
            .assert_approx_eq::<f32>(&expect.into_data(), Tolerance::absolute(1e-4));
    }

    #[test]
    fn dense_features_stay_dense() {
        let x: Vec<f32> = (0..100).map(|k| (k % 3) as f32).collect();
        assert!(SparseRows::from_dense(&x, 10, 10, &Device::flex()).is_none());
    }
}
