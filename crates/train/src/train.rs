//! The training loop: optimisers, schedules, regularisers, early stopping, per-epoch reports.
//!
//! [`train`] lowers a network, trains it on the training split, evaluates the validation split after every epoch
//! (reporting an [`EpochReport`] to a callback that may stop the run, which is how a pruner or a multi-fidelity
//! strategy cuts a trial short), keeps the best-validation weights and finally scores the test split with them.
//!
//! Determinism: weights, shuffling, dropout masks and gradient noise all come from ChaCha8 streams derived from
//! [`TrainConfig::seed`]; burn's global RNG is never used. On the CPU backend the same seed then gives the same
//! metrics bit for bit (for a fixed thread count: parallel reductions split work by thread).
//!
//! Graph datasets train full-batch (one step per epoch over all nodes, the loss on training nodes only), as in the
//! GCN literature; everything else trains on shuffled mini-batches.

use crate::data::{Dataset, Split};
use crate::error::TrainError;
use crate::model::{Forward, GraphTensors, Model, Val};
use crate::sparse::SparseRows;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{activation, Device, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::Rng as _;
use std::time::Instant;
use tessera_core::{rng_for, Network, Rng};

/// Which optimiser, with its own hyper-parameters (learning rate and weight decay are in [`TrainConfig`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// SGD with (heavy-ball or Nesterov) momentum, no dampening; weight decay is an L2 term in the gradient
    /// (PyTorch `SGD(weight_decay=…)`).
    Sgd { momentum: f64, nesterov: bool },
    /// Adam; weight decay is an L2 term in the gradient (PyTorch `Adam(weight_decay=…)`, as in the GCN paper).
    Adam { beta1: f32, beta2: f32, eps: f32 },
    /// AdamW: decoupled weight decay (Loshchilov & Hutter).
    AdamW { beta1: f32, beta2: f32, eps: f32 },
}

impl Optimizer {
    pub const SGD: Optimizer = Optimizer::Sgd {
        momentum: 0.9,
        nesterov: false,
    };
    pub const ADAM: Optimizer = Optimizer::Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };
    pub const ADAMW: Optimizer = Optimizer::AdamW {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };
}

/// Learning-rate schedule, evaluated every step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    Constant,
    /// Linear warm-up for `warmup_epochs`, then cosine decay to `min_factor · lr` at the last step.
    Cosine {
        warmup_epochs: f64,
        min_factor: f64,
    },
    /// Multiply by `gamma` every `every_epochs` epochs.
    Step {
        every_epochs: u32,
        gamma: f64,
    },
}

/// Stop when validation accuracy has not improved by more than `min_delta` (percentage points) for `patience`
/// epochs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    pub patience: u32,
    pub min_delta: f64,
}

/// Everything a training run needs besides the network and the data.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub epochs: u32,
    /// Stop after this many optimiser steps even mid-epoch (a step-based fidelity, benchmarks).
    pub max_steps: Option<u64>,
    pub batch_size: usize,
    /// Batch size for validation, test and latency passes.
    pub eval_batch_size: usize,
    pub optimizer: Optimizer,
    pub lr: f64,
    pub weight_decay: f64,
    pub schedule: Schedule,
    /// ε of label smoothing: targets are `(1-ε)·onehot + ε/K`.
    pub label_smoothing: f32,
    /// Clip the global gradient norm (over all parameters, like `torch.nn.utils.clip_grad_norm_`).
    pub grad_clip_norm: Option<f32>,
    /// η of annealed Gaussian gradient noise (Neelakantan et al. 2015): variance `η / (1 + t)^0.55` at step t.
    pub grad_noise: Option<f64>,
    pub early_stopping: Option<EarlyStopping>,
    /// A training loss above this also counts as divergence (besides NaN and ±inf). Cross-entropy starts near
    /// `ln(classes)`; a loss of 10⁶ means the weights have exploded (with ReLUs the loss can stay finite for ever
    /// once every unit is dead). `None`: only non-finite losses.
    pub max_loss: Option<f64>,
    /// Evaluate the test split with the best-validation weights (else with the last ones).
    pub restore_best: bool,
    pub seed: u64,
    /// Run on a dedicated rayon pool of this many threads (`None`: the global pool).
    pub threads: Option<usize>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            max_steps: None,
            batch_size: 64,
            eval_batch_size: 512,
            optimizer: Optimizer::ADAMW,
            lr: 1e-3,
            weight_decay: 0.0,
            schedule: Schedule::Constant,
            label_smoothing: 0.0,
            grad_clip_norm: None,
            grad_noise: None,
            early_stopping: None,
            max_loss: Some(1e6),
            restore_best: true,
            seed: 0,
            threads: None,
        }
    }
}

