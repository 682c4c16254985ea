//! Depthwise 2-D convolution (groups = channels, one filter per channel, no bias) with its own backward pass, and the
//! 1×1 convolution as a matmul.
//!
//! Why hand-written: burn 0.22.1 runs a depthwise convolution's input gradient as a grouped `conv_transpose`
//! (burn-flex lowers it to `conv_transpose3d` plus layout copies) and its weight gradient as a loop over groups
//! (`conv2d_weight_grad_groups`); on MBConv networks that was ~40 % of a training step. No crate provides a fast
//! depthwise backward for burn's `flex` backend, so this module adds one as a backend extension ([`DepthwiseBackend`])
//! with a custom autodiff step. Forward, input gradient and weight gradient are three loops over NCHW planes
//! (rayon over batch × channel planes, or over channels for the weight gradient), each written so the inner loop
//! is a long contiguous multiply-add that the compiler vectorises.
//!
//! The trick that keeps the inner loops contiguous for any stride is a polyphase layout: each input plane is
//! zero-padded and split into `sh · sw` sub-planes, sub-plane `(a, b)` holding the padded pixels at rows
//! `≡ a (mod sh)` and columns `≡ b (mod sw)`, each `hq × wq`. Kernel tap `(ky, kx)` then reads sub-plane
//! `(ky mod sh, kx mod sw)` shifted by `(ky / sh, kx / sw)`, and with the output kept at row stride `wq` one tap is a
//! single run over `(oh - 1) · wq + ow` elements (the `wq - ow` extra columns of each row are discarded or, in the
//! backward pass, multiplied by zeros). Every sum runs in a fixed order, so results do not depend on the number of
//! threads.
//!
//! [`conv`] is the entry point: burn's `conv2d`, routed to these kernels or to the 1×1 path where they apply.
//! [`depthwise_conv2d`] falls back to burn's `conv2d` for what these kernels do not cover (dilation > 1, dtypes
//! other than f32).
//!
//! The other half of a separable or MBConv block, the 1×1 convolution, is [`pointwise_conv2d`]: a batched matmul
//! built from burn's own differentiable ops.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch, Flex};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Tensor, TensorData};
use macerator::{AutoArch, Simd, WithSimd};
use rayon::prelude::*;
use std::borrow::Cow;

/// Depthwise convolution as a backend operation: `x [B, C, H, W]`, `weight [C, 1, kh, kw]`, no bias, dilation 1.
#[backend_extension(Flex, Autodiff)]
pub trait DepthwiseBackend: Backend {
    fn depthwise_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self>;
}

impl DepthwiseBackend for Flex {
    fn depthwise_conv2d(
        x: FlexTensor,
        weight: FlexTensor,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FlexTensor {
        let g = Geom::new(&dims4(&x), &dims4(&weight), stride, padding);
        let y = forward(&g, &f32s(&x), &f32s(&weight));
        FlexTensor::from_data(TensorData::new(y, [g.b, g.c, g.oh, g.ow]))
    }
}

/// The backward step: input and weight gradients from the checkpointed input and weight.
#[derive(Debug)]
struct DepthwiseBackward;

impl Backward<Flex, 2> for DepthwiseBackward {
    type State = (NodeId, NodeId, Geom);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_w] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_id, w_id, g) = ops.state;
        let dy = f32s(&grad);
        if let Some(node) = node_x {
            let w = checkpointer.retrieve_node_output::<FlexTensor>(w_id);
            let dx = input_grad(&g, &f32s(&w), &dy);
            grads.register::<Flex>(
                node.id,
                FlexTensor::from_data(TensorData::new(dx, [g.b, g.c, g.h, g.w])),
            );
        }
        if let Some(node) = node_w {
            let x = checkpointer.retrieve_node_output::<FlexTensor>(x_id);
            let dw = weight_grad(&g, &f32s(&x), &dy);
            grads.register::<Flex>(
                node.id,
                FlexTensor::from_data(TensorData::new(dw, [g.c, 1, g.kh, g.kw])),
            );
        }
    }
}

