//! Guides: a cheap score of a sample known before evaluating it, such as a zero-cost proxy (synflow of the
//! network at initialisation), for strategies that rank candidates with it: proxy warm-up of a population and
//! proxy-chosen mutations (see [`Foresight::guide`](crate::Foresight::guide)). A study with a guide adds what the
//! guide cost to the simulated seconds of the trial asked with it, so budgets and anytime curves count it.

use crate::sample::Sample;

/// A cheap score of samples. Contract: a pure function of the sample (a seeded proxy is), so a resumed study asks
/// its strategy the same questions and gets the same answers.
pub trait Guide: Send + Sync {
    /// The score (larger is better; `None` when the sample cannot be scored, e.g. a proxy that is NaN) and the
    /// simulated seconds it costs (the computation's cost, also when the guide remembers an earlier answer).
    fn score(&self, sample: &Sample) -> (Option<f64>, f64);
}
