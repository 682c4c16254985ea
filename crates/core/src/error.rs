//! Typed errors of the core. Each says what went wrong and where (which trial, which field).

use crate::network::NetworkError;
use crate::storage::StoreError;
use thiserror::Error;

/// Why an evaluation did not produce metrics. The study records the trial as `failed` with this message and goes on.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EvalError {
    #[error("sample {sample} is not in benchmark {benchmark}")]
    NotInBenchmark { benchmark: String, sample: String },
    #[error("training diverged at epoch {epoch}: loss is {loss}")]
    Diverged { epoch: u32, loss: f64 },
    #[error("{0}")]
    Other(String),
}

/// Errors of the study loop.
#[derive(Debug, Error)]
pub enum CoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("lowering trial {trial} ({sample}): {source}")]
    Lower {
        trial: u64,
        sample: String,
        source: NetworkError,
    },
    #[error("strategy `{strategy}` proposed an invalid sample {sample} for space `{space}` (trial {trial})")]
    InvalidSample {
        strategy: String,
        space: String,
        sample: String,
        trial: u64,
    },
    #[error(
        "study `{study}` cannot be resumed: trial {trial} is stored as {stored} but the strategy now proposes \
         {proposed}; the space, strategy or seed changed since the study was created. Use a new study name."
    )]
    Diverged {
        study: String,
        trial: u64,
        stored: String,
        proposed: String,
    },
    #[error("unknown metric `{metric}` in {field}; the evaluator provides: {known}")]
    UnknownMetric {
        metric: String,
        field: String,
        known: String,
    },
    #[error("{0}")]
    Invalid(String),
}
