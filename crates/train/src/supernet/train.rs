//! Training a supernet: SPOS uniform single path or the BigNAS sandwich rule, checkpointed every epoch.
//!
//! * [`Rule::Spos`] (Guo et al. 2020): each step trains one subnet drawn uniformly from the space.
//! * [`Rule::Sandwich`] (Yu et al., BigNAS 2020): each step trains the largest subnet on the labels, then two random
//!   subnets and the smallest one on the largest's detached soft predictions (in-place distillation); the four
//!   losses are summed into one backward pass (the same gradients as four accumulated passes). Our supernets have
//!   no dropout, so "dropout only on the largest" has nothing to do.
//!
//! Determinism: initial weights come from [`Supernet::new`]'s seeded stream; epoch `e` shuffles the training split
//! and draws its subnets from its own stream `rng_for(seed, EPOCH_STREAM + e)`. The same seed therefore gives the same
//! weights bit for bit (for a fixed thread count), and a run resumed from the checkpoint of epoch `k` continues
//! exactly as the uninterrupted run did (weights and optimizer state are restored from files; the RNG needs only
//! `(seed, k + 1)`).

use super::checkpoint::{Checkpoint, Meta, VERSION};
use super::{Pass, Supernet, SupernetSpace};
use crate::data::{Dataset, Split};
use crate::error::TrainError;
use crate::model::Val;
use crate::train::{
    batch, catch, keep_freed_memory, loss_fn, lr_at, optimizer, train_device, Control, TrainConfig,
};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{activation, Device, Tensor};
use rand::seq::SliceRandom;
use std::time::Instant;
use tessera_core::rng_for;

/// Streams of the per-epoch generators (see the module docs).
pub const EPOCH_STREAM: u64 = 0x5e9e_0000;

/// How each training step picks the subnets it trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// One uniformly random subnet per step.
    Spos,
    /// Largest (on labels) + 2 random + smallest (distilled from the largest) per step.
    Sandwich,
}

impl Rule {
    pub fn parse(s: &str) -> Result<Rule, String> {
        match s {
            "spos" | "uniform" => Ok(Rule::Spos),
            "sandwich" => Ok(Rule::Sandwich),
            other => Err(format!("unknown rule `{other}`; one of spos, sandwich")),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Rule::Spos => "spos",
            Rule::Sandwich => "sandwich",
        }
    }
}

/// A supernet training run: the rule and the optimisation settings. Of [`TrainConfig`], `epochs`, `batch_size`,
/// `optimizer`, `lr`, `weight_decay`, `schedule`, `label_smoothing`, `max_loss`, `seed` and `threads` apply.
#[derive(Clone, Debug, PartialEq)]
pub struct SupernetConfig {
    pub rule: Rule,
    pub train: TrainConfig,
}

/// What the per-epoch callback sees.
#[derive(Clone, Debug, PartialEq)]
pub struct SupernetEpoch {
    /// 1-based.
    pub epoch: u32,
    pub epochs: u32,
    pub steps: u64,
    /// Mean training loss of the epoch (the sandwich's sum of four losses).
    pub train_loss: f64,
    /// Training seconds so far, over every resumed run.
    pub seconds: f64,
}

/// A trained supernet (inference mode, on the plain CPU device) and how it got there.
pub struct TrainedSupernet {
    pub net: Supernet,
    pub meta: Meta,
    /// The epoch the run resumed after (`Some(epochs)`: the checkpoint was complete and only loaded).
    pub resumed_from: Option<u32>,
}

/// A text that changes whenever the supernet, the training configuration or the data changes.
pub fn fingerprint(
    space: &SupernetSpace,
    data: &Dataset,
    split: &Split,
    cfg: &SupernetConfig,
) -> String {
    let t = &cfg.train;
    format!(
        "{} | rule={} epochs={} batch={} optimizer={:?} lr={} wd={} schedule={:?} smoothing={} seed={} | data={} n={} train={} first={:?}",
        space.fingerprint(),
        cfg.rule.name(),
        t.epochs,
        t.batch_size,
        t.optimizer,
        t.lr,
        t.weight_decay,
        t.schedule,
        t.label_smoothing,
        t.seed,
        data.name,
        data.len(),
        split.train.len(),
        &split.train[..split.train.len().min(4)],
    )
}

/// Trains the supernet of `space` on `data` (training split), saving a checkpoint after every epoch when
/// `checkpoint` is given and resuming from it when it holds an earlier state of the same run (a complete one is
/// only loaded). `on_epoch` may stop the run after any epoch (the checkpoint is written first).
///
/// Errors: a checkpoint of another run ([`TrainError::Config`]), unreadable checkpoint files
/// ([`TrainError::Weights`]), data that does not fit the space ([`TrainError::Incompatible`]), a NaN/inf loss
/// ([`TrainError::Diverged`]), a panic inside burn ([`TrainError::Backend`]).
pub fn train_supernet(
    space: &SupernetSpace,
    data: &Dataset,
    split: &Split,
    cfg: &SupernetConfig,
    checkpoint: Option<&Checkpoint>,
    on_epoch: &mut (dyn FnMut(&SupernetEpoch) -> Control + Send),
) -> Result<TrainedSupernet, TrainError> {
    cfg.train.validate()?;
    keep_freed_memory();
    let Some(n) = cfg.train.threads else {
        return catch(|| run(space, data, split, cfg, checkpoint, on_epoch));
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| TrainError::Config(format!("cannot start {n} threads: {e}")))?;
    pool.install(|| catch(|| run(space, data, split, cfg, checkpoint, on_epoch)))
}

