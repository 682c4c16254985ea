//! Pruners: stop unpromising trials early from their intermediate results (multi-fidelity search).
//!
//! An evaluator that trains step by step (epochs) reports intermediate metrics through
//! [`Evaluator::evaluate_reporting`](crate::Evaluator::evaluate_reporting); a study with a [`Pruner`]
//! ([`Study::pruner`](crate::Study::pruner)) passes the first objective's oriented intermediate value to the pruner
//! after every report, and when the pruner says stop, the evaluation ends there and the trial is recorded `pruned`
//! with the metrics and simulated cost it had reached. Pruned trials count as evaluated against a trial budget; a
//! budget in simulated seconds charges only the steps that ran, which is where multi-fidelity search saves compute.
//! Strategies are told `pruned` trials with empty `values` (like failed ones) and the last intermediate metrics.
//!
//! Successive halving (asynchronous, ASHA), Hyperband and a median rule live in `tessera-strategies`
//! (`hyperband` module): any strategy can be combined with any pruner (BOHB is TPE + the Hyperband pruner).
//!
//! Contract: `should_prune` is called from the study's loop in trial order; a pruner keeps its state behind a
//! `Mutex` (it is shared as `&dyn Pruner`). Decisions may depend only on the values reported so far, so a study that
//! runs sequentially is deterministic. The values a pruner saw are stored with each trial
//! ([`Trial::intermediate`](crate::Trial::intermediate)), and a resumed study feeds them to its fresh pruner in the
//! order of the stored tells, which is the order an uninterrupted serial run fed them: the resumed study prunes as
//! the uninterrupted one would. Workers evaluate without a pruner (a study file with `[pruner]` is refused there).

/// Decides after each intermediate report whether a trial should stop.
///
/// **Required**: [`should_prune`](Pruner::should_prune). Provided: [`name`](Pruner::name).
pub trait Pruner: Send + Sync {
    /// `value` is the first objective's intermediate value oriented so that larger is better, after `step` units
    /// of fidelity (epochs, 1-based) of trial number `trial`. Returns `true` to stop the trial now.
    fn should_prune(&self, trial: u64, step: u64, value: f64) -> bool;

    fn name(&self) -> &str {
        "pruner"
    }
}

/// Never prunes (the behaviour of a study without a pruner, as a value).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoPruning;

impl Pruner for NoPruning {
    fn should_prune(&self, _trial: u64, _step: u64, _value: f64) -> bool {
        false
    }
    fn name(&self) -> &str {
        "none"
    }
}
