//! Study files.
//!
//! ```toml
//! [study]
//! name = "cora-evolution"
//! storage = "tessera.db"          # a SQLite file (or sqlite://path), relative to the working directory; or a
//!                                 # PostgreSQL URL postgres://user[:password]@host[:port]/db[?schema=NAME]
//! seed = 0
//! budget = { trials = 100 }       # and/or seconds = …, sim_seconds = …
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
//! `[space]` is optional with a benchmark evaluator (the benchmark names its space); when given, its `kind` must
//! match the benchmark's. With `[evaluator] kind = "train"` every sampled network is trained for real: `[space]`
//! is then required and the evaluator names a dataset and the training options (see [`crate::train_setup`]).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tessera_bench::benchmarks::{self, Benchmark, DataPaths};
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
    Field { file: String, field: String, msg: String },
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
    #[serde(default)]
    pub budget: Budget,
    /// Architectures to evaluate first, in the space's notation (e.g. NB201 strings) or as JSON choice arrays.
    #[serde(default)]
    pub enqueue: Vec<String>,
}

fn default_storage() -> String {
    "tessera.db".into()
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
    pub benchmark: Option<String>,
    /// With `kind = "train"`: the parts of the training evaluator (data, split, training and latency options), to
    /// attach a progress hook or an artifacts directory.
    pub train: Option<crate::train_setup::TrainSetup>,
}

