//! Workers: many processes (on one machine or many) evaluating one study together through a shared storage.
//!
//! How it fits together:
//!
//! ```text
//!             ┌──────────── storage (SQLite file / PostgreSQL) ─────────────┐
//!             │ trials (state, worker, lease_until, retries)  events (seq)  │
//!             └───▲──────────────────────────▲──────────────────────▲───────┘
//!   next_trial    │ heartbeat every lease/3   │ put_leased (finish)  │ next_trial …
//!             worker A                     worker A               worker B
//! ```
//!
//! * **One strategy trajectory.** Every worker keeps its own strategy and a cursor into the study's event log
//!   ([`Event`]). To get work it calls [`Storage::next_trial`], which, under the study's lock, re-queues trials whose
//!   lease expired, hands out the lowest pending trial if there is one, and otherwise gives the worker's closure the
//!   events it has not seen: the closure replays them (asks of other workers must reproduce their samples; tells
//!   tell the strategy), checks the budget (counting trials in flight) and asks once. The new trial is stored
//!   `running` under the worker's lease in the same transaction. So no trial is handed out twice and every worker's
//!   strategy sees the same ask/tell sequence, the one a serial resume replays too.
//! * **Leases.** While it evaluates, a worker renews its lease every `lease/3` from its main thread (the evaluation
//!   runs on another thread). A worker that dies (kill -9, lost machine) stops renewing; the next `next_trial` of any
//!   worker re-queues the trial (`retries` + 1) or, past `max_retries`, marks it `failed` with the reason. A worker
//!   whose lease was taken over finds out when it finishes ([`StoreError::LeaseLost`]): it logs it and moves on; the
//!   re-evaluation is counted in the trial's `retries`.
//! * **Transient failures** ([`StoreError::is_transient`]: connection lost, database busy) are retried with
//!   exponential backoff on a fresh connection from the caller's `connect`, for up to
//!   [`WorkerOptions::reconnect_for`]. A failed `next_trial` may or may not have committed, so the worker then
//!   rebuilds its strategy from scratch (replaying the log); an ask that committed unseen leaves a trial whose lease
//!   nobody renews, which is re-queued like a dead worker's.
//! * **Stopping.** [`StopSignal`]: the first request lets the running evaluation finish and be stored, then the
//!   worker returns; the second aborts at once, handing the running trial back (`pending`, no retry counted).

use crate::error::{CoreError, EvalError};
use crate::evaluator::{Evaluation, Evaluator};
use crate::storage::{now, Lease, NewEvents, Next, Storage, StoreError, Trial, TrialState};
use crate::strategy::Strategy;
use crate::study::{Replay, Study};
use serde::Serialize;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A stop request shared with a signal handler: 0 = run, 1 = stop after the running trial, 2 = abort now.
#[derive(Debug, Default)]
pub struct StopSignal(AtomicU8);

impl StopSignal {
    pub fn new() -> Self {
        Self::default()
    }
    /// One more request (a Ctrl-C): the first asks for a graceful stop, the second for an abort. Returns the level.
    pub fn press(&self) -> u8 {
        let prev = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| Some((l + 1).min(2)))
            .unwrap_or(2);
        (prev + 1).min(2)
    }
    /// Asks for a graceful stop (idempotent: does not escalate to an abort).
    pub fn stop(&self) {
        let _ = self.0.fetch_max(1, Ordering::SeqCst);
    }
    pub fn abort(&self) {
        self.0.store(2, Ordering::SeqCst);
    }
    pub fn level(&self) -> u8 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The longest lease a worker may take, in seconds (one day). Heartbeats renew a lease every third of it, so a
/// long evaluation never needs more; a longer claim would outlive its worker for good (a `1e300` lease made a dead
/// worker's trial `running` forever, and every later worker waited for it).
pub const MAX_LEASE_SECONDS: f64 = 86_400.0;

