//! Inference latency of a lowered network on this machine.
//!
//! Warm-up runs first (allocator and caches settle), then `runs` timed forward passes on random input, each
//! including reading the logits back (so lazy or asynchronous backends are timed to completion). Reports the
//! median and the spread, with the batch size and thread count they were measured at: a latency without those
//! two is not comparable.

use crate::data::Graph;
use crate::error::TrainError;
use crate::model::{Forward, GraphTensors, Model, Val};
use crate::train::catch;
use burn::module::Module;
use burn::tensor::Device;
use rand::Rng as _;
use std::time::Instant;
use tessera_core::rng_for;

/// How to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatencyConfig {
    /// Examples per forward pass (ignored for graph networks, which always run on the whole graph).
    pub batch_size: usize,
    pub warmup: usize,
    pub runs: usize,
    /// A dedicated rayon pool of this many threads (`None`: the global pool).
    pub threads: Option<usize>,
}

impl Default for LatencyConfig {
    fn default() -> Self {
        LatencyConfig {
            batch_size: 1,
            warmup: 3,
            runs: 10,
            threads: None,
        }
    }
}

/// Measured latency of one forward pass, in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Latency {
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    /// 10th and 90th percentiles (nearest rank).
    pub p10_ms: f64,
    pub p90_ms: f64,
    /// Median absolute deviation from the median.
    pub mad_ms: f64,
    pub runs: usize,
    pub warmup: usize,
    pub batch_size: usize,
    pub threads: usize,
}

/// Times `model` in inference mode on the plain CPU device. `graph` is required for graph networks.
pub fn measure_latency(
    model: &Model,
    cfg: &LatencyConfig,
    graph: Option<&Graph>,
) -> Result<Latency, TrainError> {
    crate::train::keep_freed_memory();
    if cfg.runs == 0 || cfg.batch_size == 0 {
        return Err(TrainError::Config(
            "latency needs at least one run and a positive batch size".into(),
        ));
    }
    let go = || catch(|| measure(model, cfg, graph));
    match cfg.threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| TrainError::Config(format!("cannot start {n} threads: {e}")))?
            .install(go),
        None => go(),
    }
}

fn measure(
    model: &Model,
    cfg: &LatencyConfig,
    graph: Option<&Graph>,
) -> Result<Latency, TrainError> {
    let device = Device::flex();
    let model = model.valid();
    let gt = match (model.needs_graph(), graph) {
        (true, Some(g)) => Some(GraphTensors::new(g, &device)),
        (true, None) => {
            return Err(TrainError::Incompatible(
                "latency of a graph network needs the graph".into(),
            ))
        }
        (false, _) => None,
    };
    let batch = gt.as_ref().map_or(cfg.batch_size, |g| g.nodes);
    let shape = model.input_shape().to_vec();
    let n = batch * shape.iter().product::<usize>();
    let mut rng = rng_for(0, 0x1a7);
    let input: Vec<f32> = (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
    let mut times = Vec::with_capacity(cfg.runs);
    for i in 0..cfg.warmup + cfg.runs {
        let x = Val::from_vec(input.clone(), batch, &shape, &device)?;
        let t0 = Instant::now();
        let mut ctx = Forward {
            graph: gt.as_ref(),
            rng: None,
        };
        let out = model.forward(x, &mut ctx).into_logits();
        let _ = out.into_data();
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        if i >= cfg.warmup {
            times.push(ms);
        }
    }
    times.sort_by(f64::total_cmp);
    let pct =
        |p: f64| times[((p * (times.len() - 1) as f64).round() as usize).min(times.len() - 1)];
    let median = median(&times);
    let mut dev: Vec<f64> = times.iter().map(|t| (t - median).abs()).collect();
    dev.sort_by(f64::total_cmp);
    Ok(Latency {
        median_ms: median,
        min_ms: times[0],
        max_ms: *times.last().expect("runs ≥ 1"),
        p10_ms: pct(0.1),
        p90_ms: pct(0.9),
        mad_ms: self::median(&dev),
        runs: cfg.runs,
        warmup: cfg.warmup,
        batch_size: batch,
        threads: rayon::current_num_threads(),
    })
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}
