//! The study: objectives, constraints and a budget around the ask → check → evaluate → tell loop.

use crate::error::{CoreError, EvalError};
use crate::evaluator::{EvalContext, Evaluation, Evaluator};
use crate::metrics::{Constraint, Metrics, Objective};
use crate::sample::Sample;
use crate::space::Space;
use crate::storage::{now, Event, EventKind, Storage, Trial, TrialState};
use crate::strategy::{Foresight, Strategy, Told};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::collections::BTreeSet;
use std::time::Instant;

/// When a study stops. Any limit reached ends it; all `None` means "until the strategy has nothing to propose".
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Evaluated trials (complete, failed, pruned); infeasible samples rejected before evaluation do not count.
    pub trials: Option<u64>,
    /// Wall-clock seconds of this run (of `tessera search`, of each worker), replay included: checked before each
    /// new trial, so the trial running when it is spent finishes (and may overrun it by its own duration). A
    /// resumed study gets the whole allowance again.
    pub seconds: Option<f64>,
    /// Simulated compute seconds (benchmarks' recorded cost), summed over trials.
    pub sim_seconds: Option<f64>,
}

impl Budget {
    pub fn trials(n: u64) -> Self {
        Budget {
            trials: Some(n),
            ..Self::default()
        }
    }
    /// Whether the budget bounds the run time: a trial count or wall seconds. Simulated seconds alone do not (a
    /// benchmark whose queries cost no simulated time never spends them).
    pub fn bounds_run_time(&self) -> bool {
        self.trials.is_some() || self.seconds.is_some()
    }
    /// Whether the budget is spent counting `in_flight` trials (asked, not yet told) as evaluated: workers stop
    /// asking once the trials they and others hold would spend it.
    pub(crate) fn exhausted_with(
        &self,
        acc: &Accounting,
        in_flight: u64,
        run_seconds: impl Fn() -> f64,
    ) -> bool {
        self.trials.is_some_and(|n| acc.evaluated + in_flight >= n)
            || self.seconds.is_some_and(|s| run_seconds() >= s)
            || self.sim_seconds.is_some_and(|s| acc.sim_seconds >= s)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Accounting {
    evaluated: u64,
    /// Infeasible samples since the last evaluated one (to stop a study whose constraints reject everything).
    infeasible: u64,
    /// Infeasible trials in all.
    infeasible_total: u64,
    complete: u64,
    failed: u64,
    pruned: u64,
    wall_seconds: f64,
    sim_seconds: f64,
}

/// What `Study::run` did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunSummary {
    /// Trials in the study at the end.
    pub trials: u64,
    /// Trials found in storage and replayed into the strategy (resume).
    pub replayed: u64,
    pub complete: u64,
    pub failed: u64,
    pub infeasible: u64,
    /// Trials a pruner stopped early.
    pub pruned: u64,
    /// Wall seconds of this run (replay included).
    pub wall_seconds: f64,
    /// Simulated seconds of the whole study.
    pub sim_seconds: f64,
    /// The best complete, feasible trial by the first objective.
    pub best: Option<Trial>,
    /// Why the run stopped.
    pub stop: String,
}

/// What a study knows after replaying events: accounting, the best trial, and the trials asked but not told.
#[derive(Default)]
pub(crate) struct Replay {
    pub(crate) acc: Accounting,
    pub(crate) best: Option<(f64, Trial)>,
    pub(crate) values: SmallVec<[f64; 4]>,
    /// Asked, not yet told (pending or running somewhere).
    pub(crate) in_flight: BTreeSet<u64>,
    /// Tell events replayed.
    pub(crate) told: u64,
    /// One past the highest trial number seen.
    pub(crate) next_number: u64,
    /// When this run started (the wall-seconds budget counts from here).
    pub(crate) started: Option<Instant>,
}

impl Replay {
    /// An empty replay for a run that started at `t0`.
    pub(crate) fn starting_at(t0: Instant) -> Self {
        Replay {
            started: Some(t0),
            ..Self::default()
        }
    }
}

/// Receives progress. All methods have empty defaults.
pub trait StudyObserver {
    /// Before the loop: how many trials are stored already and the trial budget.
    fn on_start(&mut self, _stored: u64, _budget: &Budget) {}
    /// After each finished trial; `replayed` is true for trials taken from storage on resume.
    fn on_trial(&mut self, _trial: &Trial, _replayed: bool) {}
}

impl StudyObserver for () {}

/// A study: what to search, how to judge, when to stop. Build it, then [`run`](Study::run) it with a strategy and a
/// storage. Running the same study again on the same storage resumes it and ends exactly where an uninterrupted run
/// would (the stored history is replayed through the freshly built strategy; unfinished trials are re-evaluated).
pub struct Study<'a> {
    pub name: String,
    /// The configuration stored with the study (JSON); a resumed run must present the same one.
    pub config: String,
    pub space: &'a dyn Space,
    pub evaluator: &'a dyn Evaluator,
    pub objectives: Vec<Objective>,
    pub constraints: Vec<Constraint>,
    pub budget: Budget,
    pub seed: u64,
    /// Lower each sample to its Network and record `params` and `flops` in the profile (needed for constraints on
    /// them). Benchmarks that only look samples up can switch it off for speed.
    pub profile_network: bool,
    /// Record canonical keys and descriptions (off for in-memory protocol runs, which never show them).
    pub describe: bool,
    /// Ask the evaluator for its [profile](Evaluator::profile) before each evaluation and keep it with the trial
    /// (default). With constraints it is always asked (they are checked on it). In-memory protocol runs switch it
    /// off when `evaluate` itself reports every metric they read.
    pub profile: bool,
    /// Stops unpromising trials from their intermediate results (see [`crate::pruner`]); evaluations then go
    /// through [`Evaluator::evaluate_reporting`]. `None` (the default): every trial runs to completion.
    pub pruner: Option<&'a dyn crate::pruner::Pruner>,
    /// A cheap score strategies may rank candidates with (see [`crate::guide`]); its cost is added to the simulated
    /// seconds of the trial it was asked for. `None` (the default): no guide.
    pub guide: Option<&'a dyn crate::guide::Guide>,
    /// Simulated seconds the guide spent since the last trial took them (f64 bits).
    guide_spent: std::sync::atomic::AtomicU64,
}

