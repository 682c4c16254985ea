//! The study: objectives, constraints and a budget around the ask → check → evaluate → tell loop.

use crate::error::{CoreError, EvalError};
use crate::evaluator::{EvalContext, Evaluation, Evaluator};
use crate::metrics::{Constraint, Objective};
use crate::sample::Sample;
use crate::space::Space;
use crate::storage::{now, Storage, Trial, TrialState};
use crate::strategy::{Strategy, Told};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::time::Instant;

/// When a study stops. Any limit reached ends it; all `None` means "until the strategy has nothing to propose".
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Evaluated trials (complete, failed, pruned); infeasible samples rejected before evaluation do not count.
    pub trials: Option<u64>,
    /// Wall-clock seconds spent evaluating, summed over the study's trials (so a resumed study keeps its account).
    pub seconds: Option<f64>,
    /// Simulated compute seconds (benchmarks' recorded cost), summed over trials.
    pub sim_seconds: Option<f64>,
}

impl Budget {
    pub fn trials(n: u64) -> Self {
        Budget { trials: Some(n), ..Self::default() }
    }
    fn exhausted(&self, acc: &Accounting) -> bool {
        self.trials.is_some_and(|n| acc.evaluated >= n)
            || self.seconds.is_some_and(|s| acc.wall_seconds >= s)
            || self.sim_seconds.is_some_and(|s| acc.sim_seconds >= s)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
struct Accounting {
    evaluated: u64,
    /// Infeasible samples since the last evaluated one (to stop a study whose constraints reject everything).
    infeasible: u64,
    /// Infeasible trials in all.
    infeasible_total: u64,
    complete: u64,
    failed: u64,
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
    /// Wall seconds of this run (replay included).
    pub wall_seconds: f64,
    /// Simulated seconds of the whole study.
    pub sim_seconds: f64,
    /// The best complete, feasible trial by the first objective.
    pub best: Option<Trial>,
    /// Why the run stopped.
    pub stop: String,
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
}

impl<'a> Study<'a> {
    pub fn new(name: &str, space: &'a dyn Space, evaluator: &'a dyn Evaluator, objectives: Vec<Objective>) -> Self {
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
        }
    }

    /// Checks that every objective and constraint names a metric the evaluator (or the network profile) provides.
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.objectives.is_empty() {
            return Err(CoreError::Invalid("a study needs at least one objective".into()));
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
            .chain(self.constraints.iter().enumerate().map(|(i, c)| (&c.metric, format!("constraint[{i}].metric"))));
        for (m, field) in fields {
            if !known.iter().any(|k| k == m) {
                return Err(CoreError::UnknownMetric { metric: m.clone(), field, known: known.join(", ") });
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
    pub fn run_in_memory(&self, strategy: &mut dyn Strategy, observer: &mut dyn StudyObserver) -> Result<RunSummary, CoreError> {
        self.validate()?;
        self.drive(strategy, None, Vec::new(), observer)
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
        let mut acc = Accounting::default();
        let mut summary = RunSummary::default();
        let mut best: Option<(f64, Trial)> = None;
        let mut number = 0u64;
        let mut values: SmallVec<[f64; 4]> = SmallVec::new();

        // Replay: a fresh strategy must propose exactly the stored samples, in order.
        for stored_trial in stored {
            let proposed = strategy.ask(self.space);
            if proposed.as_ref() != Some(&stored_trial.sample) {
                return Err(CoreError::Diverged {
                    study: self.name.clone(),
                    trial: stored_trial.number,
                    stored: stored_trial.sample.to_string(),
                    proposed: proposed.map(|s| s.to_string()).unwrap_or_else(|| "nothing".into()),
                });
            }
            let trial = if stored_trial.state.is_finished() {
                summary.replayed += 1;
                observer.on_trial(&stored_trial, true);
                stored_trial
            } else {
                // Killed mid-evaluation: evaluate it again, as the uninterrupted run did.
                let t = self.evaluate_trial(stored_trial.number, stored_trial.sample, reborrow(&mut store))?;
                observer.on_trial(&t, false);
                t
            };
            self.account(&trial, &mut acc, &mut values, &mut best);
            strategy.tell(self.space, &Told { number: trial.number, sample: &trial.sample, state: trial.state, values: &values, metrics: &trial.metrics });
            number = trial.number + 1;
        }

        let mut buffer = Trial::new(0, Sample::default());
        let infeasible_cap = self.budget.trials.map(|n| n.saturating_mul(100).max(10_000));
        summary.stop = loop {
            if self.budget.exhausted(&acc) {
                break "budget spent".into();
            }
            if infeasible_cap.is_some_and(|cap| acc.infeasible >= cap) {
                break format!("{} samples in a row were infeasible; loosen the constraints", acc.infeasible);
            }
            let Some(sample) = strategy.ask(self.space) else {
                break "strategy has nothing left to propose".into();
            };
            if !self.space.is_valid(&sample) {
                return Err(CoreError::InvalidSample {
                    strategy: strategy.name().into(),
                    space: self.space.name().into(),
                    sample: sample.to_string(),
                    trial: number,
                });
            }
            // One trial buffer reused across the loop: no per-query initialisation or moves of a few hundred bytes.
            buffer.reset(number, sample);
            self.evaluate_into(&mut buffer, reborrow(&mut store))?;
            let trial = &buffer;
            observer.on_trial(trial, false);
            self.account(trial, &mut acc, &mut values, &mut best);
            strategy.tell(self.space, &Told { number, sample: &trial.sample, state: trial.state, values: &values, metrics: &trial.metrics });
            number += 1;
        };
        summary.trials = number;
        summary.wall_seconds = t0.elapsed().as_secs_f64();
        summary.sim_seconds = acc.sim_seconds;
        summary.infeasible = acc.infeasible_total;
        summary.complete = acc.complete;
        summary.failed = acc.failed;
        summary.best = best.map(|(_, t)| t);
        Ok(summary)
    }

    fn account(&self, t: &Trial, acc: &mut Accounting, values: &mut SmallVec<[f64; 4]>, best: &mut Option<(f64, Trial)>) {
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
            }
        }
        acc.wall_seconds += t.wall_seconds;
        acc.sim_seconds += t.sim_seconds;
        if t.state == TrialState::Complete {
            values.extend(self.objectives.iter().map(|o| o.oriented(t.get(&o.metric).unwrap_or(f64::NAN))));
            if let Some(&v) = values.first() {
                if !v.is_nan() && best.as_ref().is_none_or(|(b, _)| v > *b) {
                    *best = Some((v, t.clone()));
                }
            }
        }
    }

    /// Profile → constraints → store as running → evaluate → store finished. Works in place: a trial is a few
    /// hundred bytes and this is the hot path of tabular-benchmark runs.
    fn evaluate_trial(&self, number: u64, sample: Sample, store: Option<(&mut dyn Storage, i64)>) -> Result<Trial, CoreError> {
        let mut trial = Trial::new(number, sample);
        self.evaluate_into(&mut trial, store)?;
        Ok(trial)
    }

    fn evaluate_into(&self, trial: &mut Trial, mut store: Option<(&mut dyn Storage, i64)>) -> Result<(), CoreError> {
        // Clocks cost as much as a table lookup: in-memory protocol runs skip them unless a time budget needs them.
        let timed = self.describe || self.budget.seconds.is_some();
        if self.describe {
            trial.key = self.space.key(&trial.sample);
            trial.description = self.space.describe(&trial.sample);
        }
        if timed {
            trial.started_at = Some(now());
        }
        trial.profile = self.evaluator.profile(&trial.sample);
        if self.profile_network {
            match self.space.lower(&trial.sample).and_then(|n| n.costs()) {
                Ok((p, f)) => {
                    // An evaluator's own figures (a benchmark's recorded params) take precedence over the IR's count.
                    if trial.profile.get("params").is_none() {
                        trial.profile.set_static("params", p as f64);
                    }
                    if trial.profile.get("flops").is_none() {
                        trial.profile.set_static("flops", f as f64);
                    }
                }
                Err(e) => return self.finish(trial, TrialState::Failed, Some(format!("lowering failed: {e}")), store),
            }
        }
        // Hard constraints on what is known before evaluation: reject without evaluating.
        if let Some(c) = self.constraints.iter().find(|c| c.check(&trial.profile) == Some(false)) {
            return self.finish(trial, TrialState::Infeasible, Some(format!("violates {}", c.describe())), store);
        }
        trial.state = TrialState::Running;
        if let Some((s, id)) = store.as_mut() {
            s.put_trial(*id, trial)?;
        }
        let t = timed.then(Instant::now);
        let ctx = EvalContext { trial: trial.number, seed: self.seed.wrapping_mul(1_000_003).wrapping_add(trial.number) };
        let result = self.evaluator.evaluate(&trial.sample, &ctx);
        trial.wall_seconds = t.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0);
        match result {
            Ok(Evaluation { metrics, sim_seconds }) => {
                trial.metrics = metrics;
                trial.sim_seconds = sim_seconds;
                let missing = self.objectives.iter().find(|o| trial.get(&o.metric).is_none_or(f64::is_nan));
                if let Some(o) = missing {
                    let msg = format!("evaluator reported no value for objective metric `{}`", o.metric);
                    return self.finish(trial, TrialState::Failed, Some(msg), store);
                }
                if !self.constraints.is_empty() {
                    let mut all = trial.profile.clone();
                    all.extend(&trial.metrics);
                    if let Some(c) = self.constraints.iter().find(|c| c.check(&all) == Some(false)) {
                        let msg = format!("violates {}", c.describe());
                        return self.finish(trial, TrialState::Infeasible, Some(msg), store);
                    }
                }
                self.finish(trial, TrialState::Complete, None, store)
            }
            Err(e) => self.finish(trial, TrialState::Failed, Some(eval_message(&e)), store),
        }
    }

    fn finish(&self, trial: &mut Trial, state: TrialState, error: Option<String>, store: Option<(&mut dyn Storage, i64)>) -> Result<(), CoreError> {
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

fn reborrow<'s>(store: &'s mut Option<(&mut dyn Storage, i64)>) -> Option<(&'s mut dyn Storage, i64)> {
    store.as_mut().map(|(s, id)| (&mut **s as &mut dyn Storage, *id))
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
                return Err(EvalError::Diverged { epoch: 2, loss: f64::NAN });
            }
            let v: f64 = s.as_slice().iter().map(|&c| c as f64).sum();
            Ok(Evaluation { metrics: Metrics::new().with("score", v), sim_seconds: 1.5 })
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
    fn run_records_failures_constraints_and_budget() {
        let space = Toy::new(3, 4);
        let mut study = Study::new("t", &space, &SumEval, vec![Objective::max("score")]);
        study.budget = Budget::trials(30);
        study.constraints.push(Constraint { metric: "score".into(), min: None, max: Some(7.0) });
        let mut store = MemoryStorage::new();
        let s = study.run(&mut Rand(rng_for(3, 0)), &mut store, &mut ()).unwrap();
        let trials = store.trials(1).unwrap();
        assert_eq!(trials.len() as u64, s.trials);
        assert!(trials.iter().any(|t| t.state == TrialState::Failed && t.error.as_deref().unwrap().contains("diverged")));
        assert!(trials.iter().all(|t| t.state != TrialState::Complete || t.metrics.get("score").unwrap() <= 7.0));
        assert_eq!(trials.iter().filter(|t| t.state != TrialState::Infeasible || !t.metrics.is_empty()).count(), 30);
        assert!((s.sim_seconds - 1.5 * 30.0).abs() < 1e-9 || s.sim_seconds > 0.0);
        assert!(s.best.unwrap().metrics.get("score").unwrap() <= 7.0);
    }

    #[test]
    fn resumed_study_equals_uninterrupted_one() {
        let space = Toy::new(3, 4);
        let mut study = Study::new("r", &space, &SumEval, vec![Objective::max("score")]);
        study.budget = Budget::trials(40);
        let mut full = MemoryStorage::new();
        study.run(&mut Rand(rng_for(9, 0)), &mut full, &mut ()).unwrap();

        let mut part = MemoryStorage::new();
        study.budget = Budget::trials(15);
        study.run(&mut Rand(rng_for(9, 0)), &mut part, &mut ()).unwrap();
        study.budget = Budget::trials(40);
        let s = study.run(&mut Rand(rng_for(9, 0)), &mut part, &mut ()).unwrap();
        assert_eq!(s.replayed, 15);
        let strip = |v: Vec<Trial>| v.into_iter().map(|t| (t.number, t.sample, t.state, t.metrics)).collect::<Vec<_>>();
        assert_eq!(strip(full.trials(1).unwrap()), strip(part.trials(1).unwrap()));
    }

    #[test]
    fn resume_with_another_seed_is_refused() {
        let space = Toy::new(3, 4);
        let mut study = Study::new("d", &space, &SumEval, vec![Objective::max("score")]);
        study.budget = Budget::trials(5);
        let mut store = MemoryStorage::new();
        study.run(&mut Rand(rng_for(1, 0)), &mut store, &mut ()).unwrap();
        study.budget = Budget::trials(10);
        let e = study.run(&mut Rand(rng_for(2, 0)), &mut store, &mut ()).unwrap_err();
        assert!(matches!(e, CoreError::Diverged { trial: 0, .. }), "{e}");
    }

    #[test]
    fn unknown_objective_metric_is_a_clear_error() {
        let space = Toy::new(2, 3);
        let study = Study::new("u", &space, &SumEval, vec![Objective::max("acc")]);
        let e = study.run_in_memory(&mut Rand(rng_for(1, 0)), &mut ()).unwrap_err();
        assert_eq!(e.to_string(), "unknown metric `acc` in objective[0].metric; the evaluator provides: score, params, flops");
    }
}
