//! `tessera export STUDY --trial N`: a trained trial's network as ONNX (or its weights in burn's format).
//!
//! The weights come from the study's artifacts directory (`tessera::artifacts::artifacts_dir`), written by the
//! `train` evaluator; the network from the trial's sidecar there, or else by rebuilding the study's space from the
//! study file stored with it and lowering the trial's sample.

use crate::output::{bad, default_storage, failed, outln, store, Exit};
use std::path::{Path, PathBuf};
use tessera::artifacts::artifacts_dir;
use tessera::config::{open_storage_read_only, setup_from_storage};
use tessera_core::{Network, TrialState};
use tessera_train::burn::tensor::Device;
use tessera_train::onnx::{export_onnx, ExportError};
use tessera_train::{trial_meta_path, trial_weights_path, Model, TrialArtifact};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// ONNX (opset 17, dynamic batch dimension)
    Onnx,
    /// burn's own weight file (burnpack), as saved by the trial
    Burn,
}

#[derive(clap::Args)]
pub struct Args {
    /// The study's name
    pub study: String,
    /// The trial number (as shown by `tessera trials` / `tessera best`)
    #[arg(long)]
    pub trial: u64,
    #[arg(long, value_enum, default_value_t = Format::Onnx)]
    pub format: Format,
    /// Output file (default: STUDY-trial-N.onnx or .bpk)
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// The storage: a SQLite file or a postgres:// URL; default $TESSERA_STORAGE or tessera.db
    #[arg(long)]
    pub storage: Option<String>,
}

pub fn exec(a: Args) -> Result<(), Exit> {
    let url = a.storage.unwrap_or_else(default_storage);
    let s = open_storage_read_only(&url).map_err(store)?;
    let info = s.find_study(&a.study).map_err(store)?;
    let (study, n) = (&a.study, a.trial);
    let trials = s.trials(info.id).map_err(store)?;
    let trial = trials.iter().find(|t| t.number == n).ok_or_else(|| {
        bad(format!(
            "study `{study}` has no trial #{n} ({} trials, numbered from 0)",
            trials.len()
        ))
    })?;
    if trial.state != TrialState::Complete {
        return Err(bad(format!(
            "trial #{n} of study `{study}` is {}, not complete; only complete trials can be exported",
            trial.state.as_str()
        )));
    }
    let kind = tessera_report::front::StudySpec::evaluator_kind_of(&info).unwrap_or_default();
    if kind != "train" {
        return Err(bad(format!(
            "study `{study}` was evaluated by `{}`, which trains nothing: only trained studies ([evaluator] kind = \"train\") have weights to export",
            if kind.is_empty() { "an unknown evaluator" } else { kind.as_str() }
        )));
    }
    let dir = artifacts_dir(&url, study).ok_or_else(|| {
        bad(format!("storage {url} keeps no trial weights: set TESSERA_ARTIFACTS to the directory the study's workers saved them in"))
    })?;
    let weights = trial_weights_path(&dir, n);
    if !weights.is_file() {
        // Studies with names outside [A-Za-z0-9._-] had a flattened directory before names were escaped.
        if let Some(old) = tessera::artifacts::legacy_artifacts_dir(&url, study)
            .filter(|d| trial_weights_path(d, n).is_file())
        {
            return Err(bad(format!(
                "no weights saved for trial #{n} of study `{study}` in {}: an older Tessera kept them in {}, a directory shared with other studies whose names flatten alike; if they are this study's, move that directory to {}",
                dir.display(),
                old.display(),
                dir.display()
            )));
        }
        return Err(bad(format!(
            "no weights saved for trial #{n} of study `{study}`: {} does not exist (was the study run with another artifacts directory, or before weights were kept?)",
            weights.display()
        )));
    }
    let output = a.output.unwrap_or_else(|| {
        PathBuf::from(format!(
            "{}-trial-{n}.{}",
            tessera::artifacts::safe_name(study),
            if a.format == Format::Onnx {
                "onnx"
            } else {
                "bpk"
            }
        ))
    });
    if a.format == Format::Burn {
        std::fs::copy(&weights, &output)
            .map_err(|e| failed(format!("{}: {e}", output.display())))?;
        outln!(
            "wrote {} (burnpack weights of trial #{n} of study `{study}`)",
            output.display()
        );
        return Ok(());
    }
    let (net, described) = network(s.as_ref(), study, trial, &dir)?;
    let model = Model::load(&net, &weights, &Device::flex())
        .map_err(|e| bad(format!("trial #{n}: {e}")))?;
    export_onnx(&model, &output).map_err(|e| match e {
        ExportError::Io { .. } => failed(e),
        other => bad(format!("trial #{n} of study `{study}`: {other}")),
    })?;
    let inputs = if model.needs_graph() {
        format!(
            "x [nodes, {}] + edge_index [2, edges] (int64)",
            dims(model.input_shape())
        )
    } else {
        format!("input [batch, {}]", dims(model.input_shape()))
    };
    outln!(
        "wrote {} (trial #{n} of study `{study}`: {described}; {inputs} -> logits [.., {}])",
        output.display(),
        model.classes()
    );
    Ok(())
}

fn dims(d: &[usize]) -> String {
    d.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The trial's network: from its sidecar, else by lowering its sample with the study's space.
fn network(
    s: &dyn tessera_core::Storage,
    study: &str,
    trial: &tessera_core::Trial,
    dir: &Path,
) -> Result<(Network, String), Exit> {
    let n = trial.number;
    if trial_meta_path(dir, n).is_file() {
        let a = TrialArtifact::read(dir, n).map_err(bad)?;
        if a.sample != trial.sample {
            return Err(bad(format!(
                "{} belongs to another run: its sample {} is not trial #{n}'s {} (was study `{study}` recreated?)",
                trial_meta_path(dir, n).display(),
                a.sample,
                trial.sample
            )));
        }
        return Ok((a.network, format!("{} `{}`", a.space, a.description)));
    }
    let (setup, _) = setup_from_storage(s, study)
        .map_err(|e| bad(format!("rebuilding study `{study}`'s space: {e}")))?;
    let net = setup
        .space
        .lower(&trial.sample)
        .map_err(|e| bad(format!("lowering trial #{n}: {e}")))?;
    Ok((
        net,
        format!("{} `{}`", setup.space.name(), trial.description),
    ))
}
