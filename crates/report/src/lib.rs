//! # tessera-report
//!
//! What a study found, for people: the Pareto front and its hypervolume ([`front`]), SVG plots ([`plot`]) and one
//! self-contained HTML report ([`html`]) holding them inline with the trial table.
//!
//! ```text
//! Storage ──trials──► front::pareto (exact non-dominated set, exact hypervolume) ──► `tessera pareto`
//!                 └─► html::render ──► plot::* (plotters, SVG strings) ──► one .html file ──► `tessera report`
//! ```
//!
//! Everything works on stored [`Trial`](tessera_core::Trial)s and the study's configuration, so a report can be
//! made of any study in any storage, running or finished.

pub mod front;
pub mod html;
pub mod plot;

pub use front::{pareto, ParetoSummary, StudySpec};
pub use html::{render, ReportOptions};

use thiserror::Error;

/// Why a report or front could not be made.
#[derive(Debug, Error)]
pub enum ReportError {
    /// The study's stored configuration lacks what is needed (objectives).
    #[error("study `{study}`: {msg}")]
    Config { study: String, msg: String },
    /// A bad `--ref` point.
    #[error("reference point: {0}")]
    Reference(String),
    /// Drawing a plot failed.
    #[error("plot `{plot}`: {msg}")]
    Plot { plot: String, msg: String },
}
