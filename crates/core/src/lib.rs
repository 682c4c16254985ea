//! # tessera-core
//!
//! The vocabulary of Tessera and the loop that ties it together. Nothing here depends on a deep-learning framework,
//! a database or a benchmark file, so this crate builds in seconds and every other crate builds on it.
//!
//! How the types connect (see `shared/DESIGN.md` §1–2):
//!
//! ```text
//! Study ──ask──► Strategy ──► Sample ──► Space::lower ──► Network ──► profile ──► constraints ok?
//!   ▲                                                                            │ no: stored `infeasible`
//!   └──tell── Storage ◄── Trial(state, metrics, profile, timings) ◄── Evaluator ◄┘ yes
//! ```
//!
//! * [`Space`]: what a network may be. A point is a [`Sample`] (a vector of discrete choices). Three required
//!   methods (`name`, `dims`, `lower`); sampling, mutation, neighbours, encoding and canonical keys have defaults.
//! * [`Network`]: the universal IR every space lowers to: a typed DAG of layers with shape inference, parameter and
//!   FLOP counts.
//! * [`Strategy`]: proposes samples (`ask`) and learns from results (`tell`). It never evaluates. Deterministic for a
//!   seed and a told history, which is what makes resume exact.
//! * [`Evaluator`]: scores a sample (training, benchmark lookup, proxy…), returning [`Metrics`] and a simulated cost.
//! * [`Storage`]: remembers studies and trials ([`MemoryStorage`] here; SQLite/PostgreSQL in `tessera-store`).
//! * [`Study`]: the run loop with a [`Budget`], objectives and hard constraints.
//! * [`worker`]: many workers (threads, processes, machines) on one study through a storage that leases trials;
//!   every worker replays the study's event log ([`Event`]) so all share one strategy trajectory.

pub mod cache;
pub mod error;
pub mod evaluator;
pub mod guide;
pub mod metrics;
pub mod network;
pub mod pareto;
pub mod pruner;
pub mod rng;
pub mod sample;
pub mod space;
pub mod stats;
pub mod storage;
pub mod strategy;
pub mod study;
pub mod worker;

pub use cache::cache_dir;
pub use error::{CoreError, EvalError};
pub use evaluator::{EvalContext, Evaluation, Evaluator};
pub use guide::Guide;
pub use metrics::{intern, Constraint, Direction, MetricHint, Metrics, Objective};
pub use network::{Activation, GnnKind, Network, NetworkError, Node, Op, PoolKind, Shape};
pub use pruner::{NoPruning, Pruner};
pub use rng::{below, rng_for, Rng};
pub use sample::Sample;
pub use space::{Dim, Space};
pub use storage::{
    AskFn, Event, EventKind, Lease, MemoryStorage, NewEvents, Next, SharedMemoryStorage, Storage,
    StoreError, StudyInfo, Trial, TrialState,
};
pub use strategy::{Foresight, NoForesight, Strategy, Told};
pub use study::{Budget, RunSummary, Study, StudyObserver};