/// A number of seconds given by a user (a command-line option, a study-file field) as a [`Duration`]: it must be
/// finite, at most `max`, and positive (`positive`) or at least zero. The error names `what` and the accepted range,
/// so a caller can show it as is. Never panics (unlike `Duration::from_secs_f64`).
pub fn checked_seconds(what: &str, v: f64, positive: bool, max: f64) -> Result<Duration, String> {
    let low_ok = if positive { v > 0.0 } else { v >= 0.0 };
    let range = if positive {
        format!("in (0, {max}]")
    } else {
        format!("in [0, {max}]")
    };
    if !(low_ok && v <= max) {
        return Err(format!(
            "{what} must be a number of seconds {range}, got {v}"
        ));
    }
    Duration::try_from_secs_f64(v).map_err(|e| format!("{what}: {v} seconds: {e}"))
}

/// How a worker behaves.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Who this worker is, how long its claims last, how often a trial may be retried.
    pub lease: Lease,
    /// How long to wait before asking again when every remaining trial is held by other workers.
    pub poll: Duration,
    /// How long to keep retrying a storage that is unavailable before giving up.
    pub reconnect_for: Duration,
}

impl WorkerOptions {
    /// A fresh worker id, 30 s leases, 3 retries, 200 ms polls, 2 minutes of reconnection attempts.
    pub fn new() -> Self {
        WorkerOptions {
            lease: Lease {
                worker: worker_id(),
                seconds: 30.0,
                max_retries: 3,
            },
            poll: Duration::from_millis(200),
            reconnect_for: Duration::from_secs(120),
        }
    }
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// `hostname:pid:nonce`: unique per process, and readable in `tessera trials` (which worker ran what).
pub fn worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!(
        "{host}:{}:{:04x}",
        std::process::id(),
        rand::random::<u16>()
    )
}

/// What a worker reports as it goes (for logs and progress).
#[derive(Debug)]
pub enum WorkerLog<'a> {
    /// Evaluation of `trial` starts; `attempt` is 1 + its retries (a re-queued trial evaluated again).
    Started { trial: &'a Trial, attempt: u32 },
    /// The trial is stored finished.
    Finished { trial: &'a Trial },
    /// The lease on `trial` was lost (the worker was too slow or cut off); its result is discarded.
    LeaseLost { trial: u64, error: &'a StoreError },
    /// The storage is unavailable; the worker retries after `retry_in`.
    Unavailable {
        error: &'a StoreError,
        retry_in: Duration,
    },
    /// Every remaining trial is held by other workers; waiting for them (or for their leases to expire).
    Waiting { unfinished: u64 },
}

/// What a worker did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WorkerSummary {
    pub worker: String,
    /// Trials this worker evaluated and stored.
    pub evaluated: u64,
    /// Of those, trials re-queued after another worker lost them.
    pub retried: u64,
    /// Evaluations discarded because the lease was lost.
    pub lost: u64,
    /// Times the storage was unavailable and reconnected.
    pub reconnects: u64,
    /// Why the worker stopped.
    pub stop: String,
    /// True when stopped by an abort request (the running trial was handed back).
    pub aborted: bool,
}

/// Everything a worker needs besides the study.
pub struct WorkerContext<'a> {
    /// The study's id in the storage.
    pub study_id: i64,
    /// The same evaluator as the study's, shared with the evaluation thread.
    pub evaluator: Arc<dyn Evaluator>,
    /// A fresh strategy for the study's seed (called at the start and after a failed ask).
    pub new_strategy: &'a mut dyn FnMut() -> Box<dyn Strategy>,
    /// A new connection to the same storage (after a transient failure).
    pub connect: &'a mut dyn FnMut() -> Result<Box<dyn Storage>, StoreError>,
    pub options: WorkerOptions,
    pub stop: &'a StopSignal,
    pub log: &'a mut dyn FnMut(WorkerLog<'_>),
}

struct Conn<'a, 'c> {
    storage: Option<Box<dyn Storage>>,
    connect: &'a mut dyn FnMut() -> Result<Box<dyn Storage>, StoreError>,
    log: &'a mut dyn FnMut(WorkerLog<'_>),
    reconnect_for: Duration,
    reconnects: &'c mut u64,
}

