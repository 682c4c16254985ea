//! # tessera
//!
//! Tessera as a library: what the `tessera` command does, callable from Rust.
//!
//! * [`artifacts`]: where a study keeps its trials' trained weights ([`artifacts_dir`]), for `tessera export`.
//! * [`config`]: a study file (TOML) → a ready [`config::Setup`] (space, evaluator, strategy factory, objectives,
//!   constraints, budget, storage), with errors that name the file and the field.
//! * [`train_setup`]: `[evaluator] kind = "train"`: a dataset, a split, training and latency options → a
//!   `tessera_train::TrainEvaluator` that really trains every sampled network.
//! * [`proxy_setup`]: `[evaluator] kind = "proxy"`: zero-cost proxies (one, or several by rank vote) → a
//!   `tessera_train::ProxyEvaluator` that scores every sampled network at initialisation.
//! * [`predictor_setup`]: `[evaluator] kind = "predictor"`: a model (MLP ensemble, GP, gradient-boosted trees)
//!   fitted on a benchmark's or a study's (architecture, metric) pairs predicts every sampled architecture's metric;
//!   its validation error is in [`Setup::predictor`].
//! * [`supernet_setup`]: `[evaluator] kind = "supernet"`: a weight-sharing supernet (chain or NB201) trained once
//!   (checkpointed beside the study, resumed after a kill) scores every sampled network with inherited weights.
//! * [`rank`]: a study's best trials by one objective ([`rank::best_trials`]).
//! * [`lock`]: one serial `tessera search` per study at a time (a lock in the storage, stale once its process died).
//! * [`protocol`]: the evaluation protocol of the NAS benchmark papers: many seeds of many strategies on a
//!   tabular benchmark, in parallel, with mean ± std, relative improvement over random sampling and anytime curves.
//!
//! The crates underneath: `tessera-core` (traits and the study loop), `tessera-spaces`, `tessera-strategies`,
//! `tessera-bench` (benchmark files as evaluators), `tessera-train` (real training), `tessera-store` (SQLite,
//! PostgreSQL).

pub mod artifacts;
pub mod config;
pub mod evaluators;
pub mod lock;
pub mod predictor_setup;
pub mod protocol;
pub mod proxy_setup;
pub mod rank;
pub mod supernet_setup;
pub mod train_setup;

#[cfg(test)]
mod fuzz_tests;

pub use artifacts::artifacts_dir;
pub use config::{ConfigError, Setup, StudyFile};