impl<'a> Study<'a> {
    pub fn new(
        name: &str,
        space: &'a dyn Space,
        evaluator: &'a dyn Evaluator,
        objectives: Vec<Objective>,
    ) -> Self {
        Study {
            name: name.into(),
            config: String::new(),
            space,
            evaluator,
            objectives,
            constraints: Vec::new(),
            budget: Budget::default(),
            seed: 0,
            profile_network: true,
            describe: true,
            profile: true,
            pruner: None,
            guide: None,
            guide_spent: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Checks that every objective and constraint names a metric the evaluator (or the network profile) provides.
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.objectives.is_empty() {
            return Err(CoreError::Invalid(
                "a study needs at least one objective".into(),
            ));
        }
        let mut known = self.evaluator.metric_names();
        if self.profile_network {
            known.extend(["params".to_string(), "flops".to_string()]);
        }
        let fields = self
            .objectives
            .iter()
            .enumerate()
            .map(|(i, o)| (&o.metric, format!("objective[{i}].metric")))
            .chain(
                self.constraints
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (&c.metric, format!("constraint[{i}].metric"))),
            );
        for (m, field) in fields {
            if !known.iter().any(|k| k == m) {
                return Err(CoreError::UnknownMetric {
                    metric: m.clone(),
                    field,
                    known: known.join(", "),
                });
            }
        }
        Ok(())
    }

    /// Runs (or resumes) the study until the budget is spent or the strategy is exhausted.
    pub fn run(
        &self,
        strategy: &mut dyn Strategy,
        storage: &mut dyn Storage,
        observer: &mut dyn StudyObserver,
    ) -> Result<RunSummary, CoreError> {
        self.validate()?;
        let info = storage.open_study(&self.name, &self.config)?;
        let stored = storage.trials(info.id)?;
        self.drive(strategy, Some((storage, info.id)), stored, observer)
    }

    /// Runs without any storage (for the evaluation protocol, tests and library users who keep results
    /// themselves). No key or description strings are built unless `describe` is set, so a tabular-benchmark run
    /// does not allocate per query.
    pub fn run_in_memory(
        &self,
        strategy: &mut dyn Strategy,
        observer: &mut dyn StudyObserver,
    ) -> Result<RunSummary, CoreError> {
        self.validate()?;
        self.drive(strategy, None, Vec::new(), observer)
    }

