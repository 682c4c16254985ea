//! Study files.
//!
//! ```toml
//! [study]
//! name = "cora-evolution"
//! storage = "tessera.db"          # a SQLite file (or sqlite://path), relative to the working directory; or a
//!                                 # PostgreSQL URL postgres://user[:password]@host[:port]/db[?schema=NAME]
//! seed = 0
//! budget = { trials = 100 }       # and/or seconds = … (wall time of the run), sim_seconds = …; or "none"
//!
//! [evaluator]
//! kind = "benchmark"
//! benchmark = "nas-bench-graph:cora"   # or "nb201:cifar10" with data = "DIR"
//!
//! [strategy]
//! kind = "evolution"                   # random | grid | local | evolution; options follow
//! population = 20
//! sample = 5
//!
//! [[objective]]
//! metric = "val_accuracy"
//! direction = "max"
//!
//! [[constraint]]
//! metric = "params"
//! max = 200000
//! ```
//!
//! The budget must bound the run time: `trials` or `seconds` (wall-clock seconds of the run, checked before each new
//! trial). `sim_seconds` alone does not (a benchmark whose queries cost no simulated time never spends it), nor does
//! no budget at all; such a study is refused unless it says `budget = "none"` (run until the strategy has nothing
//! left to propose, or Ctrl-C).
//!
//! `[space]` is optional with a benchmark evaluator (the benchmark names its space); when given, it holds `kind`
//! only, which must match the benchmark's (the benchmark fixes every other option). With `[evaluator] kind = "train"` every sampled network is trained for real: `[space]`
//! is then required and the evaluator names a dataset and the training options (see [`crate::train_setup`]).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tessera_core::{Budget, Constraint, Evaluator, Objective, Space, Storage, Strategy};
use thiserror::Error;

/// A study-file error: the file, the field, and what is wrong, on one line.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {msg}")]
    Read { file: String, msg: String },
    #[error("{file}: {msg}")]
    Parse { file: String, msg: String },
    #[error("{file}: {field}: {msg}")]
    Field {
        file: String,
        field: String,
        msg: String,
    },
}

/// The `[study]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudySection {
    pub name: String,
    #[serde(default = "default_storage")]
    pub storage: String,
    #[serde(default)]
    pub seed: u64,
    /// The budget (`budget = "none"` reads as no limits; see [`StudyFile::parse`] for what is refused).
    #[serde(skip)]
    pub budget: Budget,
    /// `budget` as written: absent, `"none"`, or limits (read once; [`StudyFile::parse`] sets `budget` from it).
    #[serde(default, rename = "budget", deserialize_with = "budget_field")]
    budget_written: Option<BudgetWritten>,
    /// Architectures to evaluate first, in the space's notation (e.g. NB201 strings) or as JSON choice arrays.
    #[serde(default)]
    pub enqueue: Vec<String>,
}

fn default_storage() -> String {
    "tessera.db".into()
}

/// The longest wall-clock budget a study file may ask for (about 31 years): anything larger is a typo.
pub const MAX_BUDGET_SECONDS: f64 = 1e9;

/// What a study file's `budget` says: `"none"` (no limits, on purpose) or limits.
#[derive(Debug, Clone, Copy)]
enum BudgetWritten {
    None,
    Limits(Budget),
}

/// `budget = { trials = …, seconds = …, sim_seconds = … }` or `budget = "none"`.
fn budget_field<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<BudgetWritten>, D::Error> {
    use serde::de::Error;
    match toml::Value::deserialize(d)? {
        toml::Value::String(s) if s == "none" => Ok(Some(BudgetWritten::None)),
        toml::Value::String(s) => Err(D::Error::custom(format!(
            "budget must be a table like {{ trials = 100 }} or {{ seconds = 600 }}, or \"none\"; got \"{s}\""
        ))),
        v => v.try_into::<Budget>().map(|b| Some(BudgetWritten::Limits(b))).map_err(|e| D::Error::custom(e.message().trim().replace('\n', " "))),
    }
}

/// A whole study file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyFile {
    pub study: StudySection,
    #[serde(default)]
    pub space: Option<toml::Table>,
    pub evaluator: toml::Table,
    pub strategy: toml::Table,
    #[serde(default)]
    pub objective: Vec<Objective>,
    #[serde(default)]
    pub constraint: Vec<Constraint>,
    /// `[guide]`: a zero-cost proxy the strategy may rank candidates with (see [`crate::proxy_setup::guide`]).
    #[serde(default)]
    pub guide: Option<toml::Table>,
    /// `[pruner]`: stops unpromising training trials after an epoch (`kind` = median, successive-halving,
    /// hyperband; `tessera_strategies::hyperband::build_pruner`'s options).
    #[serde(default)]
    pub pruner: Option<toml::Table>,
    /// Where the file was read from (for messages and relative data paths).
    #[serde(skip)]
    pub path: PathBuf,
    /// The file's text as read (stored with the study so workers can rebuild it: see [`Setup::register`]).
    #[serde(skip)]
    pub text: String,
}

