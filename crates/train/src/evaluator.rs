//! [`TrainEvaluator`]: the `tessera_core::Evaluator` that really trains every sampled network.

use crate::data::{Dataset, Split};
use crate::error::TrainError;
use crate::latency::{measure_latency, LatencyConfig};
use crate::latency_table::{LatencyTable, TableConfig};
use crate::model::Model;
use crate::train::{train, Control, EpochReport, TrainConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tessera_core::{
    EvalContext, EvalError, Evaluation, Evaluator, Metrics, Network, Sample, Space,
};

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
///
/// With [`with_artifacts`](TrainEvaluator::with_artifacts) the trained model of every finished trial is kept on
/// disk (see [`TrialArtifact`]), so `tessera export` can write it as ONNX later.
pub struct TrainEvaluator {
    space: Arc<dyn Space>,
    data: Arc<Dataset>,
    split: Split,
    config: TrainConfig,
    latency: Option<LatencyConfig>,
    hook: Option<EpochHook>,
    artifacts: Option<PathBuf>,
    latency_table: Option<Arc<TableProfile>>,
}

/// The profile metric [`TrainEvaluator::with_latency_table`] adds: inference latency (ms) predicted by this
/// machine's per-layer table, known before training.
pub const LOCAL_LATENCY: &str = "latency_ms@local";

/// A per-layer latency table consulted before training (see [`TrainEvaluator::with_latency_table`]).
struct TableProfile {
    table: Mutex<LatencyTable>,
    /// Where measured entries are saved (`None`: kept in memory only).
    path: Option<PathBuf>,
    cfg: TableConfig,
}

impl TableProfile {
    /// The table's prediction for `net`, measuring (once, then saving) the layer configurations it lacks.
    fn predict(&self, net: &Network) -> Option<f64> {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(ms) = table.try_predict(net) {
            return Some(ms);
        }
        if table
            .measure_missing(std::slice::from_ref(net), &self.cfg, &mut |_, _| {})
            .ok()?
            > 0
        {
            if let Some(path) = &self.path {
                // Not fatal (this study keeps the entries in memory), but a later run would measure them again.
                if let Err(e) = table.save(path) {
                    eprintln!("warning: latency table {} not saved: {e}", path.display());
                }
            }
        }
        table.try_predict(net).ok()
    }
}

impl TrainEvaluator {
    /// `split` decides which examples train, select and test; `config.seed` is replaced by each trial's seed.
    pub fn new(
        space: Arc<dyn Space>,
        data: Arc<Dataset>,
        split: Split,
        config: TrainConfig,
    ) -> Self {
        TrainEvaluator {
            space,
            data,
            split,
            config,
            latency: Some(LatencyConfig::default()),
            hook: None,
            artifacts: None,
            latency_table: None,
        }
    }
    /// Predicts each sample's latency before training from a per-layer latency `table` (as built by `tessera
    /// latency build`) and reports it in the profile as [`LOCAL_LATENCY`], so a constraint such as
    /// `latency_ms@local <= 0.5` rejects a network before it is trained, and strategies with the study's foresight
    /// never propose one. Layer configurations the table lacks are measured once with `cfg` and the table is saved
    /// to `path`. The prediction depends on the table's entries, so keep the table file for a study's lifetime: a
    /// resumed study replays its proposals against the same entries.
    pub fn with_latency_table(
        mut self,
        table: LatencyTable,
        path: Option<PathBuf>,
        cfg: TableConfig,
    ) -> Self {
        self.latency_table = Some(Arc::new(TableProfile {
            table: Mutex::new(table),
            path,
            cfg,
        }));
        self
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
    /// Keeps the trained weights of each trial in `dir` (created when needed): `trial-{N}.bpk` (burnpack, the
    /// weights [`TrainReport::model`](crate::TrainReport) ends with, i.e. the best-validation ones by default) and
    /// `trial-{N}.json` ([`TrialArtifact`]: the sample, its text form and the lowered network). `N` is the trial
    /// number. A trial that cannot save its weights fails with the reason.
    pub fn with_artifacts(mut self, dir: PathBuf) -> Self {
        self.artifacts = Some(dir);
        self
    }
    /// The artifacts directory, if weights are kept.
    pub fn artifacts(&self) -> Option<&Path> {
        self.artifacts.as_deref()
    }
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }
}

/// The sidecar of a trial's saved weights: enough to rebuild the model without the study's space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialArtifact {
    pub trial: u64,
    /// The space's name (`nb201`, `nas-bench-graph`, …).
    pub space: String,
    pub sample: Sample,
    /// The sample's text form in its space.
    pub description: String,
    /// The lowered network the weights belong to.
    pub network: Network,
    /// Per-example input shape (node features `[F]` for graph networks, which also need the graph).
    pub input_shape: Vec<usize>,
    pub classes: usize,
    /// File name of the weights, beside the sidecar.
    pub weights: String,
}