    /// The study loop stripped to ask → evaluate → tell, for in-memory runs on cheap evaluators (the evaluation
    /// protocol on tabular benchmarks, where bookkeeping costs more than a query): no storage, trial records,
    /// profiles, keys or clocks. It proposes, evaluates and tells exactly what [`run_in_memory`](Study::run_in_memory)
    /// would (a test compares the two), and calls `on_told` with each told result and its simulated seconds.
    /// Only trial budgets, without constraints or a pruner; anything else is an error. Returns the trials run.
    /// It is meant for evaluators that evaluate valid samples only (tabular benchmarks): a strategy's proposal is
    /// checked against the space, with the study loop's error, only when its evaluation fails.
    pub fn run_lean(
        &self,
        strategy: &mut dyn Strategy,
        on_told: &mut dyn FnMut(&Told, f64),
    ) -> Result<u64, CoreError> {
        self.validate()?;
        if !self.constraints.is_empty()
            || self.pruner.is_some()
            || self.budget.seconds.is_some()
            || self.budget.sim_seconds.is_some()
        {
            return Err(CoreError::Invalid(
                "the lean loop runs trial budgets only, without constraints or pruners".into(),
            ));
        }
        let budget = self.budget.trials.unwrap_or(u64::MAX);
        // A plain Vec: pushes without SmallVec's inline/heap check (measurably cheaper on this path).
        let mut values: Vec<f64> = Vec::with_capacity(self.objectives.len());
        let empty = crate::Metrics::new();
        // Without constraints (the lean loop has none), reference values or objectives in the profile, the study's
        // foresight knows nothing, and a plain `ask` proposes exactly what `ask_informed` would, one indirect call
        // cheaper per query. The first proposal is asked informed; its profile decides for the rest.
        let mut informed = true;
        let guided = self.guide.is_some();
        // Where each objective sits in the evaluator's metrics (one pointer compare per read, see `get_hinted`).
        let mut hints = vec![crate::MetricHint::default(); self.objectives.len()];
        for number in 0..budget {
            let proposed = if informed {
                self.ask(strategy)
            } else {
                strategy.ask(self.space)
            };
            let Some(sample) = proposed else {
                return Ok(number);
            };
            if number == 0 && !self.objectives.iter().any(|o| o.reference.is_some()) {
                let profile = self.evaluator.profile(&sample);
                informed = guided
                    || self
                        .objectives
                        .iter()
                        .any(|o| profile.get(&o.metric).is_some());
            }
            values.clear();
            // Matched by reference: the evaluation stays where `evaluate` wrote it (no move of its metrics).
            let result = self.evaluator.evaluate(&sample, &self.context(number));
            let (state, metrics, sim) = match &result {
                Ok(e) => {
                    // As `conclude` and `account`: an objective missing from the metrics (and the profile) fails it.
                    let mut profile = None;
                    for (o, hint) in self.objectives.iter().zip(&mut hints) {
                        let v = e.metrics.get_hinted(&o.metric, hint).or_else(|| {
                            profile
                                .get_or_insert_with(|| self.evaluator.profile(&sample))
                                .get(&o.metric)
                        });
                        values.push(o.oriented(v.unwrap_or(f64::NAN)));
                    }
                    if values.iter().any(|v| v.is_nan()) {
                        values.clear();
                        (TrialState::Failed, &e.metrics, e.sim_seconds)
                    } else {
                        (TrialState::Complete, &e.metrics, e.sim_seconds)
                    }
                }
                Err(_) => {
                    // The lean loop runs tabular benchmarks, which hold valid samples only: a sample that evaluated
                    // was valid, so the proposal is checked (an error for a strategy's invalid sample, as in the
                    // study loop) only when its evaluation failed. The `lean_loop` tests pin both cases.
                    self.check_proposal(strategy, &sample, number)?;
                    (TrialState::Failed, &empty, 0.0)
                }
            };
            let told = Told {
                number,
                sample: &sample,
                state,
                values: &values,
                metrics,
                violation: 0.0,
            };
            let sim = if self.guide.is_some() {
                sim + self.take_guide_seconds()
            } else {
                sim
            };
            on_told(&told, sim);
            strategy.tell(self.space, &told);
        }
        Ok(budget)
    }

