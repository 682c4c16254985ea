//! Weight-sharing supernets: one set of weights trained once, from which every sample of a space runs as a subnet
//! with inherited weights, so a search scores thousands of architectures in milliseconds each.
//!
//! How the parts connect:
//!
//! ```text
//! Space (chain | nb201) ──► Supernet::for_space ──► Supernet (burn Module: the largest weights of every choice)
//!                                                        │ forward(x, sample, Pass): the sample's subnet only
//! train::train_supernet(rule = SPOS | sandwich) ◄────────┘   (checkpoint each epoch, resume from the last one)
//!        │
//!        ▼
//! score::Scorer: batch-norm recalibration on fixed training batches, then accuracy on the validation split
//! evaluator::SupernetEvaluator = check sample + score + IR profile, as a tessera_core::Evaluator
//! ```
//!
//! * [`nb201`]: SPOS-style cells: every edge holds the weights of all its parametric ops (1×1 and 3×3 conv + BN);
//!   a sample activates one op per edge.
//! * [`chain`]: OFA-style elastic MBConv chain: the largest kernel with centre crops (and OFA's learned kernel
//!   transform matrices), expansion and width by taking the first channels, depth by the first blocks of a stage.
//! * [`train`]: SPOS uniform single path and BigNAS sandwich with in-place distillation; deterministic per seed;
//!   checkpoint/resume ([`checkpoint`]).
//!
//! A subnet is exactly the stand-alone network `Space::lower` builds for the sample: the same layers with the same
//! shapes, so its parameter and MAC counts equal the IR's (a [`Pass`] counts what a forward pass used; the tests
//! compare it with `Network::costs`/`macs`). Batch norm always normalises with the current batch's statistics
//! while training (running statistics mean nothing when every step trains another subnet) and with statistics
//! recalibrated per subnet when scoring ([`Norm`]).

pub mod chain;
pub mod checkpoint;
pub mod evaluator;
pub mod nb201;
pub mod score;
pub mod train;

use crate::depthwise::conv;
use crate::error::TrainError;
use burn::module::{Module, Param, ParamId};
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::{AvgPoolOptions, ConvOptions};
use burn::tensor::{Device, Tensor, TensorData};
use std::sync::Arc;
use tessera_core::{rng_for, Network, Rng, Sample, Space};
use tessera_spaces::chain::Chain;
use tessera_spaces::nb201::Nb201;

const BN_EPS: f64 = 1e-5;

/// How batch-norm layers normalise in one forward pass.
pub enum Norm<'a> {
    /// With the batch's own statistics (training).
    Batch,
    /// With the batch's own statistics, adding each layer's (mean, variance) to `sums` by call order
    /// (recalibration: the sums divided by the number of batches are the subnet's statistics).
    Collect(&'a mut Vec<(Tensor<1>, Tensor<1>)>),
    /// With given per-layer (mean, variance), by call order (scoring after recalibration).
    Stats(&'a [(Tensor<1>, Tensor<1>)]),
}

/// The state of one forward pass through a subnet: how batch norm normalises, and what the pass used.
pub struct Pass<'a> {
    pub norm: Norm<'a>,
    bn_calls: usize,
    /// Trainable parameters the subnet used (effective kernels, sliced channels; a kernel transform matrix is not a
    /// parameter of the subnet: it folds into the effective kernel).
    pub params: u64,
    /// Multiply-accumulates per example of the convolutions and the classifier (the IR's `Network::macs`).
    pub macs: u64,
}