/// `{dir}/trial-{trial}.bpk`: where [`TrainEvaluator::with_artifacts`] saves a trial's weights.
pub fn trial_weights_path(dir: &Path, trial: u64) -> PathBuf {
    dir.join(format!("trial-{trial}.bpk"))
}

/// `{dir}/trial-{trial}.json`: the [`TrialArtifact`] sidecar.
pub fn trial_meta_path(dir: &Path, trial: u64) -> PathBuf {
    dir.join(format!("trial-{trial}.json"))
}

impl TrialArtifact {
    /// Reads the sidecar of `trial` in `dir`.
    pub fn read(dir: &Path, trial: u64) -> Result<TrialArtifact, TrainError> {
        let path = trial_meta_path(dir, trial);
        let err = |msg: String| TrainError::Weights {
            path: path.clone(),
            msg,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| err(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| err(format!("not a trial sidecar: {e}")))
    }
    /// The weights file beside the sidecar in `dir`.
    pub fn weights_path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.weights)
    }
    /// Lowers the stored network on `device` and loads the saved weights.
    pub fn load_model(
        &self,
        dir: &Path,
        device: &burn::tensor::Device,
    ) -> Result<Model, TrainError> {
        Model::load(&self.network, &self.weights_path(dir), device)
    }
}

/// Saves `model` and its sidecar for trial `ctx.trial`; files appear complete or not at all (write, then rename).
fn save_artifacts(
    dir: &Path,
    space: &dyn Space,
    sample: &Sample,
    net: &Network,
    model: &Model,
    trial: u64,
) -> Result<(), TrainError> {
    let weights = trial_weights_path(dir, trial);
    let meta = trial_meta_path(dir, trial);
    let io = |path: &Path, e: std::io::Error| TrainError::Weights {
        path: path.to_path_buf(),
        msg: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    model.save(&weights)?; // burnpack writes through a scratch file and renames
    let artifact = TrialArtifact {
        trial,
        space: space.name().to_string(),
        sample: sample.clone(),
        description: space.describe(sample),
        network: net.clone(),
        input_shape: model.input_shape().to_vec(),
        classes: model.classes(),
        weights: weights
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let text = serde_json::to_string_pretty(&artifact).expect("a sidecar serialises");
    let tmp = dir.join(format!(".trial-{trial}.json.tmp"));
    std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, &meta).map_err(|e| io(&meta, e))
}

pub const METRICS: [&str; 7] = [
    "train_loss",
    "val_accuracy",
    "test_accuracy",
    "params",
    "flops",
    "latency_ms",
    "train_seconds",
];

impl TrainEvaluator {
    fn run(
        &self,
        sample: &Sample,
        ctx: &EvalContext,
        mut report: Option<&mut Reporter<'_>>,
    ) -> Result<Evaluation, EvalError> {
        let net = self
            .space
            .lower(sample)
            .map_err(|e| EvalError::Other(format!("lowering {sample}: {e}")))?;
        let (params, flops) = net.costs().map_err(|e| EvalError::Other(e.to_string()))?;
        let cfg = TrainConfig {
            seed: ctx.seed,
            ..self.config.clone()
        };
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
        if let Some(dir) = &self.artifacts {
            save_artifacts(
                dir,
                self.space.as_ref(),
                sample,
                &net,
                &report.model,
                ctx.trial,
            )
            .map_err(|e| {
                EvalError::Other(format!(
                    "trial {}: saving the trained weights: {e}",
                    ctx.trial
                ))
            })?;
        }
        let latency = match &self.latency {
            Some(l) => {
                let l = LatencyConfig {
                    threads: l.threads.or(cfg.threads),
                    ..*l
                };
                measure_latency(&report.model, &l, self.data.graph.as_ref())
                    .map_err(EvalError::from)?
                    .median_ms
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
        Ok(Evaluation {
            metrics,
            sim_seconds: report.train_seconds,
        })
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
        let mut names: Vec<String> = METRICS.iter().map(|s| s.to_string()).collect();
        if self.latency_table.is_some() {
            names.push(LOCAL_LATENCY.into());
        }
        names
    }

    fn profile(&self, sample: &Sample) -> Metrics {
        let Ok(net) = self.space.lower(sample) else {
            return Metrics::new();
        };
        let Ok((p, f)) = net.costs() else {
            return Metrics::new();
        };
        let mut m = Metrics::new()
            .with("params", p as f64)
            .with("flops", f as f64);
        if let Some(ms) = self.latency_table.as_ref().and_then(|t| t.predict(&net)) {
            m.set(LOCAL_LATENCY, ms);
        }
        m
    }
}