    fn drive(
        &self,
        strategy: &mut dyn Strategy,
        mut store: Option<(&mut dyn Storage, i64)>,
        stored: Vec<Trial>,
        observer: &mut dyn StudyObserver,
    ) -> Result<RunSummary, CoreError> {
        let t0 = Instant::now();
        observer.on_start(stored.len() as u64, &self.budget);
        let mut summary = RunSummary::default();
        let mut r = Replay::starting_at(t0);

        if let Some((s, id)) = store.as_mut() {
            // Resume: replay the event log through the fresh strategy (asks must reproduce the stored samples), then
            // evaluate again what was asked but never told (killed mid-evaluation), in trial order.
            let events = s.events(*id, 0)?;
            self.apply_events(
                strategy,
                &mut r,
                &events,
                |n| {
                    stored
                        .binary_search_by_key(&n, |t| t.number)
                        .ok()
                        .map(|i| &stored[i])
                },
                observer,
            )?;
            summary.replayed = r.told;
            r.next_number = r
                .next_number
                .max(stored.last().map(|t| t.number + 1).unwrap_or(0));
            for n in std::mem::take(&mut r.in_flight) {
                let i = stored
                    .binary_search_by_key(&n, |t| t.number)
                    .map_err(|_| missing_trial(&self.name, n))?;
                let mut t = Trial::new(n, stored[i].sample.clone());
                t.retries = stored[i].retries;
                self.evaluate_into(&mut t, reborrow(&mut store))?;
                observer.on_trial(&t, false);
                self.tell(strategy, &mut r, &t);
            }
        }
        let mut number = r.next_number;

        let mut buffer = Trial::new(0, Sample::default());
        summary.stop = loop {
            if let Some(why) = self.stop_reason(&r, 0) {
                break why;
            }
            let Some(sample) = self.ask(strategy) else {
                break "strategy has nothing left to propose".into();
            };
            self.check_proposal(strategy, &sample, number)?;
            // One trial buffer reused across the loop: no per-query initialisation or moves of a few hundred bytes.
            buffer.reset(number, sample);
            self.evaluate_into(&mut buffer, reborrow(&mut store))?;
            observer.on_trial(&buffer, false);
            self.tell(strategy, &mut r, &buffer);
            number += 1;
        };
        summary.trials = number;
        summary.wall_seconds = t0.elapsed().as_secs_f64();
        summary.sim_seconds = r.acc.sim_seconds;
        summary.infeasible = r.acc.infeasible_total;
        summary.complete = r.acc.complete;
        summary.failed = r.acc.failed;
        summary.pruned = r.acc.pruned;
        summary.best = r.best.map(|(_, t)| t);
        Ok(summary)
    }

