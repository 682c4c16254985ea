//! BANANAS-style Bayesian optimisation with an ensemble of neural predictors (White et al., AAAI 2021).
//!
//! * **Predictor**: an ensemble of `ensemble` (5) small MLPs ([`Mlp`]: encoding → `hidden` → `hidden` → 1, ReLU),
//!   each from its own random initialisation and minibatch order, trained with Adam on the standardised scores of
//!   the complete trials. The encoding is the space's one-hot encoding or `pairs` (one-hot plus pairwise joint
//!   choices, which contain the length-2 paths of a cell: see [`Encoding::Pairs`]; a full path encoding needs the
//!   space's graph and belongs in a space's `encode`).
//! * **Bounded training cost**: the networks are warm-started across asks: a fixed number of Adam steps
//!   (`steps`, on minibatches of `batch` trials drawn from all of them) per ask, `first_steps` for the first fit.
//!   So an ask costs the same at 100 or 10,000 trials apart from the O(n) standardisation and the top-k selection.
//! * **Acquisition**: independent Thompson sampling (`acquisition = "its"`, default): a candidate's value is one draw
//!   from the normal with the ensemble's mean and standard deviation; or expected improvement (`"ei"`) on the same
//!   normal; or the ensemble mean (`"mean"`). It is maximised by mutation-based local search over the space's
//!   neighbours from the `starts` best trials and `random_starts` random samples (at most `max_evals` candidates).
//! * The first `init` asks are random samples; samples already proposed are never proposed again.
//! * **Batch asks**: pending samples are excluded from the candidates, and every ask draws its own Thompson samples,
//!   so the asks of one batch differ (ITS's argument for parallel BO); the networks are trained once per ask.
//!
//! Options: `init` (10), `ensemble` (5), `hidden` (20), `steps` (50), `first_steps` (300), `batch` (16), `lr`
//! (0.01), `acquisition` (its|ei|mean), `encoding` (onehot|pairs), `starts` (5), `random_starts` (5),
//! `max_evals` (600).

use crate::surrogate::{expected_improvement, local_search_max, mean_sd, normal, Encoding, History, Mlp};
use tessera_core::{rng_for, Rng, Sample, Space, Strategy, Told};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BananasAcquisition {
    Its,
    Ei,
    Mean,
}

#[derive(Clone, Debug)]
pub struct BananasConfig {
    pub init: usize,
    pub ensemble: usize,
    pub hidden: usize,
    pub steps: usize,
    pub first_steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub acquisition: BananasAcquisition,
    pub encoding: Encoding,
    pub starts: usize,
    pub random_starts: usize,
    pub max_evals: usize,
}

impl Default for BananasConfig {
    fn default() -> Self {
        BananasConfig {
            init: 10,
            ensemble: 5,
            hidden: 20,
            steps: 50,
            first_steps: 300,
            batch: 16,
            lr: 0.01,
            acquisition: BananasAcquisition::Its,
            encoding: Encoding::Space,
            starts: 5,
            random_starts: 5,
            max_evals: 600,
        }
    }
}

pub struct Bananas {
    rng: Rng,
    cfg: BananasConfig,
    hist: History,
    x: Vec<Vec<f64>>,
    nets: Vec<Mlp>,
}

impl Bananas {
    pub fn new(seed: u64, cfg: BananasConfig) -> Self {
        Bananas { rng: rng_for(seed, 1), cfg, hist: History::default(), x: Vec::new(), nets: Vec::new() }
    }

    fn train(&mut self) {
        let (m, sd) = mean_sd(&self.hist.scores);
        let y: Vec<f64> = self.hist.scores.iter().map(|v| (v - m) / sd).collect();
        let steps = if self.nets.is_empty() {
            let d = self.x[0].len();
            self.nets = (0..self.cfg.ensemble.max(1)).map(|_| Mlp::new(d, self.cfg.hidden.max(1), &mut self.rng)).collect();
            self.cfg.first_steps
        } else {
            self.cfg.steps
        };
        for net in &mut self.nets {
            net.train(&self.x, &y, steps, self.cfg.batch.max(1), self.cfg.lr, 1e-4, &mut self.rng);
        }
    }
}

impl Strategy for Bananas {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        if self.hist.len() < self.cfg.init.max(2) {
            return Some(self.hist.propose_or_fresh(None, space, &mut self.rng));
        }
        self.train();
        let (m, sd) = mean_sd(&self.hist.scores);
        let best = self.hist.best().map(|b| (b - m) / sd).unwrap_or(0.0);
        let mut starts: Vec<Sample> = self.hist.top(self.cfg.starts).into_iter().map(|i| self.hist.samples[i].clone()).collect();
        for _ in 0..self.cfg.random_starts {
            starts.push(self.hist.fresh_sample(space, &mut self.rng));
        }
        let (nets, enc, acq, seen) = (&self.nets, self.cfg.encoding, self.cfg.acquisition, &self.hist.seen);
        let rng = &mut self.rng;
        let chosen = local_search_max(space, &starts, self.cfg.max_evals, &|s| !seen.contains(s), &mut |batch| {
            batch
                .iter()
                .map(|s| {
                    let x = enc.encode(space, s);
                    let preds: Vec<f64> = nets.iter().map(|n| n.predict(&x)).collect();
                    let (mu, sigma) = mean_sd(&preds);
                    match acq {
                        BananasAcquisition::Its => mu + sigma * normal(rng),
                        BananasAcquisition::Ei => expected_improvement(mu, sigma, best),
                        BananasAcquisition::Mean => mu,
                    }
                })
                .collect()
        });
        Some(self.hist.propose_or_fresh(chosen.map(|(s, _)| s), space, &mut self.rng))
    }

    fn tell(&mut self, space: &dyn Space, told: &Told) {
        if self.hist.tell(told).is_some() {
            self.x.push(self.cfg.encoding.encode(space, told.sample));
        }
    }

    fn name(&self) -> &str {
        "bananas"
    }
}
