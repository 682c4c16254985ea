//! Multi-fidelity search by pruning: successive halving (asynchronous, ASHA: Li et al., MLSys 2020), Hyperband
//! (Li et al., JMLR 2018) and the median rule, as [`Pruner`]s that any strategy can be combined with.
//!
//! How it fits the ask/tell loop (see [`tessera_core::pruner`]): the study evaluates every proposed sample with
//! [`Evaluator::evaluate_reporting`](tessera_core::Evaluator::evaluate_reporting); after each step (epoch) the
//! pruner sees the first objective's intermediate value and may stop the trial, which is then recorded `pruned` with
//! only the compute it used. So:
//!
//! * **successive halving** = any strategy + [`SuccessiveHalving`]: rungs at `min_steps · ηᵏ` steps; a trial
//!   reaching a rung continues only if its value is among the best `1/η` of the values recorded at that rung so far
//!   (asynchronous: no waiting for a full cohort, so it works with one worker and with many);
//! * **Hyperband** = any strategy + [`Hyperband`]: several successive-halving brackets with different minimum
//!   budgets `max_steps/ηˢ`, trials assigned to brackets in proportion to Hyperband's bracket sizes, so the
//!   aggressiveness of early stopping is hedged;
//! * **BOHB** = `tpe` + [`Hyperband`] (Falkner et al., ICML 2018, as Optuna recommends): TPE models the complete
//!   trials and treats pruned ones as bad.
//!
//! On a tabular benchmark that records only final accuracy (the NB201 CSV) an evaluator reports no intermediate
//! values, so nothing is pruned and the strategy runs unchanged. Study files choose a pruner with [`build_pruner`]
//! (kinds `none`, `median`, `successive-halving`, `hyperband`).
//!
//! Determinism: every pruner decides from the values reported so far, in the order the study reports them, so a
//! sequential study is deterministic per seed.

use std::sync::Mutex;
use tessera_core::Pruner;

/// Asynchronous successive halving.
pub struct SuccessiveHalving {
    pub min_steps: u64,
    pub eta: u64,
    /// Steps of a full evaluation: no rung at or beyond it.
    pub max_steps: Option<u64>,
    rungs: Mutex<Vec<Vec<f64>>>,
}

impl SuccessiveHalving {
    pub fn new(min_steps: u64, eta: u64, max_steps: Option<u64>) -> Self {
        SuccessiveHalving {
            min_steps: min_steps.max(1),
            eta: eta.max(2),
            max_steps,
            rungs: Mutex::new(Vec::new()),
        }
    }

    /// The rung index of `step`, when `step` is a rung.
    fn rung(&self, step: u64) -> Option<usize> {
        if self.max_steps.is_some_and(|m| step >= m) {
            return None;
        }
        let mut r = self.min_steps;
        let mut k = 0;
        while r < step {
            r = r.saturating_mul(self.eta);
            k += 1;
        }
        (r == step).then_some(k)
    }
}

impl Pruner for SuccessiveHalving {
    fn should_prune(&self, _trial: u64, step: u64, value: f64) -> bool {
        let Some(k) = self.rung(step) else {
            return false;
        };
        let mut rungs = self.rungs.lock().unwrap_or_else(|e| e.into_inner());
        if rungs.len() <= k {
            rungs.resize(k + 1, Vec::new());
        }
        let rung = &mut rungs[k];
        rung.push(value);
        // Promotable when among the best ⌊n/η⌋ values at this rung (the best one when fewer than η are known).
        let mut sorted = rung.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let idx = (sorted.len() as u64 / self.eta).saturating_sub(1) as usize;
        value < sorted[idx]
    }
    fn name(&self) -> &str {
        "successive-halving"
    }
}

/// Hyperband: brackets of successive halving with minimum budgets `max_steps/ηˢ`, `s = 0..=s_max`.
pub struct Hyperband {
    brackets: Vec<SuccessiveHalving>,
    /// Trial number modulo the cycle → bracket; bracket `s` gets `⌈(s_max+1)/(s+1)⌉·ηˢ` slots (Hyperband's sizes).
    cycle: Vec<usize>,
}

