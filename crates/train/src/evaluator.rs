//! [`TrainEvaluator`]: the `tessera_core::Evaluator` that really trains every sampled network.

use crate::data::{Dataset, Split};
use crate::latency::{measure_latency, LatencyConfig};
use crate::train::{train, Control, EpochReport, TrainConfig};
use std::sync::Arc;
use tessera_core::{EvalContext, EvalError, Evaluation, Evaluator, Metrics, Sample, Space};

/// A per-epoch hook: sees the trial and its epoch report, may stop the trial (a pruner, a progress bar).
/// The study's intermediate-report callback (`Evaluator::evaluate_reporting`).
type Reporter<'a> = dyn FnMut(u64, &Metrics) -> bool + 'a;

pub type EpochHook = Arc<dyn Fn(&EvalContext, &EpochReport) -> Control + Send + Sync>;

/// Lowers each sample with its space, trains it with [`train`] (seeded by the trial's seed), measures its latency
/// and reports:
///
/// | metric | meaning |
/// |---|---|
/// | `train_loss` | mean training loss of the last epoch |
/// | `val_accuracy` | best validation accuracy, % |
/// | `test_accuracy` | test accuracy of the best-validation weights, % |
/// | `params`, `flops` | from the Network IR (also given by [`profile`](Evaluator::profile) before training) |
/// | `latency_ms` | median inference latency ([`LatencyConfig`], batch 1 by default; NaN if disabled) |
/// | `train_seconds` | training wall time; also the trial's `sim_seconds` |
///
/// A diverging run returns `EvalError::Diverged` (the study records the trial as failed and goes on).
pub struct TrainEvaluator {
    space: Arc<dyn Space>,
    data: Arc<Dataset>,
    split: Split,
    config: TrainConfig,
    latency: Option<LatencyConfig>,
    hook: Option<EpochHook>,
}

impl TrainEvaluator {
    /// `split` decides which examples train, select and test; `config.seed` is replaced by each trial's seed.
    pub fn new(space: Arc<dyn Space>, data: Arc<Dataset>, split: Split, config: TrainConfig) -> Self {
        TrainEvaluator { space, data, split, config, latency: Some(LatencyConfig::default()), hook: None }
    }
    /// How latency is measured; `None` skips it (`latency_ms` is then NaN).
    pub fn with_latency(mut self, latency: Option<LatencyConfig>) -> Self {
        self.latency = latency;
        self
    }
    pub fn with_epoch_hook(mut self, hook: EpochHook) -> Self {
        self.hook = Some(hook);
        self
    }
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }
}

pub const METRICS: [&str; 7] =
    ["train_loss", "val_accuracy", "test_accuracy", "params", "flops", "latency_ms", "train_seconds"];

impl TrainEvaluator {
    fn run(
        &self,
        sample: &Sample,
        ctx: &EvalContext,
        mut report: Option<&mut Reporter<'_>>,
    ) -> Result<Evaluation, EvalError> {
        let net = self.space.lower(sample).map_err(|e| EvalError::Other(format!("lowering {sample}: {e}")))?;
        let (params, flops) = net.costs().map_err(|e| EvalError::Other(e.to_string()))?;
        let cfg = TrainConfig { seed: ctx.seed, ..self.config.clone() };
        let mut on_epoch = |r: &EpochReport| {
            let mut go = match &self.hook {
                Some(h) => h(ctx, r),
                None => Control::Continue,
            };
            if let Some(report) = report.as_deref_mut() {
                let m = Metrics::new()
                    .with("train_loss", r.train_loss)
                    .with("val_accuracy", r.val_accuracy)
                    .with("val_loss", r.val_loss)
                    .with("params", params as f64)
                    .with("flops", flops as f64)
                    .with("train_seconds", r.seconds);
                if !report(r.epoch as u64, &m) {
                    go = Control::Stop;
                }
            }
            go
        };
        let report = train(&net, &self.data, &self.split, &cfg, &mut on_epoch)?;
        let latency = match &self.latency {
            Some(l) => {
                let l = LatencyConfig { threads: l.threads.or(cfg.threads), ..*l };
                measure_latency(&report.model, &l, self.data.graph.as_ref()).map_err(EvalError::from)?.median_ms
            }
            None => f64::NAN,
        };
        let metrics = Metrics::new()
            .with("train_loss", report.train_loss)
            .with("val_accuracy", report.best_val_accuracy)
            .with("test_accuracy", report.test_accuracy)
            .with("params", params as f64)
            .with("flops", flops as f64)
            .with("latency_ms", latency)
            .with("train_seconds", report.train_seconds);
        Ok(Evaluation { metrics, sim_seconds: report.train_seconds })
    }
}

impl Evaluator for TrainEvaluator {
    fn evaluate(&self, sample: &Sample, ctx: &EvalContext) -> Result<Evaluation, EvalError> {
        self.run(sample, ctx, None)
    }

    /// Reports after every epoch (step = epoch, 1-based) `train_loss`, `val_accuracy` (of that epoch), `val_loss`,
    /// `params`, `flops` and `train_seconds` so far; `false` from `report` ends training there (the final metrics
    /// then describe the best epoch reached).
    fn evaluate_reporting(
        &self,
        sample: &Sample,
        ctx: &EvalContext,
        report: &mut dyn FnMut(u64, &Metrics) -> bool,
    ) -> Result<Evaluation, EvalError> {
        self.run(sample, ctx, Some(report))
    }

    fn metric_names(&self) -> Vec<String> {
        METRICS.iter().map(|s| s.to_string()).collect()
    }

    fn profile(&self, sample: &Sample) -> Metrics {
        match self.space.lower(sample).and_then(|n| n.costs()) {
            Ok((p, f)) => Metrics::new().with("params", p as f64).with("flops", f as f64),
            Err(_) => Metrics::new(),
        }
    }
}
