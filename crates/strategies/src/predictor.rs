//! Performance predictors: regressors from a sample's encoding to a metric, fitted once on known (architecture,
//! metric) pairs and then queried in microseconds. `tessera`'s `[evaluator] kind = "predictor"` wraps them as an
//! evaluator; the model code lives here beside the surrogates of the model-based strategies it reuses.
//!
//! | kind | model | from |
//! |---|---|---|
//! | `mlp-ensemble` | 5 [`Mlp`]s (two hidden layers of 32), each from its own initialisation, mean prediction | [`Ensemble`] (BANANAS's predictor) |
//! | `gp` | Gaussian process, overlap kernel, length scale and noise by marginal likelihood | [`crate::gp_bo`] |
//! | `gbt` | gradient-boosted regression trees (depth 4, 300 trees, shrinkage 0.05) | the `gbdt` crate |
//!
//! [`fit_validated`] holds out a fraction of the pairs (20 % by default), fits on the rest and reports the error on
//! the held-out part ([`Validation`]: Kendall τ, Spearman ρ, RMSE), then refits on all pairs: the validation figures
//! describe a model trained on 80 % of the data, so they slightly understate the final model.

use crate::gp_bo::{fit_for_prediction, select_hyper, Fitted};
use crate::surrogate::{mean_sd, Ensemble};
use rand::seq::SliceRandom as _;
use tessera_core::rng_for;
use tessera_core::stats::{kendall_tau, spearman};

/// Which regressor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    MlpEnsemble,
    Gp,
    Gbt,
}

impl ModelKind {
    pub const ALL: [ModelKind; 3] = [ModelKind::MlpEnsemble, ModelKind::Gp, ModelKind::Gbt];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::MlpEnsemble => "mlp-ensemble",
            ModelKind::Gp => "gp",
            ModelKind::Gbt => "gbt",
        }
    }

    pub fn parse(s: &str) -> Result<ModelKind, String> {
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown model `{s}`; one of {}",
                    ModelKind::ALL.map(|k| k.name()).join(", ")
                )
            })
    }
}

/// A fitted regressor. Every kind is fitted on the targets' ranks (scaled to (0, 1)), not their values: NAS metrics
/// are skewed (a few collapsed networks at 10 % accuracy among most near 90 %) and squared error on raw values spends
/// the model on those outliers, while a search needs the order. Predictions map back to the metric's units through
/// the sorted training targets (piecewise linear, monotone), so the order is kept and values stay in range.
pub struct Model {
    inner: Inner,
    /// The training targets, sorted.
    sorted: Vec<f64>,
}

enum Inner {
    Ensemble(Ensemble),
    /// The GP and the mean and standard deviation its targets were standardised with.
    Gp(Box<Fitted>, (f64, f64)),
    /// The trees and the mean and standard deviation their targets were standardised with.
    Gbt(Box<gbdt::gradient_boost::GBDT>, (f64, f64)),
}

/// The fewest pairs a model is fitted on.
pub const MIN_PAIRS: usize = 5;

