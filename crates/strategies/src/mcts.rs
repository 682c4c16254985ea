//! Monte-Carlo tree search (UCT, Kocsis & Szepesvári 2006) over the tree of choices, as in DeepArchitect
//! (Negrinho & Gordon 2017) and AlphaX.
//!
//! The tree's levels are the space's dimensions in order: a node is a prefix of choices, its children the choices of
//! the next dimension, its leaves complete samples. Each ask descends from the root: at a node with a child never
//! visited, a random unvisited child is taken and the remaining dimensions are filled by a uniform random rollout;
//! otherwise the child maximising `q + c·√(ln N / n)` is taken, where `q` mixes the child's mean and best reward,
//! `(1 − max_weight)·mean + max_weight·max`, both normalised to [0, 1] by the lowest and highest reward seen (a
//! max-backup suits optimisation, where only the best leaf matters). Every prefix of the proposed sample becomes a
//! node; its told reward is backed up along all of them. Leaves that are invalid or were proposed before are marked
//! exhausted, and a node whose children are all exhausted is exhausted too, so the search never repeats a sample;
//! if 50 descents find nothing new, a fresh random sample is proposed. Failed, pruned and infeasible trials get the
//! worst reward seen.
//!
//! **Batch asks**: a visit is counted when a sample is proposed (a virtual visit without reward), so the asks of one
//! batch spread over the tree before their results arrive.
//!
//! Options: `c` (0.1), `max_weight` (0.5).

use crate::surrogate::History;
use rand::Rng as _;
use std::collections::{HashMap, HashSet};
use tessera_core::{rng_for, Rng, Sample, Space, Strategy, Told};

#[derive(Clone, Copy, Debug, Default)]
struct Node {
    /// Visits, counted when proposed.
    n: u32,
    /// Results backed up.
    m: u32,
    sum: f64,
    max: f64,
}

pub struct Mcts {
    rng: Rng,
    c: f64,
    max_weight: f64,
    tree: HashMap<Vec<u16>, Node>,
    exhausted: HashSet<Vec<u16>>,
    lo: f64,
    hi: f64,
    hist: History,
}

impl Mcts {
    pub fn new(seed: u64, c: f64, max_weight: f64) -> Self {
        Mcts {
            rng: rng_for(seed, 1),
            c,
            max_weight,
            tree: HashMap::new(),
            exhausted: HashSet::new(),
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
            hist: History::default(),
        }
    }

    fn q(&self, node: &Node) -> f64 {
        if node.m == 0 || self.hi <= self.lo {
            return 0.5;
        }
        let norm = |v: f64| (v - self.lo) / (self.hi - self.lo);
        (1.0 - self.max_weight) * norm(node.sum / node.m as f64) + self.max_weight * norm(node.max)
    }

    /// One descent: a complete sample (maybe invalid or seen).
    fn descend(&mut self, space: &dyn Space) -> Option<Sample> {
        let dims = space.dims();
        let mut prefix: Vec<u16> = Vec::with_capacity(dims.len());
        let mut rollout = false;
        for dim in dims {
            if rollout {
                prefix.push(self.rng.random_range(0..dim.len()) as u16);
                continue;
            }
            let parent_n = self.tree.get(&prefix).map_or(0, |n| n.n).max(1) as f64;
            let mut unvisited = Vec::new();
            let mut best: Option<(u16, f64)> = None;
            let mut any = false;
            for c in 0..dim.len() as u16 {
                prefix.push(c);
                if !self.exhausted.contains(&prefix) {
                    any = true;
                    match self.tree.get(&prefix) {
                        None => unvisited.push(c),
                        Some(node) => {
                            // Random tie-breaking through a tiny jitter.
                            let u = self.q(node)
                                + self.c * (parent_n.ln() / node.n.max(1) as f64).sqrt()
                                + 1e-9 * self.rng.random::<f64>();
                            if best.is_none_or(|b| u > b.1) {
                                best = Some((c, u));
                            }
                        }
                    }
                }
                prefix.pop();
            }
            if !any {
                self.exhausted.insert(prefix.clone());
                return None;
            }
            if !unvisited.is_empty() {
                prefix.push(unvisited[self.rng.random_range(0..unvisited.len())]);
                rollout = true;
            } else {
                prefix.push(best?.0);
            }
        }
        Some(Sample::new(&prefix))
    }

    /// Marks a leaf exhausted and propagates to parents whose children are all exhausted.
    fn exhaust(&mut self, space: &dyn Space, leaf: &Sample) {
        let mut prefix = leaf.as_slice().to_vec();
        self.exhausted.insert(prefix.clone());
        while !prefix.is_empty() {
            prefix.pop();
            let d = prefix.len();
            let all = (0..space.dims()[d].len() as u16).all(|c| {
                prefix.push(c);
                let e = self.exhausted.contains(&prefix);
                prefix.pop();
                e
            });
            if !all {
                break;
            }
            self.exhausted.insert(prefix.clone());
        }
    }

    fn visit(&mut self, s: &Sample) {
        for k in 0..=s.len() {
            self.tree.entry(s.as_slice()[..k].to_vec()).or_default().n += 1;
        }
    }
}

impl Strategy for Mcts {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        for _ in 0..50 {
            if self.exhausted.contains(&Vec::new()) {
                break;
            }
            let Some(s) = self.descend(space) else {
                continue;
            };
            if space.is_valid(&s) && !self.hist.seen.contains(&s) {
                self.visit(&s);
                self.hist.propose(&s);
                self.exhaust(space, &s);
                return Some(s);
            }
            self.exhaust(space, &s);
        }
        let s = self.hist.fresh_sample(space, &mut self.rng);
        self.visit(&s);
        self.hist.propose(&s);
        Some(s)
    }

    fn tell(&mut self, _space: &dyn Space, told: &Told) {
        let r = match self.hist.tell(told) {
            Some(v) => v,
            None if self.lo.is_finite() => self.lo,
            None => return,
        };
        self.lo = self.lo.min(r);
        self.hi = self.hi.max(r);
        for k in 0..=told.sample.len() {
            let node = self
                .tree
                .entry(told.sample.as_slice()[..k].to_vec())
                .or_default();
            node.n = node.n.max(node.m + 1);
            node.max = if node.m == 0 { r } else { node.max.max(r) };
            node.m += 1;
            node.sum += r;
        }
    }

    fn name(&self) -> &str {
        "mcts"
    }
}