impl<'a> Pass<'a> {
    pub fn new(norm: Norm<'a>) -> Self {
        Pass {
            norm,
            bn_calls: 0,
            params: 0,
            macs: 0,
        }
    }
    pub fn train() -> Pass<'static> {
        Pass::new(Norm::Batch)
    }

    /// Convolution without bias, same padding (`k / 2`), `groups` 1 or depthwise (`depthwise = true`).
    pub(crate) fn conv(
        &mut self,
        x: Tensor<4>,
        w: Tensor<4>,
        stride: usize,
        depthwise: bool,
    ) -> Tensor<4> {
        let [co, ci, kh, kw] = w.dims();
        let groups = if depthwise { x.dims()[1] } else { 1 };
        let y = conv(
            x,
            w,
            None,
            ConvOptions::new([stride; 2], [kh / 2, kw / 2], [1, 1], groups),
        );
        let [_, _, ho, wo] = y.dims();
        let n = (co * ci * kh * kw) as u64;
        self.params += n;
        self.macs += n * (ho * wo) as u64;
        y
    }

    /// Batch normalisation with affine `gamma`, `beta` (sliced to the input's channels by the caller).
    pub(crate) fn bn(&mut self, x: Tensor<4>, gamma: Tensor<1>, beta: Tensor<1>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        self.params += 2 * c as u64;
        let i = self.bn_calls;
        self.bn_calls += 1;
        let (mean, var) = match &mut self.norm {
            Norm::Stats(s) => {
                let (m, v) = s
                    .get(i)
                    .expect("recalibrated statistics for every batch-norm layer of the subnet");
                (m.clone(), v.clone())
            }
            norm => {
                // per (example, channel) means over positions, then over the batch: every group has h·w values
                let x3 = x.clone().reshape([b, c, h * w]);
                let mean = x3.clone().mean_dim(2).mean_dim(0); // [1, c, 1]
                let var = (x3 - mean.clone()).square().mean_dim(2).mean_dim(0);
                let (mean, var) = (mean.reshape([c]), var.reshape([c]));
                if let Norm::Collect(sums) = norm {
                    let (m, v) = (mean.clone().detach(), var.clone().detach());
                    match sums.get_mut(i) {
                        Some(acc) => *acc = (acc.0.clone() + m, acc.1.clone() + v),
                        None => sums.push((m, v)),
                    }
                }
                (mean, var)
            }
        };
        let scale = gamma / var.add_scalar(BN_EPS).sqrt();
        let shift = beta - mean * scale.clone();
        x * scale.reshape([1, c, 1, 1]) + shift.reshape([1, c, 1, 1])
    }

    /// The classifier `x W + b` on pooled features.
    pub(crate) fn linear(&mut self, x: Tensor<2>, w: Tensor<2>, b: Tensor<1>) -> Tensor<2> {
        let [i, o] = w.dims();
        self.params += (i * o + o) as u64;
        self.macs += (i * o) as u64;
        x.matmul(w) + b.unsqueeze::<2>()
    }
}

/// Global average pooling `[B, C, H, W] -> [B, C]`.
pub(crate) fn global_pool(x: Tensor<4>) -> Tensor<2> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h * w]).mean_dim(2).reshape([b, c])
}

/// Average pooling as the IR's `Pool` (padding not counted).
pub(crate) fn avg_pool(x: Tensor<4>, k: usize, s: usize, p: usize) -> Tensor<4> {
    avg_pool2d(
        x,
        AvgPoolOptions::new([k, k])
            .with_stride([s, s])
            .with_padding([p, p])
            .with_count_include_pad(false),
    )
}

/// Draws a supernet's initial weights from the crate's own ChaCha8 stream (never burn's global RNG) and gives every
/// parameter a fixed id, so the same seed builds the same module, and a checkpoint's optimizer state (keyed by
/// parameter id) finds its parameters in a freshly built supernet.
pub(crate) struct Init<'a> {
    rng: Rng,
    next_id: u64,
    device: &'a Device,
}

/// Parameter ids of supernets start here (far from burn's own ids, so the two never meet in one optimizer).
const PARAM_ID_BASE: u64 = 0x5afe_0000_0000_0000;

