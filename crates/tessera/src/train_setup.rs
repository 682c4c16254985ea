//! `[evaluator] kind = "train"`: every sampled network is really trained (`tessera-train`, burn on the CPU).
//!
//! ```toml
//! [space]
//! kind = "mlp"                 # required with a training evaluator; its input and classes must fit the dataset
//!
//! [evaluator]
//! kind = "train"
//! dataset = "digits"           # see the table below
//! val = 0.1                    # stratified split fractions (datasets that ship a split keep it; val is carved
//! test = 0.2                   # from its training part)
//! split_seed = 0
//! normalize = "auto"           # auto | none | global | per-feature | row-l1 | scale:X
//! optimizer = "adamw"          # sgd | nesterov | adam | adamw
//! lr = 0.002
//! momentum = 0.9               # sgd / nesterov
//! weight_decay = 0.0001
//! epochs = 5
//! batch_size = 64
//! schedule = "cosine"          # constant | cosine (warmup_epochs, min_lr_factor) | step (step_every, gamma)
//! label_smoothing = 0.0
//! clip = 5.0                   # global gradient-norm clipping
//! patience = 3                 # early stopping on validation accuracy (min_delta, percentage points)
//! threads = 2                  # a dedicated thread pool for training and latency
//! latency = true               # measure inference latency (latency_batch = 1, latency_runs = 10)
//! latency_table = false        # predict `latency_ms@local` before training from this machine's per-layer table
//!                              # (the one `tessera latency build` writes; missing layers are measured once), so
//!                              # a [[constraint]] on it rejects networks before they are trained
//! ```
//!
//! | `dataset` | what | default `normalize` |
//! |---|---|---|
//! | `digits` | scikit-learn digits shipped with Tessera (1,797 × 8×8, 10 classes) | `scale:0.0625` |
//! | `mnist1d` | MNIST-1D generated in Rust (`samples` = 4000, `length` = 40, `data_seed` = 0; 80/20 train/test) | `global` |
//! | `mnist1d-pkl:PATH` | the reference MNIST-1D pickle | `global` |
//! | `csv:PATH` | a CSV or CSV.gz table (`label` = last, first, a column index or name; `header` = auto, yes, no) | `global` |
//! | `idx:IMAGES,LABELS` | an IDX images file and its labels file | `global` |
//! | `mnist-idx:DIR` | the four MNIST IDX files of a directory (standard 60k/10k split) | `global` |
//! | `planetoid:DIR:NAME` | Planetoid citation graph `NAME` (cora, citeseer, pubmed) with its standard split | `row-l1` |
//!
//! Relative paths resolve against the study file's directory. When the space's network expects another example
//! shape with the same number of values (digits' 64 values as `1x8x8` for a convolutional space), the examples are
//! viewed with that shape; any other mismatch of input shape or class count is an error naming both.

use crate::config::ConfigError;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tessera_core::{EvalContext, Op, Space};
use tessera_train::data::{csv, digits, idx, mnist1d, planetoid};
use tessera_train::latency_table::{default_table_path, MachineKey, TableConfig};
use tessera_train::{
    Dataset, EarlyStopping, LatencyConfig, LatencyTable, Normalization, Optimizer, Schedule, Split,
    TrainConfig, TrainEvaluator,
};

pub use tessera_train::{Control, EpochHook, EpochReport};

/// The dataset specs [`build`] knows, for messages.
pub const DATASETS: &str =
    "digits, mnist1d, mnist1d-pkl:PATH, csv:PATH, idx:IMAGES,LABELS, mnist-idx:DIR, planetoid:DIR:NAME";

/// An option list: the given options, then the dataset options shared by every evaluator that reads examples (see
/// [`dataset`]), so each evaluator kind lists only its own.
macro_rules! with_dataset_options {
    ($($k:literal),* $(,)?) => {
        &[
            $($k,)*
            "dataset", "samples", "length", "data_seed", "label", "header", "val", "test", "split_seed", "normalize",
        ]
    };
}
pub(crate) use with_dataset_options;

/// The dataset options shared by every evaluator that reads examples (see [`dataset`]).
pub const DATASET_OPTIONS: &[&str] = with_dataset_options![];

