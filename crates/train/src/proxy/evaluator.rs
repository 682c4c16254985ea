//! [`ProxyEvaluator`]: zero-cost proxies as a `tessera_core::Evaluator`, so any strategy, constraint and report
//! works on scores that cost milliseconds.
//!
//! Every sample is lowered and scored by each configured proxy with the evaluator's own seed (the same weights
//! seed and the same batch for every trial: a proxy only ranks networks when they are compared under the same
//! draw). Metrics: one per proxy under its name (`synflow`, `jacob_cov`…), `params` and `flops` from the IR, and
//! `proxy`, one score to optimise: the one proxy's value, or with [`Combine::RankVote`] the mean over proxies of the
//! sample's percentile among a fixed reference set of random samples (0–100; higher is better), scored once when
//! the evaluator is built. Several proxies without a combination have no `proxy` metric (each is an objective of
//! its own). The simulated cost of a trial is its measured scoring time.

use super::{score, Proxy, ProxyBatch};
use crate::error::TrainError;
use std::sync::Arc;
use std::time::Instant;
use tessera_core::{
    rng_for, EvalContext, EvalError, Evaluation, Evaluator, Metrics, Sample, Space,
};

/// How several proxies make the one `proxy` metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    /// No combination: with one proxy `proxy` is its value; with several there is no `proxy` metric.
    None,
    /// Mean percentile among `reference` random samples of the space (NASLib's "vote" made per sample).
    RankVote { reference: usize },
}

pub struct ProxyEvaluator {
    space: Arc<dyn Space>,
    proxies: Vec<Proxy>,
    batch: ProxyBatch,
    seed: u64,
    /// Per proxy, the sorted scores of the reference samples (rank vote only).
    reference: Option<Vec<Vec<f64>>>,
}

impl ProxyEvaluator {
    /// Builds the evaluator; with [`Combine::RankVote`] this scores the reference samples now (`progress(done,
    /// total)` after each). Errors: no proxy, a reference set of fewer than 2 samples, or a reference set on which a
    /// proxy never gives a finite score.
    pub fn new(
        space: Arc<dyn Space>,
        proxies: Vec<Proxy>,
        batch: ProxyBatch,
        seed: u64,
        combine: Combine,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ProxyEvaluator, String> {
        if proxies.is_empty() {
            return Err("no proxy given".into());
        }
        let reference = match combine {
            Combine::None => None,
            Combine::RankVote { reference } if reference < 2 => {
                return Err(format!(
                    "a rank vote needs a reference set of at least 2 samples, got {reference}"
                ))
            }
            Combine::RankVote { reference } => {
                let mut rng = rng_for(seed, 0x766f_7465);
                let mut cols: Vec<Vec<f64>> = vec![Vec::new(); proxies.len()];
                for i in 0..reference {
                    let s = space.sample(&mut rng);
                    if let Ok(net) = space.lower(&s) {
                        for (k, p) in proxies.iter().enumerate() {
                            if let Ok(v) = score(&net, *p, &batch, seed) {
                                cols[k].push(v);
                            }
                        }
                    }
                    progress(i + 1, reference);
                }
                for (k, c) in cols.iter_mut().enumerate() {
                    if c.is_empty() {
                        return Err(format!(
                            "proxy {} scored none of the {reference} reference samples",
                            proxies[k]
                        ));
                    }
                    c.sort_by(f64::total_cmp);
                }
                Some(cols)
            }
        };
        Ok(ProxyEvaluator {
            space,
            proxies,
            batch,
            seed,
            reference,
        })
    }

    pub fn proxies(&self) -> &[Proxy] {
        &self.proxies
    }

    /// Every proxy's score of `sample` on its own (one failing does not stop the others), in [`proxies`] order.
    ///
    /// [`proxies`]: Self::proxies
    pub fn score_each(&self, sample: &Sample) -> Result<Vec<Result<f64, TrainError>>, TrainError> {
        let net = self.space.lower(sample)?;
        Ok(self
            .proxies
            .iter()
            .map(|p| score(&net, *p, &self.batch, self.seed))
            .collect())
    }

    /// Percentile (0–100) of `v` among the sorted reference scores, ties counted half.
    fn percentile(sorted: &[f64], v: f64) -> f64 {
        let below = sorted.partition_point(|x| *x < v);
        let upto = sorted.partition_point(|x| *x <= v);
        100.0 * (below as f64 + 0.5 * (upto - below) as f64) / sorted.len() as f64
    }
}

impl Evaluator for ProxyEvaluator {
    fn evaluate(&self, sample: &Sample, _ctx: &EvalContext) -> Result<Evaluation, EvalError> {
        let start = Instant::now();
        let net = self
            .space
            .lower(sample)
            .map_err(|e| EvalError::Other(e.to_string()))?;
        let (params, flops) = net.costs().map_err(|e| EvalError::Other(e.to_string()))?;
        let mut m = Metrics::new()
            .with("params", params as f64)
            .with("flops", flops as f64);
        let mut values = Vec::with_capacity(self.proxies.len());
        for p in &self.proxies {
            let v = score(&net, *p, &self.batch, self.seed).map_err(EvalError::from)?;
            m.set(p.name(), v);
            values.push(v);
        }
        let combined = match &self.reference {
            None if values.len() == 1 => Some(values[0]),
            None => None,
            Some(cols) => Some(
                cols.iter()
                    .zip(&values)
                    .map(|(c, v)| Self::percentile(c, *v))
                    .sum::<f64>()
                    / values.len() as f64,
            ),
        };
        if let Some(c) = combined {
            m.set("proxy", c);
        }
        Ok(Evaluation {
            metrics: m,
            sim_seconds: start.elapsed().as_secs_f64(),
        })
    }

    fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.proxies.iter().map(|p| p.name().to_string()).collect();
        if self.proxies.len() == 1 || self.reference.is_some() {
            names.push("proxy".into());
        }
        for n in ["params", "flops"] {
            if !names.iter().any(|x| x == n) {
                names.push(n.into());
            }
        }
        names
    }

    fn profile(&self, sample: &Sample) -> Metrics {
        let Ok(net) = self.space.lower(sample) else {
            return Metrics::new();
        };
        let Ok((p, f)) = net.costs() else {
            return Metrics::new();
        };
        Metrics::new()
            .with("params", p as f64)
            .with("flops", f as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_counts_ties_half() {
        let s = [1.0, 2.0, 2.0, 3.0];
        assert_eq!(ProxyEvaluator::percentile(&s, 0.0), 0.0);
        assert_eq!(ProxyEvaluator::percentile(&s, 2.0), 50.0);
        assert_eq!(ProxyEvaluator::percentile(&s, 9.0), 100.0);
    }
}