impl<'a> Init<'a> {
    pub(crate) fn new(seed: u64, device: &'a Device) -> Self {
        Init {
            rng: rng_for(seed, 0x5e9e),
            next_id: PARAM_ID_BASE,
            device,
        }
    }
    fn param<const D: usize>(&mut self, values: Vec<f32>, shape: [usize; D]) -> Param<Tensor<D>> {
        let mut p = Param::from_data(TensorData::new(values, shape), self.device);
        p.id = ParamId::from(self.next_id);
        self.next_id += 1;
        p
    }
    /// PyTorch's default for convolutions and linear layers: U(±1/√fan_in) (of the largest choice).
    pub(crate) fn uniform<const D: usize>(
        &mut self,
        shape: [usize; D],
        fan_in: usize,
    ) -> Param<Tensor<D>> {
        let n = shape.iter().product();
        let v = crate::model::uniform(&mut self.rng, n, 1.0 / (fan_in.max(1) as f64).sqrt());
        self.param(v, shape)
    }
    pub(crate) fn constant<const D: usize>(
        &mut self,
        shape: [usize; D],
        value: f32,
    ) -> Param<Tensor<D>> {
        self.param(vec![value; shape.iter().product()], shape)
    }
    pub(crate) fn identity(&mut self, n: usize) -> Param<Tensor<2>> {
        let mut v = vec![0.0; n * n];
        for i in 0..n {
            v[i * n + i] = 1.0;
        }
        self.param(v, [n, n])
    }
}

/// A convolution without bias followed by batch norm: the weights of the largest choice.
#[derive(Module, Debug)]
pub struct ConvBn {
    /// `[out, in / groups, k, k]`.
    pub weight: Param<Tensor<4>>,
    pub gamma: Param<Tensor<1>>,
    pub beta: Param<Tensor<1>>,
}

impl ConvBn {
    pub(crate) fn new(init: &mut Init<'_>, out: usize, cin: usize, k: usize) -> Self {
        ConvBn {
            weight: init.uniform([out, cin, k, k], cin * k * k),
            gamma: init.constant([out], 1.0),
            beta: init.constant([out], 0.0),
        }
    }
    /// The first `out` output and `cin` input channels of the full kernel, stride `stride`, then batch norm.
    pub(crate) fn forward(
        &self,
        x: Tensor<4>,
        out: usize,
        stride: usize,
        p: &mut Pass<'_>,
    ) -> Tensor<4> {
        let cin = x.dims()[1];
        let [_, _, k, _] = self.weight.dims();
        let w = self.weight.val().slice([0..out, 0..cin, 0..k, 0..k]);
        let y = p.conv(x, w, stride, false);
        p.bn(
            y,
            self.gamma.val().narrow(0, 0, out),
            self.beta.val().narrow(0, 0, out),
        )
    }
}

/// A space's supernet (see the module docs).
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // one per study
pub enum Supernet {
    Nb201(nb201::Nb201Supernet),
    Chain(chain::ChainSupernet),
}

/// Which space a supernet serves, with its sizes: what [`Supernet::new`] builds.
#[derive(Clone, Debug)]
pub enum SupernetSpace {
    Nb201(Nb201),
    /// The chain space; `kernel_transform`: OFA's learned kernel transform matrices between kernel sizes (else a
    /// plain centre crop).
    Chain {
        space: Chain,
        kernel_transform: bool,
    },
}

/// The space kinds that have a supernet, for messages.
pub const SUPERNET_SPACES: &str = "chain, nb201";

