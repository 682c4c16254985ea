//! Adaptive-mutation evolution: regularized evolution whose variation operator is chosen by Q-learning from recent
//! improvement (the hyper-heuristic of HHNAS-AM).
//!
//! The population works as in [`crate::evolution`]: `population` members, tournaments of `sample`, the oldest
//! member leaves. Each child is made by one of five operators:
//!
//! | action | operator |
//! |---|---|
//! | 0 | one mutation of the tournament winner ([`Space::mutate`]) |
//! | 1 | two successive mutations of the winner |
//! | 2 | uniform crossover of the winners of two tournaments (repaired by a mutation when invalid) |
//! | 3 | one mutation of the population's best member (exploitation) |
//! | 4 | a fresh random sample (exploration) |
//!
//! **Q-learning**: the state is the search's stagnation, bucketed: results since the population's best last
//! improved `< 5`, `< 15`, or more. The operator is chosen ε-greedily from `Q(state, ·)` (ε = `epsilon`, ties to the
//! lower action). A child's reward is 1 when it beats its parent, plus 1 when it beats the best score seen so far,
//! else 0 (−0.5 for a failed or infeasible child); the update is `Q(s,a) += α·(r + γ·max Q(s',·) − Q(s,a))` with
//! the state `s'` after the result. Children already proposed are redrawn (up to 20 times) so no query is wasted on
//! a repeat.
//!
//! **Batch asks**: each ask makes one child from the current population and Q-table; the (state, action, parent
//! score) of every pending child is kept until its result is told, in any order.
//!
//! Options: `population` (20), `sample` (5), `epsilon` (0.1), `alpha` (0.2), `gamma` (0.5).

use crate::surrogate::History;
use rand::Rng as _;
use std::collections::{HashMap, VecDeque};
use tessera_core::{rng_for, NoForesight, Rng, Sample, Space, Strategy, Told};

const ACTIONS: usize = 5;
const STATES: usize = 3;

pub struct AdaptiveEvolution {
    rng: Rng,
    population: usize,
    sample: usize,
    epsilon: f64,
    alpha: f64,
    gamma: f64,
    pop: VecDeque<(Sample, f64)>,
    q: [[f64; ACTIONS]; STATES],
    /// Per pending child: (state, action, parent score), in ask order per sample.
    pending: HashMap<Sample, VecDeque<(usize, usize, f64)>>,
    best: f64,
    since_improvement: usize,
    hist: History,
    /// How often each action was taken (for tests and diagnostics).
    pub counts: [u64; ACTIONS],
}

impl AdaptiveEvolution {
    pub fn new(
        seed: u64,
        population: usize,
        sample: usize,
        epsilon: f64,
        alpha: f64,
        gamma: f64,
    ) -> Self {
        AdaptiveEvolution {
            rng: rng_for(seed, 1),
            population: population.max(1),
            sample: sample.max(1),
            epsilon,
            alpha,
            gamma,
            pop: VecDeque::new(),
            q: [[0.0; ACTIONS]; STATES],
            pending: HashMap::new(),
            best: f64::NEG_INFINITY,
            since_improvement: 0,
            hist: History::default(),
            counts: [0; ACTIONS],
        }
    }

    fn state(&self) -> usize {
        match self.since_improvement {
            0..5 => 0,
            5..15 => 1,
            _ => 2,
        }
    }

    fn tournament(&mut self) -> usize {
        let n = self.pop.len();
        let mut best = self.rng.random_range(0..n);
        for _ in 1..self.sample.min(n) {
            let i = self.rng.random_range(0..n);
            if self.pop[i].1 > self.pop[best].1 {
                best = i;
            }
        }
        best
    }

