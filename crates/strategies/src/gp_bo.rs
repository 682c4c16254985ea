//! Gaussian-process Bayesian optimisation over architecture encodings.
//!
//! * **Model**: a GP on the encoded samples ([`Encoding`]: the space's one-hot encoding by default, or one-hot plus
//!   pairwise features) with an exponentiated-distance kernel `k(x, x') = s²·exp(−h(x, x')/ℓ)`, where
//!   `h = ‖x − x'‖²/2` is the number of differing choices for one-hot encodings (a categorical "overlap" kernel), a
//!   constant mean and a relative noise `g`. Scores are standardised. The length scale ℓ and noise `g` are chosen
//!   from a small grid by the log marginal likelihood (with the amplitude `s²` profiled out); the grid search is
//!   rerun every `refit_every` results. The Cholesky factorisation and triangular solves are `nalgebra`'s.
//! * **Acquisition**: expected improvement over the best score (`acquisition = "ei"`, default) or the upper
//!   confidence bound `μ + β·σ` (`"ucb"`, option `beta`), maximised by mutation-based local search: best-improvement
//!   hill climbing over the space's neighbours from the `starts` best evaluated samples and `random_starts` random
//!   ones (at most `max_evals` acquisition evaluations per ask). Samples already proposed are never proposed again.
//! * **Start**: the first `init` asks are random samples.
//! * **Bounded ask time** (subset of data): the GP is fitted on at most `max_history` trials — the best half by score
//!   and the most recent for the rest — so one ask costs O(m³ + evals·m²) with m = `max_history` (300) however many
//!   trials are stored. See the `ask_overhead` example for timings at 100, 1,000 and 10,000 trials.
//! * **Batch asks** ("kriging believer"): samples asked but not yet told are added to the model with the GP's own
//!   mean prediction as their value, which shrinks the variance around them so the next ask of the same batch
//!   looks elsewhere.
//! * Failed, pruned and infeasible trials are never proposed again but do not enter the model.
//!
//! Options: `init` (10), `acquisition` (ei|ucb), `beta` (2.0), `encoding` (onehot|pairs), `max_history` (300),
//! `starts` (5), `random_starts` (5), `max_evals` (400), `refit_every` (5), `noise` (chosen from 1e-4, 1e-2, 0.1 by marginal likelihood),
//! `polish_every` (0: off; see [`GpBoConfig::polish_every`]).

use crate::surrogate::{expected_improvement, local_search_max, mean_sd, Encoding, History};
use nalgebra::{DMatrix, DVector};
use tessera_core::{rng_for, Foresight, NoForesight, Rng, Sample, Space, Strategy, Told};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Acquisition {
    Ei,
    Ucb(f64),
}

/// Options of [`GpBo`].
#[derive(Clone, Debug)]
pub struct GpBoConfig {
    pub init: usize,
    pub acquisition: Acquisition,
    pub encoding: Encoding,
    pub max_history: usize,
    pub starts: usize,
    pub random_starts: usize,
    pub max_evals: usize,
    pub refit_every: usize,
    /// A fixed relative noise instead of choosing it by marginal likelihood.
    pub noise: Option<f64>,
    /// Every `polish_every`-th model-guided ask (0: never) proposes the unproposed feasible neighbour of the best
    /// trial with the largest predicted mean instead of the acquisition's pick, so the incumbent's neighbourhood is
    /// worked through (the true optimum is often one move from a near-best incumbent).
    pub polish_every: usize,
}

impl Default for GpBoConfig {
    fn default() -> Self {
        GpBoConfig {
            init: 10,
            acquisition: Acquisition::Ei,
            encoding: Encoding::Space,
            max_history: 300,
            starts: 5,
            random_starts: 5,
            max_evals: 400,
            refit_every: 5,
            noise: None,
            polish_every: 0,
        }
    }
}

const LENGTHS: [f64; 6] = [0.5, 1.0, 2.0, 3.0, 5.0, 8.0];
const NOISES: [f64; 3] = [1e-4, 1e-2, 1e-1];
const HYPER_POINTS: usize = 150;

pub struct GpBo {
    rng: Rng,
    cfg: GpBoConfig,
    hist: History,
    /// Encodings of `hist.samples`, same order.
    x: Vec<Vec<f64>>,
    /// (length scale, relative noise).
    hyper: (f64, f64),
    results_at_fit: usize,
    /// Model-guided asks so far (for `polish_every`).
    model_asks: u64,
}