impl<C: CheckpointStrategy> DepthwiseBackend for Autodiff<Flex, C> {
    fn depthwise_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        match DepthwiseBackward
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let g = Geom::new(
                    &dims4(x.primitive()),
                    &dims4(weight.primitive()),
                    stride,
                    padding,
                );
                let x_id = prep.checkpoint(&x);
                let w_id = prep.checkpoint(&weight);
                let y = Flex::depthwise_conv2d(
                    x.into_primitive(),
                    weight.into_primitive(),
                    stride,
                    padding,
                );
                prep.finish((x_id, w_id, g), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::depthwise_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                stride,
                padding,
            )),
        }
    }
}

/// burn's `conv2d`, through the faster paths of this module where they apply: a depthwise convolution (groups = C,
/// weight `[C, 1, kh, kw]`) through [`depthwise_conv2d`], a 1×1 convolution (stride 1, no padding, one group)
/// through [`pointwise_conv2d`], and burn's `conv2d` for everything else. The one entry point the model uses.
pub fn conv(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    opts: ConvOptions<2>,
) -> Tensor<4> {
    let c = x.dims()[1];
    let [co, ci, kh, kw] = weight.dims();
    let [(top, bottom), (left, right)] = opts.padding;
    if (kh, kw, opts.stride, opts.padding, opts.groups) == (1, 1, [1, 1], [(0, 0); 2], 1) {
        return pointwise_conv2d(x, weight, bias);
    }
    if opts.groups != c || co != c || ci != 1 || top != bottom || left != right {
        return conv2d(x, weight, bias, opts);
    }
    let y = depthwise_conv2d(x, weight, opts.stride, [top, left], opts.dilation);
    match bias {
        Some(b) => y + b.reshape([1, c, 1, 1]),
        None => y,
    }
}

/// `conv2d(x, weight, None, stride, padding, dilation, groups = C)` for `x [B, C, H, W]` and `weight [C, 1, kh, kw]`,
/// through the hand-written kernels when they apply (dilation 1, f32) and burn's `conv2d` otherwise.
fn depthwise_conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
) -> Tensor<4> {
    let [_, c, h, w] = x.dims();
    let [co, ci, kh, kw] = weight.dims();
    let covered = dilation == [1, 1]
        && x.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && co == c
        && ci == 1
        && stride[0] >= 1
        && stride[1] >= 1
        && h + 2 * padding[0] >= kh
        && w + 2 * padding[1] >= kw;
    if !covered {
        return conv2d(
            x,
            weight,
            None,
            ConvOptions::new(stride, padding, dilation, c),
        );
    }
    Tensor::from_dispatch(<Dispatch as DepthwiseBackend>::depthwise_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        stride,
        padding,
    ))
}

/// A 1×1 convolution (stride 1, no padding, one group) as one batched matmul `[Co, Ci] × [B, Ci, H·W]`. Same result
/// as `conv2d`, but burn 0.22.1's conv2d backward turns a 1×1 convolution's weight gradient into a convolution with an
/// `H × W` kernel over batch-transposed copies of the input and output gradient (`copy_2d_tiled` and im2col were a
/// third of an MBConv training step); matmul's backward is two more matmuls on strided views, with no copies.
fn pointwise_conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    let [b, ci, h, w] = x.dims();
    let co = weight.dims()[0];
    let y = weight
        .reshape([1, co, ci])
        .matmul(x.reshape([b, ci, h * w]));
    let y = match bias {
        Some(bias) => y + bias.reshape([1, co, 1]),
        None => y,
    };
    y.reshape([b, co, h, w])
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    let d = t.layout().shape().to_vec();
    [d[0], d[1], d[2], d[3]]
}

/// The tensor's values as a contiguous f32 slice (borrowed when it already is one), for the hand-written kernels
/// of this module and of [`crate::sparse`].
pub(crate) fn f32s(t: &FlexTensor) -> Cow<'_, [f32]> {
    assert_eq!(
        t.dtype(),
        DType::F32,
        "the hand-written kernels are f32 only"
    );
    match t.as_slice::<f32>() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(
            t.clone()
                .into_data()
                .try_into_vec::<f32>()
                .expect("f32 data"),
        ),
    }
}

/// Sizes of one depthwise convolution and of its polyphase planes.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Geom {
    b: usize,
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    ph: usize,
    pw: usize,
    oh: usize,
    ow: usize,
    /// Rows and columns of one polyphase sub-plane.
    hq: usize,
    wq: usize,
}