/// Everything a run needs, built from a study file.
pub struct Setup {
    pub file: StudyFile,
    pub space: Box<dyn Space>,
    pub evaluator: Arc<dyn Evaluator>,
    pub strategy_kind: String,
    pub strategy_options: BTreeMap<String, String>,
    /// The configuration stored with the study (budget and storage excluded, so a budget can be extended).
    pub config_json: String,
    /// The configuration as Tessera stored it before data folders counted by content (the `data` path as written),
    /// when it differs: a study stored that way still resumes (see [`Setup::adopt_stored_config`]).
    pub legacy_config_json: Option<String>,
    pub benchmark: Option<String>,
    /// With `kind = "train"`: the parts of the training evaluator (data, split, training and latency options), to
    /// attach a progress hook or an artifacts directory.
    pub train: Option<crate::train_setup::TrainSetup>,
    /// With `kind = "predictor"`: the model, its source and its validation error (see [`crate::predictor_setup`]).
    pub predictor: Option<crate::predictor_setup::PredictorReport>,
    /// With `[guide]`: the proxy [`Setup::study`] offers the strategy.
    pub guide: Option<Arc<tessera_train::ProxyGuide>>,
    /// With `[pruner]`: the pruner [`Setup::study`] runs trials under.
    pub pruner: Option<Arc<dyn tessera_core::Pruner>>,
}