/// Every option of `[evaluator] kind = "train"`.
pub const OPTIONS: &[&str] = with_dataset_options![
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "epochs",
    "max_steps",
    "batch_size",
    "eval_batch_size",
    "schedule",
    "warmup_epochs",
    "min_lr_factor",
    "step_every",
    "gamma",
    "label_smoothing",
    "clip",
    "grad_noise",
    "patience",
    "min_delta",
    "threads",
    "latency",
    "latency_batch",
    "latency_runs",
    "latency_warmup",
    "latency_table",
];

/// Everything a training evaluator is made of, kept so the CLI can attach a progress hook or an artifacts
/// directory and rebuild the evaluator.
pub struct TrainSetup {
    pub space: Arc<dyn Space>,
    /// `[space]` as given (kind and options), to build more instances of the space.
    pub space_kind: String,
    pub space_options: tessera_spaces::Options,
    pub data: Arc<Dataset>,
    pub split: Split,
    pub config: TrainConfig,
    pub latency: Option<LatencyConfig>,
    /// Where trained weights go (one file per trial), if anywhere.
    pub artifacts: Option<PathBuf>,
    /// Predict `latency_ms@local` before training from this machine's per-layer latency table.
    pub latency_table: bool,
    hook: Arc<Mutex<Option<EpochHook>>>,
}

impl TrainSetup {
    /// The evaluator: lowering, training, latency, with the hook slot set by [`set_epoch_hook`](Self::set_epoch_hook).
    pub fn evaluator(&self) -> TrainEvaluator {
        let slot = self.hook.clone();
        let forward: EpochHook = Arc::new(move |ctx: &EvalContext, r: &EpochReport| {
            let hook = slot.lock().map(|h| h.clone()).unwrap_or(None);
            match hook {
                Some(h) => h(ctx, r),
                None => Control::Continue,
            }
        });
        let ev = TrainEvaluator::new(
            self.space.clone(),
            self.data.clone(),
            self.split.clone(),
            self.config.clone(),
        )
        .with_latency(self.latency)
        .with_epoch_hook(forward);
        let ev = match &self.artifacts {
            Some(dir) => ev.with_artifacts(dir.clone()),
            None => ev,
        };
        if !self.latency_table {
            return ev;
        }
        // The same machine key and settings as `tessera latency build`'s defaults, so the two share one table.
        let machine = MachineKey::detect(1, 1);
        let path = default_table_path(&machine);
        let (table, warnings) = LatencyTable::load_or_new(&path, &machine);
        for w in warnings {
            eprintln!("warning: {w}");
        }
        ev.with_latency_table(table, Some(path), TableConfig::default())
    }

    /// Called after every epoch of every trial (a progress bar); replaces any earlier hook.
    pub fn set_epoch_hook(&self, hook: EpochHook) {
        if let Ok(mut h) = self.hook.lock() {
            *h = Some(hook);
        }
    }

    /// Another instance of the space (the study loop holds its own).
    pub fn boxed_space(&self) -> Box<dyn Space> {
        tessera_spaces::build(&self.space_kind, &self.space_options).expect("built once already")
    }

    /// Epochs per trial.
    pub fn epochs(&self) -> u32 {
        self.config.epochs
    }
}

/// Typed access to a TOML table, remembering which keys were read so unknown ones can be reported.
pub(crate) struct Opts<'a> {
    t: &'a toml::Table,
    used: BTreeSet<String>,
    file: &'a str,
    section: &'static str,
    /// Every option of the section (for "does not apply" vs "unknown").
    known: &'static [&'static str],
}