impl Model {
    /// Fits a `kind` model on `xs` → `ys` (equal lengths, at least [`MIN_PAIRS`]); `seed` fixes initialisations and
    /// minibatch order.
    pub fn fit(kind: ModelKind, xs: &[Vec<f64>], ys: &[f64], seed: u64) -> Result<Model, String> {
        if xs.len() != ys.len() || xs.len() < MIN_PAIRS {
            return Err(format!(
                "need at least {MIN_PAIRS} (architecture, metric) pairs, got {}",
                xs.len().min(ys.len())
            ));
        }
        if let Some(y) = ys.iter().find(|y| !y.is_finite()) {
            return Err(format!("a target is not finite ({y})"));
        }
        let mut rng = rng_for(seed, 0x7072_6564);
        let mut sorted = ys.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = ys.len() as f64;
        let ranked: Vec<f64> = tessera_core::stats::ranks(ys)
            .into_iter()
            .map(|r| (r - 0.5) / n)
            .collect();
        let ys = &ranked[..];
        let inner = match kind {
            ModelKind::MlpEnsemble => {
                let mut e = Ensemble::new(5, 32, 0, 1000, 32, 3e-3);
                e.fit(xs, ys, &mut rng);
                Inner::Ensemble(e)
            }
            ModelKind::Gp => {
                let scale = mean_sd(ys);
                let y: Vec<f64> = ys.iter().map(|v| (v - scale.0) / scale.1).collect();
                let (length, noise) = select_hyper(xs, &y, None)
                    .ok_or("the GP's kernel matrix is not positive definite")?;
                let f = fit_for_prediction(xs.to_vec(), &y, length, noise)
                    .ok_or("the GP's kernel matrix is not positive definite")?;
                Inner::Gp(Box::new(f), scale)
            }
            ModelKind::Gbt => {
                let mut cfg = gbdt::config::Config::new();
                cfg.set_feature_size(xs[0].len());
                cfg.set_max_depth(4);
                cfg.set_iterations(300);
                cfg.set_shrinkage(0.05);
                cfg.set_min_leaf_size(2);
                cfg.set_loss("SquaredError");
                cfg.set_data_sample_ratio(1.0);
                cfg.set_feature_sample_ratio(1.0);
                // Standardised targets: the boosting starts from 0, so a target far from 0 (accuracy in %) would
                // otherwise spend its first trees on the offset.
                let scale = mean_sd(ys);
                let mut data: gbdt::decision_tree::DataVec = xs
                    .iter()
                    .zip(ys)
                    .map(|(x, &y)| {
                        let t = ((y - scale.0) / scale.1) as f32;
                        gbdt::decision_tree::Data::new_training_data(
                            x.iter().map(|&v| v as f32).collect(),
                            1.0,
                            t,
                            None,
                        )
                    })
                    .collect();
                let mut g = gbdt::gradient_boost::GBDT::new(&cfg);
                g.fit(&mut data);
                Inner::Gbt(Box::new(g), scale)
            }
        };
        Ok(Model { inner, sorted })
    }

    /// Predictions for a batch of encodings.
    pub fn predict(&self, xs: &[Vec<f64>]) -> Vec<f64> {
        self.predict_rank(xs)
            .into_iter()
            .map(|u| self.unrank(u))
            .collect()
    }

    /// The training target at rank fraction `u` (linear between neighbours, clamped to the range).
    fn unrank(&self, u: f64) -> f64 {
        let n = self.sorted.len();
        let pos = (u * n as f64 - 0.5).clamp(0.0, (n - 1) as f64);
        let (i, frac) = (pos.floor() as usize, pos - pos.floor());
        let j = (i + 1).min(n - 1);
        self.sorted[i] + frac * (self.sorted[j] - self.sorted[i])
    }

    /// Predicted rank fractions (the model's own scale).
    fn predict_rank(&self, xs: &[Vec<f64>]) -> Vec<f64> {
        match &self.inner {
            Inner::Ensemble(e) => xs.iter().map(|x| e.predict(x).0).collect(),
            Inner::Gp(f, (m, sd)) => f
                .predict(xs)
                .into_iter()
                .map(|(mu, _)| m + sd * mu)
                .collect(),
            Inner::Gbt(g, (m, sd)) => {
                let data: gbdt::decision_tree::DataVec = xs
                    .iter()
                    .map(|x| {
                        gbdt::decision_tree::Data::new_test_data(
                            x.iter().map(|&v| v as f32).collect(),
                            None,
                        )
                    })
                    .collect();
                g.predict(&data)
                    .into_iter()
                    .map(|v| m + sd * f64::from(v))
                    .collect()
            }
        }
    }
}

/// How well a model predicts pairs it was not fitted on.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Validation {
    pub kendall_tau: f64,
    pub spearman: f64,
    pub rmse: f64,
    /// Pairs fitted on and pairs held out.
    pub train: usize,
    pub held_out: usize,
}