impl Conn<'_, '_> {
    /// Runs `f` on the storage, reconnecting with exponential backoff while it fails transiently. `reset` runs
    /// before each retry (to undo local effects of a failed attempt).
    fn retry<T>(
        &mut self,
        stop: &StopSignal,
        mut f: impl FnMut(&mut dyn Storage) -> Result<T, StoreError>,
        mut reset: impl FnMut(),
    ) -> Result<T, StoreError> {
        let t0 = Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            let r = match self.storage.as_mut() {
                Some(s) => f(s.as_mut()),
                None => (self.connect)().and_then(|s| {
                    *self.reconnects += 1;
                    f(&mut **self.storage.insert(s))
                }),
            };
            match r {
                Err(e)
                    if e.is_transient()
                        && t0.elapsed() < self.reconnect_for
                        && stop.level() < 2 =>
                {
                    (self.log)(WorkerLog::Unavailable {
                        error: &e,
                        retry_in: delay,
                    });
                    self.storage = None;
                    reset();
                    sleep_unless_aborted(delay, stop);
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                other => return other,
            }
        }
    }

    /// One attempt without retry (heartbeats: the next one retries); reconnects when the last attempt failed.
    fn once<T>(
        &mut self,
        f: impl FnOnce(&mut dyn Storage) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.storage.is_none() {
            let s = (self.connect)()?;
            *self.reconnects += 1;
            self.storage = Some(s);
        }
        let r = f(self.storage.as_mut().expect("connected").as_mut());
        if r.as_ref().is_err_and(StoreError::is_transient) {
            self.storage = None;
        }
        r
    }
}