impl Hyperband {
    pub fn new(min_steps: u64, max_steps: u64, eta: u64) -> Self {
        let eta = eta.max(2);
        let min_steps = min_steps.max(1);
        let max_steps = max_steps.max(min_steps);
        let mut s_max = 0u32;
        while min_steps.saturating_mul(eta.pow(s_max + 1)) <= max_steps {
            s_max += 1;
        }
        let mut brackets = Vec::new();
        let mut cycle = Vec::new();
        for s in 0..=s_max {
            let min = (max_steps / eta.pow(s)).max(min_steps);
            brackets.push(SuccessiveHalving::new(min, eta, Some(max_steps)));
            let n = (s_max as u64 + 1).div_ceil(s as u64 + 1) * eta.pow(s);
            cycle.extend(std::iter::repeat_n(s as usize, n as usize));
        }
        // Interleave the slots so that consecutive trials visit every bracket early.
        let mut order: Vec<(u64, usize)> = Vec::new();
        for (b, _) in brackets.iter().enumerate() {
            let n = cycle.iter().filter(|&&x| x == b).count() as u64;
            for i in 0..n {
                // Position i/n of bracket b's slots in the cycle.
                order.push(((i * 1_000_000 + 500_000) / n, b));
            }
        }
        order.sort();
        let cycle = order.into_iter().map(|(_, b)| b).collect();
        Hyperband { brackets, cycle }
    }

    pub fn bracket_of(&self, trial: u64) -> usize {
        self.cycle[(trial % self.cycle.len() as u64) as usize]
    }

    pub fn brackets(&self) -> usize {
        self.brackets.len()
    }
}

impl Pruner for Hyperband {
    fn should_prune(&self, trial: u64, step: u64, value: f64) -> bool {
        self.brackets[self.bracket_of(trial)].should_prune(trial, step, value)
    }
    fn name(&self) -> &str {
        "hyperband"
    }
}

/// The median rule: after `warmup_steps` steps and once `startup_trials` trials have reported at a step, a trial
/// whose value is below the median of the other trials' values at the same step stops.
pub struct MedianPruner {
    pub startup_trials: usize,
    pub warmup_steps: u64,
    by_step: Mutex<Vec<Vec<f64>>>,
}

impl MedianPruner {
    pub fn new(startup_trials: usize, warmup_steps: u64) -> Self {
        MedianPruner {
            startup_trials,
            warmup_steps,
            by_step: Mutex::new(Vec::new()),
        }
    }
}

impl Pruner for MedianPruner {
    fn should_prune(&self, _trial: u64, step: u64, value: f64) -> bool {
        let mut by_step = self.by_step.lock().unwrap_or_else(|e| e.into_inner());
        let i = step as usize;
        if by_step.len() <= i {
            by_step.resize(i + 1, Vec::new());
        }
        let others = by_step[i].clone();
        by_step[i].push(value);
        if step <= self.warmup_steps || others.len() < self.startup_trials.max(1) {
            return false;
        }
        let mut s = others;
        s.sort_by(f64::total_cmp);
        let median = if s.len() % 2 == 1 {
            s[s.len() / 2]
        } else {
            0.5 * (s[s.len() / 2 - 1] + s[s.len() / 2])
        };
        value < median
    }
    fn name(&self) -> &str {
        "median"
    }
}

/// The pruner kinds [`build_pruner`] knows.
pub const PRUNERS: &[&str] = &["none", "median", "successive-halving", "hyperband"];