impl TrainConfig {
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: &str| Err(TrainError::Config(m.into()));
        if self.epochs == 0 {
            return bad("epochs must be at least 1");
        }
        if self.batch_size == 0 || self.eval_batch_size == 0 {
            return bad("batch sizes must be positive");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("the learning rate must be a positive number");
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight decay must be ≥ 0");
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return bad("label smoothing must be in [0, 1)");
        }
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if self.grad_clip_norm.is_some_and(|c| !positive(c as f64))
            || self.grad_noise.is_some_and(|e| !(positive(e) || e == 0.0))
        {
            return bad("gradient clipping must be > 0 and gradient noise ≥ 0");
        }
        if self.threads == Some(0) {
            return bad("threads must be at least 1");
        }
        Ok(())
    }
}

/// What a per-epoch callback sees. Accuracies are in percent, losses are mean cross-entropy (without smoothing
/// for validation).
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: u32,
    pub steps: u64,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
    /// Learning rate at the last step of the epoch.
    pub lr: f64,
    /// Wall seconds since training started.
    pub seconds: f64,
}

/// The callback's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    Stop,
}

/// Why training ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    Completed,
    MaxSteps,
    EarlyStopping,
    Callback,
}

/// The outcome of [`train`].
#[derive(Clone, Debug)]
pub struct TrainReport {
    pub epochs: Vec<EpochReport>,
    /// Epoch (1-based) of the best validation accuracy.
    pub best_epoch: u32,
    pub best_val_accuracy: f64,
    pub test_accuracy: f64,
    pub test_loss: f64,
    /// Mean training loss of the last epoch.
    pub train_loss: f64,
    pub steps: u64,
    pub train_seconds: f64,
    pub stop: StopReason,
    /// The trained model (best-validation weights if `restore_best`) in inference mode on the plain device.
    pub model: Model,
}

/// The device training runs on: burn's pure-Rust CPU backend `flex`, with autodiff.
pub fn train_device() -> Device {
    Device::flex().autodiff()
}

/// Makes the C allocator keep freed memory for reuse, once per process (glibc on Linux; elsewhere nothing).
///
/// A training step allocates and frees activations of many megabytes. By default glibc serves such blocks with
/// `mmap` and hands them back with `munmap` (and trims the heap when its top is free), so every step faults in
/// and zeroes fresh pages: on an MBConv network of the chain space that was about 15 % of the step time in the
/// kernel. With `mmap` off for the heap and trimming off, freed activations are reused the next step, as
/// PyTorch's caching allocator does. The resident size stays at the peak of one step (the RSS test pins it).
/// Called by [`train`] and [`measure_latency`](crate::measure_latency); idempotent.
#[allow(unsafe_code)] // the one FFI call below; the workspace denies unsafe code everywhere else
pub fn keep_freed_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes glibc's allocation thresholds; it is thread-safe and takes plain integers.
        unsafe {
            libc::mallopt(libc::M_MMAP_MAX, 0);
            libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        }
    });
}

/// Trains `net` on `data` (indices from `split`) and calls `on_epoch` after every epoch.
///
/// Errors: [`TrainError::Diverged`] as soon as a training loss is NaN, infinite or above
/// [`TrainConfig::max_loss`]; [`TrainError::Incompatible`]
/// when the network's input or output does not fit the data; [`TrainError::Backend`] if burn panics (caught).
pub fn train(
    net: &Network,
    data: &Dataset,
    split: &Split,
    cfg: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochReport) -> Control,
) -> Result<TrainReport, TrainError> {
    cfg.validate()?;
    keep_freed_memory();
    let Some(n) = cfg.threads else {
        return catch(|| run(net, data, split, cfg, on_epoch));
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| TrainError::Config(format!("cannot start {n} threads: {e}")))?;
    // Training runs on the dedicated pool; `on_epoch` need not be `Send`, so it stays on this thread and the
    // trainer asks it over a pair of channels.
    let (to_caller, from_trainer) = std::sync::mpsc::channel::<EpochReport>();
    let (to_trainer, from_caller) = std::sync::mpsc::channel::<Control>();
    std::thread::scope(|s| {
        let trainer = s.spawn(move || {
            let mut ask = move |r: &EpochReport| {
                if to_caller.send(r.clone()).is_err() {
                    return Control::Stop;
                }
                from_caller.recv().unwrap_or(Control::Stop)
            };
            pool.install(|| catch(|| run(net, data, split, cfg, &mut ask)))
        });
        for report in from_trainer.iter() {
            let _ = to_trainer.send(on_epoch(&report));
        }
        trainer
            .join()
            .unwrap_or_else(|_| Err(TrainError::Backend("the training thread panicked".into())))
    })
}