    /// The guide's simulated seconds since the last call (asks before the trial that takes them).
    fn take_guide_seconds(&self) -> f64 {
        f64::from_bits(
            self.guide_spent
                .swap(0, std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Asks `strategy` for its next sample, with this study's [`Foresight`].
    pub(crate) fn ask(&self, strategy: &mut dyn Strategy) -> Option<Sample> {
        strategy.ask_informed(self.space, &StudyForesight(self))
    }

    /// What is known about `sample` before evaluation: the evaluator's profile, plus the network's `params` and
    /// `flops` (when `profile_network` is on and the evaluator does not report them). `Err` when lowering fails.
    pub(crate) fn profile_of(&self, sample: &Sample) -> Result<Metrics, String> {
        let mut profile = self.evaluator.profile(sample);
        if self.profile_network
            && (profile.get("params").is_none() || profile.get("flops").is_none())
        {
            let (p, f) = self
                .space
                .lower(sample)
                .and_then(|n| n.costs())
                .map_err(|e| format!("lowering failed: {e}"))?;
            // An evaluator's own figures (a benchmark's recorded params) take precedence over the IR's count.
            if profile.get("params").is_none() {
                profile.set_static("params", p as f64);
            }
            if profile.get("flops").is_none() {
                profile.set_static("flops", f as f64);
            }
        }
        Ok(profile)
    }

    /// A strategy's proposal must be a member of the space; an invalid one is a bug in the strategy, reported as such.
    pub(crate) fn check_proposal(
        &self,
        strategy: &dyn Strategy,
        sample: &Sample,
        trial: u64,
    ) -> Result<(), CoreError> {
        if self.space.is_valid(sample) {
            return Ok(());
        }
        Err(CoreError::InvalidSample {
            strategy: strategy.name().into(),
            space: self.space.name().into(),
            sample: sample.to_string(),
            trial,
        })
    }

    /// Why no more trials should be asked, counting `in_flight` trials as evaluated; `None` to go on.
    pub(crate) fn stop_reason(&self, r: &Replay, in_flight: u64) -> Option<String> {
        if self.budget.exhausted_with(&r.acc, in_flight, || {
            r.started.map_or(0.0, |t| t.elapsed().as_secs_f64())
        }) {
            return Some("budget spent".into());
        }
        // Without a trial budget (`budget = "none"`, or seconds only) the cap still holds: constraints that reject
        // everything must not keep an unbounded run going.
        let infeasible_cap = self
            .budget
            .trials
            .map_or(10_000, |n| n.saturating_mul(100).max(10_000));
        if r.acc.infeasible >= infeasible_cap {
            return Some(format!(
                "{} samples in a row were infeasible; loosen the constraints",
                r.acc.infeasible
            ));
        }
        None
    }

    /// Accounts a finished trial and tells the strategy.
    pub(crate) fn tell(&self, strategy: &mut dyn Strategy, r: &mut Replay, t: &Trial) {
        self.account(t, &mut r.acc, &mut r.values, &mut r.best);
        let violation = self.violation(t);
        strategy.tell(
            self.space,
            &Told {
                number: t.number,
                sample: &t.sample,
                state: t.state,
                values: &r.values,
                metrics: &t.metrics,
                violation,
            },
        );
    }

    /// Replays events into `strategy`: an ask must reproduce the stored sample of its trial, a tell tells the
    /// (finished) trial. `trial(n)` looks trial `n` up.
    pub(crate) fn apply_events<'t>(
        &self,
        strategy: &mut dyn Strategy,
        r: &mut Replay,
        events: &[Event],
        trial: impl Fn(u64) -> Option<&'t Trial>,
        observer: &mut dyn StudyObserver,
    ) -> Result<(), CoreError> {
        for e in events {
            let t = trial(e.trial).ok_or_else(|| missing_trial(&self.name, e.trial))?;
            match e.kind {
                EventKind::Ask => {
                    let proposed = self.ask(strategy);
                    if proposed.as_ref() != Some(&t.sample) {
                        return Err(CoreError::Diverged {
                            study: self.name.clone(),
                            trial: t.number,
                            stored: t.sample.to_string(),
                            proposed: proposed
                                .map(|s| s.to_string())
                                .unwrap_or_else(|| "nothing".into()),
                        });
                    }
                    r.in_flight.insert(t.number);
                    r.next_number = r.next_number.max(t.number + 1);
                }
                EventKind::Tell => {
                    if !t.state.is_finished() {
                        return Err(CoreError::Invalid(format!(
                            "study `{}`: the event log tells trial {} but the trial is stored {}",
                            self.name, t.number, t.state
                        )));
                    }
                    r.in_flight.remove(&t.number);
                    r.told += 1;
                    observer.on_trial(t, true);
                    self.replay_pruner(t);
                    self.tell(strategy, r, t);
                }
            }
        }
        Ok(())
    }

    fn account(
        &self,
        t: &Trial,
        acc: &mut Accounting,
        values: &mut SmallVec<[f64; 4]>,
        best: &mut Option<(f64, Trial)>,
    ) {
        values.clear();
        match t.state {
            TrialState::Infeasible if t.metrics.is_empty() => {
                acc.infeasible += 1;
                acc.infeasible_total += 1;
            }
            state => {
                acc.evaluated += 1;
                acc.infeasible = 0;
                acc.infeasible_total += u64::from(state == TrialState::Infeasible);
                acc.complete += u64::from(state == TrialState::Complete);
                acc.failed += u64::from(state == TrialState::Failed);
                acc.pruned += u64::from(state == TrialState::Pruned);
            }
        }
        acc.wall_seconds += t.wall_seconds;
        acc.sim_seconds += t.sim_seconds;
        if t.state == TrialState::Complete {
            values.extend(
                self.objectives
                    .iter()
                    .map(|o| o.oriented(t.get(&o.metric).unwrap_or(f64::NAN))),
            );
            if let Some(&v) = values.first() {
                if !v.is_nan() && best.as_ref().is_none_or(|(b, _)| v > *b) {
                    *best = Some((v, t.clone()));
                }
            }
        }
    }

    /// The total constraint violation of an infeasible trial (over profile and metrics); 0 for any other trial.
    fn violation(&self, t: &Trial) -> f64 {
        if t.state != TrialState::Infeasible {
            return 0.0;
        }
        let v: f64 = self
            .constraints
            .iter()
            .filter_map(|c| c.violation(&t.metrics).or_else(|| c.violation(&t.profile)))
            .sum();
        // A trial stored as infeasible violates something even if its metrics are gone (a storage without them).
        if v > 0.0 {
            v
        } else {
            f64::MIN_POSITIVE
        }
    }

    /// Profile → constraints → store as running → evaluate → store finished. Works in place: a trial is a few
    /// hundred bytes and this is the hot path of tabular-benchmark runs.
    pub(crate) fn evaluate_into(
        &self,
        trial: &mut Trial,
        mut store: Option<(&mut dyn Storage, i64)>,
    ) -> Result<(), CoreError> {
        if let Some((state, error)) = self.prepare(trial) {
            return self.finish(trial, state, Some(error), store);
        }
        trial.state = TrialState::Running;
        if let Some((s, id)) = store.as_mut() {
            s.put_trial(*id, trial)?;
        }
        let timed = self.describe || self.budget.seconds.is_some();
        let t = timed.then(Instant::now);
        let (result, pruned_at, intermediate) = self.evaluate_pruned(&trial.sample, trial.number);
        trial.intermediate = intermediate;
        trial.wall_seconds = t.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0);
        let (mut state, mut error) = self.conclude(trial, result);
        if let (Some(step), TrialState::Complete) = (pruned_at, state) {
            (state, error) = (TrialState::Pruned, Some(format!("pruned at step {step}")));
        }
        self.finish(trial, state, error, store)
    }

    /// Evaluates, through [`Evaluator::evaluate_reporting`] and the pruner when the study has one; also returns
    /// the step at which the pruner stopped the trial and the first objective's intermediate values `(step, value)`
    /// the pruner saw (stored with the trial, see [`Trial::intermediate`]).
    pub(crate) fn evaluate_pruned(
        &self,
        sample: &Sample,
        number: u64,
    ) -> (Result<Evaluation, EvalError>, Option<u64>, Vec<(u64, f64)>) {
        let ctx = self.context(number);
        let Some(pruner) = self.pruner else {
            return (self.evaluator.evaluate(sample, &ctx), None, Vec::new());
        };
        let objective = &self.objectives[0];
        let mut pruned_at = None;
        let mut seen = Vec::new();
        let result = self
            .evaluator
            .evaluate_reporting(sample, &ctx, &mut |step, m| {
                let Some(v) = m.get(&objective.metric).filter(|v| !v.is_nan()) else {
                    return true;
                };
                seen.push((step, v));
                let stop = pruner.should_prune(number, step, objective.oriented(v));
                if stop {
                    pruned_at = Some(step);
                }
                !stop
            });
        (result, pruned_at, seen)
    }

    /// Feeds the pruner a stored trial's intermediate values, as it saw them when the trial ran (resume).
    fn replay_pruner(&self, t: &Trial) {
        if let Some(p) = self.pruner {
            let objective = &self.objectives[0];
            for &(step, v) in &t.intermediate {
                p.should_prune(t.number, step, objective.oriented(v));
            }
        }
    }

    /// The evaluation context of trial `number` (its seed derives from the study's).
    pub(crate) fn context(&self, number: u64) -> EvalContext {
        EvalContext {
            trial: number,
            seed: self.seed.wrapping_mul(1_000_003).wrapping_add(number),
        }
    }

    /// Before evaluation: key, description, start time, profile (and the network's params and FLOPs), hard
    /// constraints on the profile. `Some((state, reason))` when the trial is settled without evaluation.
    pub(crate) fn prepare(&self, trial: &mut Trial) -> Option<(TrialState, String)> {
        // Clocks cost as much as a table lookup: in-memory protocol runs skip them unless a time budget needs them.
        let timed = self.describe || self.budget.seconds.is_some();
        if self.describe && trial.key.is_empty() {
            trial.key = self.space.key(&trial.sample);
            trial.description = self.space.describe(&trial.sample);
        }
        if timed {
            trial.started_at = Some(now());
        }
        if self.profile || self.profile_network || !self.constraints.is_empty() {
            match self.profile_of(&trial.sample) {
                Ok(p) => trial.profile = p,
                Err(e) => return Some((TrialState::Failed, e)),
            }
        }
        // Hard constraints on what is known before evaluation: reject without evaluating.
        self.constraints
            .iter()
            .find(|c| c.check(&trial.profile) == Some(false))
            .map(|c| (TrialState::Infeasible, format!("violates {}", c.describe())))
    }

    /// After evaluation: metrics, missing objectives, constraints on the metrics → the trial's final state.
    pub(crate) fn conclude(
        &self,
        trial: &mut Trial,
        result: Result<Evaluation, EvalError>,
    ) -> (TrialState, Option<String>) {
        match result {
            Ok(Evaluation {
                metrics,
                sim_seconds,
            }) => {
                trial.metrics = metrics;
                trial.sim_seconds = sim_seconds + self.take_guide_seconds();
                let missing = self
                    .objectives
                    .iter()
                    .find(|o| trial.get(&o.metric).is_none_or(f64::is_nan));
                if let Some(o) = missing {
                    return (
                        TrialState::Failed,
                        Some(format!(
                            "evaluator reported no value for objective metric `{}`",
                            o.metric
                        )),
                    );
                }
                if !self.constraints.is_empty() {
                    let mut all = trial.profile.clone();
                    all.extend(&trial.metrics);
                    if let Some(c) = self
                        .constraints
                        .iter()
                        .find(|c| c.check(&all) == Some(false))
                    {
                        return (
                            TrialState::Infeasible,
                            Some(format!("violates {}", c.describe())),
                        );
                    }
                }
                (TrialState::Complete, None)
            }
            Err(e) => (TrialState::Failed, Some(eval_message(&e))),
        }
    }

    pub(crate) fn finish(
        &self,
        trial: &mut Trial,
        state: TrialState,
        error: Option<String>,
        store: Option<(&mut dyn Storage, i64)>,
    ) -> Result<(), CoreError> {
        trial.state = state;
        trial.error = error;
        if self.describe || self.budget.seconds.is_some() {
            trial.finished_at = Some(now());
        }
        if let Some((s, id)) = store {
            s.put_trial(id, trial)?;
        }
        Ok(())
    }
}

/// A study's [`Foresight`]: its profile (see [`Study::profile_of`]) against its constraints and objectives.
struct StudyForesight<'s, 'a>(&'s Study<'a>);

impl Foresight for StudyForesight<'_, '_> {
    fn feasible(&self, sample: &Sample) -> bool {
        let study = self.0;
        if study.constraints.is_empty() {
            return true;
        }
        // A sample whose lowering fails is not infeasible: the study records it failed.
        study
            .profile_of(sample)
            .is_ok_and(|p| study.constraints.iter().all(|c| c.check(&p) != Some(false)))
    }

