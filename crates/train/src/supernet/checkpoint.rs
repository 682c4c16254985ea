//! Supernet checkpoints: after every epoch, the weights and the optimizer state (burn's burnpack files) and a small
//! JSON saying which epoch they end.
//!
//! Files in the checkpoint directory: `supernet-eK.bpk`, `optimizer-eK.bpk` and `checkpoint.json`. The JSON is
//! written last, to a temporary file renamed over the old one (atomic on POSIX), and the previous epoch's files are
//! deleted only after that; so a process killed at any moment leaves a JSON naming an epoch whose files are
//! complete. No RNG state is stored: every epoch draws its shuffle and its subnets from its own stream
//! `rng_for(seed, EPOCH_STREAM + epoch)`, so (seed, epoch) is the whole RNG state.

use super::Supernet;
use crate::error::TrainError;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Format version of `checkpoint.json`.
pub const VERSION: u32 = 1;

/// What `checkpoint.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub version: u32,
    /// The supernet's shape, the training configuration and the data (see `train::fingerprint`); a checkpoint is
    /// only resumed by the same run.
    pub fingerprint: String,
    /// Epochs completed (the files hold the state after this epoch).
    pub epoch: u32,
    pub epochs: u32,
    /// Optimizer steps so far (the learning-rate schedule's position).
    pub steps: u64,
    /// Training seconds so far (summed over resumed runs).
    pub seconds: f64,
    /// Mean training loss of each completed epoch.
    pub losses: Vec<f64>,
}

impl Meta {
    pub fn complete(&self) -> bool {
        self.epoch >= self.epochs
    }
}

/// A checkpoint directory.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub dir: PathBuf,
}

fn weights_err(path: &Path, msg: impl std::fmt::Display) -> TrainError {
    TrainError::Weights {
        path: path.to_path_buf(),
        msg: msg.to_string(),
    }
}

impl Checkpoint {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Checkpoint { dir: dir.into() }
    }
    pub fn meta_path(&self) -> PathBuf {
        self.dir.join("checkpoint.json")
    }
    pub fn weights_path(&self, epoch: u32) -> PathBuf {
        self.dir.join(format!("supernet-e{epoch}.bpk"))
    }
    fn optimizer_path(&self, epoch: u32) -> PathBuf {
        self.dir.join(format!("optimizer-e{epoch}.bpk"))
    }

    /// The last completed epoch's description, `None` when there is no checkpoint yet.
    pub fn read(&self) -> Result<Option<Meta>, TrainError> {
        let path = self.meta_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(weights_err(&path, e)),
        };
        let meta: Meta = serde_json::from_str(&text)
            .map_err(|e| weights_err(&path, format!("not a checkpoint: {e}")))?;
        if meta.version != VERSION {
            return Err(weights_err(
                &path,
                format!(
                    "checkpoint version {} (this Tessera reads {VERSION})",
                    meta.version
                ),
            ));
        }
        Ok(Some(meta))
    }

    /// Saves the state after `meta.epoch` and then drops the previous epoch's files.
    pub fn save(
        &self,
        net: &Supernet,
        optim: &ModuleOptimizer,
        meta: &Meta,
    ) -> Result<(), TrainError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| weights_err(&self.dir, e))?;
        let (w, o) = (
            self.weights_path(meta.epoch),
            self.optimizer_path(meta.epoch),
        );
        net.clone()
            .valid()
            .save_file(&w)
            .map_err(|e| weights_err(&w, e))?;
        optim.save(&o).map_err(|e| weights_err(&o, e))?;
        let path = self.meta_path();
        let tmp = self.dir.join("checkpoint.json.tmp");
        let text = serde_json::to_string_pretty(meta).map_err(|e| weights_err(&path, e))?;
        std::fs::write(&tmp, text).map_err(|e| weights_err(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| weights_err(&path, e))?;
        if meta.epoch > 0 {
            // best effort: a leftover file of an older epoch is never read
            let _ = std::fs::remove_file(self.weights_path(meta.epoch - 1));
            let _ = std::fs::remove_file(self.optimizer_path(meta.epoch - 1));
        }
        Ok(())
    }

    /// Loads the weights of `meta.epoch` into `fresh` (a supernet of the same shape).
    pub fn load_weights(&self, fresh: Supernet, meta: &Meta) -> Result<Supernet, TrainError> {
        let w = self.weights_path(meta.epoch);
        fresh.try_load_file(&w).map_err(|e| weights_err(&w, e))
    }

    /// Loads the optimizer state of `meta.epoch` into `fresh`.
    pub fn load_optimizer(
        &self,
        fresh: ModuleOptimizer,
        meta: &Meta,
    ) -> Result<ModuleOptimizer, TrainError> {
        let o = self.optimizer_path(meta.epoch);
        if !o.is_file() {
            return Err(weights_err(&o, "missing (the checkpoint is incomplete)"));
        }
        fresh.load(&o).map_err(|e| weights_err(&o, e))
    }
}
