//! Storages: where studies and trials live.

use crate::metrics::Metrics;
use crate::sample::Sample;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// The life of a trial: `pending` → `running` → `complete` | `failed` | `pruned`, or `infeasible` when a hard
/// constraint rejected it (before evaluation when the constraint's metric is in the profile).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialState {
    Pending,
    Running,
    Complete,
    Failed,
    Pruned,
    Infeasible,
}

impl TrialState {
    pub const ALL: [TrialState; 6] = [
        TrialState::Pending,
        TrialState::Running,
        TrialState::Complete,
        TrialState::Failed,
        TrialState::Pruned,
        TrialState::Infeasible,
    ];
    /// Finished trials are frozen: a storage refuses to change them.
    pub fn is_finished(self) -> bool {
        !matches!(self, TrialState::Pending | TrialState::Running)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            TrialState::Pending => "pending",
            TrialState::Running => "running",
            TrialState::Complete => "complete",
            TrialState::Failed => "failed",
            TrialState::Pruned => "pruned",
            TrialState::Infeasible => "infeasible",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for TrialState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One evaluated (or rejected) sample of a study.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// 0, 1, … in the order the strategy proposed them.
    pub number: u64,
    pub sample: Sample,
    /// The space's canonical key (isomorphic samples share it).
    pub key: String,
    /// The space's human-readable form of the sample.
    pub description: String,
    pub state: TrialState,
    /// What the evaluator measured.
    pub metrics: Metrics,
    /// What was known before evaluation: params, FLOPs, tabulated latency.
    pub profile: Metrics,
    /// Why the trial failed or was infeasible.
    pub error: Option<String>,
    /// Unix seconds.
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    /// Wall-clock seconds of the evaluation.
    pub wall_seconds: f64,
    /// Simulated compute seconds (see [`crate::Evaluation::sim_seconds`]).
    pub sim_seconds: f64,
}

impl Trial {
    pub fn new(number: u64, sample: Sample) -> Self {
        Trial {
            number,
            sample,
            key: String::new(),
            description: String::new(),
            state: TrialState::Pending,
            metrics: Metrics::new(),
            profile: Metrics::new(),
            error: None,
            started_at: None,
            finished_at: None,
            wall_seconds: 0.0,
            sim_seconds: 0.0,
        }
    }
    /// Makes this a fresh pending trial, keeping allocations (for loops that reuse one trial).
    pub fn reset(&mut self, number: u64, sample: Sample) {
        self.number = number;
        self.sample = sample;
        self.key.clear();
        self.description.clear();
        self.state = TrialState::Pending;
        self.metrics.clear();
        self.profile.clear();
        self.error = None;
        self.started_at = None;
        self.finished_at = None;
        self.wall_seconds = 0.0;
        self.sim_seconds = 0.0;
    }

    /// A metric from the evaluation, else from the profile.
    pub fn get(&self, metric: &str) -> Option<f64> {
        self.metrics.get(metric).or_else(|| self.profile.get(metric))
    }
}

/// Unix time in seconds.
pub fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// A study as a storage lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyInfo {
    pub id: i64,
    pub name: String,
    /// The study's configuration as JSON (space, strategy, evaluator, objectives, constraints, seed).
    pub config: String,
    pub created_at: f64,
    /// Trials per state.
    pub counts: BTreeMap<String, u64>,
}

impl StudyInfo {
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
    pub fn count(&self, state: TrialState) -> u64 {
        self.counts.get(state.as_str()).copied().unwrap_or(0)
    }
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot open storage {location}: {msg}")]
    Open { location: String, msg: String },
    #[error("storage {location} has schema version {found}, this Tessera supports up to {supported}; upgrade Tessera")]
    SchemaTooNew { location: String, found: i64, supported: i64 },
    #[error("storage {location} is not a Tessera database: {msg}")]
    NotTessera { location: String, msg: String },
    #[error(
        "study `{study}` already exists with a different configuration (stored: {stored}; now: {now}); \
         resume it with its original study file or pick a new name"
    )]
    ConfigMismatch { study: String, stored: String, now: String },
    #[error("no study named `{study}` in {location}; known studies: {known}")]
    NoSuchStudy { study: String, location: String, known: String },
    #[error("trial {trial} of study {study} is {state} and frozen; it cannot be changed")]
    Frozen { study: String, trial: u64, state: TrialState },
    #[error("corrupt record in {location}: {msg}")]
    Corrupt { location: String, msg: String },
    #[error("storage {location}: {msg}")]
    Backend { location: String, msg: String },
}

