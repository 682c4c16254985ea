//! Zero-cost proxies: scores of an untrained network that rank architectures in milliseconds instead of a training
//! run (Abdelfattah et al., ICLR 2021; Mellor et al., ICML 2021; Lin et al., ICCV 2021).
//!
//! Every proxy works on any network the IR describes (except graph networks), at initialisation, seeded: the
//! weights come from [`Model::new`] with the given seed and the batch from [`ProxyBatch::draw`]. Definitions follow
//! the zero-cost-nas / NASLib code; each file says where it departs and why.
//!
//! | proxy | file | what |
//! |---|---|---|
//! | `synflow` | [`synflow`] | data-free: all-ones input, absolute weights, batch norm removed, f64; Σ \|θ ⊙ ∂R/∂θ\| |
//! | `snip` | [`saliency`] | Σ \|θ ⊙ ∂L/∂θ\| on a cross-entropy batch |
//! | `grad_norm` | [`saliency`] | Σ over layers of ‖∂L/∂θ‖₂ |
//! | `grasp` | [`saliency`] | Σ −θ ⊙ (H g), the Hessian-gradient product by central differences (f64) |
//! | `fisher` | [`fisher`] | Σ over channels of ½·mean over the batch of (Σ_spatial a ⊙ ∂L/∂a)² at every conv/linear output |
//! | `jacob_cov` | [`jacob_cov`] | −Σ log(λ + k) + 1/(λ + k) of the correlation of input Jacobians |
//! | `naswot` | [`naswot`] | log-determinant of the Hamming kernel of the ReLU activation codes |
//! | `zen` | [`zen`] | log E‖f(x) − f(x + εx')‖ + Σ log σ̄ of batch norms, Gaussian weights and inputs |
//! | `params`, `flops` | the IR | trainable parameters and FLOPs, the baselines a proxy must beat |
//!
//! "Layers" (the θ of the sums) are the weights of convolutions (a separable convolution's depthwise and
//! pointwise parts each), linear maps, attention projections and graph-layer maps, as PyTorch's `Conv2d` and
//! `Linear` modules would be; biases and normalisation parameters are not counted, as in the reference code.
//!
//! A proxy that comes out NaN or infinite is [`TrainError::NonFinite`], so a search records a failed trial.

pub mod evaluator;
pub mod fisher;
pub mod guide;
pub mod jacob_cov;
pub mod naswot;
pub mod saliency;
pub mod synflow;
pub mod zen;

use crate::data::Dataset;
use crate::error::TrainError;
use crate::model::{Layer, Model, Val};
use burn::module::{Module, ModuleMapper, Param, ParamId, RunningState};
use burn::tensor::{Device, FloatDType, Tensor};
use rand::seq::SliceRandom;
use std::collections::HashMap;
use tessera_core::{rng_for, Network, Op};

/// One zero-cost proxy. Higher is better for every one of them (as published: `jacob_cov` and `naswot` included).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proxy {
    Synflow,
    GradNorm,
    Snip,
    Grasp,
    Fisher,
    JacobCov,
    Naswot,
    Zen,
    Params,
    Flops,
}

