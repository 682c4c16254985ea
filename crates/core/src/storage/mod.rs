//! Storages: where studies and trials live.
//!
//! * this module: the contract ([`Storage`], its types and errors);
//! * [`engine`]: the worker policy (leases, re-queues, frozen trials, the event log) written once over a
//!   [`Dialect`](engine::Dialect) that each backend supplies;
//! * [`memory`]: the in-memory backend ([`MemoryStorage`], [`SharedMemoryStorage`]).
//!
//! The persistent backends (SQLite, PostgreSQL) live in `tessera-store` and use the same engine.

pub mod engine;
pub mod memory;

pub use memory::{MemoryStorage, SharedMemoryStorage};

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
    /// The worker that holds (running) or last held the trial, e.g. `host:1234:5f3a`; `None` for serial runs.
    #[serde(default)]
    pub worker: Option<String>,
    /// How often the trial was re-queued because its worker lost the lease (died, hung or was cut off): each retry
    /// is one more evaluation of the same trial.
    #[serde(default)]
    pub retries: u32,
    /// The first objective's intermediate values `(step, value)` (as evaluated, not oriented) that a pruner saw,
    /// in step order; empty without a pruner. Stored so a resumed study, or another worker, feeds its pruner the
    /// same history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intermediate: Vec<(u64, f64)>,
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
            worker: None,
            retries: 0,
            intermediate: Vec::new(),
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
        self.worker = None;
        self.retries = 0;
        self.intermediate.clear();
    }

    /// A metric from the evaluation, else from the profile.
    #[inline]
    pub fn get(&self, metric: &str) -> Option<f64> {
        self.metrics
            .get(metric)
            .or_else(|| self.profile.get(metric))
    }
}

/// Unix time in seconds.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
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

/// What happened to a study, in the order it happened: the study's **event log**.
///
/// A storage appends an [`Ask`](EventKind::Ask) event when a trial number is first stored and a
/// [`Tell`](EventKind::Tell) event when a trial becomes finished, in the same transaction as the write. Strategies are
/// deterministic given their seed and the sequence of `ask`/`tell` calls, so replaying the log through a fresh strategy
/// (ask → it must propose the stored sample; tell → tell it that trial) rebuilds its state exactly, however many
/// workers interleaved their asks and tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Ask,
    Tell,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Ask => "ask",
            EventKind::Tell => "tell",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ask" => Some(EventKind::Ask),
            "tell" => Some(EventKind::Tell),
            _ => None,
        }
    }
}

/// One entry of a study's event log: `seq` is 1, 2, … per study, without gaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub kind: EventKind,
    pub trial: u64,
}

/// A worker's hold on the trials it evaluates: who it is, how long a claim lasts without a heartbeat, and how often
/// a trial may be re-queued after a lost lease before it is marked `failed`.
#[derive(Clone, Debug, PartialEq)]
pub struct Lease {
    /// Unique per worker process, e.g. `hostname:pid:nonce` (see `tessera_core::worker::worker_id`).
    pub worker: String,
    /// Seconds a claim lasts; a heartbeat renews it.
    pub seconds: f64,
    /// Re-queues allowed per trial; the next lost lease marks it `failed`.
    pub max_retries: u32,
}

/// The new events a worker has not seen, handed to its ask closure by [`Storage::next_trial`] while the storage
/// holds the study's lock.
#[derive(Clone, Copy, Debug)]
pub struct NewEvents<'a> {
    /// Events after the worker's cursor, in `seq` order.
    pub events: &'a [Event],
    /// Every trial an event names (ordered by number): finished ones for tells, their samples for asks.
    pub trials: &'a [Trial],
    /// The number a new trial gets.
    pub next_number: u64,
}

impl NewEvents<'_> {
    /// The trial numbered `number` among [`trials`](NewEvents::trials).
    pub fn trial(&self, number: u64) -> Option<&Trial> {
        self.trials
            .binary_search_by_key(&number, |t| t.number)
            .ok()
            .map(|i| &self.trials[i])
    }
}

/// The ask closure of [`Storage::next_trial`]: replays the new events into the worker's strategy and returns the
/// trial to add (numbered `next_number`, state `running`), or `None` to add none (budget spent, strategy exhausted,
/// or an error the closure keeps for its caller).
pub type AskFn<'a> = dyn FnMut(&NewEvents<'_>) -> Option<Trial> + 'a;

