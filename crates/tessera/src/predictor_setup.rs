//! `[evaluator] kind = "predictor"`: a model trained once, at setup, on known (architecture, metric) pairs predicts
//! the metric of every sampled architecture in microseconds (`tessera_strategies::predictor`).
//!
//! ```toml
//! [evaluator]
//! kind = "predictor"
//! metric = "test_accuracy"       # required: the metric to learn (any metric of the source)
//! model = "gp"                   # mlp-ensemble | gp | gbt (default mlp-ensemble)
//! encoding = "paths"             # paths (one-hot + the cell's path encoding; default where the space has one:
//!                                # NB201) | pairs (one-hot + pairs of choices; the default elsewhere) | onehot
//! seed = 0                       # draw, hold-out split and model initialisation (default: the study's seed)
//! # the source: a benchmark …
//! benchmark = "nb201:cifar10"    # as the benchmark evaluator takes it, with data = "DIR"
//! data = "../shared/data/nb201"
//! samples = 200                  # random architectures of the benchmark (default 200)
//! # … or the complete trials of a study
//! # study = "nb201-train"        # in this file's storage, or storage = "other.db" / a postgres:// URL
//! ```
//!
//! At setup 20 % of the source pairs are held out: the model is fitted on the rest, its error on them (Kendall τ,
//! Spearman ρ, RMSE) is the [`PredictorSetup::validation`] that `tessera search` prints on start-up and
//! [`crate::Setup::predictor`] keeps for the library; then the model is refitted on all pairs. Metrics of a trial:
//! the prediction under the learned metric's name, `params` and `flops` from the IR (when the space lowers), and a
//! simulated cost equal to the prediction time. The space is the benchmark's, or with `study` the `[space]` of this
//! file, else the source study's stored space.
//!
//! **Two-stage search** (predict, then train the top k): run a predictor study, list its best architectures with
//! `tessera best PREDICTED -n 10`, and put them in a training study's `[study] enqueue` (a list of architectures in
//! the space's text form), whose strategy evaluates them first:
//!
//! ```text
//! tessera search predicted.toml
//! tessera best predicted -n 10 --json | jq -r '.[].description'   # then paste into train.toml's enqueue = [...]
//! tessera search train.toml
//! ```

use crate::config::ConfigError;
use crate::train_setup::Opts;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tessera_bench::benchmarks::{self, DataPaths};
use tessera_core::{
    rng_for, EvalContext, EvalError, Evaluation, Evaluator, Metrics, Sample, Space, TrialState,
};
use tessera_strategies::predictor::{fit_validated, Model, ModelKind, Validation};
use tessera_strategies::surrogate::Encoding;

/// Every option of `[evaluator] kind = "predictor"`.
pub const OPTIONS: &[&str] = &[
    "metric",
    "model",
    "encoding",
    "seed",
    "benchmark",
    "data",
    "samples",
    "study",
    "storage",
];

/// The fraction of the source held out for validation.
pub const HELD_OUT: f64 = 0.2;

/// Where the training pairs came from, for messages.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PredictorReport {
    pub model: &'static str,
    /// The encoding the model reads (`paths`, `pairs` or `onehot`).
    pub encoding: &'static str,
    pub metric: String,
    /// e.g. `benchmark nb201:cifar10 (200 random samples)` or `study nb201-train in tessera.db (180 complete trials)`.
    pub source: String,
    pub validation: Validation,
}

impl std::fmt::Display for PredictorReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "predictor {} ({} encoding) of {} from {}: validation {}",
            self.model, self.encoding, self.metric, self.source, self.validation
        )
    }
}

/// A fitted model as an evaluator.
pub struct PredictorEvaluator {
    space: Arc<dyn Space>,
    model: Model,
    encoding: Encoding,
    metric: String,
}

impl PredictorEvaluator {
    /// The model's predictions for a batch of samples.
    pub fn predict(&self, samples: &[Sample]) -> Vec<f64> {
        let xs: Vec<Vec<f64>> = samples
            .iter()
            .map(|s| self.encoding.encode(self.space.as_ref(), s))
            .collect();
        self.model.predict(&xs)
    }

