//! Regularized (aging) evolution (Real et al., AAAI 2019).
//!
//! Until the population holds `population` members, samples are drawn at random. Then each ask runs a tournament:
//! `sample` distinct members drawn uniformly, the best (first objective) is the parent, and the child is the space's
//! mutation of it. Every told result joins the population and the oldest member leaves (aging). Failed and
//! infeasible trials do not join.
//!
//! With the study's [guide](tessera_core::Guide) (a zero-cost proxy), two options make it proxy-assisted
//! (Abdelfattah et al., ICLR 2021, §5): `warmup = N` scores N random samples with the guide before the first ask
//! and fills the initial population with the best `population` of them (best first) instead of random samples;
//! `guided = p` replaces a child, with probability p, by the best-scored neighbour of the parent (every
//! single-choice change, see `Space::neighbours`). Without a guide both fall back to the plain algorithm.

use std::collections::VecDeque;
use tessera_core::{below, rng_for, Foresight, NoForesight, Rng, Sample, Space, Strategy, Told};

pub struct Evolution {
    rng: Rng,
    population: usize,
    sample: usize,
    pop: VecDeque<(Sample, f64)>,
    /// A permutation of population indices, partially reshuffled per tournament (no allocation per ask).
    perm: Vec<usize>,
    /// Random samples scored by the guide before the first ask (0: no warm-up).
    warmup: usize,
    /// Probability of taking the guide's best neighbour as the child.
    guided: f64,
    /// The warm-up's best samples, best last (popped in order), once drawn.
    seeds: Option<Vec<Sample>>,
    /// Initial samples asked so far (random or from the warm-up).
    initial: usize,
    /// The warm-up's own stream, so a run without a guide asks exactly what plain evolution asks.
    warm_rng: Rng,
}

impl Evolution {
    pub fn new(seed: u64, population: usize, sample: usize) -> Self {
        Evolution {
            rng: rng_for(seed, 1),
            population: population.max(1),
            sample: sample.max(1),
            pop: VecDeque::new(),
            perm: Vec::new(),
            warmup: 0,
            guided: 0.0,
            seeds: None,
            initial: 0,
            warm_rng: rng_for(seed, 2),
        }
    }

    /// Proxy assistance (see the module docs): `warmup` samples scored before the first ask, `guided` the probability
    /// of a guide-chosen child.
    pub fn with_guide_options(mut self, warmup: usize, guided: f64) -> Self {
        self.warmup = warmup;
        self.guided = guided.clamp(0.0, 1.0);
        self
    }

    /// The warm-up: `warmup` random samples, the best `population` by the guide (unscored ones last), best last.
    fn warm_up(&mut self, space: &dyn Space, fore: &dyn Foresight) -> Vec<Sample> {
        let mut scored: Vec<(f64, Sample)> = (0..self.warmup)
            .map(|_| {
                let s = space.sample(&mut self.warm_rng);
                (fore.guide(&s).unwrap_or(f64::NEG_INFINITY), s)
            })
            .collect();
        if scored.iter().all(|(v, _)| *v == f64::NEG_INFINITY) {
            return Vec::new(); // no guide: the plain random start
        }
        // stable: equal scores keep their draw order
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.truncate(self.population);
        scored.into_iter().rev().map(|(_, s)| s).collect()
    }
}

impl Strategy for Evolution {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        self.ask_informed(space, &NoForesight)
    }

    fn ask_informed(&mut self, space: &dyn Space, fore: &dyn Foresight) -> Option<Sample> {
        if self.pop.len() < self.population {
            if self.warmup > 0 && self.seeds.is_none() {
                let seeds = self.warm_up(space, fore);
                self.seeds = Some(seeds);
            }
            if self.initial < self.population {
                if let Some(s) = self.seeds.as_mut().and_then(|v| v.pop()) {
                    self.initial += 1;
                    return Some(s);
                }
            }
            self.initial += 1;
            return Some(space.sample(&mut self.rng));
        }
        // `sample` distinct members, uniformly: a partial Fisher-Yates shuffle of the index permutation.
        let n = self.pop.len();
        if self.perm.len() != n {
            self.perm = (0..n).collect();
        }
        let k = self.sample.min(n);
        for i in 0..k {
            let j = i + below(&mut self.rng, n - i);
            self.perm.swap(i, j);
        }
        let mut parent = self.perm[0];
        for &i in &self.perm[1..k] {
            if self.pop[i].1 > self.pop[parent].1 {
                parent = i;
            }
        }
        if self.guided > 0.0 && rand::Rng::random::<f64>(&mut self.rng) < self.guided {
            let mut best: Option<(f64, Sample)> = None;
            for n in space.neighbours(&self.pop[parent].0) {
                if let Some(v) = fore.guide(&n) {
                    if best.as_ref().is_none_or(|(b, _)| v > *b) {
                        best = Some((v, n));
                    }
                }
            }
            if let Some((_, child)) = best {
                return Some(child);
            }
        }
        // Borrowed in place (disjoint fields): no copy of the parent per ask.
        Some(space.mutate(&self.pop[parent].0, &mut self.rng))
    }

    fn tell(&mut self, _space: &dyn Space, told: &Told) {
        if let Some(score) = told.score() {
            self.pop.push_back((told.sample.clone(), score));
            if self.pop.len() > self.population {
                self.pop.pop_front();
            }
        }
    }

    fn name(&self) -> &str {
        "evolution"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smallvec::SmallVec;
    use tessera_core::{Dim, Network, NetworkError};

    struct Line(Vec<Dim>);
    impl Space for Line {
        fn name(&self) -> &str {
            "line"
        }
        fn dims(&self) -> &[Dim] {
            &self.0
        }
        fn lower(&self, _: &Sample) -> Result<Network, NetworkError> {
            Ok(Network::new())
        }
    }
    /// A guide that knows the optimum: the score is the sum of the choices.
    struct SumGuide;
    impl Foresight for SumGuide {
        fn feasible(&self, _: &Sample) -> bool {
            true
        }
        fn known(&self, _: &Sample) -> SmallVec<[Option<f64>; 4]> {
            SmallVec::new()
        }
        fn guide(&self, s: &Sample) -> Option<f64> {
            Some(s.0.iter().map(|&c| c as f64).sum())
        }
    }

    #[test]
    fn warmup_seeds_the_population_with_the_guides_best_and_plain_ask_ignores_it() {
        let ops = ["a", "b", "c", "d", "e"];
        let space = Line((0..4).map(|i| Dim::new(format!("d{i}"), &ops)).collect());
        let mut guided = Evolution::new(3, 4, 2).with_guide_options(200, 1.0);
        let first: Vec<f64> = (0..4)
            .map(|_| {
                guided
                    .ask_informed(&space, &SumGuide)
                    .unwrap()
                    .0
                    .iter()
                    .map(|&c| c as f64)
                    .sum()
            })
            .collect();
        // the best of 200 random 4-digit samples in 0..5 sum to ≥ 14 almost surely, best first
        assert!(
            first.windows(2).all(|w| w[0] >= w[1]) && first[0] >= 14.0,
            "{first:?}"
        );
        let mut plain = Evolution::new(3, 4, 2).with_guide_options(200, 1.0);
        let mut reference = Evolution::new(3, 4, 2);
        for _ in 0..4 {
            assert_eq!(
                plain.ask(&space),
                reference.ask(&space),
                "without a guide: the plain algorithm"
            );
        }
    }
}
