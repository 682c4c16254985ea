//! Typed errors of this crate. Data errors name the file and the position in it; training errors name the epoch.

use std::path::PathBuf;
use tessera_core::{EvalError, NetworkError};
use thiserror::Error;

/// Why a dataset could not be read or used. Every variant names its source (a path, or a name such as
/// `digits (bundled)`) so the CLI can print one readable line.
#[derive(Debug, Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Corrupt or unexpected content. `position` is e.g. `line 12, column 3` or `byte 4096`.
    #[error("{path}: {position}: {msg}")]
    Format {
        path: PathBuf,
        position: String,
        msg: String,
    },
    /// The content is well-formed but cannot be used as asked (shape mismatch, bad split fractions…).
    #[error("{what}: {msg}")]
    Invalid { what: String, msg: String },
}

impl DataError {
    pub(crate) fn format(
        path: impl Into<PathBuf>,
        position: impl Into<String>,
        msg: impl Into<String>,
    ) -> Self {
        DataError::Format {
            path: path.into(),
            position: position.into(),
            msg: msg.into(),
        }
    }
    pub(crate) fn invalid(what: impl Into<String>, msg: impl Into<String>) -> Self {
        DataError::Invalid {
            what: what.into(),
            msg: msg.into(),
        }
    }
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Why lowering, training or measuring a network failed.
#[derive(Debug, Error)]
pub enum TrainError {
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The network cannot run on this data (input shape, class count, graph layers without a graph…).
    #[error("network and data do not fit: {0}")]
    Incompatible(String),
    /// The loss became NaN, infinite, or exploded past `TrainConfig::max_loss`.
    #[error("training diverged at epoch {epoch} (step {step}): loss is {loss}")]
    Diverged { epoch: u32, step: u64, loss: f64 },
    #[error(transparent)]
    Data(#[from] DataError),
    /// An invalid training configuration (zero batch size, negative learning rate…).
    #[error("invalid training configuration: {0}")]
    Config(String),
    /// Saving or loading weights failed (I/O, or a file that does not match the network).
    #[error("weights {path}: {msg}")]
    Weights { path: PathBuf, msg: String },
    /// A zero-cost proxy came out NaN or infinite for this network (e.g. `jacob_cov` of a cell whose output does not
    /// depend on its input).
    #[error("proxy {proxy} is {value} for this network, not a finite score")]
    NonFinite { proxy: &'static str, value: f64 },
    /// The backend panicked (a bug in this crate or in burn); caught so that a study goes on.
    #[error("backend failure: {0}")]
    Backend(String),
}

impl From<TrainError> for EvalError {
    fn from(e: TrainError) -> Self {
        match e {
            TrainError::Diverged { epoch, loss, .. } => EvalError::Diverged { epoch, loss },
            other => EvalError::Other(other.to_string()),
        }
    }
}
