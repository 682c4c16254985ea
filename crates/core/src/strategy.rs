//! Search strategies: ask/tell.

use crate::metrics::Metrics;
use crate::sample::Sample;
use crate::space::Space;
use crate::storage::TrialState;
use smallvec::SmallVec;

/// What a strategy is told about a finished trial.
#[derive(Clone, Copy, Debug)]
pub struct Told<'a> {
    /// The trial's number in its study (0, 1, …).
    pub number: u64,
    pub sample: &'a Sample,
    pub state: TrialState,
    /// Objective values oriented so that larger is better, in the study's objective order; empty unless the trial
    /// completed.
    pub values: &'a [f64],
    pub metrics: &'a Metrics,
    /// Total constraint violation (see [`Constraint::violation`](crate::Constraint::violation), summed over the
    /// study's constraints on the profile and metrics): 0 for feasible trials, positive for infeasible ones, so a
    /// strategy can rank infeasible samples (Deb's constraint domination).
    pub violation: f64,
}

impl Told<'_> {
    /// The first objective's oriented value, for single-objective strategies.
    #[inline]
    pub fn score(&self) -> Option<f64> {
        self.values.first().copied().filter(|v| !v.is_nan())
    }
}

/// What a study knows about a sample *before* evaluating it, for strategies that search with it (see
/// [`Strategy::ask_informed`]): whether it passes the hard constraints on the profile, and the objectives the
/// profile already determines (a tabulated latency, params, FLOPs). Hardware-aware NAS searches this way: cost is
/// cheap and exact, only accuracy needs training (ProxylessNAS's latency table, NSGANetV2's known FLOPs).
pub trait Foresight {
    /// False when the sample's profile violates a hard constraint (the study would record it `infeasible`,
    /// unevaluated). Constraints on evaluated metrics are not checked here.
    fn feasible(&self, sample: &Sample) -> bool;
    /// The objective values known before evaluation, oriented (larger is better), in the study's objective order;
    /// `None` for the objectives only evaluation reports.
    fn known(&self, sample: &Sample) -> SmallVec<[Option<f64>; 4]>;
    /// The objectives' [reference](crate::Objective::reference) values, oriented, in objective order (`None` where
    /// not set): the region of interest a multi-objective strategy may confine itself to. Default: none set.
    fn reference(&self) -> SmallVec<[Option<f64>; 4]> {
        SmallVec::new()
    }
    /// The study's [guide](crate::Guide) score of the sample (larger is better): a zero-cost proxy, known before
    /// evaluating. `None` without a guide (default) or when the guide cannot score the sample.
    fn guide(&self, _sample: &Sample) -> Option<f64> {
        None
    }
}

/// No foresight: every sample is feasible, no objective is known (what [`Strategy::ask`] sees).
pub struct NoForesight;

impl Foresight for NoForesight {
    fn feasible(&self, _sample: &Sample) -> bool {
        true
    }
    fn known(&self, _sample: &Sample) -> SmallVec<[Option<f64>; 4]> {
        SmallVec::new()
    }
}

/// A search strategy. It proposes samples and learns from results; it never evaluates.
///
/// **Required**: [`ask`](Strategy::ask). Provided: [`ask_batch`](Strategy::ask_batch) (repeated `ask`),
/// [`tell`](Strategy::tell) (ignores results: right for random and grid search), [`name`](Strategy::name),
/// [`ask_informed`](Strategy::ask_informed) (`ask` with the study's [`Foresight`]; default: plain `ask`).
///
/// Contract: given the seed it was built with and the same sequence of `ask`/`tell` calls, a strategy returns the
/// same samples. The study relies on this to resume a killed run exactly: it replays the stored history through a
/// fresh strategy. Every sample returned is valid in `space`. `ask` returns `None` when the strategy has nothing
/// left to propose (grid search of a finite space).
pub trait Strategy: Send {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample>;

    /// What studies call: `ask` with the study's [`Foresight`]. Strategies that use it override this and define
    /// `ask` as `ask_informed(space, &NoForesight)`; the same determinism contract holds (a study's foresight is a
    /// pure function of the sample).
    fn ask_informed(&mut self, space: &dyn Space, foresight: &dyn Foresight) -> Option<Sample> {
        let _ = foresight;
        self.ask(space)
    }

    /// Up to `n` samples to evaluate concurrently. Default: `n` calls of `ask` (pending ones are not told yet).
    fn ask_batch(&mut self, space: &dyn Space, n: usize) -> Vec<Sample> {
        (0..n).map_while(|_| self.ask(space)).collect()
    }

    /// Learns from a finished trial (complete, failed, pruned or infeasible).
    fn tell(&mut self, _space: &dyn Space, _told: &Told) {}

    fn name(&self) -> &str {
        "strategy"
    }
}