impl Geom {
    fn new(x: &[usize; 4], weight: &[usize; 4], stride: [usize; 2], padding: [usize; 2]) -> Geom {
        let [b, c, h, w] = *x;
        let [co, ci, kh, kw] = *weight;
        assert!(
            co == c && ci == 1,
            "depthwise weight {weight:?} for input {x:?}"
        );
        let [sh, sw] = stride;
        let [ph, pw] = padding;
        let oh = (h + 2 * ph - kh) / sh + 1;
        let ow = (w + 2 * pw - kw) / sw + 1;
        // the padded plane must hold the input (after the leading padding) and every row/column a tap reads
        let hp = (h + ph).max((oh - 1) * sh + kh);
        let wp = (w + pw).max((ow - 1) * sw + kw);
        Geom {
            b,
            c,
            h,
            w,
            kh,
            kw,
            sh,
            sw,
            ph,
            pw,
            oh,
            ow,
            hq: hp.div_ceil(sh),
            wq: wp.div_ceil(sw),
        }
    }
    #[inline(always)]
    fn sub(&self) -> usize {
        self.hq * self.wq
    }
    /// Elements one tap touches at output row stride `wq`.
    #[inline(always)]
    fn run(&self) -> usize {
        (self.oh - 1) * self.wq + self.ow
    }
    /// Offset of tap `(ky, kx)`'s first element in the polyphase buffer.
    #[inline(always)]
    fn tap(&self, ky: usize, kx: usize) -> usize {
        ((ky % self.sh) * self.sw + kx % self.sw) * self.sub()
            + (ky / self.sh) * self.wq
            + kx / self.sw
    }
    /// Position of padded pixel `(r, col)` in the polyphase buffer.
    #[inline(always)]
    fn poly(&self, r: usize, col: usize) -> usize {
        ((r % self.sh) * self.sw + col % self.sw) * self.sub()
            + (r / self.sh) * self.wq
            + col / self.sw
    }
}

/// Writes one zero-padded input plane `[h, w]` into the polyphase buffer, which must be zero where no pixel lands.
/// Every plane of one geometry lands on the same positions, so a buffer zeroed once and only ever written by this
/// function needs no clearing between planes (the forward and weight-gradient kernels rely on it).
#[inline(always)]
fn scatter_poly(g: &Geom, plane: &[f32], poly: &mut [f32]) {
    for (i, row) in plane.chunks_exact(g.w).enumerate() {
        let r = i + g.ph;
        if g.sw == 1 {
            let at = g.poly(r, g.pw);
            poly[at..at + g.w].copy_from_slice(row);
        } else {
            // columns j0, j0 + sw, … share a phase and sit side by side in it
            for j0 in 0..g.sw.min(g.w) {
                let at = g.poly(r, j0 + g.pw);
                for (k, &v) in row[j0..].iter().step_by(g.sw).enumerate() {
                    poly[at + k] = v;
                }
            }
        }
    }
}

/// `dy` plane `[oh, ow]` laid out at row stride `wq` (zeros in the extra columns).
#[inline(always)]
fn spread_rows(g: &Geom, plane: &[f32], wide: &mut [f32]) {
    for (i, row) in plane.chunks_exact(g.ow).enumerate() {
        wide[i * g.wq..i * g.wq + g.ow].copy_from_slice(row);
    }
}

// The per-plane kernels below are plain loops; they run under `macerator::AutoArch::dispatch` so that they are
// compiled once per instruction set (SSE, AVX2, AVX-512) and the best one the CPU has is picked at run time: the
// workspace builds for baseline x86-64, where the loops would vectorise only 4 wide. Every kernel adds in the same
// order whatever the vector width, so results are identical on every path.

/// Runs `plane(p, poly, wide, out)` for every `[batch × channel]` plane `p` of a `[B, C, …]` result whose planes
/// hold `len` values, in parallel, each worker with its own zeroed polyphase and row-stride-`wq` scratch buffers.
fn per_plane(
    g: &Geom,
    len: usize,
    plane: impl Fn(usize, &mut [f32], &mut [f32], &mut [f32]) + Sync,
) -> Vec<f32> {
    let mut all = vec![0.0f32; g.b * g.c * len];
    all.par_chunks_mut(len).enumerate().for_each_init(
        || {
            (
                vec![0.0f32; g.sh * g.sw * g.sub()],
                vec![0.0f32; g.oh * g.wq],
            )
        },
        |(poly, wide), (p, out)| plane(p, poly, wide, out),
    );
    all
}

