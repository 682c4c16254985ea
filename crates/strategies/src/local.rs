//! Local search (hill climbing) over a space's neighbours, with random restarts (as in NASLib's and White et al.'s
//! "Local search is state of the art for NAS benchmarks").
//!
//! From a random start, evaluate its neighbours (in random order, skipping samples already evaluated). With best
//! improvement (default) move to the best neighbour once all are evaluated, if it beats the current point; with
//! first improvement move as soon as one does. At a local optimum, restart from a new random sample. Failed and
//! infeasible trials count as the worst score. For batch asks, when the neighbourhood is used up but results are
//! still outstanding, random samples fill the batch.

use rand::seq::SliceRandom;
use std::collections::{HashSet, VecDeque};
use tessera_core::{rng_for, Rng, Sample, Space, Strategy, Told};

pub struct LocalSearch {
    rng: Rng,
    first_improvement: bool,
    /// The accepted point and its score.
    current: Option<(Sample, f64)>,
    /// The start point awaiting its result.
    start: Option<Sample>,
    queue: VecDeque<Sample>,
    best_neighbour: Option<(Sample, f64)>,
    seen: HashSet<Sample>,
    outstanding: usize,
}

impl LocalSearch {
    pub fn new(seed: u64, first_improvement: bool) -> Self {
        LocalSearch {
            rng: rng_for(seed, 1),
            first_improvement,
            current: None,
            start: None,
            queue: VecDeque::new(),
            best_neighbour: None,
            seen: HashSet::new(),
            outstanding: 0,
        }
    }

    fn fresh_sample(&mut self, space: &dyn Space) -> Sample {
        for _ in 0..1000 {
            let s = space.sample(&mut self.rng);
            if !self.seen.contains(&s) {
                return s;
            }
        }
        space.sample(&mut self.rng)
    }

    fn move_to(&mut self, space: &dyn Space, point: (Sample, f64)) {
        let mut n: Vec<Sample> = space
            .neighbours(&point.0)
            .into_iter()
            .filter(|s| !self.seen.contains(s))
            .collect();
        n.shuffle(&mut self.rng);
        self.queue = n.into();
        self.best_neighbour = None;
        self.current = Some(point);
    }

    fn propose(&mut self, s: Sample) -> Option<Sample> {
        self.seen.insert(s.clone());
        self.outstanding += 1;
        Some(s)
    }
}

impl Strategy for LocalSearch {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        if self.current.is_none() {
            if self.start.is_some() {
                // Still waiting for the start point's result (batch ask): explore meanwhile.
                let s = self.fresh_sample(space);
                return self.propose(s);
            }
            let s = self.fresh_sample(space);
            self.start = Some(s.clone());
            return self.propose(s);
        }
        while let Some(s) = self.queue.pop_front() {
            if !self.seen.contains(&s) {
                return self.propose(s);
            }
        }
        if self.outstanding > 0 {
            let s = self.fresh_sample(space);
            return self.propose(s);
        }
        // Neighbourhood done: climb or restart.
        let cur = self
            .current
            .as_ref()
            .map(|c| c.1)
            .unwrap_or(f64::NEG_INFINITY);
        match self.best_neighbour.take() {
            Some(b) if b.1 > cur => {
                self.move_to(space, b);
                self.ask(space)
            }
            _ => {
                self.current = None;
                self.ask(space)
            }
        }
    }

    fn tell(&mut self, space: &dyn Space, told: &Told) {
        self.outstanding = self.outstanding.saturating_sub(1);
        let score = told.score().unwrap_or(f64::NEG_INFINITY);
        if self.start.as_ref() == Some(told.sample) {
            self.start = None;
            self.move_to(space, (told.sample.clone(), score));
            return;
        }
        if self.current.is_none() {
            return;
        }
        if self.best_neighbour.as_ref().is_none_or(|b| score > b.1) {
            self.best_neighbour = Some((told.sample.clone(), score));
        }
        let cur = self
            .current
            .as_ref()
            .map(|c| c.1)
            .unwrap_or(f64::NEG_INFINITY);
        if self.first_improvement && score > cur {
            self.move_to(space, (told.sample.clone(), score));
        }
    }

    fn name(&self) -> &str {
        "local"
    }
}
