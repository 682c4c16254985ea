//! Regularized (aging) evolution (Real et al., AAAI 2019).
//!
//! Until the population holds `population` members, samples are drawn at random. Then each ask runs a tournament:
//! `sample` distinct members drawn uniformly, the best (first objective) is the parent, and the child is the space's
//! mutation of it. Every told result joins the population and the oldest member leaves (aging). Failed and
//! infeasible trials do not join.

use std::collections::VecDeque;
use tessera_core::{below, rng_for, Rng, Sample, Space, Strategy, Told};

pub struct Evolution {
    rng: Rng,
    population: usize,
    sample: usize,
    pop: VecDeque<(Sample, f64)>,
    /// A permutation of population indices, partially reshuffled per tournament (no allocation per ask).
    perm: Vec<usize>,
}

impl Evolution {
    pub fn new(seed: u64, population: usize, sample: usize) -> Self {
        Evolution { rng: rng_for(seed, 1), population: population.max(1), sample: sample.max(1), pop: VecDeque::new(), perm: Vec::new() }
    }
}

impl Strategy for Evolution {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        if self.pop.len() < self.population {
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