impl Proxy {
    pub const ALL: [Proxy; 10] = [
        Proxy::Synflow,
        Proxy::GradNorm,
        Proxy::Snip,
        Proxy::Grasp,
        Proxy::Fisher,
        Proxy::JacobCov,
        Proxy::Naswot,
        Proxy::Zen,
        Proxy::Params,
        Proxy::Flops,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Proxy::Synflow => "synflow",
            Proxy::GradNorm => "grad_norm",
            Proxy::Snip => "snip",
            Proxy::Grasp => "grasp",
            Proxy::Fisher => "fisher",
            Proxy::JacobCov => "jacob_cov",
            Proxy::Naswot => "naswot",
            Proxy::Zen => "zen",
            Proxy::Params => "params",
            Proxy::Flops => "flops",
        }
    }

    /// Parses a name (NASLib's spellings `jacov` and `nwot` too).
    pub fn parse(name: &str) -> Result<Proxy, String> {
        let n = name.trim();
        let alias = match n {
            "jacov" => "jacob_cov",
            "nwot" => "naswot",
            other => other,
        };
        Proxy::ALL
            .into_iter()
            .find(|p| p.name() == alias)
            .ok_or_else(|| {
                format!(
                    "unknown proxy `{n}`; known: {}",
                    Proxy::ALL.map(|p| p.name()).join(", ")
                )
            })
    }

    /// Parses a comma-separated list (`synflow,jacob_cov`), refusing duplicates and an empty list.
    pub fn parse_list(list: &str) -> Result<Vec<Proxy>, String> {
        let mut out = Vec::new();
        for part in list.split(',').filter(|p| !p.trim().is_empty()) {
            let p = Proxy::parse(part)?;
            if out.contains(&p) {
                return Err(format!("proxy `{}` is listed twice", p.name()));
            }
            out.push(p);
        }
        if out.is_empty() {
            return Err(format!(
                "no proxy given; known: {}",
                Proxy::ALL.map(|p| p.name()).join(", ")
            ));
        }
        Ok(out)
    }

    /// Whether the proxy reads the batch's examples and labels (the others are data-free or read the IR only).
    pub fn needs_data(self) -> bool {
        !matches!(
            self,
            Proxy::Synflow | Proxy::Zen | Proxy::Params | Proxy::Flops
        )
    }
}

impl std::fmt::Display for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The examples a proxy looks at: one batch, drawn once and shared by every architecture of a comparison.
#[derive(Clone, Debug)]
pub struct ProxyBatch {
    /// `len · shape.product()` values, example-major.
    pub values: Vec<f32>,
    pub labels: Vec<u32>,
    /// Per-example shape.
    pub shape: Vec<usize>,
    pub classes: usize,
}

impl ProxyBatch {
    /// `size` examples of `pool` (e.g. the training split), drawn without replacement with `seed`.
    pub fn draw(
        data: &Dataset,
        pool: &[usize],
        size: usize,
        seed: u64,
    ) -> Result<ProxyBatch, TrainError> {
        if data.graph.is_some() {
            return Err(TrainError::Incompatible(format!(
                "zero-cost proxies are not implemented for graph datasets ({})",
                data.name
            )));
        }
        if size < 2 {
            return Err(TrainError::Config(format!(
                "a proxy batch needs at least 2 examples, got {size}"
            )));
        }
        if pool.len() < size {
            return Err(TrainError::Config(format!(
                "a proxy batch of {size} examples needs as many to draw from; {} has {}",
                data.name,
                pool.len()
            )));
        }
        let mut idx = pool.to_vec();
        idx.shuffle(&mut rng_for(seed, 0x7072_6f78));
        idx.truncate(size);
        let mut values = Vec::with_capacity(size * data.example_len());
        for &i in &idx {
            values.extend_from_slice(data.example(i));
        }
        Ok(ProxyBatch {
            values,
            labels: idx.iter().map(|&i| data.labels[i]).collect(),
            shape: data.shape.clone(),
            classes: data.classes,
        })
    }

