//! # tessera-train
//!
//! Real training for Tessera on [burn](https://burn.dev) 0.22 with its pure-Rust CPU backend `flex` (SIMD + rayon).
//! Any `tessera_core::Network` becomes a burn module, trains on real data, and is measured on this machine.
//!
//! How the parts connect:
//!
//! ```text
//! Space::lower ─► Network ─► model::Model (burn Module running the DAG)
//!                               │
//! data::Dataset + Split ──► train::train(net, data, split, TrainConfig, on_epoch) ─► TrainReport
//!                               │                                                     │
//!                               └──► latency::measure_latency(model) ─► Latency ◄─────┘
//! evaluator::TrainEvaluator = lower + train + latency, as a tessera_core::Evaluator
//! ```
//!
//! * [`data`]: datasets in memory and one reader per format (CSV/CSV.gz, bundled digits, IDX, Planetoid pickles,
//!   MNIST-1D pickle and generator), stratified splits, normalisation. Typed errors name the file and position.
//! * [`model`]: the lowering. Every IR op is supported, including graph layers (gather + scatter-add message
//!   passing) and attention.
//! * [`train`]: SGD (momentum, Nesterov), Adam, AdamW; constant, cosine (with warm-up) and step schedules; weight
//!   decay, label smoothing, global-norm gradient clipping, annealed gradient noise, early stopping on validation
//!   accuracy; per-epoch callback that may stop the run; NaN/inf loss → [`TrainError::Diverged`]. Deterministic
//!   for a seed on the CPU.
//! * [`sparse`]: mostly-zero node features (bag-of-words graphs) kept as their non-zeros, so the first layers'
//!   products cost `nnz·out` instead of `N·F·out`.
//! * [`latency`]: warm-up, repeated runs, median and spread, with batch size and threads.
//! * [`latency_table`]: latency predicted on this machine: a cached per-layer lookup table with a fitted
//!   overhead ([`LatencyTable::predict`]) and a ridge-regression [`Predictor`] on network features.
//! * [`evaluator`]: [`TrainEvaluator`], lowering + training + latency as a `tessera_core::Evaluator`; with
//!   [`TrainEvaluator::with_artifacts`] it keeps each trial's trained weights (`trial-N.bpk` + `trial-N.json`).
//! * [`supernet`]: weight-sharing supernets (NB201 SPOS cells, OFA-style elastic chain) trained once by the SPOS or
//!   BigNAS sandwich rule, checkpointed per epoch; [`SupernetEvaluator`] scores subnets with inherited weights.
//! * [`onnx`]: [`export_onnx`] writes any lowered model as an ONNX file (opset 17, dynamic batch), from the IR;
//!   [`Model::save`] / [`Model::load`] keep weights in burn's own burnpack format.
//!
//! Accuracies are percentages (0–100), like the tabular benchmarks' numbers.
//!
//! Backends: only `flex` is built and tested. burn's `Device` API would let the same code target `wgpu`, `cuda`
//! or burn's `cpu` (CubeCL) backend, but the latter two cannot build offline (their build scripts download LLVM)
//! and none is enabled here.

pub mod data;
pub mod depthwise;
pub mod error;
pub mod evaluator;
pub mod latency;
pub mod latency_table;
pub mod model;
pub mod onnx;
pub mod proxy;
pub mod sparse;
pub mod supernet;
pub mod train;

pub use data::{Dataset, Graph, Normalization, Split};
pub use error::{DataError, TrainError};
pub use evaluator::{
    trial_meta_path, trial_weights_path, EpochHook, TrainEvaluator, TrialArtifact, LOCAL_LATENCY,
};
pub use latency::{measure_latency, Latency, LatencyConfig};
pub use latency_table::{LatencyTable, Predictor};
pub use model::Model;
pub use onnx::{export_onnx, ExportError};
pub use proxy::evaluator::{Combine, ProxyEvaluator};
pub use proxy::guide::ProxyGuide;
pub use proxy::{Proxy, ProxyBatch};
pub use supernet::evaluator::SupernetEvaluator;
pub use supernet::score::Scorer;
pub use supernet::train::{train_supernet, Rule, SupernetConfig, SupernetEpoch, TrainedSupernet};
pub use supernet::{Supernet, SupernetSpace};
pub use train::{
    keep_freed_memory, train, Control, EarlyStopping, EpochReport, Optimizer, Schedule, StopReason,
    TrainConfig, TrainReport,
};

/// The burn version this crate is built and tested against.
pub use burn;