impl StudyFile {
    /// Reads and parses a study file. Errors name the file and, from the TOML parser, the line and the field.
    pub fn load(path: &Path) -> Result<StudyFile, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            file: file.clone(),
            msg: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<StudyFile, ConfigError> {
        let file = path.display().to_string();
        let mut f: StudyFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: file.clone(),
            msg: one_line(&e, text),
        })?;
        f.path = path.to_path_buf();
        f.text = text.to_string();
        let err = |field: &str, msg: String| ConfigError::Field {
            file: file.clone(),
            field: field.into(),
            msg,
        };
        if f.study.name.trim().is_empty() {
            return Err(err("study.name", "must not be empty".into()));
        }
        let explicit_none = matches!(f.study.budget_written, Some(BudgetWritten::None));
        if let Some(BudgetWritten::Limits(b)) = f.study.budget_written {
            f.study.budget = b;
        }
        let b = &f.study.budget;
        if let Some(v) = b.seconds {
            tessera_core::worker::checked_seconds("wall seconds", v, false, MAX_BUDGET_SECONDS)
                .map_err(|m| err("study.budget.seconds", m))?;
        }
        if let Some(v) = b.sim_seconds {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(err(
                    "study.budget.sim_seconds",
                    format!("must be a finite non-negative number, got {v}"),
                ));
            }
        }
        if !b.bounds_run_time() {
            // Only an explicit `budget = "none"` may run without a bound.
            if !explicit_none {
                let what = if b.sim_seconds.is_some() {
                    "sim_seconds alone does not bound the run time (simulated cost may not advance)"
                } else {
                    "no budget bounds the run time"
                };
                return Err(err(
                    "study.budget",
                    format!("{what}: give trials = N or seconds = S (wall time of the run), or budget = \"none\" to run until the strategy has nothing left to propose"),
                ));
            }
        }
        if f.objective.is_empty() {
            return Err(err(
                "objective",
                "at least one [[objective]] is required (metric and direction)".into(),
            ));
        }
        for (i, o) in f.objective.iter().enumerate() {
            if let Some(j) = f.objective[..i].iter().position(|p| p.metric == o.metric) {
                let how = if f.objective[j].direction == o.direction {
                    "twice"
                } else {
                    "with opposite directions"
                };
                return Err(err(
                    &format!("objective[{i}].metric"),
                    format!(
                        "`{}` is already objective[{j}]: the same metric {how}",
                        o.metric
                    ),
                ));
            }
            if let Some(r) = o.reference.filter(|r| !r.is_finite()) {
                return Err(err(
                    &format!("objective[{i}].reference"),
                    format!("must be a finite number, got {r}"),
                ));
            }
        }
        for (i, c) in f.constraint.iter().enumerate() {
            for (name, v) in [("min", c.min), ("max", c.max)] {
                if let Some(v) = v.filter(|v| !v.is_finite()) {
                    return Err(err(
                        &format!("constraint[{i}].{name}"),
                        format!("must be a finite number, got {v}"),
                    ));
                }
            }
            if let (Some(lo), Some(hi)) = (c.min, c.max) {
                if lo > hi {
                    return Err(err(
                        &format!("constraint[{i}]"),
                        format!("min {lo} is greater than max {hi}: no value can satisfy it"),
                    ));
                }
            }
        }
        Ok(f)
    }

    /// Builds space, evaluator and strategy options.
    pub fn setup(self) -> Result<Setup, ConfigError> {
        let file = self.path.display().to_string();
        let err = |field: &str, msg: String| ConfigError::Field {
            file: file.clone(),
            field: field.into(),
            msg,
        };
        let kind = match self.evaluator.get("kind") {
            Some(toml::Value::String(k)) => k.clone(),
            Some(v) => {
                return Err(err(
                    "evaluator.kind",
                    format!("must be a string, got `{v}`"),
                ))
            }
            None => {
                return Err(err(
                    "evaluator.kind",
                    "missing (e.g. kind = \"benchmark\")".into(),
                ))
            }
        };
        let entry = crate::evaluators::EVALUATORS
            .iter()
            .find(|e| e.name == kind)
            .ok_or_else(|| {
                err(
                    "evaluator.kind",
                    format!(
                        "unknown evaluator `{kind}`; known: {}",
                        crate::evaluators::names()
                    ),
                )
            })?;
        let built = (entry.build)(&crate::evaluators::Ctx {
            evaluator: &self.evaluator,
            space: self.space.as_ref(),
            base: self.path.parent().unwrap_or(Path::new(".")),
            file: &file,
            study: &self.study,
        })?;
        let crate::evaluators::Built {
            space,
            evaluator,
            benchmark: bench_name,
            data_dir,
            train,
            predictor,
        } = built;
        let mut st = options(&self.strategy);
        let strategy_kind = st.remove("kind").ok_or_else(|| {
            err(
                "strategy.kind",
                "missing (e.g. kind = \"evolution\")".into(),
            )
        })?;
        // Build once now so a bad strategy, option or enqueued architecture fails before anything runs.
        let s = tessera_strategies::build(&strategy_kind, &st, space.as_ref(), 0)
            .map_err(|e| err("strategy", e))?;
        tessera_strategies::enqueue::Enqueued::new(s, space.as_ref(), &self.study.enqueue)
            .map_err(|e| err("study", e))?;
        let guided = ["warmup", "guided"]
            .into_iter()
            .find(|k| st.contains_key(*k));
        let guide = match (&self.guide, guided) {
            (None, None) => None,
            (None, Some(k)) => {
                return Err(err(&format!("strategy.{k}"), "needs a [guide] table (e.g. [guide] proxy = \"synflow\") to score samples with".into()))
            }
            (Some(_), None) => {
                return Err(err("guide", format!("strategy `{strategy_kind}` does not use it: give warmup = N and/or guided = p (evolution, local)")))
            }
            (Some(g), Some(_)) => {
                // the space the proxy lowers samples in: the study's own, or the benchmark's default network
                let own = self.space.as_ref().filter(|_| kind != "benchmark").filter(|t| t.keys().any(|k| k != "kind"));
                let space_t = own.cloned().unwrap_or_else(|| toml::Table::from_iter([("kind".to_string(), toml::Value::String(space.name().to_string()))]));
                let base = self.path.parent().unwrap_or(Path::new("."));
                Some(Arc::new(crate::proxy_setup::guide(g, &space_t, base, &file, self.study.seed)?))
            }
        };
        let pruner = match &self.pruner {
            None => None,
            Some(t) => {
                let Some(tr) = &train else {
                    return Err(err("pruner", format!("evaluator `{kind}` reports no intermediate values (epochs); a pruner needs kind = \"train\"")));
                };
                let mut o = options(t);
                let Some(pk) = o.remove("kind") else {
                    return Err(err(
                        "pruner.kind",
                        format!(
                            "missing; one of {}",
                            tessera_strategies::hyperband::PRUNERS.join(", ")
                        ),
                    ));
                };
                if pk == "hyperband" && !o.contains_key("max_steps") {
                    // a full evaluation is the training's epochs
                    o.insert("max_steps".into(), tr.epochs().to_string());
                }
                // the field a build_pruner message is about: the kind, else the option it quotes
                let field = |e: &str| match t.keys().find(|k| e.contains(&format!("`{k}`"))) {
                    _ if e.starts_with("unknown pruner") => "pruner.kind".to_string(),
                    Some(k) => format!("pruner.{k}"),
                    None => "pruner".to_string(),
                };
                Some(Arc::from(
                    tessera_strategies::hyperband::build_pruner(&pk, &o)
                        .map_err(|e| err(&field(&e), e))?,
                ))
            }
        };
        let known = evaluator.metric_names();
        let profile_known = |m: &str| m == "params" || m == "flops";
        for (i, o) in self.objective.iter().enumerate() {
            if !known.iter().any(|k| k == &o.metric) && !profile_known(&o.metric) {
                return Err(err(
                    &format!("objective[{i}].metric"),
                    format!(
                        "unknown metric `{}`; known: {}, params, flops",
                        o.metric,
                        known.join(", ")
                    ),
                ));
            }
        }
        for (i, c) in self.constraint.iter().enumerate() {
            if !known.iter().any(|k| k == &c.metric) && !profile_known(&c.metric) {
                return Err(err(
                    &format!("constraint[{i}].metric"),
                    format!(
                        "unknown metric `{}`; known: {}, params, flops",
                        c.metric,
                        known.join(", ")
                    ),
                ));
            }
            if c.min.is_none() && c.max.is_none() {
                return Err(err(
                    &format!("constraint[{i}]"),
                    "needs `min` or `max`".into(),
                ));
            }
        }
        // The data folder enters the stored configuration by content, not by path: a moved folder (same files)
        // resumes, a changed file is refused.
        let mut evaluator_config = self.evaluator.clone();
        let legacy_evaluator = self.evaluator.to_string();
        if let Some(dir) = &data_dir {
            let digest = data_digest(dir).map_err(|e| err("evaluator.data", e))?;
            evaluator_config.insert("data".into(), toml::Value::String(digest));
        }
        let mut config = serde_json::json!({
            "space": space.name(),
            "evaluator": evaluator_config.to_string(),
            "strategy": self.strategy.to_string(),
            "objectives": self.objective,
            "constraints": self.constraint,
            "seed": self.study.seed,
            "enqueue": self.study.enqueue,
        });
        // stored only when given, so studies stored before guides and pruners existed keep their configuration
        if let Some(g) = &self.guide {
            config["guide"] = serde_json::Value::String(g.to_string());
        }
        if let Some(p) = &self.pruner {
            config["pruner"] = serde_json::Value::String(p.to_string());
        }
        if let (true, Some(sp)) = (kind != "benchmark", &self.space) {
            // A trained or scored space's options (sizes, input, classes) change what every trial means.
            config["space_options"] = serde_json::Value::String(sp.to_string());
        }
        let config_json = config.to_string();
        let legacy_config_json = data_dir.is_some().then(|| {
            config["evaluator"] = serde_json::Value::String(legacy_evaluator);
            config.to_string()
        });
        Ok(Setup {
            file: self,
            space,
            evaluator,
            strategy_kind,
            strategy_options: st,
            config_json,
            legacy_config_json,
            benchmark: bench_name,
            train,
            predictor,
            guide,
            pruner,
        })
    }
}