impl StudyFile {
    /// Reads and parses a study file. Errors name the file and, from the TOML parser, the line and the field.
    pub fn load(path: &Path) -> Result<StudyFile, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read { file: file.clone(), msg: e.to_string() })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<StudyFile, ConfigError> {
        let file = path.display().to_string();
        let mut f: StudyFile = toml::from_str(text).map_err(|e| ConfigError::Parse { file: file.clone(), msg: one_line(&e, text) })?;
        f.path = path.to_path_buf();
        f.text = text.to_string();
        let err = |field: &str, msg: String| ConfigError::Field { file: file.clone(), field: field.into(), msg };
        if f.study.name.trim().is_empty() {
            return Err(err("study.name", "must not be empty".into()));
        }
        let b = &f.study.budget;
        for (name, v) in [("study.budget.seconds", b.seconds), ("study.budget.sim_seconds", b.sim_seconds)] {
            if v.is_some_and(|v| !(v >= 0.0)) {
                return Err(err(name, format!("must be a non-negative number, got {}", v.unwrap_or_default())));
            }
        }
        if f.objective.is_empty() {
            return Err(err("objective", "at least one [[objective]] is required (metric and direction)".into()));
        }
        Ok(f)
    }

    /// Builds space, evaluator and strategy options.
    pub fn setup(self) -> Result<Setup, ConfigError> {
        let file = self.path.display().to_string();
        let err = |field: &str, msg: String| ConfigError::Field { file: file.clone(), field: field.into(), msg };
        let mut ev = options(&self.evaluator);
        let kind = ev.remove("kind").ok_or_else(|| err("evaluator.kind", "missing (e.g. kind = \"benchmark\")".into()))?;
        let mut train = None;
        let (space, evaluator, bench_name): (Box<dyn Space>, Arc<dyn Evaluator>, Option<String>) = match kind.as_str() {
            "train" => {
                let base = self.path.parent().unwrap_or(Path::new("."));
                let t = crate::train_setup::build(&self.evaluator, self.space.as_ref(), base, &file)?;
                let parts = (t.boxed_space(), Arc::new(t.evaluator()) as Arc<dyn Evaluator>, None);
                train = Some(t);
                parts
            }
            "benchmark" => {
                let spec = ev.remove("benchmark").ok_or_else(|| {
                    err("evaluator.benchmark", format!("missing; one of {}", benchmarks::BENCHMARKS.join(", ")))
                })?;
                let base = self.path.parent().unwrap_or(Path::new("."));
                let paths = DataPaths {
                    nb201_dir: ev.remove("data").map(|d| resolve(base, &d)),
                    cache_dir: None,
                    analog: ev.remove("analog").map(|v| v == "true").unwrap_or(false),
                    fetch: ev.remove("fetch").map(|v| v == "true").unwrap_or(false),
                };
                let delay_ms = match ev.remove("delay_ms") {
                    None => 0,
                    Some(v) => v.parse::<u64>().map_err(|_| err("evaluator.delay_ms", format!("must be a non-negative integer, got `{v}`")))?,
                };
                if let Some(k) = ev.keys().next() {
                    return Err(err(&format!("evaluator.{k}"), "unknown option; known: benchmark, data, analog, fetch, delay_ms".into()));
                }
                if let Some(sp) = &self.space {
                    let want = sp.get("kind").and_then(|v| v.as_str()).unwrap_or("");
                    if !tessera_spaces::KINDS.contains(&want) && want != "nas-bench-201" && want != "nbg" {
                        return Err(err("space.kind", format!("unknown space `{want}`; known spaces: {}", tessera_spaces::KINDS.join(", "))));
                    }
                }
                let mut b: Benchmark = benchmarks::open(&spec, &paths).map_err(|e| err("evaluator.benchmark", e.to_string()))?;
                if delay_ms > 0 {
                    b.evaluator = Arc::new(tessera_core::evaluator::Delayed { delay: std::time::Duration::from_millis(delay_ms), inner: b.evaluator });
                }
                if let Some(sp) = &self.space {
                    let want = sp.get("kind").and_then(|v| v.as_str()).unwrap_or("");
                    if !b.space.name().starts_with(want) && !(want == "nas-bench-201" && b.space.name() == "nb201") && !(want == "nbg" && b.space.name() == "nas-bench-graph") {
                        return Err(err("space.kind", format!("`{want}` does not match benchmark `{spec}`, whose space is `{}`", b.space.name())));
                    }
                }
                (b.space, b.evaluator, Some(b.name))
            }
            other => return Err(err("evaluator.kind", format!("unknown evaluator `{other}`; known: benchmark, train"))),
        };
        let mut st = options(&self.strategy);
        let strategy_kind = st.remove("kind").ok_or_else(|| err("strategy.kind", "missing (e.g. kind = \"evolution\")".into()))?;
        // Build once now so a bad strategy, option or enqueued architecture fails before anything runs.
        let s = tessera_strategies::build(&strategy_kind, &st, space.as_ref(), 0).map_err(|e| err("strategy", e))?;
        tessera_strategies::enqueue::Enqueued::new(s, space.as_ref(), &self.study.enqueue).map_err(|e| err("study", e))?;
        let known = evaluator.metric_names();
        let profile_known = |m: &str| m == "params" || m == "flops";
        for (i, o) in self.objective.iter().enumerate() {
            if !known.iter().any(|k| k == &o.metric) && !profile_known(&o.metric) {
                return Err(err(&format!("objective[{i}].metric"), format!("unknown metric `{}`; known: {}, params, flops", o.metric, known.join(", "))));
            }
        }
        for (i, c) in self.constraint.iter().enumerate() {
            if !known.iter().any(|k| k == &c.metric) && !profile_known(&c.metric) {
                return Err(err(&format!("constraint[{i}].metric"), format!("unknown metric `{}`; known: {}, params, flops", c.metric, known.join(", "))));
            }
            if c.min.is_none() && c.max.is_none() {
                return Err(err(&format!("constraint[{i}]"), "needs `min` or `max`".into()));
            }
        }
        let mut config = serde_json::json!({
            "space": space.name(),
            "evaluator": self.evaluator.to_string(),
            "strategy": self.strategy.to_string(),
            "objectives": self.objective,
            "constraints": self.constraint,
            "seed": self.study.seed,
            "enqueue": self.study.enqueue,
        });
        if let (Some(_), Some(sp)) = (&train, &self.space) {
            // A trained space's options (sizes, input, classes) change what every trial means.
            config["space_options"] = serde_json::Value::String(sp.to_string());
        }
        let config_json = config.to_string();
        Ok(Setup { file: self, space, evaluator, strategy_kind, strategy_options: st, config_json, benchmark: bench_name, train })
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
    Mismatch { study: String, stored: String, file: String },
}

/// Rebuilds the setup of study `name` from the study file stored with it (what `tessera worker --study NAME` does
/// on any machine). Relative data paths resolve against the stored file's directory.
pub fn setup_from_storage(storage: &dyn Storage, name: &str) -> Result<(Setup, tessera_core::StudyInfo), WorkerSetupError> {
    let info = storage.find_study(name)?;
    let no_file = || WorkerSetupError::NoStudyFile { study: name.into(), location: storage.location() };
    let text = storage.study_attr(info.id, ATTR_STUDY_FILE)?.ok_or_else(no_file)?;
    let path = storage.study_attr(info.id, ATTR_STUDY_PATH)?.unwrap_or_else(|| format!("{name}.toml"));
    let cfg = |source| WorkerSetupError::Config { study: name.into(), source };
    let setup = StudyFile::parse(&text, Path::new(&path)).map_err(cfg)?.setup().map_err(cfg)?;
    if setup.config_json != info.config {
        return Err(WorkerSetupError::Mismatch { study: name.into(), stored: info.config.clone(), file: setup.config_json });
    }
    Ok((setup, info))
}