fn forward(g: &Geom, x: &[f32], weight: &[f32]) -> Vec<f32> {
    let kk = g.kh * g.kw;
    per_plane(g, g.oh * g.ow, |p, poly, wide, out| {
        let (ch, x) = (p % g.c, &x[p * g.h * g.w..(p + 1) * g.h * g.w]);
        AutoArch::new().dispatch(ForwardPlane {
            g,
            x,
            weight: &weight[ch * kk..(ch + 1) * kk],
            poly,
            wide,
            out,
        });
    })
}

/// One output plane: `out = Σ_taps w[t] · x shifted by tap t`.
struct ForwardPlane<'a> {
    g: &'a Geom,
    x: &'a [f32],
    weight: &'a [f32],
    poly: &'a mut [f32],
    wide: &'a mut [f32],
    out: &'a mut [f32],
}

impl WithSimd for ForwardPlane<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self) {
        let ForwardPlane {
            g,
            x,
            weight,
            poly,
            wide,
            out,
        } = self;
        scatter_poly(g, x, poly);
        let wide = &mut wide[..g.run()];
        wide.fill(0.0);
        for (t, &wv) in weight.iter().enumerate() {
            let src = &poly[g.tap(t / g.kw, t % g.kw)..][..wide.len()];
            for (o, &v) in wide.iter_mut().zip(src) {
                *o += wv * v;
            }
        }
        for (i, row) in out.chunks_exact_mut(g.ow).enumerate() {
            row.copy_from_slice(&wide[i * g.wq..i * g.wq + g.ow]);
        }
    }
}

fn input_grad(g: &Geom, weight: &[f32], dy: &[f32]) -> Vec<f32> {
    let kk = g.kh * g.kw;
    per_plane(g, g.h * g.w, |p, poly, wide, out| {
        let (ch, dy) = (p % g.c, &dy[p * g.oh * g.ow..(p + 1) * g.oh * g.ow]);
        AutoArch::new().dispatch(InputGradPlane {
            g,
            dy,
            weight: &weight[ch * kk..(ch + 1) * kk],
            poly,
            wide,
            out,
        });
    })
}

/// One input-gradient plane: each tap scatters `w[t] · dy` back to the pixels it read.
struct InputGradPlane<'a> {
    g: &'a Geom,
    dy: &'a [f32],
    weight: &'a [f32],
    poly: &'a mut [f32],
    /// `dy` at row stride `wq`; its extra columns stay zero from the allocation on
    wide: &'a mut [f32],
    out: &'a mut [f32],
}

impl WithSimd for InputGradPlane<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self) {
        let InputGradPlane {
            g,
            dy,
            weight,
            poly,
            wide,
            out,
        } = self;
        poly.fill(0.0);
        spread_rows(g, dy, wide);
        let wide = &wide[..g.run()];
        for (t, &wv) in weight.iter().enumerate() {
            let dst = &mut poly[g.tap(t / g.kw, t % g.kw)..][..wide.len()];
            for (o, &d) in dst.iter_mut().zip(wide) {
                *o += wv * d;
            }
        }
        for (i, row) in out.chunks_exact_mut(g.w).enumerate() {
            let r = i + g.ph;
            if g.sw == 1 {
                let at = g.poly(r, g.pw);
                row.copy_from_slice(&poly[at..at + g.w]);
            } else {
                for j0 in 0..g.sw.min(g.w) {
                    let at = g.poly(r, j0 + g.pw);
                    for (k, v) in row[j0..].iter_mut().step_by(g.sw).enumerate() {
                        *v = poly[at + k];
                    }
                }
            }
        }
    }
}

/// Lanes of the weight-gradient dot products: independent partial sums the compiler keeps in vector registers.
const LANES: usize = 16;

