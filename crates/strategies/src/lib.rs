//! # tessera-strategies
//!
//! Search strategies, one module each, all behind [`tessera_core::Strategy`]'s ask/tell. They propose; they never
//! evaluate. Each is deterministic for its seed and the told history (resume replays the history).
//!
//! | strategy | module | categorical | multi-objective | constraints | multi-fidelity | batch ask |
//! |---|---|---|---|---|---|---|
//! | random sampling | [`random`] | yes | yes (ignores objectives) | via the study (infeasible never evaluated) | no | yes: independent samples |
//! | grid (finite spaces) | [`grid`] | yes | yes | via the study | no | yes: next grid points |
//! | local search (hill climbing, restarts) | [`local`] | yes | first objective | infeasible = worst | no | yes: next queued neighbours |
//! | regularized (aging) evolution | [`evolution`] | yes | first objective | infeasible not in population | no | yes: independent tournaments on the current population |
//! | NSGA-II | [`nsga2`] | yes | yes: non-dominated sorting + crowding on all objectives | Deb's constraint domination (infeasible ranked by violation) | no | yes: the rest of a generation, then children of the parents told so far |
//! | GP Bayesian optimisation (EI/UCB, local-search acquisition) | [`gp_bo`] | yes: overlap kernel on one-hot (or pairwise) encodings | first objective | infeasible: never re-proposed, not modelled | no (combine with a [`hyperband`] pruner) | yes: kriging believer (pending samples enter the GP at its mean) |
//! | TPE (multivariate or independent) | [`tpe`] | yes: categorical Parzen mixtures | first objective | infeasible = bad group | via a pruner (BOHB = tpe + [`hyperband::Hyperband`]; pruned = bad) | yes: constant liar (pending samples join the bad group) |
//! | BANANAS (MLP ensemble, Thompson sampling) | [`bananas`] | yes: one-hot or pairwise encoding | first objective | never re-proposed, not modelled | no (combine with a pruner) | yes: pending excluded, independent Thompson draws per ask |
//! | REINFORCE controller | [`reinforce`] | yes: softmax per dimension | first objective | infeasible = worst reward | no (combine with a pruner) | yes: independent policy samples |
//! | MCTS (UCT over the choice tree) | [`mcts`] | yes: one tree level per dimension | first objective | infeasible = worst reward, leaf exhausted | no (combine with a pruner) | yes: virtual visits on ask |
//! | adaptive-mutation evolution (Q-learning operators) | [`adaptive_evolution`] | yes | first objective | infeasible: reward −0.5, not in population | no (combine with a pruner) | yes: one child per ask, pending (state, action) kept |
//! | LINAS (predictor-guided NSGA-II) | [`linas`] | yes: MLP ensembles on one-hot | **yes**: one predictor per objective, inner [`nsga2`] on predictions | infeasible: never re-proposed, not modelled | no (combine with a pruner) | yes: queues `batch` predicted-front samples per round |
//! | successive halving / Hyperband / median (pruners) | [`hyperband`] | – (pruners, any strategy) | first objective | – | **yes**: stop trials from intermediate reports | yes: asynchronous rungs |
//!
//! [`dedup::Dedup`] wraps any strategy so it does not propose a canonical key it proposed before;
//! [`enqueue::Enqueued`] makes any strategy start with given samples (warm start).
//!
//! A new strategy is one module plus one line in [`build`] and one line in the shared sanity suite
//! (`tests/sanity.rs`).

pub mod adaptive_evolution;
pub mod bananas;
pub mod dedup;
pub mod enqueue;
pub mod evolution;
pub mod gp_bo;
pub mod grid;
pub mod hyperband;
pub mod linas;
pub mod local;
pub mod mcts;
pub mod nsga2;
pub mod predictor;
pub mod random;
pub mod reinforce;
pub mod surrogate;
pub mod tpe;

use std::collections::BTreeMap;
use tessera_core::{Space, Strategy};

/// Options of a strategy from a study file's `[strategy]` table (everything but `kind`), as strings.
pub type Options = BTreeMap<String, String>;

/// The names [`build`] knows.
pub const KINDS: &[&str] = &[
    "random",
    "grid",
    "local",
    "evolution",
    "nsga2",
    "gp-bo",
    "tpe",
    "bananas",
    "reinforce",
    "mcts",
    "adaptive-evolution",
    "linas",
];

