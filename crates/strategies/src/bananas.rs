//! BANANAS-style Bayesian optimisation with an ensemble of neural predictors (White et al., AAAI 2021).
//!
//! * **Predictor**: an ensemble of `ensemble` (5) small MLPs ([`Mlp`]: encoding → `hidden` → `hidden` → 1, ReLU),
//!   each from its own random initialisation and minibatch order, trained with Adam on the standardised scores of
//!   the complete trials. The encoding is the space's one-hot encoding, `pairs` (one-hot plus pairwise joint
//!   choices, which contain the length-2 paths of a cell: see [`Encoding::Pairs`]) or `paths` (one-hot plus the
//!   space's path encoding, BANANAS's own, where the space has one: NB201).
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

use crate::surrogate::{
    expected_improvement, local_search_max, normal, Encoding, Ensemble, History,
};
use tessera_core::{rng_for, Foresight, NoForesight, Rng, Sample, Space, Strategy, Told};

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
    model: Ensemble,
}

impl Bananas {
    pub fn new(seed: u64, cfg: BananasConfig) -> Self {
        let c = &cfg;
        let model = Ensemble::new(c.ensemble, c.hidden, c.steps, c.first_steps, c.batch, c.lr);
        Bananas {
            rng: rng_for(seed, 1),
            cfg,
            hist: History::default(),
            x: Vec::new(),
            model,
        }
    }
}

impl Strategy for Bananas {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        self.ask_informed(space, &NoForesight)
    }

    /// With the study's foresight, only samples that pass its hard constraints are proposed (the model's search
    /// skips the others), so a constrained study spends its whole budget on feasible samples.
    fn ask_informed(&mut self, space: &dyn Space, fore: &dyn Foresight) -> Option<Sample> {
        if self.hist.len() < self.cfg.init.max(2) {
            return Some(self.hist.propose_or_fresh(None, space, fore, &mut self.rng));
        }
        self.model.fit(&self.x, &self.hist.scores, &mut self.rng);
        let (m, sd) = self.model.scale();
        let best = self.hist.best().map(|b| (b - m) / sd).unwrap_or(0.0);
        let starts = self.hist.starts(
            self.cfg.starts,
            self.cfg.random_starts,
            space,
            fore,
            &mut self.rng,
        );
        let (model, enc, acq, seen) = (
            &self.model,
            self.cfg.encoding,
            self.cfg.acquisition,
            &self.hist.seen,
        );
        let rng = &mut self.rng;
        // The climb passes through infeasible samples (measured: confining it to the feasible region finds the best
        // feasible architecture less often) but only a feasible one is proposed.
        let free = |s: &Sample| !seen.contains(s) && fore.feasible(s);
        let chosen = local_search_max(space, &starts, self.cfg.max_evals, &free, &mut |batch| {
            batch
                .iter()
                .map(|s| {
                    let (mu, sigma) = model.predict_standard(&enc.encode(space, s));
                    match acq {
                        BananasAcquisition::Its => mu + sigma * normal(rng),
                        BananasAcquisition::Ei => expected_improvement(mu, sigma, best),
                        BananasAcquisition::Mean => mu,
                    }
                })
                .collect()
        });
        Some(
            self.hist
                .propose_or_fresh(chosen.map(|(s, _)| s), space, fore, &mut self.rng),
        )
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