    fn child(&mut self, space: &dyn Space, action: usize) -> (Sample, f64) {
        match action {
            0 => {
                let p = self.tournament();
                (
                    space.mutate(&self.pop[p].0.clone(), &mut self.rng),
                    self.pop[p].1,
                )
            }
            1 => {
                let p = self.tournament();
                let m = space.mutate(&self.pop[p].0.clone(), &mut self.rng);
                (space.mutate(&m, &mut self.rng), self.pop[p].1)
            }
            2 => {
                let (a, b) = (self.tournament(), self.tournament());
                let (pa, pb) = (self.pop[a].0.clone(), self.pop[b].0.clone());
                let mut c = pa.clone();
                for d in 0..c.len() {
                    if self.rng.random::<bool>() {
                        c[d] = pb[d];
                    }
                }
                if !space.is_valid(&c) || c == pa || c == pb {
                    c = space.mutate(&c_or(&c, &pa, space), &mut self.rng);
                }
                (c, self.pop[a].1.max(self.pop[b].1))
            }
            3 => {
                let b =
                    (0..self.pop.len())
                        .fold(0, |b, i| if self.pop[i].1 > self.pop[b].1 { i } else { b });
                (
                    space.mutate(&self.pop[b].0.clone(), &mut self.rng),
                    self.pop[b].1,
                )
            }
            _ => {
                // A random sample's "parent" is the population's mean: it is rewarded when it beats a typical member.
                let mean = self.pop.iter().map(|p| p.1).sum::<f64>() / self.pop.len() as f64;
                (space.sample(&mut self.rng), mean)
            }
        }
    }
}

/// `c` when valid, else `fallback` (a crossover child that breaks a space rule is repaired from a parent).
fn c_or(c: &Sample, fallback: &Sample, space: &dyn Space) -> Sample {
    if space.is_valid(c) {
        c.clone()
    } else {
        fallback.clone()
    }
}

impl Strategy for AdaptiveEvolution {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        if self.pop.len() < self.population {
            return Some(
                self.hist
                    .propose_or_fresh(None, space, &NoForesight, &mut self.rng),
            );
        }
        let state = self.state();
        let action = if self.rng.random::<f64>() < self.epsilon {
            self.rng.random_range(0..ACTIONS)
        } else {
            (0..ACTIONS).fold(0, |b, a| {
                if self.q[state][a] > self.q[state][b] {
                    a
                } else {
                    b
                }
            })
        };
        let mut made = self.child(space, action);
        for _ in 0..20 {
            if !self.hist.seen.contains(&made.0) {
                break;
            }
            made = self.child(space, action);
        }
        if self.hist.seen.contains(&made.0) {
            made.0 = self.hist.fresh_sample(space, &mut self.rng);
        }
        self.counts[action] += 1;
        self.pending
            .entry(made.0.clone())
            .or_default()
            .push_back((state, action, made.1));
        self.hist.propose(&made.0);
        Some(made.0)
    }

    fn tell(&mut self, _space: &dyn Space, told: &Told) {
        let score = self.hist.tell(told);
        let improved = score.is_some_and(|v| v > self.best);
        let reward_info = self
            .pending
            .get_mut(told.sample)
            .and_then(|q| q.pop_front());
        let reward = match (reward_info, score) {
            (Some((_, _, parent)), Some(v)) => {
                f64::from(u8::from(v > parent)) + f64::from(u8::from(improved))
            }
            (Some(_), None) => -0.5,
            _ => 0.0,
        };
        if let Some(v) = score {
            if improved {
                self.best = v;
                self.since_improvement = 0;
            } else {
                self.since_improvement += 1;
            }
            self.pop.push_back((told.sample.clone(), v));
            if self.pop.len() > self.population {
                self.pop.pop_front();
            }
        } else {
            self.since_improvement += 1;
        }
        if let Some((s, a, _)) = reward_info {
            let next = self.state();
            let target = reward
                + self.gamma
                    * self.q[next]
                        .iter()
                        .copied()
                        .fold(f64::NEG_INFINITY, f64::max);
            self.q[s][a] += self.alpha * (target - self.q[s][a]);
        }
        if self.pending.get(told.sample).is_some_and(|q| q.is_empty()) {
            self.pending.remove(told.sample);
        }
    }

    fn name(&self) -> &str {
        "adaptive-evolution"
    }
}