/// Where studies and trials persist.
///
/// **Required**: [`open_study`](Storage::open_study), [`put_trial`](Storage::put_trial),
/// [`trials`](Storage::trials), [`studies`](Storage::studies).
///
/// Contract (tested by the conformance suite in `tessera-store` against every backend):
/// * `open_study` creates the study when absent and returns the existing one when its config is identical; a
///   different config is [`StoreError::ConfigMismatch`] and changes nothing.
/// * `put_trial` inserts or replaces the trial with the same number, durably before returning. A finished trial
///   (see [`TrialState::is_finished`]) is frozen: changing it is [`StoreError::Frozen`].
/// * `trials` returns the study's trials ordered by number; the returned values are snapshots.
pub trait Storage: Send {
    fn open_study(&mut self, name: &str, config: &str) -> Result<StudyInfo, StoreError>;
    fn put_trial(&mut self, study: i64, trial: &Trial) -> Result<(), StoreError>;
    fn trials(&self, study: i64) -> Result<Vec<Trial>, StoreError>;
    fn studies(&self) -> Result<Vec<StudyInfo>, StoreError>;

    /// Human-readable location (path or URL without credentials) for messages.
    fn location(&self) -> String {
        "storage".into()
    }

    /// The study called `name`, or [`StoreError::NoSuchStudy`] listing the known ones.
    fn find_study(&self, name: &str) -> Result<StudyInfo, StoreError> {
        let all = self.studies()?;
        let known = all.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
        all.iter().find(|s| s.name == name).cloned().ok_or_else(|| StoreError::NoSuchStudy {
            study: name.into(),
            location: self.location(),
            known: if known.is_empty() { "(none)".into() } else { known },
        })
    }
}

/// An in-memory storage: for tests, the evaluation protocol and library users who need no persistence.
#[derive(Default)]
pub struct MemoryStorage {
    studies: Vec<(StudyInfo, Vec<Trial>)>,
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Storage for MemoryStorage {
    fn open_study(&mut self, name: &str, config: &str) -> Result<StudyInfo, StoreError> {
        if let Some((info, _)) = self.studies.iter().find(|(s, _)| s.name == name) {
            if info.config != config {
                return Err(StoreError::ConfigMismatch { study: name.into(), stored: info.config.clone(), now: config.into() });
            }
            return Ok(info.clone());
        }
        let info = StudyInfo {
            id: self.studies.len() as i64 + 1,
            name: name.into(),
            config: config.into(),
            created_at: now(),
            counts: BTreeMap::new(),
        };
        self.studies.push((info.clone(), Vec::new()));
        Ok(info)
    }

    fn put_trial(&mut self, study: i64, trial: &Trial) -> Result<(), StoreError> {
        let (info, trials) = self
            .studies
            .iter_mut()
            .find(|(s, _)| s.id == study)
            .ok_or_else(|| StoreError::Backend { location: "memory".into(), msg: format!("no study with id {study}") })?;
        match trials.binary_search_by_key(&trial.number, |t| t.number) {
            Ok(i) => {
                if trials[i].state.is_finished() {
                    return Err(StoreError::Frozen { study: info.name.clone(), trial: trial.number, state: trials[i].state });
                }
                trials[i] = trial.clone();
            }
            Err(i) => trials.insert(i, trial.clone()),
        }
        Ok(())
    }

    fn trials(&self, study: i64) -> Result<Vec<Trial>, StoreError> {
        Ok(self.studies.iter().find(|(s, _)| s.id == study).map(|(_, t)| t.clone()).unwrap_or_default())
    }

    fn studies(&self) -> Result<Vec<StudyInfo>, StoreError> {
        Ok(self
            .studies
            .iter()
            .map(|(s, t)| {
                let mut s = s.clone();
                for tr in t {
                    *s.counts.entry(tr.state.as_str().into()).or_default() += 1;
                }
                s
            })
            .collect())
    }

    fn location(&self) -> String {
        "memory".into()
    }
}