impl SupernetSpace {
    /// The supernet space of a `[space]` kind and its options, or why there is none.
    pub fn from_kind(
        kind: &str,
        options: &tessera_spaces::Options,
        kernel_transform: bool,
    ) -> Result<Self, String> {
        match kind {
            "nb201" => Ok(SupernetSpace::Nb201(Nb201::from_options(options)?)),
            "chain" => Ok(SupernetSpace::Chain {
                space: Chain::from_options(options)?,
                kernel_transform,
            }),
            other => Err(format!(
                "space `{other}` has no supernet; spaces with one: {SUPERNET_SPACES}"
            )),
        }
    }
    pub fn space(&self) -> &dyn Space {
        match self {
            SupernetSpace::Nb201(s) => s,
            SupernetSpace::Chain { space, .. } => space,
        }
    }
    /// Input `[C, H, W]` and classes.
    pub fn io(&self) -> ([usize; 3], usize) {
        match self {
            SupernetSpace::Nb201(s) => (s.input, s.classes),
            SupernetSpace::Chain { space, .. } => (space.input, space.classes),
        }
    }
    /// The subnet the sandwich rule always trains first and distils from: every choice at its largest (NB201:
    /// every edge a 3×3 convolution).
    pub fn largest(&self) -> Sample {
        match self {
            SupernetSpace::Nb201(_) => Sample::new(&[3; 6]),
            SupernetSpace::Chain { space, .. } => chain::extreme(space, true),
        }
    }
    /// The subnet the sandwich rule always trains last: every choice at its smallest (NB201: every edge a 1×1
    /// convolution, the cheapest cell that has a parametric op on every edge; an all-`none` cell computes zeros).
    pub fn smallest(&self) -> Sample {
        match self {
            SupernetSpace::Nb201(_) => Sample::new(&[2; 6]),
            SupernetSpace::Chain { space, .. } => chain::extreme(space, false),
        }
    }
    /// A text that changes whenever the supernet's shape changes (checkpoints made for another one are refused).
    pub fn fingerprint(&self) -> String {
        match self {
            SupernetSpace::Nb201(s) => format!("nb201 C={} N={} input={:?} classes={}", s.channels, s.cells, s.input, s.classes),
            SupernetSpace::Chain { space: c, kernel_transform } => format!(
                "chain input={:?} classes={} stem={}/{} channels={:?} strides={:?} head={} depths={:?} kernels={:?} \
                 expansions={:?} width_mults={:?} act={:?} kernel_transform={kernel_transform}",
                c.input,
                c.classes,
                c.stem_channels,
                c.stem_stride,
                c.channels,
                c.strides,
                c.head_channels,
                c.depths,
                c.kernels,
                c.expansions,
                c.width_mults,
                c.act
            ),
        }
    }
}

impl Supernet {
    /// The supernet of `space` with weights drawn from `seed`, on `device`.
    pub fn new(space: &SupernetSpace, device: &Device, seed: u64) -> Supernet {
        let mut init = Init::new(seed, device);
        match space {
            SupernetSpace::Nb201(s) => {
                Supernet::Nb201(nb201::Nb201Supernet::new(Arc::new(s.clone()), &mut init))
            }
            SupernetSpace::Chain {
                space,
                kernel_transform,
            } => Supernet::Chain(chain::ChainSupernet::new(
                Arc::new(space.clone()),
                *kernel_transform,
                &mut init,
            )),
        }
    }

    /// The logits `[B, classes]` of `sample`'s subnet on `x` `[B, C, H, W]`. The sample must be valid for the space
    /// (checked by callers: [`check_sample`]).
    pub fn forward(&self, x: Tensor<4>, sample: &Sample, p: &mut Pass<'_>) -> Tensor<2> {
        match self {
            Supernet::Nb201(n) => n.forward(x, sample, p),
            Supernet::Chain(c) => c.forward(x, sample, p),
        }
    }

    /// The space this supernet serves.
    pub fn space(&self) -> &dyn Space {
        match self {
            Supernet::Nb201(n) => n.space.as_ref(),
            Supernet::Chain(c) => c.space.as_ref(),
        }
    }
}

/// `Ok` when `sample` is a subnet of the supernet of `space` (a valid sample of the space); else what is wrong.
pub fn check_sample(space: &dyn Space, sample: &Sample) -> Result<(), TrainError> {
    if space.is_valid(sample) {
        return Ok(());
    }
    let dims = space.dims();
    let why = if sample.len() != dims.len() {
        format!(
            "it has {} choices, the space has {} dimensions",
            sample.len(),
            dims.len()
        )
    } else {
        let (d, c) = dims
            .iter()
            .zip(sample.as_slice())
            .find(|(d, c)| **c as usize >= d.choices.len())
            .map(|(d, c)| {
                (
                    d.name.clone(),
                    format!("choice {c} of {} options", d.choices.len()),
                )
            })
            .unwrap_or_else(|| ("?".into(), "invalid".into()));
        format!("dimension `{d}` has {c}")
    };
    Err(TrainError::Incompatible(format!(
        "sample {sample} is outside the {} supernet: {why}",
        space.name()
    )))
}

/// The stand-alone network of a subnet (what its parameters and FLOPs are counted on).
pub fn stand_alone(space: &dyn Space, sample: &Sample) -> Result<Network, TrainError> {
    check_sample(space, sample)?;
    Ok(space.lower(sample)?)
}