impl<'a> Opts<'a> {
    pub(crate) fn new(
        t: &'a toml::Table,
        file: &'a str,
        section: &'static str,
        known: &'static [&'static str],
    ) -> Self {
        Opts {
            t,
            used: BTreeSet::new(),
            file,
            section,
            known,
        }
    }
    pub(crate) fn err(&self, key: &str, msg: impl Into<String>) -> ConfigError {
        ConfigError::Field {
            file: self.file.to_string(),
            field: format!("{}.{key}", self.section),
            msg: msg.into(),
        }
    }
    pub(crate) fn get(&mut self, key: &str) -> Option<&'a toml::Value> {
        self.used.insert(key.to_string());
        self.t.get(key)
    }
    pub(crate) fn string(&mut self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.err(key, format!("must be a string, got `{v}`"))),
        }
    }
    pub(crate) fn f64(&mut self, key: &str) -> Result<Option<f64>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::Float(x)) if x.is_finite() => Ok(Some(*x)),
            Some(toml::Value::Integer(i)) => Ok(Some(*i as f64)),
            Some(v) => Err(self.err(key, format!("must be a number, got `{v}`"))),
        }
    }
    /// A number in `[lo, hi)` (or `[lo, ∞)` / `(lo, …)` as `open_lo` says).
    pub(crate) fn ranged(
        &mut self,
        key: &str,
        lo: f64,
        open_lo: bool,
        hi: Option<f64>,
    ) -> Result<Option<f64>, ConfigError> {
        let v = self.f64(key)?;
        if let Some(x) = v {
            let ok_lo = if open_lo { x > lo } else { x >= lo };
            let ok_hi = hi.is_none_or(|h| x < h);
            if !(ok_lo && ok_hi) {
                let range = match hi {
                    Some(h) => format!("in {}{lo}, {h})", if open_lo { "(" } else { "[" }),
                    None if open_lo => format!("> {lo}"),
                    None => format!("≥ {lo}"),
                };
                return Err(self.err(key, format!("must be {range}, got {x}")));
            }
        }
        Ok(v)
    }
    pub(crate) fn int(&mut self, key: &str, min: u64) -> Result<Option<u64>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(i)) if *i >= min as i64 => Ok(Some(*i as u64)),
            Some(v) => Err(self.err(key, format!("must be an integer ≥ {min}, got `{v}`"))),
        }
    }
    pub(crate) fn bool(&mut self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::Boolean(b)) => Ok(Some(*b)),
            Some(v) => Err(self.err(key, format!("must be true or false, got `{v}`"))),
        }
    }
    /// Errors on the first key never read: unknown, or known but meaningless with this dataset.
    pub(crate) fn finish(&self, dataset: &str) -> Result<(), ConfigError> {
        match self
            .t
            .keys()
            .find(|k| !self.used.contains(k.as_str()) && k.as_str() != "kind")
        {
            Some(k) if self.known.contains(&k.as_str()) => {
                Err(self.err(k, format!("does not apply to dataset `{dataset}`")))
            }
            Some(k) => Err(self.err(
                k,
                format!("unknown option; known: {}", self.known.join(", ")),
            )),
            None => Ok(()),
        }
    }
}