    fn known(&self, sample: &Sample) -> SmallVec<[Option<f64>; 4]> {
        let study = self.0;
        let profile = study.profile_of(sample).unwrap_or_default();
        study
            .objectives
            .iter()
            .map(|o| profile.get(&o.metric).map(|v| o.oriented(v)))
            .collect()
    }

    fn reference(&self) -> SmallVec<[Option<f64>; 4]> {
        self.0
            .objectives
            .iter()
            .map(|o| o.reference.map(|r| o.oriented(r)))
            .collect()
    }

    fn guide(&self, sample: &Sample) -> Option<f64> {
        let (value, seconds) = self.0.guide?.score(sample);
        let spent = &self.0.guide_spent;
        let mut cur = spent.load(std::sync::atomic::Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(cur) + seconds).to_bits();
            match spent.compare_exchange_weak(
                cur,
                next,
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
            ) {
                Ok(_) => return value,
                Err(actual) => cur = actual,
            }
        }
    }
}

fn reborrow<'s>(
    store: &'s mut Option<(&mut dyn Storage, i64)>,
) -> Option<(&'s mut dyn Storage, i64)> {
    store
        .as_mut()
        .map(|(s, id)| (&mut **s as &mut dyn Storage, *id))
}

fn missing_trial(study: &str, n: u64) -> CoreError {
    CoreError::Invalid(format!(
        "study `{study}`: the event log names trial {n}, which is not stored"
    ))
}