/// Runs `f`, turning a panic inside burn into [`TrainError::Backend`].
pub(crate) fn catch<T>(f: impl FnOnce() -> Result<T, TrainError>) -> Result<T, TrainError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(TrainError::Backend(msg))
        }
    }
}

/// Checks that the network can train on the data.
pub fn check_fit(net: &Network, data: &Dataset) -> Result<(), TrainError> {
    let shapes = net.shapes()?;
    let input = net
        .nodes
        .iter()
        .position(|n| matches!(n.op, tessera_core::Op::Input { .. }))
        .ok_or_else(|| TrainError::Incompatible("the network has no input node".into()))?;
    if shapes[input].as_slice() != data.shape.as_slice() {
        return Err(TrainError::Incompatible(format!(
            "network input {:?} but {} examples are {:?}",
            shapes[input].as_slice(),
            data.name,
            data.shape
        )));
    }
    let out = shapes.last().expect("non-empty");
    if out.len() != 1 || out[0] < data.classes {
        return Err(TrainError::Incompatible(format!(
            "network outputs {:?} but {} has {} classes",
            out.as_slice(),
            data.name,
            data.classes
        )));
    }
    let gnn = net
        .nodes
        .iter()
        .any(|n| matches!(n.op, tessera_core::Op::Gnn { .. }));
    if gnn && data.graph.is_none() {
        return Err(TrainError::Incompatible(format!(
            "the network has graph layers but {} has no graph",
            data.name
        )));
    }
    Ok(())
}

pub(crate) fn lr_at(cfg: &TrainConfig, step: u64, epoch: u32, steps_per_epoch: u64) -> f64 {
    let total = (cfg.epochs as u64 * steps_per_epoch).max(1);
    let total = cfg.max_steps.map_or(total, |m| m.min(total)).max(1);
    match cfg.schedule {
        Schedule::Constant => cfg.lr,
        Schedule::Step {
            every_epochs,
            gamma,
        } => cfg.lr * gamma.powi((epoch / every_epochs.max(1)) as i32),
        Schedule::Cosine {
            warmup_epochs,
            min_factor,
        } => {
            let warm = (warmup_epochs * steps_per_epoch as f64).round() as u64;
            if step < warm {
                cfg.lr * (step + 1) as f64 / warm as f64
            } else {
                let t = (step - warm) as f64 / (total.saturating_sub(warm)).max(1) as f64;
                let f = min_factor
                    + (1.0 - min_factor) * 0.5 * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos());
                cfg.lr * f
            }
        }
    }
}

pub(crate) fn optimizer(cfg: &TrainConfig) -> ModuleOptimizer {
    let wd = cfg.weight_decay;
    let l2 = (wd > 0.0).then(|| WeightDecayConfig::new(wd as f32));
    match cfg.optimizer {
        Optimizer::Sgd { momentum, nesterov } => {
            let m = (momentum > 0.0).then_some(MomentumConfig {
                momentum,
                dampening: 0.0,
                nesterov,
            });
            SgdConfig::new()
                .with_momentum(m)
                .with_weight_decay(l2)
                .init()
        }
        Optimizer::Adam { beta1, beta2, eps } => AdamConfig::new()
            .with_beta_1(beta1)
            .with_beta_2(beta2)
            .with_epsilon(eps)
            .with_weight_decay(l2)
            .init(),
        Optimizer::AdamW { beta1, beta2, eps } => AdamWConfig::new()
            .with_beta_1(beta1)
            .with_beta_2(beta2)
            .with_epsilon(eps)
            .with_weight_decay(wd as f32)
            .init(),
    }
}