/// Builds a strategy by kind for `space` with `seed`. Option `dedup = true` wraps it in [`dedup::Dedup`].
pub fn build(
    kind: &str,
    options: &Options,
    space: &dyn Space,
    seed: u64,
) -> Result<Box<dyn Strategy>, String> {
    let mut o = options.clone();
    let dedup = take_bool(&mut o, "dedup", false)?;
    let s: Box<dyn Strategy> = match kind {
        "random" => {
            no_more(&o, kind)?;
            Box::new(random::Random::new(seed))
        }
        "grid" => {
            no_more(&o, kind)?;
            Box::new(grid::Grid::new(space)?)
        }
        "local" | "local-search" => {
            let first = take_bool(&mut o, "first_improvement", false)?;
            let warmup = take_usize(&mut o, "warmup", 0)?;
            let guided = take_f64(&mut o, "guided", 0.0)?;
            no_more(&o, kind)?;
            if !(0.0..=1.0).contains(&guided) {
                return Err(format!(
                    "strategy `local`: guided must be a probability in [0, 1], got {guided}"
                ));
            }
            Box::new(local::LocalSearch::new(seed, first).with_guide_options(warmup, guided))
        }
        "evolution" | "regularized-evolution" | "rea" => {
            let population = take_usize(&mut o, "population", 20)?;
            let sample = take_usize(&mut o, "sample", 5)?;
            let warmup = take_usize(&mut o, "warmup", 0)?;
            let guided = take_f64(&mut o, "guided", 0.0)?;
            no_more(&o, kind)?;
            if sample == 0 || sample > population {
                return Err(format!("strategy `evolution`: sample ({sample}) must be between 1 and population ({population})"));
            }
            if !(0.0..=1.0).contains(&guided) {
                return Err(format!(
                    "strategy `evolution`: guided ({guided}) is a probability in [0, 1]"
                ));
            }
            if warmup > 0 && warmup < population {
                return Err(format!("strategy `evolution`: warmup ({warmup}) must score at least population ({population}) samples"));
            }
            Box::new(
                evolution::Evolution::new(seed, population, sample)
                    .with_guide_options(warmup, guided),
            )
        }
        "nsga2" | "nsga-ii" => {
            let opts = nsga2::Nsga2Options::take(&mut o)?;
            no_more(&o, kind)?;
            Box::new(nsga2::Nsga2::new(seed, opts))
        }
        "gp-bo" | "gp" | "bo" => {
            let d = gp_bo::GpBoConfig::default();
            let acq = o.remove("acquisition").unwrap_or_else(|| "ei".into());
            let beta = take_f64(&mut o, "beta", 2.0)?;
            let acquisition = match acq.as_str() {
                "ei" => gp_bo::Acquisition::Ei,
                "ucb" => gp_bo::Acquisition::Ucb(beta),
                _ => {
                    return Err(format!(
                        "strategy `gp-bo`: option `acquisition` must be ei or ucb, got `{acq}`"
                    ))
                }
            };
            let cfg = gp_bo::GpBoConfig {
                init: take_usize(&mut o, "init", d.init)?,
                acquisition,
                encoding: o
                    .remove("encoding")
                    .map(|v| surrogate::Encoding::parse(&v))
                    .transpose()?
                    .unwrap_or(d.encoding),
                max_history: take_usize(&mut o, "max_history", d.max_history)?,
                starts: take_usize(&mut o, "starts", d.starts)?,
                random_starts: take_usize(&mut o, "random_starts", d.random_starts)?,
                max_evals: take_usize(&mut o, "max_evals", d.max_evals)?,
                refit_every: take_usize(&mut o, "refit_every", d.refit_every)?,
                polish_every: take_usize(&mut o, "polish_every", d.polish_every)?,
                noise: o
                    .contains_key("noise")
                    .then(|| take_f64(&mut o, "noise", 0.0))
                    .transpose()?,
            };
            no_more(&o, kind)?;
            Box::new(gp_bo::GpBo::new(seed, cfg))
        }
        "tpe" => {
            let d = tpe::TpeConfig::default();
            let cfg = tpe::TpeConfig {
                init: take_usize(&mut o, "init", d.init)?,
                candidates: take_usize(&mut o, "candidates", d.candidates)?,
                multivariate: take_bool(&mut o, "multivariate", d.multivariate)?,
                prior_weight: take_f64(&mut o, "prior_weight", d.prior_weight)?,
                gamma: take_f64(&mut o, "gamma", d.gamma)?,
                max_good: take_usize(&mut o, "max_good", d.max_good)?,
            };
            no_more(&o, kind)?;
            Box::new(tpe::Tpe::new(seed, cfg))
        }
        "bananas" => {
            let d = bananas::BananasConfig::default();
            let acq = o.remove("acquisition").unwrap_or_else(|| "its".into());
            let cfg = bananas::BananasConfig {
                init: take_usize(&mut o, "init", d.init)?,
                ensemble: take_usize(&mut o, "ensemble", d.ensemble)?,
                hidden: take_usize(&mut o, "hidden", d.hidden)?,
                steps: take_usize(&mut o, "steps", d.steps)?,
                first_steps: take_usize(&mut o, "first_steps", d.first_steps)?,
                batch: take_usize(&mut o, "batch", d.batch)?,
                lr: take_f64(&mut o, "lr", d.lr)?,
                acquisition: match acq.as_str() {
                    "its" => bananas::BananasAcquisition::Its,
                    "ei" => bananas::BananasAcquisition::Ei,
                    "mean" => bananas::BananasAcquisition::Mean,
                    _ => return Err(format!("strategy `bananas`: option `acquisition` must be its, ei or mean, got `{acq}`")),
                },
                encoding: o.remove("encoding").map(|v| surrogate::Encoding::parse(&v)).transpose()?.unwrap_or(d.encoding),
                starts: take_usize(&mut o, "starts", d.starts)?,
                random_starts: take_usize(&mut o, "random_starts", d.random_starts)?,
                max_evals: take_usize(&mut o, "max_evals", d.max_evals)?,
            };
            no_more(&o, kind)?;
            Box::new(bananas::Bananas::new(seed, cfg))
        }
        "reinforce" | "rl" => {
            let lr = take_f64(&mut o, "lr", 0.6)?;
            let decay = take_f64(&mut o, "baseline_decay", 0.9)?;
            let entropy = take_f64(&mut o, "entropy", 0.01)?;
            no_more(&o, kind)?;
            Box::new(reinforce::Reinforce::new(seed, lr, decay, entropy))
        }
        "mcts" | "uct" => {
            let c = take_f64(&mut o, "c", 0.1)?;
            let max_weight = take_f64(&mut o, "max_weight", 0.5)?;
            no_more(&o, kind)?;
            Box::new(mcts::Mcts::new(seed, c, max_weight))
        }
        "adaptive-evolution" | "hhnas-am" => {
            let population = take_usize(&mut o, "population", 20)?;
            let sample = take_usize(&mut o, "sample", 5)?;
            let epsilon = take_f64(&mut o, "epsilon", 0.1)?;
            let alpha = take_f64(&mut o, "alpha", 0.2)?;
            let gamma = take_f64(&mut o, "gamma", 0.5)?;
            no_more(&o, kind)?;
            if sample == 0 || sample > population {
                return Err(format!("strategy `adaptive-evolution`: sample ({sample}) must be between 1 and population ({population})"));
            }
            Box::new(adaptive_evolution::AdaptiveEvolution::new(
                seed, population, sample, epsilon, alpha, gamma,
            ))
        }
        "linas" => {
            let d = linas::LinasConfig::default();
            let cfg = linas::LinasConfig {
                init: take_usize(&mut o, "init", d.init)?,
                batch: take_usize(&mut o, "batch", d.batch)?,
                inner_evals: take_usize(&mut o, "inner_evals", d.inner_evals)?,
                inner_population: take_usize(&mut o, "inner_population", d.inner_population)?,
                ensemble: take_usize(&mut o, "ensemble", d.ensemble)?,
                hidden: take_usize(&mut o, "hidden", d.hidden)?,
                steps: take_usize(&mut o, "steps", d.steps)?,
            };
            no_more(&o, kind)?;
            Box::new(linas::Linas::new(seed, cfg))
        }
        _ => {
            return Err(format!(
                "unknown strategy `{kind}`; known strategies: {}",
                KINDS.join(", ")
            ))
        }
    };
    Ok(if dedup {
        Box::new(dedup::Dedup::new(s))
    } else {
        s
    })
}

fn take_bool(o: &mut Options, name: &str, default: bool) -> Result<bool, String> {
    match o.remove(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("option `{name}` must be true or false, got `{v}`")),
    }
}

fn take_usize(o: &mut Options, name: &str, default: usize) -> Result<usize, String> {
    match o.remove(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("option `{name}` must be a non-negative integer, got `{v}`")),
    }
}

fn no_more(o: &Options, kind: &str) -> Result<(), String> {
    match o.keys().next() {
        Some(k) => Err(format!("unknown option `{k}` for strategy `{kind}`")),
        None => Ok(()),
    }
}

fn take_f64(o: &mut Options, name: &str, default: f64) -> Result<f64, String> {
    match o.remove(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite())
            .ok_or_else(|| format!("option `{name}` must be a number, got `{v}`")),
    }
}