fn weight_grad(g: &Geom, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let kk = g.kh * g.kw;
    let mut dw = vec![0.0f32; g.c * kk];
    dw.par_chunks_mut(kk).enumerate().for_each_init(
        || {
            (
                vec![0.0f32; g.sh * g.sw * g.sub()],
                vec![0.0f32; g.oh * g.wq],
                vec![[0.0f32; LANES]; kk],
            )
        },
        |(poly, wide, acc), (ch, out)| {
            acc.iter_mut().for_each(|a| *a = [0.0; LANES]);
            for b in 0..g.b {
                let p = b * g.c + ch;
                let x = &x[p * g.h * g.w..(p + 1) * g.h * g.w];
                let dy = &dy[p * g.oh * g.ow..(p + 1) * g.oh * g.ow];
                AutoArch::new().dispatch(WeightGradPlane {
                    g,
                    x,
                    dy,
                    poly,
                    wide,
                    acc,
                });
            }
            for (o, a) in out.iter_mut().zip(acc.iter()) {
                *o = a.iter().sum();
            }
        },
    );
    dw
}

/// One plane's contribution to its channel's weight gradient: per tap, `dy · (x shifted by the tap)` summed into
/// `LANES` partial sums.
struct WeightGradPlane<'a> {
    g: &'a Geom,
    x: &'a [f32],
    dy: &'a [f32],
    poly: &'a mut [f32],
    /// `dy` at row stride `wq`; its extra columns stay zero from the allocation on
    wide: &'a mut [f32],
    acc: &'a mut [[f32; LANES]],
}

impl WithSimd for WeightGradPlane<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self) {
        let WeightGradPlane {
            g,
            x,
            dy,
            poly,
            wide,
            acc,
        } = self;
        scatter_poly(g, x, poly);
        spread_rows(g, dy, wide);
        let d = &wide[..g.run()];
        for (t, a) in acc.iter_mut().enumerate() {
            let src = &poly[g.tap(t / g.kw, t % g.kw)..][..d.len()];
            // a local copy of the lanes, so they stay in registers through the loop
            let mut lanes = *a;
            let (dc, sc) = (d.chunks_exact(LANES), src.chunks_exact(LANES));
            let (dr, sr) = (dc.remainder(), sc.remainder());
            for (dd, ss) in dc.zip(sc) {
                let (dd, ss): (&[f32; LANES], &[f32; LANES]) = (
                    dd.try_into().expect("full chunk"),
                    ss.try_into().expect("full chunk"),
                );
                for l in 0..LANES {
                    lanes[l] += dd[l] * ss[l];
                }
            }
            for (l, (&dd, &ss)) in dr.iter().zip(sr).enumerate() {
                lanes[l] += dd * ss;
            }
            *a = lanes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    /// Forward output, input gradient and weight gradient of the custom op against burn's grouped `conv2d`.
    fn compare(shape: [usize; 4], kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) {
        let device = Device::flex().autodiff();
        let [_, c, _, _] = shape;
        let x0 = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &device);
        let w0 = Tensor::<4>::random(
            [c, 1, kernel[0], kernel[1]],
            Distribution::Uniform(-1.0, 1.0),
            &device,
        );
        let [b, _, h, w] = shape;
        let out = [
            b,
            c,
            (h + 2 * padding[0] - kernel[0]) / stride[0] + 1,
            (w + 2 * padding[1] - kernel[1]) / stride[1] + 1,
        ];
        // a non-uniform upstream gradient, so every output position matters
        let r = Tensor::<4>::random(out, Distribution::Uniform(-1.0, 1.0), &device);
        let run = |custom: bool| {
            let x = x0.clone().detach().require_grad();
            let w = w0.clone().detach().require_grad();
            let y = if custom {
                depthwise_conv2d(x.clone(), w.clone(), stride, padding, [1, 1])
            } else {
                conv2d(
                    x.clone(),
                    w.clone(),
                    None,
                    ConvOptions::new(stride, padding, [1, 1], c),
                )
            };
            let grads = (y.clone() * r.clone()).sum().backward();
            let dx = x.grad(&grads).expect("input gradient");
            let dw = w.grad(&grads).expect("weight gradient");
            (y.into_data(), dx.into_data(), dw.into_data())
        };
        let (a, b) = (run(true), run(false));
        let what =
            format!("shape {shape:?} kernel {kernel:?} stride {stride:?} padding {padding:?}");
        for (name, ours, burns) in [
            ("output", a.0, b.0),
            ("input grad", a.1, b.1),
            ("weight grad", a.2, b.2),
        ] {
            assert_eq!(ours.shape(), burns.shape(), "{name} shape, {what}");
            let (o, r) = (
                ours.try_into_vec::<f32>().unwrap(),
                burns.try_into_vec::<f32>().unwrap(),
            );
            let worst = o
                .iter()
                .zip(&r)
                .map(|(p, q)| (p - q).abs() / q.abs().max(1.0))
                .fold(0.0f32, f32::max);
            assert!(worst <= 1e-4, "{name} differs by {worst}, {what}");
        }
    }