/// Builds the training evaluator's parts from `[evaluator]` (kind = "train") and `[space]`. `base` anchors
/// relative paths (the study file's directory); `file` names the study file in errors.
pub fn build(
    evaluator: &toml::Table,
    space: Option<&toml::Table>,
    base: &Path,
    file: &str,
) -> Result<TrainSetup, ConfigError> {
    let field = |f: &str, msg: String| ConfigError::Field {
        file: file.to_string(),
        field: f.into(),
        msg,
    };
    let mut o = Opts::new(evaluator, file, "evaluator", OPTIONS);
    let (space_kind, space_options, space) = space_from(space, file, "kind = \"train\"")?;
    let (data, split, spec) = dataset(&mut o, base)?;
    // Training.
    let def = TrainConfig::default();
    let momentum = o.ranged("momentum", 0.0, false, Some(1.0))?;
    let optimizer = match o.string("optimizer")?.as_deref() {
        Some("sgd") => Optimizer::Sgd {
            momentum: momentum.unwrap_or(0.9),
            nesterov: false,
        },
        Some("nesterov") => Optimizer::Sgd {
            momentum: momentum.unwrap_or(0.9),
            nesterov: true,
        },
        Some("adam") | Some("adamw") | None if momentum.is_some() => {
            return Err(o.err("momentum", "only for optimizer = \"sgd\" or \"nesterov\""))
        }
        Some("adam") => Optimizer::ADAM,
        None | Some("adamw") => Optimizer::ADAMW,
        Some(s) => {
            return Err(o.err(
                "optimizer",
                format!("unknown optimizer `{s}`; one of sgd, nesterov, adam, adamw"),
            ))
        }
    };
    let warmup = o.ranged("warmup_epochs", 0.0, false, None)?;
    let min_factor = o.ranged("min_lr_factor", 0.0, false, Some(1.0))?;
    let step_every = o.int("step_every", 1)?;
    let gamma = o.ranged("gamma", 0.0, true, None)?;
    let schedule = match o.string("schedule")?.as_deref() {
        None | Some("constant") => Schedule::Constant,
        Some("cosine") => Schedule::Cosine {
            warmup_epochs: warmup.unwrap_or(0.0),
            min_factor: min_factor.unwrap_or(0.0),
        },
        Some("step") => Schedule::Step {
            every_epochs: step_every.unwrap_or(1) as u32,
            gamma: gamma.unwrap_or(0.1),
        },
        Some(s) => {
            return Err(o.err(
                "schedule",
                format!("unknown schedule `{s}`; one of constant, cosine, step"),
            ))
        }
    };
    let patience = o.int("patience", 1)?;
    let min_delta = o.ranged("min_delta", 0.0, false, None)?;
    if patience.is_none() && min_delta.is_some() {
        return Err(o.err("min_delta", "needs `patience` (early stopping)"));
    }
    let threads = o.int("threads", 1)?.map(|t| t as usize);
    let config = TrainConfig {
        epochs: o
            .int("epochs", 1)?
            .map_or(def.epochs, |v| v.min(u32::MAX as u64) as u32),
        max_steps: o.int("max_steps", 1)?,
        batch_size: o
            .int("batch_size", 1)?
            .map_or(def.batch_size, |v| v as usize),
        eval_batch_size: o
            .int("eval_batch_size", 1)?
            .map_or(def.eval_batch_size, |v| v as usize),
        optimizer,
        lr: o.ranged("lr", 0.0, true, None)?.unwrap_or(def.lr),
        weight_decay: o.ranged("weight_decay", 0.0, false, None)?.unwrap_or(0.0),
        schedule,
        label_smoothing: o
            .ranged("label_smoothing", 0.0, false, Some(1.0))?
            .unwrap_or(0.0) as f32,
        grad_clip_norm: o.ranged("clip", 0.0, true, None)?.map(|c| c as f32),
        grad_noise: o.ranged("grad_noise", 0.0, false, None)?,
        early_stopping: patience.map(|p| EarlyStopping {
            patience: p as u32,
            min_delta: min_delta.unwrap_or(0.0),
        }),
        threads,
        ..def
    };
    config
        .validate()
        .map_err(|e| field("evaluator", e.to_string()))?;

    // Latency.
    let measure = o.bool("latency")?.unwrap_or(true);
    let lat_def = LatencyConfig::default();
    let latency = LatencyConfig {
        batch_size: o
            .int("latency_batch", 1)?
            .map_or(lat_def.batch_size, |v| v as usize),
        runs: o
            .int("latency_runs", 1)?
            .map_or(lat_def.runs, |v| v as usize),
        warmup: o
            .int("latency_warmup", 0)?
            .map_or(lat_def.warmup, |v| v as usize),
        threads,
    };
    let latency_table = o.bool("latency_table")?.unwrap_or(false);
    // Options that only make sense with another choice are still "known"; report truly unknown ones.
    o.finish(&spec)?;

    let data = fit_to_space(data, space.as_ref(), &space_kind, file)?;
    Ok(TrainSetup {
        space,
        space_kind,
        space_options,
        data: Arc::new(data),
        split,
        config,
        latency: measure.then_some(latency),
        artifacts: None,
        latency_table,
        hook: Arc::new(Mutex::new(None)),
    })
}

/// `[space]` for an evaluator that builds networks: its kind, its options as strings, and the space. `with` names
/// the evaluator in the error when the table is missing.
pub(crate) fn space_from(
    space: Option<&toml::Table>,
    file: &str,
    with: &str,
) -> Result<(String, tessera_spaces::Options, Arc<dyn Space>), ConfigError> {
    let field = |f: &str, msg: String| ConfigError::Field {
        file: file.to_string(),
        field: f.into(),
        msg,
    };
    let space_t = space.ok_or_else(|| {
        field(
            "space",
            format!("a [space] table is required with {with} (e.g. [space] kind = \"mlp\")"),
        )
    })?;
    let space_kind = match space_t.get("kind") {
        Some(toml::Value::String(s)) => s.clone(),
        Some(v) => return Err(field("space.kind", format!("must be a string, got `{v}`"))),
        None => {
            return Err(field(
                "space.kind",
                format!("missing; one of {}", tessera_spaces::KINDS.join(", ")),
            ))
        }
    };
    let space_options: tessera_spaces::Options = space_t
        .iter()
        .filter(|(k, _)| k.as_str() != "kind")
        .map(|(k, v)| {
            (
                k.clone(),
                match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            )
        })
        .collect();
    let space: Arc<dyn Space> = Arc::from(
        tessera_spaces::build(&space_kind, &space_options).map_err(|e| field("space", e))?,
    );
    Ok((space_kind, space_options, space))
}