    fn costs(&self, sample: &Sample) -> Metrics {
        match self.space.lower(sample).ok().and_then(|n| n.costs().ok()) {
            Some((p, f)) => Metrics::new()
                .with("params", p as f64)
                .with("flops", f as f64),
            None => Metrics::new(),
        }
    }
}

impl Evaluator for PredictorEvaluator {
    fn evaluate(&self, sample: &Sample, _ctx: &EvalContext) -> Result<Evaluation, EvalError> {
        let start = Instant::now();
        let v = self.predict(std::slice::from_ref(sample))[0];
        let sim_seconds = start.elapsed().as_secs_f64();
        if !v.is_finite() {
            return Err(EvalError::Other(format!(
                "the predictor gave {v} for {}",
                self.space.describe(sample)
            )));
        }
        let mut m = self.costs(sample);
        m.set(&self.metric, v);
        Ok(Evaluation {
            metrics: m,
            sim_seconds,
        })
    }

    fn metric_names(&self) -> Vec<String> {
        let mut names = vec![self.metric.clone()];
        names.extend(
            ["params", "flops"]
                .into_iter()
                .filter(|n| *n != self.metric)
                .map(String::from),
        );
        names
    }

    fn profile(&self, sample: &Sample) -> Metrics {
        self.costs(sample)
    }
}

/// The predictor evaluator, its space and its validation report.
pub struct PredictorSetup {
    pub space: Box<dyn Space>,
    pub evaluator: Arc<PredictorEvaluator>,
    pub report: PredictorReport,
    /// The benchmark's data folder (its content enters the stored configuration).
    pub data_dir: Option<std::path::PathBuf>,
}

/// The (architecture, metric) pairs a predictor learns from.
pub struct Pairs {
    pub space: Box<dyn Space>,
    /// The options `space` was built with (by its name, a kind of `tessera_spaces::build`).
    pub options: tessera_spaces::Options,
    pub samples: Vec<Sample>,
    pub values: Vec<f64>,
    pub source: String,
}