    #[test]
    fn depthwise_forward_and_gradients_match_burn_grouped_conv2d() {
        for k in [3, 5, 7] {
            for s in [1, 2] {
                compare([3, 5, 14, 13], [k, k], [s, s], [k / 2, k / 2]);
            }
        }
        // no padding, odd sizes where stride 2 drops the last column and row
        compare([2, 4, 9, 11], [3, 3], [2, 2], [0, 0]);
        // 7x7 kernel on a 7x7 plane (the last stage of an MBConv network)
        compare([2, 3, 7, 7], [7, 7], [1, 1], [3, 3]);
        // 1-D convolutions run as [B, C, 1, L] with a [1, k] kernel
        for s in [1, 2] {
            compare([3, 6, 1, 29], [1, 5], [1, s], [0, 2]);
        }
        // dilation falls back to burn's conv2d
        let device = Device::flex();
        let x = Tensor::<4>::random([1, 2, 9, 9], Distribution::Default, &device);
        let w = Tensor::<4>::random([2, 1, 3, 3], Distribution::Default, &device);
        let ours = depthwise_conv2d(x.clone(), w.clone(), [1, 1], [2, 2], [2, 2]);
        let burns = conv2d(x, w, None, ConvOptions::new([1, 1], [2, 2], [2, 2], 2));
        ours.into_data()
            .assert_approx_eq::<f32>(&burns.into_data(), burn::tensor::Tolerance::absolute(1e-5));
    }

    #[test]
    fn pointwise_matmul_output_and_gradients_match_burn_conv2d_1x1() {
        let device = Device::flex().autodiff();
        let x0 = Tensor::<4>::random([3, 5, 6, 7], Distribution::Uniform(-1.0, 1.0), &device);
        let w0 = Tensor::<4>::random([4, 5, 1, 1], Distribution::Uniform(-1.0, 1.0), &device);
        let b0 = Tensor::<1>::random([4], Distribution::Uniform(-1.0, 1.0), &device);
        let r = Tensor::<4>::random([3, 4, 6, 7], Distribution::Uniform(-1.0, 1.0), &device);
        let run = |custom: bool| {
            let (x, w, b) = (
                x0.clone().require_grad(),
                w0.clone().require_grad(),
                b0.clone().require_grad(),
            );
            let y = if custom {
                pointwise_conv2d(x.clone(), w.clone(), Some(b.clone()))
            } else {
                conv2d(
                    x.clone(),
                    w.clone(),
                    Some(b.clone()),
                    ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
                )
            };
            let grads = (y.clone() * r.clone()).sum().backward();
            let g = |t: Option<Tensor<4>>| t.expect("gradient").into_data();
            (
                y.into_data(),
                g(x.grad(&grads)),
                g(w.grad(&grads)),
                b.grad(&grads).expect("bias gradient").into_data(),
            )
        };
        let (a, b) = (run(true), run(false));
        let tol = burn::tensor::Tolerance::absolute(1e-4);
        a.0.assert_approx_eq::<f32>(&b.0, tol);
        a.1.assert_approx_eq::<f32>(&b.1, tol);
        a.2.assert_approx_eq::<f32>(&b.2, tol);
        a.3.assert_approx_eq::<f32>(&b.3, tol);
    }

    #[test]
    fn depthwise_without_autodiff_matches_burn() {
        let device = Device::flex();
        let x = Tensor::<4>::random([2, 8, 12, 12], Distribution::Default, &device);
        let w = Tensor::<4>::random([8, 1, 5, 5], Distribution::Default, &device);
        let ours = depthwise_conv2d(x.clone(), w.clone(), [2, 2], [2, 2], [1, 1]);
        let burns = conv2d(x, w, None, ConvOptions::new([2, 2], [2, 2], [1, 1], 8));
        ours.into_data()
            .assert_approx_eq::<f32>(&burns.into_data(), burn::tensor::Tolerance::absolute(1e-5));
    }
}