/// Study attribute holding the study file's text (see [`Setup::register`]).
pub const ATTR_STUDY_FILE: &str = "study_file";
/// Study attribute holding the study file's absolute path (its directory anchors relative data paths).
pub const ATTR_STUDY_PATH: &str = "study_path";

/// Why a worker cannot rebuild a study from its storage.
#[derive(Debug, Error)]
pub enum WorkerSetupError {
    #[error(transparent)]
    Store(#[from] tessera_core::StoreError),
    #[error("study `{study}` in {location} has no stored study file (it was created by an older Tessera or by the library); run `tessera search STUDY.toml --workers N` or `tessera worker --file STUDY.toml` once to store it")]
    NoStudyFile { study: String, location: String },
    #[error("study `{study}`: the stored study file no longer builds: {source}")]
    Config { study: String, source: ConfigError },
    #[error("study `{study}`: the stored study file does not match the study's configuration (stored: {stored}; file: {file})")]
    Mismatch {
        study: String,
        stored: String,
        file: String,
    },
    /// A serial `tessera search` runs the study (see [`crate::lock`]).
    #[error(transparent)]
    Locked(#[from] crate::lock::Locked),
}

impl From<crate::lock::LockError> for WorkerSetupError {
    fn from(e: crate::lock::LockError) -> Self {
        match e {
            crate::lock::LockError::Locked(l) => WorkerSetupError::Locked(l),
            crate::lock::LockError::Store(s) => WorkerSetupError::Store(s),
        }
    }
}

/// Rebuilds the setup of study `name` from the study file stored with it (what `tessera worker --study NAME` does
/// on any machine). Relative data paths resolve against the stored file's directory.
pub fn setup_from_storage(
    storage: &dyn Storage,
    name: &str,
) -> Result<(Setup, tessera_core::StudyInfo), WorkerSetupError> {
    let info = storage.find_study(name)?;
    let no_file = || WorkerSetupError::NoStudyFile {
        study: name.into(),
        location: storage.location(),
    };
    let text = storage
        .study_attr(info.id, ATTR_STUDY_FILE)?
        .ok_or_else(no_file)?;
    let path = storage
        .study_attr(info.id, ATTR_STUDY_PATH)?
        .unwrap_or_else(|| format!("{name}.toml"));
    let cfg = |source| WorkerSetupError::Config {
        study: name.into(),
        source,
    };
    let mut setup = StudyFile::parse(&text, Path::new(&path))
        .map_err(cfg)?
        .setup()
        .map_err(cfg)?;
    setup.adopt_stored_config(storage);
    if setup.config_json != info.config {
        return Err(WorkerSetupError::Mismatch {
            study: name.into(),
            stored: info.config.clone(),
            file: setup.config_json,
        });
    }
    Ok((setup, info))
}

impl Setup {
    /// A study stored by an earlier Tessera (its data folder by path, not content) keeps its stored configuration:
    /// when the storage holds this study with exactly the legacy form of this file's configuration, that form
    /// becomes [`Setup::config_json`], so the study resumes instead of being refused as changed.
    pub fn adopt_stored_config(&mut self, storage: &dyn Storage) {
        self.config_json = self.config_for(storage);
    }

    /// The configuration to open this study with in `storage`: the legacy form when the study is stored with it
    /// (see [`Setup::adopt_stored_config`]), else [`Setup::config_json`].
    pub fn config_for(&self, storage: &dyn Storage) -> String {
        if let (Some(legacy), Ok(info)) = (
            &self.legacy_config_json,
            storage.find_study(&self.file.study.name),
        ) {
            if info.config == *legacy {
                return legacy.clone();
            }
        }
        self.config_json.clone()
    }

    /// The study this setup describes (objectives, constraints, budget, seed, stored configuration).
    pub fn study(&self) -> tessera_core::Study<'_> {
        let f = &self.file;
        let mut study = tessera_core::Study::new(
            &f.study.name,
            self.space.as_ref(),
            self.evaluator.as_ref(),
            f.objective.clone(),
        );
        study.config = self.config_json.clone();
        study.constraints = f.constraint.clone();
        study.budget = f.study.budget;
        study.seed = f.study.seed;
        study.guide = self.guide.as_deref().map(|g| g as &dyn tessera_core::Guide);
        study.pruner = self.pruner.as_deref();
        study
    }

    /// Opens (or creates) the study in `storage` and stores the study file's text and absolute path with it, so
    /// that workers anywhere can rebuild it with [`setup_from_storage`]. The latest registration wins (a larger
    /// budget reaches workers that start afterwards).
    pub fn register(
        &self,
        storage: &mut dyn Storage,
    ) -> Result<tessera_core::StudyInfo, tessera_core::StoreError> {
        let info = storage.open_study(&self.file.study.name, &self.config_for(storage))?;
        if storage.supports_workers() {
            let path =
                std::path::absolute(&self.file.path).unwrap_or_else(|_| self.file.path.clone());
            // Stored for anyone who can read the storage: without the passwords of database URLs in it.
            storage.set_study_attr(info.id, ATTR_STUDY_FILE, &redact_urls(&self.file.text))?;
            storage.set_study_attr(info.id, ATTR_STUDY_PATH, &path.display().to_string())?;
        }
        Ok(info)
    }

    /// With a training evaluator: calls `hook` after every epoch of every trial (a progress bar). No-op otherwise.
    pub fn set_epoch_hook(&self, hook: tessera_train::EpochHook) {
        if let Some(t) = &self.train {
            t.set_epoch_hook(hook);
        }
    }

    /// With a training evaluator: save each trial's trained weights under `dir` (rebuilds the evaluator; call before
    /// running). No-op otherwise.
    pub fn set_artifacts(&mut self, dir: PathBuf) {
        if let Some(t) = &mut self.train {
            t.artifacts = Some(dir);
            self.evaluator = Arc::new(t.evaluator());
        }
    }

    /// A fresh strategy for this study's seed.
    pub fn strategy(&self) -> Box<dyn Strategy> {
        let s = tessera_strategies::build(
            &self.strategy_kind,
            &self.strategy_options,
            self.space.as_ref(),
            self.file.study.seed,
        )
        .expect("checked in setup");
        if self.file.study.enqueue.is_empty() {
            return s;
        }
        Box::new(
            tessera_strategies::enqueue::Enqueued::new(
                s,
                self.space.as_ref(),
                &self.file.study.enqueue,
            )
            .expect("checked in setup"),
        )
    }
}

/// Opens the storage named in a study file or on the command line: a PostgreSQL URL (`postgres://…` or
/// `postgresql://…`, see `tessera_store::postgres`), else a SQLite path, optionally `sqlite://`-prefixed. `create`:
/// create the file or schema when absent (runs); read-only commands pass `false`.
pub fn open_storage(url: &str, create: bool) -> Result<Box<dyn Storage>, tessera_core::StoreError> {
    if tessera_store::PostgresStorage::is_url(url) {
        let s = if create {
            tessera_store::PostgresStorage::open(url)?
        } else {
            tessera_store::PostgresStorage::open_existing(url)?
        };
        return Ok(Box::new(s));
    }
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    check_sqlite_path(path)?;
    let s = if create {
        tessera_store::SqliteStorage::open(path)?
    } else {
        tessera_store::SqliteStorage::open_existing(path)?
    };
    Ok(Box::new(s))
}

/// Opens a storage for inspection only (`tessera studies`, `trials`, `best`, `pareto`, `report`, `export`): a SQLite
/// file is opened read-only (`SqliteStorage::open_read_only`: a `0444` file or a read-only mount works, nothing is
/// created, nothing migrated); a PostgreSQL URL as `open_storage(url, false)`.
pub fn open_storage_read_only(url: &str) -> Result<Box<dyn Storage>, tessera_core::StoreError> {
    if tessera_store::PostgresStorage::is_url(url) {
        return Ok(Box::new(tessera_store::PostgresStorage::open_existing(
            url,
        )?));
    }
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    Ok(Box::new(tessera_store::SqliteStorage::open_read_only(
        path,
    )?))
}

/// A thorough check of a storage's stored data: for a SQLite file, SQLite's full `integrity_check` (a read-only
/// open already runs the quicker `quick_check`); a PostgreSQL server checks its own pages, so only the connection and
/// schema are checked. `Err(StoreError::Corrupt)` names the file.
pub fn check_storage(url: &str) -> Result<(), tessera_core::StoreError> {
    if tessera_store::PostgresStorage::is_url(url) {
        return tessera_store::PostgresStorage::open_existing(url).map(|_| ());
    }
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    tessera_store::SqliteStorage::open_read_only(path)?.integrity_check()
}

/// `text` with every PostgreSQL URL in it redacted (`postgres://user:secret@host/db` → `postgres://user@host/db`,
/// `password=…` → `password=***`; see `tessera_store::postgres::redact`). A URL ends at a quote or white space.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = ["postgres://", "postgresql://"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .map_or(rest.len(), |e| i + e);
        out.push_str(&tessera_store::postgres::redact(&rest[i..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A content digest of an NB201 data folder: `nats_bench.csv` and every file in `latency/`, by name and bytes
/// (64-bit FNV-1a; detects a changed file, which is all a resume check needs).
pub fn data_digest(dir: &Path) -> Result<String, String> {
    let mut files = vec![dir.join("nats_bench.csv")];
    if let Ok(rd) = std::fs::read_dir(dir.join("latency")) {
        let mut lat: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        lat.sort();
        files.extend(lat);
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for f in &files {
        let bytes = std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        let name = f
            .strip_prefix(dir)
            .unwrap_or(f)
            .to_string_lossy()
            .into_owned();
        feed(name.as_bytes());
        feed(&(bytes.len() as u64).to_le_bytes());
        feed(&bytes);
    }
    Ok(format!("fnv1a64:{h:016x}"))
}

/// A SQLite storage must be a regular file, or a new file in an existing directory: not empty, not `:memory:`
/// (a database that vanishes with the process, and that workers could not share), not a device or a directory
/// (`/dev/null` made SQLite create `/dev/null-journal`).
fn check_sqlite_path(path: &str) -> Result<(), tessera_core::StoreError> {
    let refuse = |msg: String| {
        Err(tessera_core::StoreError::Open {
            location: if path.is_empty() {
                "\"\"".into()
            } else {
                path.to_string()
            },
            msg,
        })
    };
    if path.trim().is_empty() {
        return refuse(
            "empty storage path: give a SQLite file (e.g. tessera.db) or a postgres:// URL".into(),
        );
    }
    if path.starts_with("file:") {
        return refuse("SQLite URI filenames are not supported: give a file path".into());
    }
    if path == ":memory:" {
        return refuse("in-memory SQLite databases are refused (the study would vanish when tessera exits, and workers could not share it): give a file path".into());
    }
    let p = Path::new(path);
    match std::fs::metadata(p) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(m) if m.is_dir() => refuse("is a directory, not a SQLite file".into()),
        Ok(_) => refuse(
            "is not a regular file (a device, a pipe or a socket); give a SQLite file".into(),
        ),
        Err(_) => {
            let parent = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if parent.is_dir() {
                Ok(())
            } else {
                refuse(format!("directory {} does not exist", parent.display()))
            }
        }
    }
}

pub(crate) fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// A TOML table as `name -> value` strings (strings unquoted).
pub(crate) fn options(t: &toml::Table) -> BTreeMap<String, String> {
    t.iter()
        .map(|(k, v)| {
            (
                k.clone(),
                match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            )
        })
        .collect()
}

/// The TOML parser's message on one line, with the offending line quoted so the field is visible:
/// `at line 3, column 21 (`budget = { trials = -5 }`): invalid value: integer `-5`, expected u64`.
fn one_line(e: &toml::de::Error, text: &str) -> String {
    let msg = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
            let line_start = text[..span.start.min(text.len())]
                .rfind('\n')
                .map(|i| i + 1)
                .unwrap_or(0);
            let col = span.start - line_start + 1;
            let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
            format!("at line {line_no}, column {col} (`{line}`): {msg}")
        }
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nb201_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nb201")
    }

    /// An NB201 study file over `data`, with `extra` appended (more tables) and `budget` as the budget line.
    fn study(data: &Path, budget: &str, extra: &str) -> String {
        format!(
            "[study]\nname = \"s\"\n{budget}\n\n[evaluator]\nkind = \"benchmark\"\nbenchmark = \"nb201:cifar10\"\ndata = \"{}\"\n\n[strategy]\nkind = \"random\"\n\n[[objective]]\nmetric = \"test_accuracy\"\ndirection = \"max\"\n{extra}",
            data.display()
        )
    }

    fn good(extra: &str) -> String {
        study(&nb201_dir(), "budget = { trials = 10 }", extra)
    }

    /// The error of parsing and setting up `text` (as `study.toml`), on one line.
    fn refused(text: &str) -> String {
        let e = match StudyFile::parse(text, Path::new("study.toml")) {
            Err(e) => e,
            Ok(f) => match f.setup() {
                Err(e) => e,
                Ok(_) => panic!("accepted:\n{text}"),
            },
        };
        let e = e.to_string();
        assert!(e.starts_with("study.toml") && !e.contains('\n'), "{e}");
        e
    }

    #[test]
    fn constraint_min_above_max_and_non_finite_bounds_are_refused() {
        let c = |body: &str| good(&format!("\n[[constraint]]\nmetric = \"params\"\n{body}\n"));
        assert!(refused(&c("min = 5.0\nmax = 1.0"))
            .contains("constraint[0]: min 5 is greater than max 1"));
        for (body, field) in [
            ("max = nan", "constraint[0].max"),
            ("min = inf", "constraint[0].min"),
            ("max = -inf", "constraint[0].max"),
        ] {
            assert!(
                refused(&c(body)).contains(&format!("{field}: must be a finite number")),
                "{body}"
            );
        }
    }

    #[test]
    fn duplicate_or_opposite_objectives_are_refused() {
        let same = good("\n[[objective]]\nmetric = \"test_accuracy\"\ndirection = \"max\"\n");
        assert!(refused(&same).contains(
            "objective[1].metric: `test_accuracy` is already objective[0]: the same metric twice"
        ));
        let opposite = good("\n[[objective]]\nmetric = \"test_accuracy\"\ndirection = \"min\"\n");
        assert!(refused(&opposite).contains("with opposite directions"));
    }

    #[test]
    fn reference_nan_or_infinite_is_refused() {
        for r in ["nan", "inf", "-inf"] {
            let text = good("").replace(
                "direction = \"max\"",
                &format!("direction = \"max\"\nreference = {r}"),
            );
            assert!(
                refused(&text).contains("objective[0].reference: must be a finite number"),
                "{r}"
            );
        }
    }

    #[test]
    fn space_options_with_a_benchmark_are_refused_not_ignored() {
        let e = refused(&good("\n[space]\nkind = \"nb201\"\nC = 32\n"));
        assert!(e.contains("space.C: a benchmark fixes its space"), "{e}");
        // `kind` alone is still fine.
        StudyFile::parse(
            &good("\n[space]\nkind = \"nb201\"\n"),
            Path::new("study.toml"),
        )
        .unwrap()
        .setup()
        .map(|_| ())
        .unwrap();
    }

    #[test]
    fn analog_and_fetch_must_be_true_or_false() {
        for (k, v) in [
            ("analog", "\"yes\""),
            ("fetch", "1"),
            ("analog", "\"true\""),
        ] {
            let text = good("").replace(
                "kind = \"benchmark\"",
                &format!("kind = \"benchmark\"\n{k} = {v}"),
            );
            assert!(
                refused(&text).contains(&format!("evaluator.{k}: must be true or false")),
                "{k} = {v}"
            );
        }
    }

    #[test]
    fn budget_without_a_run_time_bound_is_refused_unless_none() {
        let e = refused(&study(&nb201_dir(), "budget = { sim_seconds = 10.0 }", ""));
        assert!(
            e.contains("study.budget: sim_seconds alone does not bound the run time")
                && e.contains("budget = \"none\""),
            "{e}"
        );
        assert!(refused(&study(&nb201_dir(), "", ""))
            .contains("study.budget: no budget bounds the run time"));
        assert!(refused(&study(&nb201_dir(), "budget = \"some\"", "")).contains("budget"));
        for b in [
            "budget = { seconds = inf }",
            "budget = { seconds = nan }",
            "budget = { seconds = 1e300 }",
            "budget = { seconds = -1 }",
        ] {
            assert!(
                refused(&study(&nb201_dir(), b, "")).contains("study.budget.seconds"),
                "{b}"
            );
        }
        assert!(refused(&study(
            &nb201_dir(),
            "budget = { trials = 5, sim_seconds = inf }",
            ""
        ))
        .contains("study.budget.sim_seconds"));
        let f = StudyFile::parse(
            &study(&nb201_dir(), "budget = \"none\"", ""),
            Path::new("study.toml"),
        )
        .unwrap();
        assert_eq!(f.study.budget, Budget::default());
        StudyFile::parse(
            &study(&nb201_dir(), "budget = { seconds = 2.5 }", ""),
            Path::new("study.toml"),
        )
        .unwrap();
    }

    #[test]
    fn truncated_nats_bench_csv_without_latency_is_refused_when_loading() {
        let dir = tempfile::tempdir().unwrap();
        let csv = std::fs::read_to_string(nb201_dir().join("nats_bench.csv")).unwrap();
        let cut: String = csv.lines().take(5001).map(|l| format!("{l}\n")).collect();
        std::fs::write(dir.path().join("nats_bench.csv"), cut).unwrap();
        let e = refused(&study(dir.path(), "budget = { trials = 10 }", ""));
        assert!(
            e.contains("evaluator.benchmark")
                && e.contains("nats_bench.csv")
                && e.contains("5000 architectures")
                && e.contains("truncated"),
            "{e}"
        );
    }

    #[test]
    fn nb201_svhn_is_an_unknown_nb201_dataset_and_unknown_benchmarks_list_nb201() {
        let e = refused(&good("").replace("nb201:cifar10", "nb201:svhn"));
        assert!(
            e.contains("unknown NB201 dataset `svhn`; known: cifar10, cifar100, imagenet16")
                && !e.contains("NAS-Bench-Graph"),
            "{e}"
        );
        let e = refused(&good("").replace("nb201:cifar10", "nb301:cifar10"));
        assert!(
            e.contains("unknown benchmark `nb301:cifar10`")
                && e.contains("nb201:cifar10")
                && e.contains("nas-bench-graph"),
            "{e}"
        );
    }

    #[test]
    fn moved_data_folder_keeps_the_stored_configuration_changed_data_does_not() {
        let config = |dir: &Path| {
            StudyFile::parse(
                &study(dir, "budget = { trials = 10 }", ""),
                Path::new("study.toml"),
            )
            .unwrap()
            .setup()
            .unwrap()
            .config_json
        };
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let copy = |to: &Path| {
            std::fs::copy(
                nb201_dir().join("nats_bench.csv"),
                to.join("nats_bench.csv"),
            )
            .unwrap();
            std::fs::create_dir(to.join("latency")).unwrap();
            for e in std::fs::read_dir(nb201_dir().join("latency")).unwrap() {
                let p = e.unwrap().path();
                std::fs::copy(&p, to.join("latency").join(p.file_name().unwrap())).unwrap();
            }
        };
        copy(a.path());
        let moved = b.path().join("moved");
        std::fs::create_dir(&moved).unwrap();
        copy(&moved);
        let stored = config(a.path());
        assert!(
            !stored.contains(&a.path().display().to_string()),
            "no path in {stored}"
        );
        assert_eq!(config(&moved), stored);
        // Same folder, one latency table changed: a different configuration (resume refused).
        let p = moved.join("latency/pixel3.pt");
        let mut bytes = std::fs::read(&p).unwrap();
        let n = bytes.len();
        bytes[n - 30] ^= 1;
        std::fs::write(&p, bytes).unwrap();
        assert_ne!(data_digest(&moved).unwrap(), data_digest(a.path()).unwrap());
    }

    /// Regression: when data folders began to count by content, an NB201 study stored by an earlier Tessera (its
    /// configuration holding the data path) was refused on resume as a changed study file.
    #[test]
    fn study_stored_with_its_data_path_by_an_earlier_tessera_still_resumes() {
        let setup = StudyFile::parse(
            &study(&nb201_dir(), "budget = { trials = 10 }", ""),
            Path::new("study.toml"),
        )
        .unwrap()
        .setup()
        .unwrap();
        let legacy = setup
            .legacy_config_json
            .clone()
            .expect("an NB201 study has a legacy form");
        assert!(
            legacy.contains(&nb201_dir().display().to_string())
                && !setup.config_json.contains("nats_bench"),
            "{legacy}"
        );
        let mut storage = tessera_core::MemoryStorage::new();
        let old = storage.open_study(&setup.file.study.name, &legacy).unwrap();
        let info = setup
            .register(&mut storage)
            .expect("resumes with the stored configuration");
        assert_eq!((info.id, info.config.as_str()), (old.id, legacy.as_str()));
        let mut adopted = setup;
        adopted.adopt_stored_config(&storage);
        assert_eq!(adopted.config_json, legacy);
        // a study stored with another configuration is still refused
        let mut other = tessera_core::MemoryStorage::new();
        other.open_study(&adopted.file.study.name, "{}").unwrap();
        assert!(matches!(
            adopted.register(&mut other),
            Err(tessera_core::StoreError::ConfigMismatch { .. })
        ));
    }

    #[test]
    fn storage_that_is_not_a_regular_file_or_a_new_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (url, needle) in [
            ("/dev/null", "not a regular file"),
            (":memory:", "in-memory"),
            ("", "empty storage path"),
            ("  ", "empty storage path"),
            ("sqlite://", "empty storage path"),
        ] {
            let e = open_storage(url, true)
                .err()
                .unwrap_or_else(|| panic!("{url:?} accepted"))
                .to_string();
            assert!(e.contains(needle), "{url:?}: {e}");
        }
        let d = dir.path().display().to_string();
        assert!(open_storage(&d, true)
            .err()
            .unwrap()
            .to_string()
            .contains("is a directory"));
        let missing = dir.path().join("no/such/dir/t.db").display().to_string();
        assert!(open_storage(&missing, true)
            .err()
            .unwrap()
            .to_string()
            .contains("does not exist"));
        open_storage(&dir.path().join("t.db").display().to_string(), true)
            .map(|_| ())
            .unwrap();
    }
}