    /// A batch without data, for the data-free proxies: `size` zero examples of `shape`.
    pub fn data_free(shape: &[usize], classes: usize, size: usize) -> ProxyBatch {
        let n: usize = shape.iter().product();
        ProxyBatch {
            values: vec![0.0; size * n],
            labels: vec![0; size],
            shape: shape.to_vec(),
            classes,
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The examples as a tensor on `device`.
    pub(crate) fn input(&self, device: &Device) -> Result<Val, TrainError> {
        Val::from_vec(self.values.clone(), self.len(), &self.shape, device)
    }
}

/// Scores `net` with `proxy` on `batch`, weights initialised from `seed`. Panics inside burn become
/// [`TrainError::Backend`]; a NaN or infinite score becomes [`TrainError::NonFinite`].
pub fn score(
    net: &Network,
    proxy: Proxy,
    batch: &ProxyBatch,
    seed: u64,
) -> Result<f64, TrainError> {
    check(net, batch)?;
    let value = crate::train::catch(|| match proxy {
        Proxy::Synflow => synflow::synflow(net, seed),
        Proxy::GradNorm => saliency::grad_norm(net, batch, seed),
        Proxy::Snip => saliency::snip(net, batch, seed),
        Proxy::Grasp => saliency::grasp(net, batch, seed),
        Proxy::Fisher => fisher::fisher(net, batch, seed),
        Proxy::JacobCov => jacob_cov::jacob_cov(net, batch, seed),
        Proxy::Naswot => naswot::naswot(net, batch, seed),
        Proxy::Zen => zen::zen(net, batch, seed),
        Proxy::Params => Ok(net.params()? as f64),
        Proxy::Flops => Ok(net.flops()? as f64),
    })?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(TrainError::NonFinite {
            proxy: proxy.name(),
            value,
        })
    }
}

/// The network must take the batch's examples and output its classes, and have no graph layers.
fn check(net: &Network, batch: &ProxyBatch) -> Result<(), TrainError> {
    let shapes = net.shapes()?;
    if net.nodes.iter().any(|n| matches!(n.op, Op::Gnn { .. })) {
        return Err(TrainError::Incompatible(
            "zero-cost proxies are not implemented for graph layers".into(),
        ));
    }
    let input = net
        .nodes
        .iter()
        .position(|n| matches!(n.op, Op::Input { .. }));
    match input {
        Some(i) if shapes[i].as_slice() == batch.shape.as_slice() => {}
        Some(i) => {
            return Err(TrainError::Incompatible(format!(
                "network input {:?} but the proxy batch's examples are {:?}",
                shapes[i].as_slice(),
                batch.shape
            )))
        }
        None => {
            return Err(TrainError::Incompatible(
                "the network has no input node".into(),
            ))
        }
    }
    let classes = shapes.last().and_then(|s| s.first().copied()).unwrap_or(0);
    if classes != batch.classes {
        return Err(TrainError::Incompatible(format!(
            "network outputs {classes} classes but the data has {}",
            batch.classes
        )));
    }
    Ok(())
}

/// The device proxies run on: burn's CPU backend with autodiff (batch norm uses batch statistics, as a PyTorch
/// network in `train()` mode does).
pub(crate) fn device() -> Device {
    crate::train::train_device()
}

/// `net` lowered with weights from `seed` on the plain device: the one base every variant of a proxy derives from
/// with [`ready`], so parameter ids agree between them (ids are drawn anew by every [`Model::new`]).
pub(crate) fn base(net: &Network, seed: u64) -> Result<Model, TrainError> {
    Model::new(net, &Device::flex(), seed)
}

/// A copy of `base` ready for gradients: parameters mapped by `map` (seen flat), cast to f64 with `f64s` (batch-norm
/// running statistics too, which a training-mode forward updates), then in training mode on the autodiff device.
pub(crate) fn ready(
    base: &Model,
    map: Option<&mut dyn FnMut(ParamId, Tensor<1>) -> Tensor<1>>,
    f64s: bool,
) -> Model {
    let mut m = match map {
        Some(f) => base.clone().map(&mut Flat(f)),
        None => base.clone(),
    };
    if f64s {
        let mut cast = |_: ParamId, t: Tensor<1>| t.cast(FloatDType::F64);
        m = m.map(&mut Flat(&mut cast));
        for layer in &mut m.layers {
            if let Layer::BatchNorm(bn) = layer {
                bn.running_mean = RunningState::new(bn.running_mean.value().cast(FloatDType::F64));
                bn.running_var = RunningState::new(bn.running_var.value().cast(FloatDType::F64));
            }
        }
    }
    m.train()
}

/// Applies a function to every float parameter, seen flat (`[n]`) and reshaped back.
struct Flat<'f>(&'f mut dyn FnMut(ParamId, Tensor<1>) -> Tensor<1>);

impl ModuleMapper for Flat<'_> {
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let id = p.id;
        let f = &mut self.0;
        p.map(|t| {
            let dims = t.dims();
            let n: usize = dims.iter().product();
            f(id, t.reshape([n])).reshape(dims)
        })
    }
}

/// A weight of a "layer" (see the module docs), as its leaf tensor.
#[derive(Clone, Debug)]
pub(crate) enum Weight {
    D2(Tensor<2>),
    D4(Tensor<4>),
}