/// The dataset options (`dataset`, its reader's options, `val`, `test`, `split_seed`, `normalize`): the data,
/// normalised on its training split, the split, and the dataset spec as written.
pub(crate) fn dataset(
    o: &mut Opts<'_>,
    base: &Path,
) -> Result<(Dataset, Split, String), ConfigError> {
    let file = o.file;
    let field = |f: &str, msg: String| ConfigError::Field {
        file: file.to_string(),
        field: f.into(),
        msg,
    };
    // The data.
    let spec = o
        .string("dataset")?
        .ok_or_else(|| o.err("dataset", format!("missing; one of {DATASETS}")))?;
    let path = |p: &str| -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let data_err = |e: tessera_train::DataError| field("evaluator.dataset", e.to_string());
    let (kind, arg) = spec
        .split_once(':')
        .map_or((spec.as_str(), ""), |(k, a)| (k, a));
    let (mut data, default_norm) = match kind {
        "digits" if arg.is_empty() => (
            digits::digits().map_err(data_err)?,
            Normalization::Scale(1.0 / 16.0),
        ),
        "mnist1d" if arg.is_empty() => {
            let def = mnist1d::Mnist1dConfig::default();
            let cfg = mnist1d::Mnist1dConfig {
                num_samples: o.int("samples", 10)?.map_or(4000, |v| v as usize),
                final_seq_length: o
                    .int("length", 2)?
                    .map_or(def.final_seq_length, |v| v as usize),
                seed: o.int("data_seed", 0)?.unwrap_or(0),
                ..def
            };
            (
                mnist1d::generate(&cfg).map_err(data_err)?,
                Normalization::Global,
            )
        }
        "mnist1d-pkl" if !arg.is_empty() => (
            mnist1d::read_mnist1d(path(arg)).map_err(data_err)?,
            Normalization::Global,
        ),
        "csv" if !arg.is_empty() => {
            let label = match o.string("label")?.as_deref() {
                None | Some("last") => csv::LabelColumn::Last,
                Some("first") => csv::LabelColumn::First,
                Some(s) => match s.parse::<usize>() {
                    Ok(i) => csv::LabelColumn::Index(i),
                    Err(_) => csv::LabelColumn::Name(s.to_string()),
                },
            };
            let header = match o.string("header")?.as_deref() {
                None | Some("auto") => csv::Header::Auto,
                Some("yes") => csv::Header::Yes,
                Some("no") => csv::Header::No,
                Some(s) => {
                    return Err(o.err("header", format!("must be auto, yes or no, got `{s}`")))
                }
            };
            let opts = csv::CsvOptions {
                label,
                header,
                ..csv::CsvOptions::default()
            };
            (
                csv::read_csv(path(arg), &opts).map_err(data_err)?,
                Normalization::Global,
            )
        }
        "idx" => match arg.split_once(',') {
            Some((i, l)) if !i.is_empty() && !l.is_empty() => (
                idx::read_idx_pair(path(i), path(l)).map_err(data_err)?,
                Normalization::Global,
            ),
            _ => return Err(o.err("dataset", format!("`{spec}`: expected idx:IMAGES,LABELS"))),
        },
        "mnist-idx" if !arg.is_empty() => (
            idx::mnist_idx(path(arg)).map_err(data_err)?,
            Normalization::Global,
        ),
        "planetoid" => match arg.rsplit_once(':') {
            Some((dir, name)) if !dir.is_empty() && !name.is_empty() => (
                planetoid::planetoid(path(dir), name).map_err(data_err)?,
                Normalization::RowL1,
            ),
            _ => {
                return Err(o.err(
                    "dataset",
                    format!("`{spec}`: expected planetoid:DIR:NAME (e.g. planetoid:data:cora)"),
                ))
            }
        },
        _ => {
            return Err(o.err(
                "dataset",
                format!("unknown dataset `{spec}`; known: {DATASETS}"),
            ))
        }
    };

    // Split and normalisation.
    let val = o.ranged("val", 0.0, false, Some(1.0))?.unwrap_or(0.1);
    let test = o.ranged("test", 0.0, false, Some(1.0))?.unwrap_or(0.2);
    if val + test >= 1.0 {
        return Err(o.err(
            "test",
            format!("val {val} + test {test} must leave examples to train on"),
        ));
    }
    let split_seed = o.int("split_seed", 0)?.unwrap_or(0);
    let split = data
        .split_or_stratified(val, test, split_seed)
        .map_err(data_err)?;
    if split.train.is_empty() || split.val.is_empty() {
        return Err(o.err(
            "val",
            format!(
                "the split of `{}` leaves no training or no validation examples",
                data.name
            ),
        ));
    }
    let norm = match o.string("normalize")?.as_deref() {
        None | Some("auto") => default_norm,
        Some("none") => Normalization::None,
        Some("global") => Normalization::Global,
        Some("per-feature") => Normalization::PerFeature,
        Some("row-l1") => Normalization::RowL1,
        Some(s) => match s.strip_prefix("scale:").and_then(|x| x.parse::<f32>().ok()) {
            Some(x) if x.is_finite() && x != 0.0 => Normalization::Scale(x),
            _ => {
                return Err(o.err(
                    "normalize",
                    format!(
                        "unknown `{s}`; one of auto, none, global, per-feature, row-l1, scale:X"
                    ),
                ))
            }
        },
    };
    data.normalize(norm, &split.train);
    Ok((data, split, spec))
}

