//! Evaluators: how good is a sample?

use crate::error::EvalError;
use crate::metrics::Metrics;
use crate::sample::Sample;

/// What an evaluation produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evaluation {
    pub metrics: Metrics,
    /// Simulated compute cost in seconds: the benchmark's recorded training time or latency, or the measured
    /// training time for real training. Budgets in simulated seconds and anytime curves use it.
    pub sim_seconds: f64,
}

/// Context of one evaluation.
#[derive(Clone, Copy, Debug)]
pub struct EvalContext {
    /// The trial number (0, 1, …) in its study.
    pub trial: u64,
    /// A seed derived from the study's seed and the trial number, for evaluators that train.
    pub seed: u64,
}

/// Scores samples of one space.
///
/// **Required**: [`evaluate`](Evaluator::evaluate) and [`metric_names`](Evaluator::metric_names). Provided:
/// [`profile`](Evaluator::profile) (cheap metrics known without evaluating, used to check hard constraints first;
/// default none) and [`contains`](Evaluator::contains) (whether the evaluator can score a sample at all, e.g. a
/// tabular benchmark's key set; default all).
///
/// Contract: `evaluate` may be called from several threads at once and must not panic on any valid sample; errors
/// are returned and recorded as a `failed` trial.
pub trait Evaluator: Send + Sync {
    fn evaluate(&self, sample: &Sample, ctx: &EvalContext) -> Result<Evaluation, EvalError>;
    /// The metrics `evaluate` and `profile` report, for validating objectives and constraints up front.
    fn metric_names(&self) -> Vec<String>;
    fn profile(&self, _sample: &Sample) -> Metrics {
        Metrics::new()
    }
    fn contains(&self, _sample: &Sample) -> bool {
        true
    }

    /// Evaluates with intermediate results, for multi-fidelity search and pruning (see [`crate::pruner`]): an
    /// evaluator that trains step by step calls `report(step, &metrics_so_far)` after each step (epoch, 1-based)
    /// and, when `report` returns `false`, stops and returns the metrics and simulated cost reached so far (the
    /// study then records the trial `pruned`). Default: [`evaluate`](Evaluator::evaluate), with no intermediate
    /// reports (so such an evaluator is never pruned).
    fn evaluate_reporting(
        &self,
        sample: &Sample,
        ctx: &EvalContext,
        _report: &mut dyn FnMut(u64, &Metrics) -> bool,
    ) -> Result<Evaluation, EvalError> {
        self.evaluate(sample, ctx)
    }
}

/// Adds a fixed wall-clock delay to every evaluation of the wrapped evaluator (to make a fast tabular benchmark
/// behave like slow training in tests of resume, workers and progress). Metrics and simulated cost are unchanged.
pub struct Delayed<E: ?Sized> {
    pub delay: std::time::Duration,
    pub inner: std::sync::Arc<E>,
}

impl<E: Evaluator + ?Sized> Evaluator for Delayed<E> {
    fn evaluate(&self, sample: &Sample, ctx: &EvalContext) -> Result<Evaluation, EvalError> {
        std::thread::sleep(self.delay);
        self.inner.evaluate(sample, ctx)
    }
    fn metric_names(&self) -> Vec<String> {
        self.inner.metric_names()
    }
    fn profile(&self, sample: &Sample) -> Metrics {
        self.inner.profile(sample)
    }
    fn contains(&self, sample: &Sample) -> bool {
        self.inner.contains(sample)
    }
    fn evaluate_reporting(
        &self,
        sample: &Sample,
        ctx: &EvalContext,
        report: &mut dyn FnMut(u64, &Metrics) -> bool,
    ) -> Result<Evaluation, EvalError> {
        std::thread::sleep(self.delay);
        self.inner.evaluate_reporting(sample, ctx, report)
    }
}
