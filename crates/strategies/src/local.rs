//! Local search (hill climbing) over a space's neighbours, with random restarts (as in NASLib's and White et al.'s
//! "Local search is state of the art for NAS benchmarks").
//!
//! From a random start, evaluate its neighbours (in random order, skipping samples already evaluated). With best
//! improvement (default) move to the best neighbour once all are evaluated, if it beats the current point; with
//! first improvement move as soon as one does. At a local optimum, restart from a new random sample. Failed and
//! infeasible trials count as the worst score. For batch asks, when the neighbourhood is used up but results are
//! still outstanding, random samples fill the batch.
//!
//! With the study's [guide](tessera_core::Guide) (a zero-cost proxy) two options make it proxy-assisted, as in
//! evolution: `warmup = N` starts (and restarts) from the best-scored of N fresh random samples, and `guided = p`
//! takes, with probability p, the best-scored remaining neighbour as the next one to evaluate instead of the next in
//! random order (with first improvement the climb follows the proxy). Without a guide both fall back to the plain
//! algorithm; their randomness comes from streams of their own, so plain runs ask exactly what they asked before.

use rand::seq::SliceRandom;
use rand::Rng as _;
use std::collections::{HashSet, VecDeque};
use tessera_core::{rng_for, Foresight, NoForesight, Rng, Sample, Space, Strategy, Told};

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
    /// Random samples scored by the guide per (re)start (0: a plain random start).
    warmup: usize,
    /// Probability of evaluating the guide's best remaining neighbour next.
    guided: f64,
    /// The guide options' own stream.
    guide_rng: Rng,
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
            warmup: 0,
            guided: 0.0,
            guide_rng: rng_for(seed, 2),
        }
    }

    /// Proxy assistance (see the module docs).
    pub fn with_guide_options(mut self, warmup: usize, guided: f64) -> Self {
        self.warmup = warmup;
        self.guided = guided.clamp(0.0, 1.0);
        self
    }

    /// A (re)start: the best of `warmup` fresh samples by the guide, or a fresh random sample.
    fn start_sample(&mut self, space: &dyn Space, fore: &dyn Foresight) -> Sample {
        let mut best: Option<(f64, Sample)> = None;
        for _ in 0..self.warmup {
            let s = space.sample(&mut self.guide_rng);
            if self.seen.contains(&s) {
                continue;
            }
            if let Some(v) = fore.guide(&s) {
                if best.as_ref().is_none_or(|(b, _)| v > *b) {
                    best = Some((v, s));
                }
            }
        }
        match best {
            Some((_, s)) => s,
            None => self.fresh_sample(space),
        }
    }

    /// The next neighbour to evaluate: with probability `guided` the best-scored one left, else the next in order.
    fn next_neighbour(&mut self, fore: &dyn Foresight) -> Option<Sample> {
        if self.guided > 0.0 {
            self.queue.retain(|s| !self.seen.contains(s));
            if !self.queue.is_empty() && self.guide_rng.random_bool(self.guided) {
                let best = self
                    .queue
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| fore.guide(s).map(|v| (i, v)))
                    .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal));
                if let Some((i, _)) = best {
                    return self.queue.remove(i);
                }
            }
        }
        // plain order: skip what was evaluated meanwhile (no pass over the queue on the hot path)
        while let Some(s) = self.queue.pop_front() {
            if !self.seen.contains(&s) {
                return Some(s);
            }
        }
        None
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
        self.ask_informed(space, &NoForesight)
    }

    fn ask_informed(&mut self, space: &dyn Space, fore: &dyn Foresight) -> Option<Sample> {
        if self.current.is_none() {
            if self.start.is_some() {
                // Still waiting for the start point's result (batch ask): explore meanwhile.
                let s = self.fresh_sample(space);
                return self.propose(s);
            }
            let s = self.start_sample(space, fore);
            self.start = Some(s.clone());
            return self.propose(s);
        }
        if let Some(s) = self.next_neighbour(fore) {
            return self.propose(s);
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
                self.ask_informed(space, fore)
            }
            _ => {
                self.current = None;
                self.ask_informed(space, fore)
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