/// Checks that the data's examples are the space's input images and its labels fit the classifier.
pub fn check_data(space: &SupernetSpace, data: &Dataset) -> Result<(), TrainError> {
    let (input, classes) = space.io();
    if data.shape.as_slice() != input.as_slice() {
        return Err(TrainError::Incompatible(format!(
            "the supernet's input is {input:?} but {} examples are {:?}",
            data.name, data.shape
        )));
    }
    if data.classes > classes {
        return Err(TrainError::Incompatible(format!(
            "the supernet has {classes} outputs but {} has {} classes",
            data.name, data.classes
        )));
    }
    Ok(())
}

/// A batch of images `[B, C, H, W]`.
pub(crate) fn images(
    data: &Dataset,
    idx: &[usize],
    device: &Device,
) -> Result<Tensor<4>, TrainError> {
    match batch(data, idx, device)? {
        Val::D4(t) => Ok(t),
        other => Err(TrainError::Incompatible(format!(
            "supernets take image batches, got {:?}",
            other.dims()
        ))),
    }
}

/// Cross-entropy against soft targets (in-place distillation).
fn distill(logits: Tensor<2>, soft: Tensor<2>) -> Tensor<1> {
    (activation::log_softmax(logits, 1) * soft)
        .sum_dim(1)
        .mean()
        .neg()
}

fn run(
    space: &SupernetSpace,
    data: &Dataset,
    split: &Split,
    cfg: &SupernetConfig,
    checkpoint: Option<&Checkpoint>,
    on_epoch: &mut (dyn FnMut(&SupernetEpoch) -> Control + Send),
) -> Result<TrainedSupernet, TrainError> {
    check_data(space, data)?;
    if split.train.is_empty() {
        return Err(TrainError::Incompatible(
            "the training split is empty".into(),
        ));
    }
    let t = &cfg.train;
    let fp = fingerprint(space, data, split, cfg);
    let device = train_device();
    let fresh = Supernet::new(space, &device, t.seed);
    let fresh_optim = optimizer(t);
    let stored = match checkpoint {
        Some(ck) => ck.read()?,
        None => None,
    };
    let (mut net, mut optim, mut meta, resumed_from) = match (checkpoint, stored) {
        (Some(ck), Some(m)) => {
            if m.fingerprint != fp {
                return Err(TrainError::Config(format!(
                    "checkpoint {} belongs to another supernet run ({}); this run is ({fp}). Delete the directory or \
                     choose another checkpoint directory",
                    ck.meta_path().display(),
                    m.fingerprint
                )));
            }
            let net = ck.load_weights(fresh, &m)?;
            let optim = ck.load_optimizer(fresh_optim, &m)?;
            let from = m.epoch;
            (net, optim, m, Some(from))
        }
        _ => {
            let meta = Meta {
                version: VERSION,
                fingerprint: fp,
                epoch: 0,
                epochs: t.epochs,
                steps: 0,
                seconds: 0.0,
                losses: Vec::new(),
            };
            (fresh, fresh_optim, meta, None)
        }
    };
    let n = split.train.len();
    // a last batch of one example is dropped (batch norm cannot normalise it)
    let steps_per_epoch = ((n / t.batch_size) + usize::from(n % t.batch_size > 1)).max(1);
    let (largest, smallest) = (space.largest(), space.smallest());
    let sp = space.space();
    for epoch in meta.epoch + 1..=t.epochs {
        let start = Instant::now();
        let mut rng = rng_for(t.seed, EPOCH_STREAM + epoch as u64);
        let mut order = split.train.clone();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut seen) = (0.0, 0usize);
        for idx in order.chunks(t.batch_size).take(steps_per_epoch) {
            let lr = lr_at(t, meta.steps, epoch - 1, steps_per_epoch as u64);
            let labels: Vec<u32> = idx.iter().map(|&i| data.labels[i]).collect();
            let x = images(data, idx, &device)?;
            let loss = match cfg.rule {
                Rule::Spos => {
                    let s = sp.sample(&mut rng);
                    loss_fn(
                        net.forward(x, &s, &mut Pass::train()),
                        &labels,
                        t.label_smoothing,
                    )
                }
                Rule::Sandwich => {
                    let big = net.forward(x.clone(), &largest, &mut Pass::train());
                    let soft = activation::softmax(big.clone().detach(), 1);
                    let mut total = loss_fn(big, &labels, t.label_smoothing);
                    let subnets = [sp.sample(&mut rng), sp.sample(&mut rng), smallest.clone()];
                    for s in &subnets {
                        total = total
                            + distill(net.forward(x.clone(), s, &mut Pass::train()), soft.clone());
                    }
                    total
                }
            };
            let value = loss.clone().into_scalar::<f32>() as f64;
            if !value.is_finite() || t.max_loss.is_some_and(|m| value > m) {
                return Err(TrainError::Diverged {
                    epoch,
                    step: meta.steps,
                    loss: value,
                });
            }
            loss_sum += value * idx.len() as f64;
            seen += idx.len();
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(lr, net, grads);
            meta.steps += 1;
        }
        meta.epoch = epoch;
        meta.seconds += start.elapsed().as_secs_f64();
        let train_loss = loss_sum / seen.max(1) as f64;
        meta.losses.push(train_loss);
        if let Some(ck) = checkpoint {
            ck.save(&net, &optim, &meta)?;
        }
        let report = SupernetEpoch {
            epoch,
            epochs: t.epochs,
            steps: meta.steps,
            train_loss,
            seconds: meta.seconds,
        };
        if on_epoch(&report) == Control::Stop {
            break;
        }
    }
    Ok(TrainedSupernet {
        net: net.valid(),
        meta,
        resumed_from,
    })
}