fn shape_str(s: &[usize]) -> String {
    s.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

/// Checks the space's network against the data: input shape (viewing the examples with the network's shape when
/// only the layout differs), class count, graph layers only with a graph.
/// A network of the space (its first random sample), with the input shape and class count every network of the
/// space shares. Errors say what is wrong after the space's name.
pub fn io_of(space: &dyn Space) -> Result<(tessera_core::Network, Vec<usize>, usize), String> {
    let net = space
        .lower(&space.sample(&mut tessera_core::rng_for(0, 0)))
        .map_err(|e| format!("does not lower: {e}"))?;
    net.shapes()
        .map_err(|e| format!("builds an invalid network: {e}"))?;
    let input = net.nodes.iter().find_map(|n| match &n.op {
        Op::Input { shape } => Some(shape.clone()),
        _ => None,
    });
    let classes = net.nodes.iter().find_map(|n| match &n.op {
        Op::Output { classes } => Some(*classes),
        _ => None,
    });
    match (input, classes) {
        (Some(i), Some(c)) => Ok((net, i, c)),
        _ => Err("lowers to a network without input or output".into()),
    }
}

pub(crate) fn fit_to_space(
    data: Dataset,
    space: &dyn Space,
    kind: &str,
    file: &str,
) -> Result<Dataset, ConfigError> {
    let field = |f: &str, msg: String| ConfigError::Field {
        file: file.to_string(),
        field: f.into(),
        msg,
    };
    let (net, input, classes) =
        io_of(space).map_err(|e| field("space", format!("`{kind}` {e}")))?;
    let name = data.name.clone();
    if classes != data.classes {
        return Err(field(
            "space",
            format!(
                "space `{kind}` outputs {classes} classes but dataset `{name}` has {}; set classes = {} in [space]",
                data.classes, data.classes
            ),
        ));
    }
    let graph_layers = net.nodes.iter().any(|n| matches!(n.op, Op::Gnn { .. }));
    if graph_layers && data.graph.is_none() {
        return Err(field(
            "space",
            format!("space `{kind}` has graph layers but dataset `{name}` is not a graph"),
        ));
    }
    if input == data.shape {
        return Ok(data);
    }
    let values: usize = input.iter().product();
    if values == data.example_len() {
        return data
            .with_shape(&input)
            .map_err(|e| field("space", e.to_string()));
    }
    Err(field(
        "space",
        format!(
            "space `{kind}` expects inputs of shape {} ({values} values) but dataset `{name}` has examples of shape {} ({} values); set the space's input to match",
            shape_str(&input),
            shape_str(&data.shape),
            data.example_len()
        ),
    ))
}