/// Sum of squared gradients over all parameters.
struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(p.id) {
            let s = g.square().sum();
            self.total = Some(match self.total.take() {
                Some(t) => t + s,
                None => s,
            });
        }
    }
}

/// Scales every gradient and adds Gaussian noise of standard deviation `noise_std`.
struct ScaleAndNoise<'a> {
    grads: &'a mut GradientsParams,
    scale: f32,
    noise_std: f64,
    rng: &'a mut Rng,
}

impl ModuleVisitor for ScaleAndNoise<'_> {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        if let Some(mut g) = self.grads.remove::<D>(p.id) {
            if self.scale != 1.0 {
                g = g.mul_scalar(self.scale);
            }
            if self.noise_std > 0.0 {
                let dims = g.dims();
                let n: usize = dims.iter().product();
                let noise: Vec<f32> = (0..n)
                    .map(|_| (normal(self.rng) * self.noise_std) as f32)
                    .collect();
                let device = g.device();
                g = g + Tensor::<D>::from_data(TensorData::new(noise, dims), &device);
            }
            self.grads.register::<D>(p.id, g);
        }
    }
}

/// A standard normal draw (Box–Muller) from a crate-owned stream.
pub(crate) fn normal(rng: &mut Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Cross-entropy with label smoothing, averaged over the batch, in the logits' precision (f64 for proxies that need
/// it, f32 in training).
pub(crate) fn loss_fn(logits: Tensor<2>, labels: &[u32], smoothing: f32) -> Tensor<1> {
    let [b, k] = logits.dims();
    let mut q = vec![smoothing / k as f32; b * k];
    for (i, &y) in labels.iter().enumerate() {
        q[i * k + y as usize] += 1.0 - smoothing;
    }
    let mut q = Tensor::<2>::from_data(TensorData::new(q, [b, k]), &logits.device());
    if logits.dtype() == burn::tensor::DType::F64 {
        q = q.cast(burn::tensor::FloatDType::F64);
    }
    let logp = activation::log_softmax(logits, 1);
    (logp * q).sum_dim(1).mean().neg()
}

/// (summed cross-entropy, correct count) of logits read back to the CPU.
pub(crate) fn score(logits: &[f32], k: usize, labels: &[u32]) -> (f64, usize) {
    let mut loss = 0.0;
    let mut correct = 0;
    for (row, &y) in logits.chunks(k).zip(labels) {
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let lse = m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
        loss += lse - row[y as usize] as f64;
        let mut best = 0;
        for (j, &v) in row.iter().enumerate() {
            if v > row[best] {
                best = j;
            }
        }
        correct += (best == y as usize) as usize;
    }
    (loss, correct)
}

/// Gathers examples `idx` into one batch tensor.
pub(crate) fn batch(data: &Dataset, idx: &[usize], device: &Device) -> Result<Val, TrainError> {
    let n = data.example_len();
    let mut v = Vec::with_capacity(idx.len() * n);
    for &i in idx {
        v.extend_from_slice(data.example(i));
    }
    Val::from_vec(v, idx.len(), &data.shape, device)
}

pub(crate) fn logits_vec(t: Tensor<2>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 logits")
}

/// All node features of a graph dataset as one input, kept sparse when mostly zeros (see [`SparseRows`]).
fn graph_input(data: &Dataset, device: &Device) -> Result<Val, TrainError> {
    if let [f] = data.shape[..] {
        if let Some(s) = SparseRows::from_dense(&data.features, data.len(), f, device) {
            return Ok(Val::Rows(s));
        }
    }
    let all: Vec<usize> = (0..data.len()).collect();
    batch(data, &all, device)
}

/// Inference on `idx` in batches; returns (mean loss, accuracy %). For graph data `graph` and the full-graph input
/// are used and `idx` selects nodes.
pub(crate) fn evaluate(
    model: &Model,
    data: &Dataset,
    idx: &[usize],
    eval_batch: usize,
    graph: Option<(&GraphTensors, &Val)>,
) -> Result<(f64, f64), TrainError> {
    if idx.is_empty() {
        return Ok((f64::NAN, f64::NAN));
    }
    let k = model.classes();
    let labels: Vec<u32> = idx.iter().map(|&i| data.labels[i]).collect();
    let (loss, correct) = match graph {
        Some((gt, x)) => {
            let mut ctx = Forward {
                graph: Some(gt),
                rng: None,
            };
            let all = logits_vec(model.forward(x.clone(), &mut ctx).into_logits());
            let rows: Vec<f32> = idx
                .iter()
                .flat_map(|&i| all[i * k..(i + 1) * k].iter().copied())
                .collect();
            score(&rows, k, &labels)
        }
        None => {
            let device = Device::flex();
            let (mut loss, mut correct) = (0.0, 0);
            for (chunk, lab) in idx.chunks(eval_batch).zip(labels.chunks(eval_batch)) {
                let x = batch(data, chunk, &device)?;
                let mut ctx = Forward {
                    graph: None,
                    rng: None,
                };
                let l = logits_vec(model.forward(x, &mut ctx).into_logits());
                let (a, b) = score(&l, k, lab);
                loss += a;
                correct += b;
            }
            (loss, correct)
        }
    };
    Ok((
        loss / idx.len() as f64,
        100.0 * correct as f64 / idx.len() as f64,
    ))
}

fn run(
    net: &Network,
    data: &Dataset,
    split: &Split,
    cfg: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochReport) -> Control,
) -> Result<TrainReport, TrainError> {
    check_fit(net, data)?;
    if split.train.is_empty() {
        return Err(TrainError::Incompatible(
            "the training split is empty".into(),
        ));
    }
    let start = Instant::now();
    let device = train_device();
    let plain = Device::flex();
    let mut model = Model::new(net, &device, cfg.seed)?;
    let mut optim = optimizer(cfg);
    let mut rng = rng_for(cfg.seed, 0x7a1);
    let k = model.classes();

    // Graph data: the whole graph is one batch.
    let graph_mode = data.graph.is_some();
    let (g_train, g_eval, x_train, x_eval) = match &data.graph {
        Some(g) => (
            Some(GraphTensors::new(g, &device)),
            Some(GraphTensors::new(g, &plain)),
            Some(graph_input(data, &device)?),
            Some(graph_input(data, &plain)?),
        ),
        None => (None, None, None, None),
    };
    let train_sel = graph_mode.then(|| {
        let idx: Vec<i64> = split.train.iter().map(|&i| i as i64).collect();
        Tensor::<1, burn::tensor::Int>::from_data(
            TensorData::new(idx, [split.train.len()]),
            &device,
        )
    });
    let train_labels: Vec<u32> = split.train.iter().map(|&i| data.labels[i]).collect();

    let steps_per_epoch: u64 = if graph_mode {
        1
    } else {
        let n = split.train.len();
        let full = n / cfg.batch_size;
        // a last batch of one example is dropped (batch norm cannot normalise it)
        (full + usize::from(n % cfg.batch_size > 1)).max(1) as u64
    };

    let mut order = split.train.clone();
    let mut step: u64 = 0;
    let mut reports = Vec::new();
    let mut best: Option<(f64, u32, Model)> = None;
    let mut since_best = 0u32;
    let mut stop = StopReason::Completed;
    let mut lr = cfg.lr;
    'epochs: for epoch in 1..=cfg.epochs {
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        let batches: Vec<Vec<usize>> = if graph_mode {
            vec![split.train.clone()]
        } else {
            order.shuffle(&mut rng);
            order
                .chunks(cfg.batch_size)
                .take(steps_per_epoch as usize)
                .map(|c| c.to_vec())
                .collect()
        };
        for idx in &batches {
            if cfg.max_steps.is_some_and(|m| step >= m) {
                stop = StopReason::MaxSteps;
                break;
            }
            lr = lr_at(cfg, step, epoch - 1, steps_per_epoch);
            let labels: Vec<u32> = if graph_mode {
                train_labels.clone()
            } else {
                idx.iter().map(|&i| data.labels[i]).collect()
            };
            let logits: Tensor<2> = if graph_mode {
                let mut ctx = Forward {
                    graph: g_train.as_ref(),
                    rng: Some(&mut rng),
                };
                let all = model
                    .forward(x_train.clone().expect("graph input"), &mut ctx)
                    .into_logits();
                all.select(0, train_sel.clone().expect("train index"))
            } else {
                let x = batch(data, idx, &device)?;
                let mut ctx = Forward {
                    graph: None,
                    rng: Some(&mut rng),
                };
                model.forward(x, &mut ctx).into_logits()
            };
            let loss = loss_fn(logits.clone(), &labels, cfg.label_smoothing);
            let loss_value = loss.clone().into_scalar::<f32>() as f64;
            if !loss_value.is_finite() || cfg.max_loss.is_some_and(|m| loss_value > m) {
                return Err(TrainError::Diverged {
                    epoch,
                    step,
                    loss: loss_value,
                });
            }
            let (_, c) = score(&logits_vec(logits.detach()), k, &labels);
            correct += c;
            seen += labels.len();
            loss_sum += loss_value * labels.len() as f64;
            let mut grads = GradientsParams::from_grads(loss.backward(), &model);
            if cfg.grad_clip_norm.is_some() || cfg.grad_noise.is_some_and(|e| e > 0.0) {
                let mut scale = 1.0f32;
                if let Some(c) = cfg.grad_clip_norm {
                    let mut v = SquaredNorm {
                        grads: &grads,
                        total: None,
                    };
                    model.visit(&mut v);
                    let norm = v.total.map_or(0.0, |t| t.into_scalar::<f32>().sqrt());
                    if norm.is_finite() && norm > c {
                        scale = c / (norm + 1e-6);
                    }
                }
                let noise_std = cfg
                    .grad_noise
                    .map_or(0.0, |eta| (eta / (1.0 + step as f64).powf(0.55)).sqrt());
                let mut v = ScaleAndNoise {
                    grads: &mut grads,
                    scale,
                    noise_std,
                    rng: &mut rng,
                };
                model.visit(&mut v);
            }
            model = optim.step(lr, model, grads);
            step += 1;
        }
        let train_loss = if seen > 0 {
            loss_sum / seen as f64
        } else {
            f64::NAN
        };
        let train_accuracy = if seen > 0 {
            100.0 * correct as f64 / seen as f64
        } else {
            f64::NAN
        };
        let valid = model.valid();
        let graph = g_eval.as_ref().zip(x_eval.as_ref());
        let (val_loss, val_accuracy) =
            evaluate(&valid, data, &split.val, cfg.eval_batch_size, graph)?;
        let report = EpochReport {
            epoch,
            steps: step,
            train_loss,
            train_accuracy,
            val_loss,
            val_accuracy,
            lr,
            seconds: start.elapsed().as_secs_f64(),
        };
        // without a validation split the last epoch counts as best
        let score_now = if val_accuracy.is_nan() {
            epoch as f64
        } else {
            val_accuracy
        };
        let min_delta = cfg.early_stopping.map_or(0.0, |e| e.min_delta);
        match &best {
            Some((b, _, _)) if score_now <= b + min_delta => since_best += 1,
            _ => {
                best = Some((score_now, epoch, model.clone()));
                since_best = 0;
            }
        }
        let answer = on_epoch(&report);
        reports.push(report);
        if stop == StopReason::MaxSteps {
            break 'epochs;
        }
        if answer == Control::Stop {
            stop = StopReason::Callback;
            break;
        }
        if cfg.early_stopping.is_some_and(|e| since_best >= e.patience) {
            stop = StopReason::EarlyStopping;
            break;
        }
        if cfg.max_steps.is_some_and(|m| step >= m) {
            stop = StopReason::MaxSteps;
            break;
        }
    }
    let (best_val, best_epoch, best_model) = best.expect("at least one epoch ran");
    let final_model = if cfg.restore_best { best_model } else { model };
    let final_model = final_model.valid();
    let graph = g_eval.as_ref().zip(x_eval.as_ref());
    let (test_loss, test_accuracy) =
        evaluate(&final_model, data, &split.test, cfg.eval_batch_size, graph)?;
    let best_val_accuracy = reports
        .iter()
        .find(|r| r.epoch == best_epoch)
        .map_or(best_val, |r| r.val_accuracy);
    Ok(TrainReport {
        train_loss: reports.last().map_or(f64::NAN, |r| r.train_loss),
        epochs: reports,
        best_epoch,
        best_val_accuracy,
        test_accuracy,
        test_loss,
        steps: step,
        train_seconds: start.elapsed().as_secs_f64(),
        stop,
        model: final_model,
    })
}