impl Validation {
    /// The figures of `predicted` against `truth`.
    pub fn of(predicted: &[f64], truth: &[f64], train: usize) -> Validation {
        let n = truth.len().max(1) as f64;
        let rmse = (predicted
            .iter()
            .zip(truth)
            .map(|(p, t)| (p - t).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        Validation {
            kendall_tau: kendall_tau(predicted, truth),
            spearman: spearman(predicted, truth),
            rmse,
            train,
            held_out: truth.len(),
        }
    }
}

impl std::fmt::Display for Validation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Kendall τ {:.3}, Spearman {:.3}, RMSE {:.4} on {} held-out pairs (fitted on {})",
            self.kendall_tau, self.spearman, self.rmse, self.held_out, self.train
        )
    }
}

/// Holds out `held_out` (a fraction in (0, 1)) of the pairs, drawn with `seed`, fits on the rest and measures the
/// error on them; then fits the returned model on all pairs. Needs at least [`MIN_PAIRS`] pairs on each side.
pub fn fit_validated(
    kind: ModelKind,
    xs: &[Vec<f64>],
    ys: &[f64],
    held_out: f64,
    seed: u64,
) -> Result<(Model, Validation), String> {
    let n = xs.len().min(ys.len());
    let n_val = ((n as f64) * held_out).round() as usize;
    if n_val < MIN_PAIRS || n - n_val < MIN_PAIRS {
        return Err(format!(
            "{n} (architecture, metric) pairs are too few: validation holds out {:.0} % and each part needs at least {MIN_PAIRS}",
            held_out * 100.0
        ));
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rng_for(seed, 0x686f_6c64));
    let (val, train) = idx.split_at(n_val);
    let pick_x = |ix: &[usize]| ix.iter().map(|&i| xs[i].clone()).collect::<Vec<_>>();
    let pick_y = |ix: &[usize]| ix.iter().map(|&i| ys[i]).collect::<Vec<_>>();
    let held = Model::fit(kind, &pick_x(train), &pick_y(train), seed)?;
    let validation = Validation::of(&held.predict(&pick_x(val)), &pick_y(val), train.len());
    let model = Model::fit(kind, &xs[..n], &ys[..n], seed)?;
    Ok((model, validation))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// y = Σ weights of the chosen one-hot features: every model must rank unseen points well.
    #[test]
    fn every_model_ranks_a_sum_of_choice_weights_on_held_out_points() {
        let mut rng = rng_for(3, 0);
        let w: Vec<f64> = (0..20)
            .map(|_| rand::Rng::random_range(&mut rng, -1.0..1.0))
            .collect();
        let xs: Vec<Vec<f64>> = (0..150)
            .map(|_| {
                let mut x = vec![0.0; 20];
                for d in 0..4 {
                    x[d * 5 + rand::Rng::random_range(&mut rng, 0..5usize)] = 1.0;
                }
                x
            })
            .collect();
        let ys: Vec<f64> = xs
            .iter()
            .map(|x| x.iter().zip(&w).map(|(a, b)| a * b).sum())
            .collect();
        for kind in ModelKind::ALL {
            let (_, v) = fit_validated(kind, &xs, &ys, 0.2, 0).unwrap();
            assert!(
                v.kendall_tau > 0.7 && v.held_out == 30 && v.train == 120,
                "{}: {v}",
                kind.name()
            );
        }
    }

    #[test]
    fn too_few_pairs_and_unknown_models_are_refused() {
        let xs = vec![vec![1.0]; 12];
        let e = fit_validated(ModelKind::Gp, &xs, &[0.5; 12], 0.2, 0)
            .err()
            .unwrap();
        assert!(
            e.contains("12 (architecture, metric) pairs are too few"),
            "{e}"
        );
        assert!(ModelKind::parse("svm")
            .unwrap_err()
            .contains("one of mlp-ensemble, gp, gbt"));
    }
}