/// Builds a pruner by kind. Options: `min_steps` (1), `eta` (3), `max_steps` (required for `hyperband`, optional
/// for `successive-halving`), `startup_trials` (5) and `warmup_steps` (0) for `median`.
pub fn build_pruner(kind: &str, options: &crate::Options) -> Result<Box<dyn Pruner>, String> {
    let mut o = options.clone();
    let num =
        |o: &mut crate::Options, name: &str, default: Option<u64>| -> Result<Option<u64>, String> {
            match o.remove(name) {
                None => Ok(default),
                Some(v) => v.parse().map(Some).map_err(|_| {
                    format!("pruner option `{name}` must be a non-negative integer, got `{v}`")
                }),
            }
        };
    let p: Box<dyn Pruner> = match kind {
        "none" => Box::new(tessera_core::NoPruning),
        "median" => {
            let startup = num(&mut o, "startup_trials", Some(5))?.unwrap_or(5) as usize;
            let warmup = num(&mut o, "warmup_steps", Some(0))?.unwrap_or(0);
            Box::new(MedianPruner::new(startup, warmup))
        }
        "successive-halving" | "asha" | "sha" => {
            let min = num(&mut o, "min_steps", Some(1))?.unwrap_or(1);
            let eta = num(&mut o, "eta", Some(3))?.unwrap_or(3);
            let max = num(&mut o, "max_steps", None)?;
            Box::new(SuccessiveHalving::new(min, eta, max))
        }
        "hyperband" => {
            let min = num(&mut o, "min_steps", Some(1))?.unwrap_or(1);
            let eta = num(&mut o, "eta", Some(3))?.unwrap_or(3);
            let max = num(&mut o, "max_steps", None)?.ok_or(
                "pruner `hyperband` needs option `max_steps` (the steps of a full evaluation)",
            )?;
            Box::new(Hyperband::new(min, max, eta))
        }
        _ => {
            return Err(format!(
                "unknown pruner `{kind}`; known pruners: {}",
                PRUNERS.join(", ")
            ))
        }
    };
    if let Some(k) = o.keys().next() {
        return Err(format!("unknown option `{k}` for pruner `{kind}`"));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successive_halving_keeps_the_top_third_at_each_rung() {
        let sh = SuccessiveHalving::new(1, 3, Some(27));
        assert_eq!(sh.rung(1), Some(0));
        assert_eq!(sh.rung(3), Some(1));
        assert_eq!(sh.rung(9), Some(2));
        assert_eq!(sh.rung(4), None);
        assert_eq!(sh.rung(27), None);
        // First trial always continues; then only the best ⌊n/3⌋ (or the best while n < 3).
        assert!(!sh.should_prune(0, 1, 0.5));
        assert!(sh.should_prune(1, 1, 0.4));
        assert!(!sh.should_prune(2, 1, 0.6));
        assert!(sh.should_prune(3, 1, 0.55)); // n = 4: top 1 is 0.6
        assert!(!sh.should_prune(3, 2, 0.0)); // not a rung
    }

    #[test]
    fn hyperband_brackets_follow_hyperbands_sizes() {
        let hb = Hyperband::new(1, 27, 3);
        assert_eq!(hb.brackets(), 4);
        // Bracket 0 (no early stopping) gets ⌈4/1⌉·1 = 4 slots; bracket 3 (min 1 step) gets ⌈4/4⌉·27 = 27.
        let count = |b| {
            (0..hb.cycle.len() as u64)
                .filter(|&t| hb.bracket_of(t) == b)
                .count()
        };
        assert_eq!((count(0), count(1), count(2), count(3)), (4, 6, 18, 27));
        assert_eq!(hb.brackets[3].min_steps, 1);
        assert_eq!(hb.brackets[0].min_steps, 27);
    }

    #[test]
    fn median_rule_and_registry() {
        let m = MedianPruner::new(2, 0);
        assert!(!m.should_prune(0, 1, 1.0));
        assert!(!m.should_prune(1, 1, 3.0));
        assert!(m.should_prune(2, 1, 1.5)); // median of 1, 3 is 2
        assert!(!m.should_prune(3, 1, 2.5));
        assert!(build_pruner("hyperband", &Default::default())
            .err()
            .unwrap()
            .contains("max_steps"));
        assert!(build_pruner("anneal", &Default::default())
            .err()
            .unwrap()
            .contains("known pruners"));
        let o = [("max_steps".to_string(), "27".to_string())]
            .into_iter()
            .collect();
        assert_eq!(build_pruner("hyperband", &o).unwrap().name(), "hyperband");
    }
}