fn sleep_unless_aborted(d: Duration, stop: &StopSignal) {
    let until = Instant::now() + d;
    while stop.level() < 2 {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

fn sleep_unless_stopped(d: Duration, stop: &StopSignal) {
    let until = Instant::now() + d;
    while stop.level() == 0 {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

impl Study<'_> {
    /// Runs one worker on this study until the budget is spent (counting trials in flight in other workers), the
    /// strategy has nothing left, or `ctx.stop` asks it to stop. `storage` is an open handle on the storage holding
    /// the study (see the module docs for the protocol).
    pub fn work(
        &self,
        storage: Box<dyn Storage>,
        ctx: WorkerContext<'_>,
    ) -> Result<WorkerSummary, CoreError> {
        self.validate()?;
        let WorkerContext {
            study_id,
            evaluator,
            new_strategy,
            connect,
            options,
            stop,
            log,
        } = ctx;
        let lease = &options.lease;
        // Checked before anything is claimed: a lease that cannot be renewed (or never expires) must not reach the
        // storage.
        checked_seconds("lease", lease.seconds, true, MAX_LEASE_SECONDS)
            .map_err(CoreError::Invalid)?;
        let mut summary = WorkerSummary {
            worker: lease.worker.clone(),
            ..Default::default()
        };
        let mut reconnects = 0;
        let mut conn = Conn {
            storage: Some(storage),
            connect,
            log,
            reconnect_for: options.reconnect_for,
            reconnects: &mut reconnects,
        };
        if !conn.storage.as_ref().is_some_and(|s| s.supports_workers()) {
            let s = conn.storage.as_ref().expect("given");
            return Err(s.unsupported("workers").into());
        }
        let mut strategy = new_strategy();
        let t0 = Instant::now();
        let mut replay = Replay::starting_at(t0);
        let mut cursor = 0u64;
        let stop_why = loop {
            if stop.level() > 0 {
                break "stop requested".to_string();
            }
            // Ask (or claim) under the study's lock. The closure's effects on the strategy are undone on failure by
            // starting over from a fresh strategy and an empty cursor.
            let mut ask_error: Option<CoreError> = None;
            let mut idle_why = String::new();
            let next = {
                let strategy_cell = std::cell::RefCell::new(&mut strategy);
                let replay_cell = std::cell::RefCell::new(&mut replay);
                let cursor_cell = std::cell::Cell::new(cursor);
                let r = conn.retry(
                    stop,
                    |s| {
                        let mut strategy = strategy_cell.borrow_mut();
                        let mut replay = replay_cell.borrow_mut();
                        let mut ask = |ev: &NewEvents<'_>| -> Option<Trial> {
                            match self.ask_for_worker(strategy.as_mut(), &mut replay, ev) {
                                Ok(Ok(t)) => Some(t),
                                Ok(Err(why)) => {
                                    idle_why = why;
                                    None
                                }
                                Err(e) => {
                                    ask_error = Some(e);
                                    None
                                }
                            }
                        };
                        s.next_trial(study_id, lease, cursor_cell.get(), &mut ask)
                    },
                    || {
                        **strategy_cell.borrow_mut() = new_strategy();
                        **replay_cell.borrow_mut() = Replay::starting_at(t0);
                        cursor_cell.set(0);
                    },
                );
                cursor = cursor_cell.get();
                r
            };
            let next = next?;
            if let Some(e) = ask_error {
                return Err(e);
            }
            let (trial, claimed) = match next {
                Next::Claimed(t) => (t, true),
                Next::Asked { trial, cursor: c } => {
                    cursor = c;
                    (trial, false)
                }
                Next::Idle {
                    cursor: c,
                    unfinished,
                } => {
                    cursor = c;
                    if unfinished == 0 {
                        break if idle_why.is_empty() {
                            "nothing left to do".into()
                        } else {
                            idle_why
                        };
                    }
                    (conn.log)(WorkerLog::Waiting { unfinished });
                    sleep_unless_stopped(options.poll, stop);
                    continue;
                }
            };
            match self.evaluate_leased(study_id, trial, &evaluator, &mut conn, lease, stop)? {
                Outcome::Stored => {
                    summary.evaluated += 1;
                    summary.retried += u64::from(claimed);
                }
                Outcome::Lost => summary.lost += 1,
                Outcome::Aborted => {
                    summary.aborted = true;
                    break "aborted".into();
                }
            }
        };
        summary.stop = stop_why;
        summary.reconnects = reconnects;
        Ok(summary)
    }

    /// Inside `next_trial`: replay the new events, then ask once unless the budget (counting trials in flight) is
    /// spent. `Ok(Err(why))`: nothing to ask.
    fn ask_for_worker(
        &self,
        strategy: &mut dyn Strategy,
        r: &mut Replay,
        ev: &NewEvents<'_>,
    ) -> Result<Result<Trial, String>, CoreError> {
        self.apply_events(strategy, r, ev.events, |n| ev.trial(n), &mut ())?;
        if let Some(why) = self.stop_reason(r, r.in_flight.len() as u64) {
            return Ok(Err(why));
        }
        let number = ev.next_number.max(r.next_number);
        let Some(sample) = self.ask(strategy) else {
            return Ok(Err("strategy has nothing left to propose".into()));
        };
        self.check_proposal(strategy, &sample, number)?;
        let mut t = Trial::new(number, sample);
        t.state = TrialState::Running;
        t.started_at = Some(now());
        if self.describe {
            t.key = self.space.key(&t.sample);
            t.description = self.space.describe(&t.sample);
        }
        r.in_flight.insert(number);
        r.next_number = number + 1;
        Ok(Ok(t))
    }

    /// Evaluates a trial this worker holds: profile and constraints here, the evaluation on its own thread while
    /// this one renews the lease, then the result stored if the lease still holds.
    fn evaluate_leased(
        &self,
        study_id: i64,
        mut trial: Trial,
        evaluator: &Arc<dyn Evaluator>,
        conn: &mut Conn<'_, '_>,
        lease: &Lease,
        stop: &StopSignal,
    ) -> Result<Outcome, CoreError> {
        (conn.log)(WorkerLog::Started {
            trial: &trial,
            attempt: trial.retries + 1,
        });
        let study_id_number = trial.number;
        let settled = self.prepare(&mut trial);
        let (state, error) = match settled {
            Some((state, error)) => (state, Some(error)),
            None => {
                let (tx, rx) = mpsc::channel::<Result<Evaluation, EvalError>>();
                let (ev, sample, ctx) = (
                    evaluator.clone(),
                    trial.sample.clone(),
                    self.context(trial.number),
                );
                let t0 = Instant::now();
                std::thread::Builder::new()
                    .name(format!("evaluate-{}", trial.number))
                    .spawn(move || {
                        let _ = tx.send(ev.evaluate(&sample, &ctx));
                    })
                    .map_err(|e| {
                        CoreError::Invalid(format!("cannot start an evaluation thread: {e}"))
                    })?;
                let beat = checked_seconds("lease", lease.seconds, true, MAX_LEASE_SECONDS)
                    .map(|d| (d / 3).max(Duration::from_millis(10)))
                    .map_err(CoreError::Invalid)?;
                let mut next_beat = Instant::now() + beat;
                let mut holding = true;
                let result = loop {
                    let wait = next_beat
                        .saturating_duration_since(Instant::now())
                        .min(Duration::from_millis(50));
                    match rx.recv_timeout(wait) {
                        Ok(r) => break r,
                        Err(mpsc::RecvTimeoutError::Disconnected) => {
                            break Err(EvalError::Other("the evaluator panicked".into()));
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                    }
                    if stop.level() >= 2 {
                        // Abort: hand the trial back at once (best effort: if this fails, the lease expires).
                        let _ = conn.once(|s| s.release(study_id, study_id_number, lease));
                        return Ok(Outcome::Aborted);
                    }
                    if holding && Instant::now() >= next_beat {
                        next_beat = Instant::now() + beat;
                        match conn.once(|s| s.heartbeat(study_id, study_id_number, lease)) {
                            Ok(()) => {}
                            Err(e @ (StoreError::LeaseLost { .. } | StoreError::Frozen { .. })) => {
                                // Keep evaluating (no second evaluation in parallel on this machine); the result
                                // will be refused.
                                (conn.log)(WorkerLog::LeaseLost {
                                    trial: study_id_number,
                                    error: &e,
                                });
                                holding = false;
                            }
                            Err(e) => (conn.log)(WorkerLog::Unavailable {
                                error: &e,
                                retry_in: beat,
                            }),
                        }
                    }
                };
                trial.wall_seconds = t0.elapsed().as_secs_f64();
                self.conclude(&mut trial, result)
            }
        };
        trial.state = state;
        trial.error = error;
        trial.finished_at = Some(now());
        match conn.retry(stop, |s| s.put_leased(study_id, &trial, lease), || {}) {
            Ok(()) => {
                (conn.log)(WorkerLog::Finished { trial: &trial });
                Ok(Outcome::Stored)
            }
            Err(e @ (StoreError::LeaseLost { .. } | StoreError::Frozen { .. })) => {
                (conn.log)(WorkerLog::LeaseLost {
                    trial: trial.number,
                    error: &e,
                });
                Ok(Outcome::Lost)
            }
            Err(e) => Err(e.into()),
        }
    }
}

enum Outcome {
    Stored,
    Lost,
    Aborted,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluator::EvalContext;
    use crate::space::toy::Toy;
    use crate::space::Space;
    use crate::storage::SharedMemoryStorage;
    use crate::strategy::Told;
    use crate::{rng_for, Metrics, Objective, Rng, Sample};

    struct SumEval;
    impl Evaluator for SumEval {
        fn evaluate(&self, s: &Sample, _: &EvalContext) -> Result<Evaluation, EvalError> {
            std::thread::sleep(Duration::from_millis(1));
            if s[0] == 3 {
                return Err(EvalError::Other("three".into()));
            }
            Ok(Evaluation {
                metrics: Metrics::new().with("score", s.as_slice().iter().map(|&c| c as f64).sum()),
                sim_seconds: 1.0,
            })
        }
        fn metric_names(&self) -> Vec<String> {
            vec!["score".into()]
        }
    }

    /// Mutates the best sample so far half of the time: what it proposes depends on what it was told.
    struct Greedy(Rng, Option<(f64, Sample)>);
    impl Strategy for Greedy {
        fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
            use rand::Rng as _;
            let explore: bool = self.0.random();
            Some(match &self.1 {
                Some((_, b)) if !explore => space.mutate(b, &mut self.0),
                _ => space.sample(&mut self.0),
            })
        }
        fn tell(&mut self, _: &dyn Space, t: &Told) {
            if let Some(v) = t.score() {
                if self.1.as_ref().is_none_or(|(b, _)| v > *b) {
                    self.1 = Some((v, t.sample.clone()));
                }
            }
        }
    }

    #[test]
    fn threads_share_one_trajectory_that_a_serial_resume_replays() {
        let space = Toy::new(4, 5);
        let eval = Arc::new(SumEval);
        let mut study = Study::new("w", &space, eval.as_ref(), vec![Objective::max("score")]);
        study.budget = crate::Budget::trials(80);
        let shared = SharedMemoryStorage::new();
        let id = shared.clone().open_study("w", "").unwrap().id;
        let summaries: Vec<WorkerSummary> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    let (shared, eval, study) = (shared.clone(), eval.clone(), &study);
                    sc.spawn(move || {
                        let stop = StopSignal::new();
                        let connect_to = shared.clone();
                        let ctx = WorkerContext {
                            study_id: id,
                            evaluator: eval,
                            new_strategy: &mut || Box::new(Greedy(rng_for(5, 0), None)),
                            connect: &mut || Ok(Box::new(connect_to.clone())),
                            options: WorkerOptions {
                                poll: Duration::from_millis(5),
                                ..WorkerOptions::new()
                            },
                            stop: &stop,
                            log: &mut |_| {},
                        };
                        study.work(Box::new(shared), ctx).unwrap()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            summaries.iter().map(|s| s.evaluated).sum::<u64>(),
            80,
            "{summaries:?}"
        );
        assert!(
            summaries.iter().filter(|s| s.evaluated > 0).count() >= 2,
            "work was shared: {summaries:?}"
        );
        let trials = shared.trials(id).unwrap();
        assert_eq!(trials.len(), 80);
        assert!(trials
            .iter()
            .all(|t| t.state.is_finished() && t.worker.is_some()));
        // A serial run replays the interleaved log through a fresh strategy without divergence and adds nothing.
        let mut store = shared.clone();
        let s = study
            .run(&mut Greedy(rng_for(5, 0), None), &mut store, &mut ())
            .unwrap();
        assert_eq!((s.replayed, s.trials), (80, 80));
        // With a larger budget it continues the same trajectory.
        study.budget = crate::Budget::trials(90);
        let s = study
            .run(&mut Greedy(rng_for(5, 0), None), &mut store, &mut ())
            .unwrap();
        assert_eq!(s.trials, 90);
    }

    #[test]
    fn lease_seconds_1e300_is_refused_not_a_hung_worker() {
        let space = Toy::new(4, 5);
        let eval = Arc::new(SumEval);
        let mut study = Study::new("w", &space, eval.as_ref(), vec![Objective::max("score")]);
        study.budget = crate::Budget::trials(5);
        let shared = SharedMemoryStorage::new();
        let id = shared.clone().open_study("w", "").unwrap().id;
        for bad in [
            1e300,
            f64::INFINITY,
            f64::NAN,
            0.0,
            -1.0,
            MAX_LEASE_SECONDS * 2.0,
        ] {
            let stop = StopSignal::new();
            let connect_to = shared.clone();
            let mut options = WorkerOptions::new();
            options.lease.seconds = bad;
            let ctx = WorkerContext {
                study_id: id,
                evaluator: eval.clone(),
                new_strategy: &mut || Box::new(Greedy(rng_for(5, 0), None)),
                connect: &mut || Ok(Box::new(connect_to.clone())),
                options,
                stop: &stop,
                log: &mut |_| {},
            };
            let e = study.work(Box::new(shared.clone()), ctx).unwrap_err();
            assert!(
                matches!(&e, CoreError::Invalid(m) if m.contains("lease")),
                "{bad}: {e}"
            );
            // Refused before claiming: no trial is left `running` under a lease that never expires.
            assert!(shared.trials(id).unwrap().is_empty(), "{bad}");
        }
        assert!(
            checked_seconds("x", 1e300, true, f64::MAX).is_err(),
            "too large for a Duration, no panic"
        );
        assert_eq!(
            checked_seconds("x", 1.5, true, 10.0).unwrap(),
            Duration::from_millis(1500)
        );
        assert!(
            checked_seconds("--x", 0.0, false, 10.0).is_ok()
                && checked_seconds("--x", 0.0, true, 10.0)
                    .unwrap_err()
                    .contains("--x")
        );
    }

    #[test]
    fn stop_signal_escalates() {
        let s = StopSignal::new();
        s.stop();
        s.stop();
        assert_eq!(s.level(), 1);
        assert_eq!(s.press(), 2);
        assert_eq!(s.press(), 2);
        assert!(worker_id().split(':').count() >= 3);
    }
}