/// What [`Storage::next_trial`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// A pending trial (re-queued after a lost lease) is now `running` under the caller's lease. The ask closure was
    /// not called and the cursor did not move.
    Claimed(Trial),
    /// The ask closure proposed `trial`; it is stored `running` under the caller's lease. `cursor` is the seq of its
    /// ask event: the caller has seen every event up to it.
    Asked { trial: Trial, cursor: u64 },
    /// Nothing was claimed or asked. `cursor`: the last event seen; `unfinished`: trials still pending or running
    /// (under other workers' leases): when 0, the study is done for this strategy and budget.
    Idle { cursor: u64, unfinished: u64 },
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot open storage {location}: {msg}")]
    Open { location: String, msg: String },
    #[error("storage {location} has schema version {found}, this Tessera supports up to {supported}; upgrade Tessera")]
    SchemaTooNew {
        location: String,
        found: i64,
        supported: i64,
    },
    #[error("storage {location} is not a Tessera database: {msg}")]
    NotTessera { location: String, msg: String },
    #[error(
        "study `{study}` already exists with a different configuration (stored: {stored}; now: {now}); \
         resume it with its original study file or pick a new name"
    )]
    ConfigMismatch {
        study: String,
        stored: String,
        now: String,
    },
    #[error("no study named `{study}` in {location}; known studies: {known}")]
    NoSuchStudy {
        study: String,
        location: String,
        known: String,
    },
    #[error("trial {trial} of study {study} is {state} and frozen; it cannot be changed")]
    Frozen {
        study: String,
        trial: u64,
        state: TrialState,
    },
    #[error("corrupt record in {location}: {msg}")]
    Corrupt { location: String, msg: String },
    #[error("storage {location}: {msg}")]
    Backend { location: String, msg: String },
    /// A worker's lease on a trial expired and the trial was re-queued (or another worker holds it now).
    #[error("worker {worker} lost its lease on trial {trial} of study {study} (now {now})")]
    LeaseLost {
        study: String,
        trial: u64,
        worker: String,
        now: String,
    },
    /// The storage is temporarily unreachable (connection lost, database busy): retrying later may succeed.
    #[error("storage {location} is unavailable: {msg}")]
    Unavailable { location: String, msg: String },
    /// The backend cannot do this (e.g. coordinate workers).
    #[error("storage {location} does not support {what}")]
    Unsupported { location: String, what: String },
}