/// The (length scale, relative noise) of the grid with the largest log marginal likelihood, on at most the first
/// `HYPER_POINTS` points (hyperparameters need far fewer points than predictions; callers put the best first).
/// `noise` fixes the noise. `None` when no grid point gives a positive definite matrix.
pub(crate) fn select_hyper(x: &[Vec<f64>], y: &[f64], noise: Option<f64>) -> Option<(f64, f64)> {
    let h = x.len().min(HYPER_POINTS);
    let mut best: Option<((f64, f64), f64)> = None;
    for &l in &LENGTHS {
        for &g in noise.as_ref().map(std::slice::from_ref).unwrap_or(&NOISES) {
            if let Some(lml) = lml(&x[..h], &y[..h], l, g) {
                if best.is_none_or(|b| lml > b.1) {
                    best = Some(((l, g), lml));
                }
            }
        }
    }
    best.map(|b| b.0)
}

/// A fitted GP: training inputs, Cholesky factor of `C + gI`, weights, amplitude and the score standardisation.
pub(crate) struct Fitted {
    x: Vec<Vec<f64>>,
    /// The inverse of the Cholesky factor, so a batch's variances are one matrix product (BLAS-3 speed through
    /// nalgebra's `matrixmultiply`) instead of a triangular solve per candidate.
    l_inv: DMatrix<f64>,
    alpha: DVector<f64>,
    s2: f64,
    length: f64,
    best: f64,
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    0.5 * a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>()
}

fn corr(x: &[Vec<f64>], length: f64, noise: f64) -> DMatrix<f64> {
    let n = x.len();
    DMatrix::from_fn(n, n, |i, j| {
        if i == j {
            1.0 + noise
        } else {
            (-dist(&x[i], &x[j]) / length).exp()
        }
    })
}

/// Fits with fixed hyperparameters; `None` when the matrix is not positive definite.
fn fit(x: Vec<Vec<f64>>, y: &[f64], length: f64, noise: f64) -> Option<(Fitted, f64)> {
    let n = y.len();
    let chol = corr(&x, length, noise).cholesky()?;
    let yv = DVector::from_column_slice(y);
    let alpha = chol.solve(&yv);
    let s2 = (yv.dot(&alpha) / n as f64).max(1e-12);
    let l = chol.unpack();
    let logdet: f64 = (0..n).map(|i| l[(i, i)].ln()).sum::<f64>() * 2.0;
    // Log marginal likelihood with the amplitude profiled out (constants dropped).
    let lml = -0.5 * n as f64 * s2.ln() - 0.5 * logdet;
    let best = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((
        Fitted {
            x,
            l_inv: l,
            alpha,
            s2,
            length,
            best,
        },
        lml,
    ))
}

/// Log marginal likelihood only (for the hyperparameter grid).
fn lml(x: &[Vec<f64>], y: &[f64], length: f64, noise: f64) -> Option<f64> {
    let n = y.len();
    let chol = corr(x, length, noise).cholesky()?;
    let yv = DVector::from_column_slice(y);
    let s2 = (yv.dot(&chol.solve(&yv)) / n as f64).max(1e-12);
    let l = chol.l_dirty();
    let logdet: f64 = (0..n).map(|i| l[(i, i)].ln()).sum::<f64>() * 2.0;
    Some(-0.5 * n as f64 * s2.ln() - 0.5 * logdet)
}

/// Fits and inverts the Cholesky factor for prediction.
pub(crate) fn fit_for_prediction(
    x: Vec<Vec<f64>>,
    y: &[f64],
    length: f64,
    noise: f64,
) -> Option<Fitted> {
    let (mut f, _) = fit(x, y, length, noise)?;
    let n = f.l_inv.nrows();
    f.l_inv = f.l_inv.solve_lower_triangular(&DMatrix::identity(n, n))?;
    Some(f)
}

impl Fitted {
    /// Posterior means and standard deviations of a batch (in standardised units).
    pub(crate) fn predict(&self, xs: &[Vec<f64>]) -> Vec<(f64, f64)> {
        let (n, b) = (self.x.len(), xs.len());
        let ks = DMatrix::from_fn(n, b, |i, j| (-dist(&self.x[i], &xs[j]) / self.length).exp());
        let mean = ks.tr_mul(&self.alpha);
        let v = &self.l_inv * &ks;
        (0..b)
            .map(|j| {
                let var = (1.0 - v.column(j).norm_squared()).max(1e-12) * self.s2;
                (mean[j], var.sqrt())
            })
            .collect()
    }
}

impl GpBo {
    pub fn new(seed: u64, cfg: GpBoConfig) -> Self {
        GpBo {
            rng: rng_for(seed, 1),
            cfg,
            hist: History::default(),
            x: Vec::new(),
            hyper: (2.0, 1e-3),
            results_at_fit: 0,
            model_asks: 0,
        }
    }