/// `samples` distinct random architectures of benchmark `spec` and their `metric` (a metric the benchmark reports
/// or profiles), drawn with `seed`. Errors are messages for the `benchmark` or `metric` field (first element).
pub fn benchmark_pairs(
    spec: &str,
    paths: &DataPaths,
    metric: &str,
    samples: usize,
    seed: u64,
) -> Result<Pairs, (&'static str, String)> {
    let b = benchmarks::open(spec, paths).map_err(|e| ("benchmark", e.to_string()))?;
    let ev = b.evaluator;
    let mut rng = rng_for(seed, 0x7361_6d70);
    let (mut seen, mut out, mut values) =
        (std::collections::HashSet::new(), Vec::new(), Vec::new());
    let mut tries = 0usize;
    while out.len() < samples && tries < samples * 50 + 1000 {
        tries += 1;
        let s = b.space.sample(&mut rng);
        if !ev.contains(&s) || !seen.insert(s.clone()) {
            continue;
        }
        let ctx = EvalContext {
            trial: out.len() as u64,
            seed,
        };
        let Ok(e) = ev.evaluate(&s, &ctx) else {
            continue;
        };
        let v = e.metrics.get(metric).or_else(|| ev.profile(&s).get(metric));
        match v {
            Some(v) if v.is_finite() => {
                out.push(s);
                values.push(v);
            }
            Some(_) => {}
            None => {
                let mut known: Vec<String> = e.metrics.names().map(String::from).collect();
                known.extend(ev.profile(&s).names().map(String::from));
                return Err((
                    "metric",
                    format!(
                        "`{metric}` is not a metric of benchmark `{spec}`; it has {}",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    let source = format!("benchmark {} ({} random samples)", b.name, out.len());
    Ok(Pairs {
        space: b.space,
        options: Default::default(),
        samples: out,
        values,
        source,
    })
}

/// The complete trials of study `name` in `storage` (a URL as `open_storage` takes it) with their `metric`. The
/// space is `space` if given, else the study's stored space. Errors are messages for the `study` or `metric` field.
pub fn study_pairs(
    url: &str,
    name: &str,
    metric: &str,
    space: Option<(String, tessera_spaces::Options)>,
) -> Result<Pairs, (&'static str, String)> {
    let storage =
        crate::config::open_storage_read_only(url).map_err(|e| ("storage", e.to_string()))?;
    let info = storage
        .find_study(name)
        .map_err(|e| ("study", e.to_string()))?;
    let (kind, options) = match space {
        Some(s) => s,
        None => {
            let spec = tessera_report::front::StudySpec::from_info(&info)
                .map_err(|e| ("study", e.to_string()))?;
            let kind = spec.space.ok_or((
                "study",
                format!("study `{name}` records no space: give a [space] table"),
            ))?;
            (kind, spec.space_options)
        }
    };
    let space = tessera_spaces::build(&kind, &options).map_err(|e| {
        (
            "study",
            format!("study `{name}`: space `{kind}` does not build: {e}"),
        )
    })?;
    let trials = storage
        .trials(info.id)
        .map_err(|e| ("study", e.to_string()))?;
    let dims: Vec<usize> = space.dims().iter().map(|d| d.len()).collect();
    let (mut samples, mut values, mut complete) = (Vec::new(), Vec::new(), 0usize);
    let mut seen_metrics = std::collections::BTreeSet::new();
    for t in trials.iter().filter(|t| t.state == TrialState::Complete) {
        complete += 1;
        seen_metrics.extend(t.metrics.names().chain(t.profile.names()));
        let fits = t.sample.len() == dims.len()
            && t.sample
                .as_slice()
                .iter()
                .zip(&dims)
                .all(|(&c, &k)| (c as usize) < k);
        if !fits {
            return Err((
                "study",
                format!(
                    "study `{name}`: trial #{} ({}) is not a sample of space `{}`",
                    t.number,
                    t.description,
                    space.name()
                ),
            ));
        }
        if let Some(v) = t
            .metrics
            .get(metric)
            .or_else(|| t.profile.get(metric))
            .filter(|v| v.is_finite())
        {
            samples.push(t.sample.clone());
            values.push(v);
        }
    }
    if complete == 0 {
        return Err((
            "study",
            format!(
                "study `{name}` in {} has no complete trial",
                storage.location()
            ),
        ));
    }
    if samples.is_empty() {
        let known: Vec<&str> = seen_metrics.into_iter().collect();
        return Err((
            "metric",
            format!(
                "`{metric}` is not a metric of study `{name}`'s trials; they have {}",
                known.join(", ")
            ),
        ));
    }
    let source = format!(
        "study {name} in {} ({} complete trials with {metric})",
        storage.location(),
        samples.len()
    );
    Ok(Pairs {
        space,
        options,
        samples,
        values,
        source,
    })
}

/// Builds the predictor from `[evaluator]` (kind = "predictor"); `base` anchors `data`, `study_storage` is the
/// study file's storage (the default for `study`), `study_seed` the default seed.
pub fn build(
    evaluator: &toml::Table,
    space: Option<&toml::Table>,
    base: &Path,
    file: &str,
    study_storage: &str,
    study_seed: u64,
) -> Result<PredictorSetup, ConfigError> {
    let mut o = Opts::new(evaluator, file, "evaluator", OPTIONS);
    let metric = o.string("metric")?.ok_or_else(|| {
        o.err(
            "metric",
            "missing: the metric to predict (e.g. metric = \"val_accuracy\")",
        )
    })?;
    let kind = match o.string("model")? {
        None => ModelKind::MlpEnsemble,
        Some(m) => ModelKind::parse(&m).map_err(|e| o.err("model", e))?,
    };
    let encoding = match o.string("encoding")?.as_deref() {
        None => None,
        Some("paths") => Some(Encoding::Paths),
        Some("pairs") => Some(Encoding::Pairs),
        Some("onehot") => Some(Encoding::Space),
        Some(e) => {
            return Err(o.err(
                "encoding",
                format!("unknown `{e}`; one of paths, pairs, onehot"),
            ))
        }
    };
    let seed = o.int("seed", 0)?.unwrap_or(study_seed);
    let (bench, study) = (o.string("benchmark")?, o.string("study")?);
    let field = |(f, msg): (&str, String)| ConfigError::Field {
        file: file.into(),
        field: format!("evaluator.{f}"),
        msg,
    };
    let mut data_dir = None;
    let pairs = match (bench, study) {
        (Some(_), Some(_)) => {
            return Err(o.err(
                "study",
                "give either `benchmark` or `study` as the source, not both",
            ))
        }
        (None, None) => return Err(o.err(
            "benchmark",
            "missing source: give benchmark = \"nb201:cifar10\" (with data) or study = \"NAME\"",
        )),
        (Some(spec), None) => {
            if o.get("storage").is_some() {
                return Err(o.err("storage", "only with `study`"));
            }
            if let Some(sp) = space {
                if sp.keys().any(|k| k != "kind") {
                    return Err(ConfigError::Field {
                        file: file.into(),
                        field: "space".into(),
                        msg: "a benchmark source fixes the space: only `kind` may be given".into(),
                    });
                }
            }
            let samples = o.int("samples", 1)?.map_or(200, |n| n as usize);
            let dir = o.string("data")?.map(|d| crate::config::resolve(base, &d));
            data_dir = dir.clone();
            let paths = DataPaths {
                nb201_dir: dir,
                cache_dir: None,
                analog: false,
                fetch: false,
            };
            let p = benchmark_pairs(&spec, &paths, &metric, samples, seed).map_err(field)?;
            if p.samples.len() < samples {
                return Err(o.err(
                    "samples",
                    format!(
                        "benchmark `{spec}` gave {} distinct architectures, fewer than {samples}",
                        p.samples.len()
                    ),
                ));
            }
            p
        }
        (None, Some(name)) => {
            for k in ["data", "samples"] {
                if o.get(k).is_some() {
                    return Err(o.err(k, "only with `benchmark`"));
                }
            }
            let url = o
                .string("storage")?
                .unwrap_or_else(|| study_storage.to_string());
            let sp = match space {
                Some(t) => {
                    let (kind, opts, built) =
                        crate::train_setup::space_from(Some(t), file, "kind = \"predictor\"")?;
                    Some((built.name().to_string(), opts)).filter(|_| !kind.is_empty())
                }
                None => None,
            };
            study_pairs(&url, &name, &metric, sp).map_err(field)?
        }
    };
    o.finish("(predictor)")?;
    let encoding = match encoding {
        None => Encoding::best_for(pairs.space.as_ref()),
        Some(Encoding::Paths) if Encoding::best_for(pairs.space.as_ref()) != Encoding::Paths => {
            return Err(o.err("encoding", format!("space `{}` has no path encoding (only cell spaces such as nb201 do); use pairs or onehot", pairs.space.name())));
        }
        Some(e) => e,
    };
    let xs: Vec<Vec<f64>> = pairs
        .samples
        .iter()
        .map(|s| encoding.encode(pairs.space.as_ref(), s))
        .collect();
    let (model, validation) = fit_validated(kind, &xs, &pairs.values, HELD_OUT, seed)
        .map_err(|e| o.err("model", format!("{}: {e}", pairs.source)))?;
    // The evaluator holds its own instance of the space (the study loop owns `pairs.space`).
    let own: Arc<dyn Space> = Arc::from(
        tessera_spaces::build(pairs.space.name(), &pairs.options).map_err(|e| {
            ConfigError::Field {
                file: file.into(),
                field: "space".into(),
                msg: e,
            }
        })?,
    );
    let report = PredictorReport {
        model: kind.name(),
        encoding: encoding.name(),
        metric: metric.clone(),
        source: pairs.source,
        validation,
    };
    let evaluator = Arc::new(PredictorEvaluator {
        space: own,
        model,
        encoding,
        metric,
    });
    Ok(PredictorSetup {
        space: pairs.space,
        evaluator,
        report,
        data_dir,
    })
}