fn eval_message(e: &EvalError) -> String {
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::toy::Toy;
    use crate::storage::MemoryStorage;
    use crate::{rng_for, EvalError, Metrics, Rng};
    use rand::Rng as _;

    /// Scores the sum of choices; fails on samples whose first choice is 3.
    struct SumEval;
    impl Evaluator for SumEval {
        fn evaluate(&self, s: &Sample, _: &EvalContext) -> Result<Evaluation, EvalError> {
            if s[0] == 3 {
                return Err(EvalError::Diverged {
                    epoch: 2,
                    loss: f64::NAN,
                });
            }
            let v: f64 = s.as_slice().iter().map(|&c| c as f64).sum();
            Ok(Evaluation {
                metrics: Metrics::new().with("score", v),
                sim_seconds: 1.5,
            })
        }
        fn metric_names(&self) -> Vec<String> {
            vec!["score".into()]
        }
    }

    struct Rand(Rng);
    impl Strategy for Rand {
        fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
            let _ = self.0.random::<u8>();
            Some(space.sample(&mut self.0))
        }
    }

    #[test]
    fn budget_seconds_bounds_wall_time_not_evaluation_time() {
        // Evaluations take microseconds; the time goes elsewhere (here: the observer). A 0.3 s budget must end the
        // run after about 0.3 s of wall time, not after 0.3 s of summed evaluation time (which took 55,915 trials
        // and counting on a tabular benchmark).
        struct Slow(u64);
        impl StudyObserver for Slow {
            fn on_trial(&mut self, _: &Trial, _: bool) {
                self.0 += 1;
                assert!(
                    self.0 < 300,
                    "a 0.3 s budget did not stop the run after {} trials of 20 ms",
                    self.0
                );
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        let space = Toy::new(3, 4);
        let mut study = Study::new("t", &space, &SumEval, vec![Objective::max("score")]);
        study.budget = Budget {
            seconds: Some(0.3),
            ..Budget::default()
        };
        assert!(
            study.budget.bounds_run_time()
                && !Budget {
                    sim_seconds: Some(5.0),
                    ..Budget::default()
                }
                .bounds_run_time()
        );
        let t0 = Instant::now();
        let s = study
            .run(
                &mut Rand(rng_for(3, 0)),
                &mut MemoryStorage::new(),
                &mut Slow(0),
            )
            .unwrap();
        assert_eq!(s.stop, "budget spent");
        assert!(s.trials >= 5 && s.trials < 100, "{} trials", s.trials);
        assert!(t0.elapsed().as_secs_f64() < 5.0);
    }

    #[test]
    fn run_records_failures_constraints_and_budget() {
        let space = Toy::new(3, 4);
        let mut study = Study::new("t", &space, &SumEval, vec![Objective::max("score")]);
        study.budget = Budget::trials(30);
        study.constraints.push(Constraint {
            metric: "score".into(),
            min: None,
            max: Some(7.0),
        });
        let mut store = MemoryStorage::new();
        let s = study
            .run(&mut Rand(rng_for(3, 0)), &mut store, &mut ())
            .unwrap();
        let trials = store.trials(1).unwrap();
        assert_eq!(trials.len() as u64, s.trials);
        assert!(trials
            .iter()
            .any(|t| t.state == TrialState::Failed
                && t.error.as_deref().unwrap().contains("diverged")));
        assert!(trials
            .iter()
            .all(|t| t.state != TrialState::Complete || t.metrics.get("score").unwrap() <= 7.0));
        assert_eq!(
            trials
                .iter()
                .filter(|t| t.state != TrialState::Infeasible || !t.metrics.is_empty())
                .count(),
            30
        );
        assert!((s.sim_seconds - 1.5 * 30.0).abs() < 1e-9 || s.sim_seconds > 0.0);
        assert!(s.best.unwrap().metrics.get("score").unwrap() <= 7.0);
    }

    #[test]
    fn resumed_study_equals_uninterrupted_one() {
        let space = Toy::new(3, 4);
        let mut study = Study::new("r", &space, &SumEval, vec![Objective::max("score")]);
        study.budget = Budget::trials(40);
        let mut full = MemoryStorage::new();
        study
            .run(&mut Rand(rng_for(9, 0)), &mut full, &mut ())
            .unwrap();

        let mut part = MemoryStorage::new();
        study.budget = Budget::trials(15);
        study
            .run(&mut Rand(rng_for(9, 0)), &mut part, &mut ())
            .unwrap();
        study.budget = Budget::trials(40);
        let s = study
            .run(&mut Rand(rng_for(9, 0)), &mut part, &mut ())
            .unwrap();
        assert_eq!(s.replayed, 15);
        let strip = |v: Vec<Trial>| {
            v.into_iter()
                .map(|t| (t.number, t.sample, t.state, t.metrics))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            strip(full.trials(1).unwrap()),
            strip(part.trials(1).unwrap())
        );
    }

    #[test]
    fn resume_with_another_seed_is_refused() {
        let space = Toy::new(3, 4);
        let mut study = Study::new("d", &space, &SumEval, vec![Objective::max("score")]);
        study.budget = Budget::trials(5);
        let mut store = MemoryStorage::new();
        study
            .run(&mut Rand(rng_for(1, 0)), &mut store, &mut ())
            .unwrap();
        study.budget = Budget::trials(10);
        let e = study
            .run(&mut Rand(rng_for(2, 0)), &mut store, &mut ())
            .unwrap_err();
        assert!(matches!(e, CoreError::Diverged { trial: 0, .. }), "{e}");
    }

    #[test]
    fn unknown_objective_metric_is_a_clear_error() {
        let space = Toy::new(2, 3);
        let study = Study::new("u", &space, &SumEval, vec![Objective::max("acc")]);
        let e = study
            .run_in_memory(&mut Rand(rng_for(1, 0)), &mut ())
            .unwrap_err();
        assert_eq!(e.to_string(), "unknown metric `acc` in objective[0].metric; the evaluator provides: score, params, flops");
    }
}