    /// The trials the model is fitted on: all of them, or the best half and the most recent beyond
    /// `max_history`.
    fn subset(&self) -> Vec<usize> {
        let n = self.hist.len();
        let m = self.cfg.max_history.max(2).min(n);
        // Best first (the hyperparameter search uses a prefix), then the most recent others, in trial order.
        let mut idx = self.hist.top(self.cfg.max_history.max(2) / 2);
        let mut take = vec![false; n];
        for &i in &idx {
            take[i] = true;
        }
        let mut rest: Vec<usize> = (0..n)
            .rev()
            .filter(|&i| !take[i])
            .take(m - idx.len().min(m))
            .collect();
        rest.reverse();
        idx.extend(rest);
        idx
    }

    fn model(&mut self, space: &dyn Space) -> Option<Fitted> {
        let idx = self.subset();
        let x: Vec<Vec<f64>> = idx.iter().map(|&i| self.x[i].clone()).collect();
        let raw: Vec<f64> = idx.iter().map(|&i| self.hist.scores[i]).collect();
        let (m, sd) = mean_sd(&raw);
        let y: Vec<f64> = raw.iter().map(|v| (v - m) / sd).collect();
        let n = self.hist.len();
        if self.results_at_fit == 0 || n >= self.results_at_fit + self.cfg.refit_every.max(1) {
            self.hyper = select_hyper(&x, &y, self.cfg.noise).unwrap_or(self.hyper);
            self.results_at_fit = n;
        }
        let (length, noise) = self.hyper;
        let mut fitted = fit_for_prediction(x, &y, length, noise)?;
        if !self.hist.pending.is_empty() {
            // Kriging believer: pending samples join with the model's own mean as their value.
            let px: Vec<Vec<f64>> = self
                .hist
                .pending
                .iter()
                .map(|s| self.cfg.encoding.encode(space, s))
                .collect();
            let means: Vec<f64> = fitted.predict(&px).into_iter().map(|p| p.0).collect();
            let best = fitted.best;
            let mut x2 = fitted.x.clone();
            x2.extend(px);
            let mut y2 = y.clone();
            y2.extend(means);
            if let Some(f) = fit_for_prediction(x2, &y2, length, noise) {
                fitted = Fitted { best, ..f };
            }
        }
        Some(fitted)
    }
}

impl Strategy for GpBo {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        self.ask_informed(space, &NoForesight)
    }

    /// As BANANAS: with the study's foresight only samples that pass its hard constraints are proposed.
    fn ask_informed(&mut self, space: &dyn Space, fore: &dyn Foresight) -> Option<Sample> {
        if self.hist.len() < self.cfg.init.max(2) {
            return Some(self.hist.propose_or_fresh(None, space, fore, &mut self.rng));
        }
        let model = self.model(space);
        let starts = self.hist.starts(
            self.cfg.starts,
            self.cfg.random_starts,
            space,
            fore,
            &mut self.rng,
        );
        self.model_asks += 1;
        if self.cfg.polish_every > 0 && self.model_asks % self.cfg.polish_every as u64 == 0 {
            if let (Some(model), Some(&best)) = (&model, self.hist.top(1).first()) {
                let seen = &self.hist.seen;
                let ns: Vec<Sample> = space
                    .neighbours(&self.hist.samples[best])
                    .into_iter()
                    .filter(|n| !seen.contains(n) && fore.feasible(n))
                    .collect();
                let xs: Vec<Vec<f64>> = ns
                    .iter()
                    .map(|s| self.cfg.encoding.encode(space, s))
                    .collect();
                let pick = model
                    .predict(&xs)
                    .into_iter()
                    .enumerate()
                    .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
                    .map(|(i, _)| ns[i].clone());
                if let Some(s) = pick {
                    return Some(
                        self.hist
                            .propose_or_fresh(Some(s), space, fore, &mut self.rng),
                    );
                }
            }
        }
        let chosen = model.and_then(|model| {
            let enc = self.cfg.encoding;
            let acq = self.cfg.acquisition;
            let seen = &self.hist.seen;
            local_search_max(
                space,
                &starts,
                self.cfg.max_evals,
                &|s| !seen.contains(s) && fore.feasible(s),
                &mut |batch| {
                    let xs: Vec<Vec<f64>> = batch.iter().map(|s| enc.encode(space, s)).collect();
                    model
                        .predict(&xs)
                        .into_iter()
                        .map(|(m, sd)| match acq {
                            Acquisition::Ei => expected_improvement(m, sd, model.best),
                            Acquisition::Ucb(beta) => m + beta * sd,
                        })
                        .collect()
                },
            )
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
        "gp-bo"
    }
}
