//! LINAS-style predictor-guided NSGA-II (Cummings et al., "Accelerating neural architecture exploration across
//! modalities using genetic algorithms", GECCO 2022; Intel DyNAS-T).
//!
//! 1. The first `init` (20) asks are random samples.
//! 2. Then, whenever its queue is empty, LINAS fits one predictor per objective on the complete trials (an ensemble
//!    of `ensemble` small MLPs, [`Mlp`], on the space's one-hot encoding, warm-started between rounds), runs an inner
//!    [`Nsga2`] (the crate's NSGA-II, unchanged) for `inner_evals` asks on the *predicted* objective values — seeded
//!    by telling it every evaluated trial with its true values — and queues up to `batch` (10) samples of the inner
//!    run's first front that were never proposed, most isolated (largest crowding distance) first.
//! 3. Asks pop the queue; results are told to the outer history only.
//!
//! With one objective the first front is the predicted best, so LINAS is also a predictor-guided genetic algorithm
//! for single-objective search. Failed, pruned and infeasible trials are never proposed again and do not enter the
//! predictors.
//!
//! **Batch asks**: the queue is the batch; asking more than `batch` before telling refills from the predictors as
//! they are (pending samples are excluded).
//!
//! Options: `init` (20), `batch` (10), `inner_evals` (300), `inner_population` (50), `ensemble` (3), `hidden`
//! (20), `steps` (100).

use crate::nsga2::{Nsga2, Nsga2Options};
use crate::surrogate::{mean_sd, Encoding, History, Mlp};
use std::collections::VecDeque;
use tessera_core::{rng_for, Metrics, Rng, Sample, Space, Strategy, Told, TrialState};

#[derive(Clone, Debug)]
pub struct LinasConfig {
    pub init: usize,
    pub batch: usize,
    pub inner_evals: usize,
    pub inner_population: usize,
    pub ensemble: usize,
    pub hidden: usize,
    pub steps: usize,
}

impl Default for LinasConfig {
    fn default() -> Self {
        LinasConfig {
            init: 20,
            batch: 10,
            inner_evals: 300,
            inner_population: 50,
            ensemble: 3,
            hidden: 20,
            steps: 100,
        }
    }
}

pub struct Linas {
    rng: Rng,
    seed: u64,
    cfg: LinasConfig,
    hist: History,
    /// Oriented objective values of `hist.samples`, same order.
    values: Vec<Vec<f64>>,
    x: Vec<Vec<f64>>,
    /// Per objective, an ensemble.
    nets: Vec<Vec<Mlp>>,
    queue: VecDeque<Sample>,
    rounds: u64,
}

impl Linas {
    pub fn new(seed: u64, cfg: LinasConfig) -> Self {
        Linas {
            rng: rng_for(seed, 1),
            seed,
            cfg,
            hist: History::default(),
            values: Vec::new(),
            x: Vec::new(),
            nets: Vec::new(),
            queue: VecDeque::new(),
            rounds: 0,
        }
    }

    fn refill(&mut self, space: &dyn Space) {
        let k = self.values.first().map_or(0, Vec::len);
        if k == 0 {
            return;
        }
        // Fit one ensemble per objective on standardised values.
        let mut scales = Vec::new();
        for j in 0..k {
            let col: Vec<f64> = self.values.iter().map(|v| v[j]).collect();
            let (m, sd) = mean_sd(&col);
            let y: Vec<f64> = col.iter().map(|v| (v - m) / sd).collect();
            if self.nets.len() <= j {
                let d = self.x[0].len();
                let nets = (0..self.cfg.ensemble.max(1))
                    .map(|_| Mlp::new(d, self.cfg.hidden.max(1), &mut self.rng))
                    .collect();
                self.nets.push(nets);
            }
            for net in &mut self.nets[j] {
                net.train(&self.x, &y, self.cfg.steps, 16, 0.01, 1e-4, &mut self.rng);
            }
            scales.push((m, sd));
        }
        // Inner NSGA-II on predictions, seeded with the evaluated trials.
        self.rounds += 1;
        let opts = Nsga2Options {
            population: self.cfg.inner_population.max(2),
            offspring: self.cfg.inner_population.max(2),
            ..Nsga2Options::default()
        };
        let mut inner = Nsga2::new(
            self.seed
                .wrapping_mul(0x9E37_79B9)
                .wrapping_add(self.rounds),
            opts,
        );
        let empty = Metrics::new();
        for (i, s) in self.hist.samples.iter().enumerate() {
            inner.tell(
                space,
                &Told {
                    number: i as u64,
                    sample: s,
                    state: TrialState::Complete,
                    values: &self.values[i],
                    metrics: &empty,
                    violation: 0.0,
                },
            );
        }
        let nets = &self.nets;
        let predict = |s: &Sample| -> Vec<f64> {
            let x = Encoding::Space.encode(space, s);
            (0..k)
                .map(|j| {
                    let p: f64 =
                        nets[j].iter().map(|n| n.predict(&x)).sum::<f64>() / nets[j].len() as f64;
                    scales[j].0 + scales[j].1 * p
                })
                .collect()
        };
        for e in 0..self.cfg.inner_evals {
            let Some(s) = inner.ask(space) else { break };
            let v = predict(&s);
            inner.tell(
                space,
                &Told {
                    number: (self.hist.len() + e) as u64,
                    sample: &s,
                    state: TrialState::Complete,
                    values: &v,
                    metrics: &empty,
                    violation: 0.0,
                },
            );
        }
        // Force a final environmental selection so the parents include the last generation.
        if let Some(s) = inner.ask(space) {
            let v = predict(&s);
            inner.tell(
                space,
                &Told {
                    number: u64::MAX,
                    sample: &s,
                    state: TrialState::Complete,
                    values: &v,
                    metrics: &empty,
                    violation: 0.0,
                },
            );
        }
        let mut cands: Vec<(usize, f64, Sample)> = inner
            .parents()
            .filter(|(s, _, _)| !self.hist.seen.contains(*s))
            .map(|(s, r, c)| (r, c, s.clone()))
            .collect();
        cands.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        let mut added = 0;
        for (_, _, s) in cands {
            if added >= self.cfg.batch.max(1) {
                break;
            }
            if !self.queue.contains(&s) {
                self.queue.push_back(s);
                added += 1;
            }
        }
    }
}

impl Strategy for Linas {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        if self.hist.len() >= self.cfg.init.max(2) && self.queue.is_empty() {
            self.refill(space);
        }
        let s = loop {
            match self.queue.pop_front() {
                Some(s) if self.hist.seen.contains(&s) => continue,
                Some(s) => break s,
                None => break self.hist.fresh_sample(space, &mut self.rng),
            }
        };
        self.hist.propose(&s);
        Some(s)
    }

    fn tell(&mut self, space: &dyn Space, told: &Told) {
        if self.hist.tell(told).is_some() {
            self.values.push(told.values.to_vec());
            self.x.push(Encoding::Space.encode(space, told.sample));
        }
    }

    fn name(&self) -> &str {
        "linas"
    }
}