impl Setup {
    /// The study this setup describes (objectives, constraints, budget, seed, stored configuration).
    pub fn study(&self) -> tessera_core::Study<'_> {
        let f = &self.file;
        let mut study = tessera_core::Study::new(&f.study.name, self.space.as_ref(), self.evaluator.as_ref(), f.objective.clone());
        study.config = self.config_json.clone();
        study.constraints = f.constraint.clone();
        study.budget = f.study.budget;
        study.seed = f.study.seed;
        study
    }

    /// Opens (or creates) the study in `storage` and stores the study file's text and absolute path with it, so
    /// that workers anywhere can rebuild it with [`setup_from_storage`]. The latest registration wins (a larger
    /// budget reaches workers that start afterwards).
    pub fn register(&self, storage: &mut dyn Storage) -> Result<tessera_core::StudyInfo, tessera_core::StoreError> {
        let info = storage.open_study(&self.file.study.name, &self.config_json)?;
        if storage.supports_workers() {
            let path = std::path::absolute(&self.file.path).unwrap_or_else(|_| self.file.path.clone());
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
        let s = tessera_strategies::build(&self.strategy_kind, &self.strategy_options, self.space.as_ref(), self.file.study.seed)
            .expect("checked in setup");
        if self.file.study.enqueue.is_empty() {
            return s;
        }
        Box::new(tessera_strategies::enqueue::Enqueued::new(s, self.space.as_ref(), &self.file.study.enqueue).expect("checked in setup"))
    }
}

/// Opens the storage named in a study file or on the command line: a PostgreSQL URL (`postgres://…` or
/// `postgresql://…`, see `tessera_store::postgres`), else a SQLite path, optionally `sqlite://`-prefixed. `create`:
/// create the file or schema when absent (runs); read-only commands pass `false`.
pub fn open_storage(url: &str, create: bool) -> Result<Box<dyn Storage>, tessera_core::StoreError> {
    if tessera_store::PostgresStorage::is_url(url) {
        let s = if create { tessera_store::PostgresStorage::open(url)? } else { tessera_store::PostgresStorage::open_existing(url)? };
        return Ok(Box::new(s));
    }
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    let s = if create { tessera_store::SqliteStorage::open(path)? } else { tessera_store::SqliteStorage::open_existing(path)? };
    Ok(Box::new(s))
}

/// Opens a storage for inspection only (`tessera studies`, `trials`, `best`, `pareto`, `report`, `export`): a SQLite
/// file is opened read-only (`SqliteStorage::open_read_only`: a `0444` file or a read-only mount works, nothing is
/// created, nothing migrated); a PostgreSQL URL as `open_storage(url, false)`.
pub fn open_storage_read_only(url: &str) -> Result<Box<dyn Storage>, tessera_core::StoreError> {
    if tessera_store::PostgresStorage::is_url(url) {
        return Ok(Box::new(tessera_store::PostgresStorage::open_existing(url)?));
    }
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    Ok(Box::new(tessera_store::SqliteStorage::open_read_only(path)?))
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
    while let Some(i) = ["postgres://", "postgresql://"].iter().filter_map(|p| rest.find(p)).min() {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(|c: char| c.is_whitespace() || c == '"' || c == '\'').map_or(rest.len(), |e| i + e);
        out.push_str(&tessera_store::postgres::redact(&rest[i..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// A TOML table as `name -> value` strings (strings unquoted).
fn options(t: &toml::Table) -> BTreeMap<String, String> {
    t.iter()
        .map(|(k, v)| (k.clone(), match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        }))
        .collect()
}

/// The TOML parser's message on one line, with the offending line quoted so the field is visible:
/// `at line 3, column 21 (`budget = { trials = -5 }`): invalid value: integer `-5`, expected u64`.
fn one_line(e: &toml::de::Error, text: &str) -> String {
    let msg = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
            let line_start = text[..span.start.min(text.len())].rfind('\n').map(|i| i + 1).unwrap_or(0);
            let col = span.start - line_start + 1;
            let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
            format!("at line {line_no}, column {col} (`{line}`): {msg}")
        }
        None => msg,
    }
}