impl StoreError {
    /// Whether retrying (after reconnecting) may succeed: [`StoreError::Unavailable`].
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

/// Where studies and trials persist.
///
/// **Required**: [`open_study`](Storage::open_study), [`put_trial`](Storage::put_trial),
/// [`trials`](Storage::trials), [`studies`](Storage::studies). Everything else is provided: a storage with only
/// those four serves serial runs ([`events`](Storage::events) is then derived from the trials, assuming asks and
/// tells alternated); backends that coordinate workers override the worker methods
/// ([`next_trial`](Storage::next_trial), [`heartbeat`](Storage::heartbeat), [`put_leased`](Storage::put_leased),
/// [`release`](Storage::release)), the event log and the study attributes.
///
/// Contract (tested by the conformance suite in `tessera-store` against every backend):
/// * `open_study` creates the study when absent and returns the existing one when its config is identical; a
///   different config is [`StoreError::ConfigMismatch`] and changes nothing.
/// * `put_trial` inserts or replaces the trial with the same number, durably before returning. A finished trial
///   (see [`TrialState::is_finished`]) is frozen: changing it is [`StoreError::Frozen`].
/// * `trials` returns the study's trials ordered by number; the returned values are snapshots.
/// * Every write that inserts a trial number appends an `ask` event, and every write that makes a trial finished
///   appends a `tell` event, atomically with the write (see [`Event`]); `seq` counts 1, 2, … per study.
/// * Handles may live in many threads and processes (and, for a server database, machines) at once; each write is
///   atomic. [`next_trial`](Storage::next_trial) serialises the asks of one study: no trial is handed to two
///   workers, and every worker's strategy sees the same event sequence.
/// * A running trial whose lease expired is re-queued (`pending`, `retries` + 1) by the next `next_trial` of any
///   worker, or marked `failed` (with a `tell` event) once its retries reach the lease's `max_retries`. A running
///   trial without a lease (left by a killed serial run) counts as expired.
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
        let known = all
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        all.iter()
            .find(|s| s.name == name)
            .cloned()
            .ok_or_else(|| StoreError::NoSuchStudy {
                study: name.into(),
                location: self.location(),
                known: if known.is_empty() {
                    "(none)".into()
                } else {
                    known
                },
            })
    }

    /// The study's events with `seq > after`, in order. Default: derived from [`trials`](Storage::trials) as if
    /// every trial was asked and told before the next was asked (true of serial runs).
    fn events(&self, study: i64, after: u64) -> Result<Vec<Event>, StoreError> {
        let mut out = Vec::new();
        let mut seq = 0;
        for t in self.trials(study)? {
            seq += 1;
            out.push(Event {
                seq,
                kind: EventKind::Ask,
                trial: t.number,
            });
            if t.state.is_finished() {
                seq += 1;
                out.push(Event {
                    seq,
                    kind: EventKind::Tell,
                    trial: t.number,
                });
            }
        }
        out.retain(|e| e.seq > after);
        Ok(out)
    }

    /// Whether this backend implements the worker methods (leases, [`next_trial`](Storage::next_trial)).
    fn supports_workers(&self) -> bool {
        false
    }

    /// One step of a worker, atomically under the study's lock: re-queue (or fail) running trials whose lease
    /// expired; claim the lowest pending trial if there is one; otherwise read the events after `cursor` and the
    /// trials they name, call `ask` with them and store the trial it returns as `running` under `lease`.
    fn next_trial(
        &mut self,
        _study: i64,
        _lease: &Lease,
        _cursor: u64,
        _ask: &mut AskFn<'_>,
    ) -> Result<Next, StoreError> {
        Err(self.unsupported("workers"))
    }

    /// Renews `lease` on running trial `trial`. [`StoreError::LeaseLost`] when the caller does not hold it any more
    /// (re-queued, claimed by another worker), [`StoreError::Frozen`] when it is finished.
    fn heartbeat(&mut self, _study: i64, _trial: u64, _lease: &Lease) -> Result<(), StoreError> {
        Err(self.unsupported("workers"))
    }

    /// Like [`put_trial`](Storage::put_trial) for a trial the caller holds: writes it only while it is `running`
    /// under `lease.worker` (renewing the lease if it stays running), else [`StoreError::LeaseLost`] or
    /// [`StoreError::Frozen`] and nothing changes.
    fn put_leased(
        &mut self,
        _study: i64,
        _trial: &Trial,
        _lease: &Lease,
    ) -> Result<(), StoreError> {
        Err(self.unsupported("workers"))
    }

    /// Gives a running trial the caller holds back (`pending`, no retry counted), e.g. when a worker is stopped.
    fn release(&mut self, _study: i64, _trial: u64, _lease: &Lease) -> Result<(), StoreError> {
        Err(self.unsupported("workers"))
    }

    /// Stores a named text attribute of a study (e.g. the study file a worker rebuilds the study from).
    fn set_study_attr(&mut self, _study: i64, _key: &str, _value: &str) -> Result<(), StoreError> {
        Err(self.unsupported("study attributes"))
    }

    /// A study attribute set by [`set_study_attr`](Storage::set_study_attr), `None` when absent.
    fn study_attr(&self, _study: i64, _key: &str) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    /// Stores many new trials at once (copying or seeding a study), with their events. Default: one `put_trial`
    /// each; backends write them in one transaction.
    fn import_trials(&mut self, study: i64, trials: &[Trial]) -> Result<(), StoreError> {
        trials.iter().try_for_each(|t| self.put_trial(study, t))
    }

    /// [`StoreError::Unsupported`] naming this storage (for default methods).
    fn unsupported(&self, what: &str) -> StoreError {
        StoreError::Unsupported {
            location: self.location(),
            what: what.into(),
        }
    }
}

/// The message of a trial failed after too many lost leases.
pub fn lease_failure_message(worker: Option<&str>, losses: u32) -> String {
    format!(
        "worker {} lost its lease {losses} time{}: the trial was retried and is given up (raise --max-retries to retry more)",
        worker.unwrap_or("?"),
        if losses == 1 { "" } else { "s" }
    )
}

/// [`StoreError::LeaseLost`] for `worker` on trial `t` as it is stored now.
pub fn lease_lost(study: &str, t: &Trial, worker: &str) -> StoreError {
    let now = match (t.state, &t.worker) {
        (TrialState::Running, Some(w)) => format!("running under worker {w}"),
        (state, _) => state.to_string(),
    };
    StoreError::LeaseLost {
        study: study.into(),
        trial: t.number,
        worker: worker.into(),
        now,
    }
}