impl Weight {
    /// The values, flat and detached.
    pub(crate) fn flat(&self) -> Tensor<1> {
        match self {
            Weight::D2(t) => {
                let n = t.dims().iter().product::<usize>();
                t.clone().detach().reshape([n]).inner()
            }
            Weight::D4(t) => {
                let n = t.dims().iter().product::<usize>();
                t.clone().detach().reshape([n]).inner()
            }
        }
    }
    /// The gradient, flat (zeros when the weight took no part in the loss, as PyTorch's `None` grads count).
    pub(crate) fn grad(&self, grads: &burn::tensor::Gradients) -> Tensor<1> {
        let g = match self {
            Weight::D2(t) => t
                .grad(grads)
                .map(|g| g.reshape([t.dims().iter().product::<usize>()])),
            Weight::D4(t) => t
                .grad(grads)
                .map(|g| g.reshape([t.dims().iter().product::<usize>()])),
        };
        g.unwrap_or_else(|| self.flat().zeros_like())
    }
}

/// The layer weights of `m`, each with its parameter id, in node order.
pub(crate) fn weights(m: &Model) -> Vec<(ParamId, Weight)> {
    let mut out = Vec::new();
    let d2 = |p: &Param<Tensor<2>>| (p.id, Weight::D2(p.val()));
    let d4 = |p: &Param<Tensor<4>>| (p.id, Weight::D4(p.val()));
    for (layer, node) in m.layers.iter().zip(&m.plan.nodes) {
        match layer {
            Layer::Conv(c) => {
                out.push(d4(&c.weight));
                out.extend(c.pointwise.as_ref().map(d4));
            }
            Layer::Linear(l) if !matches!(node.op, Op::RandomProjection { .. }) => {
                out.push(d2(&l.weight))
            }
            Layer::Attention(a) => out.extend([&a.q, &a.k, &a.v, &a.o].map(|l| d2(&l.weight))),
            Layer::Gnn(g) => out.extend(g.lins.iter().map(|l| d2(&l.weight))),
            _ => {}
        }
    }
    out
}

/// Σ over layer weights of `f(θ, ∂L/∂θ)` (each `f` a scalar tensor), as f64.
pub(crate) fn sum_over(
    ws: &[(ParamId, Weight)],
    grads: &burn::tensor::Gradients,
    f: impl Fn(Tensor<1>, Tensor<1>) -> Tensor<1>,
) -> f64 {
    ws.iter()
        .map(|(_, w)| scalar(f(w.flat(), w.grad(grads))))
        .sum()
}

/// A one-element tensor's value as f64 (any float dtype).
pub(crate) fn scalar(t: Tensor<1>) -> f64 {
    t.into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .map_or(f64::NAN, |v| v.first().copied().unwrap_or(f64::NAN))
}

/// The values of a tensor as f64, row-major.
pub(crate) fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap_or_default()
}

/// Parameter ids of the biases of layers (zeroed by Zen-NAS's Gaussian initialisation).
pub(crate) fn bias_ids(m: &Model) -> Vec<ParamId> {
    let mut out = Vec::new();
    for layer in &m.layers {
        match layer {
            Layer::Conv(c) => out.extend(c.bias.as_ref().map(|b| b.id)),
            Layer::Linear(l) => out.extend(l.bias.as_ref().map(|b| b.id)),
            Layer::Attention(a) => out.extend(
                [&a.q, &a.k, &a.v, &a.o]
                    .iter()
                    .filter_map(|l| l.bias.as_ref().map(|b| b.id)),
            ),
            Layer::Gnn(g) => {
                out.extend(g.lins.iter().filter_map(|l| l.bias.as_ref().map(|b| b.id)))
            }
            _ => {}
        }
    }
    out
}

/// Deltas keyed by parameter: a mapping for [`ready`] that adds `scale · delta` to the listed parameters.
pub(crate) fn shifted<'a>(
    by: &'a HashMap<ParamId, Tensor<1>>,
    scale: f64,
) -> impl FnMut(ParamId, Tensor<1>) -> Tensor<1> + 'a {
    move |id, t| match by.get(&id) {
        Some(d) => t + d.clone().mul_scalar(scale),
        None => t,
    }
}
