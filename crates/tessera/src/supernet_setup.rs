//! `[evaluator] kind = "supernet"`: one weight-sharing supernet is trained once for the study (or loaded from its
//! complete checkpoint), then every sampled network is scored in milliseconds as a subnet with inherited weights
//! (`tessera_train::supernet`).
//!
//! ```toml
//! [space]
//! kind = "chain"               # a space with a supernet: chain (OFA-style elastic) or nb201 (SPOS cells)
//! height = 28
//! width = 28
//!
//! [evaluator]
//! kind = "supernet"
//! dataset = "csv:mnist_5k.csv.gz"  # the dataset options of kind = "train" (val, test, split_seed, normalize…)
//! rule = "sandwich"            # or "spos": one uniformly random subnet per step
//! epochs = 10
//! batch_size = 64
//! lr = 0.003                   # AdamW
//! weight_decay = 0.0
//! schedule = "cosine"          # or "constant"
//! seed = 0                     # weights, shuffles and sampled subnets (default: the study's seed)
//! checkpoint = "DIR"           # default: `supernet/` in the study's artifacts directory (beside the storage)
//! recalibrate_batches = 4      # batch-norm recalibration of each subnet on this many training batches…
//! recalibrate_batch_size = 64  # …of this size, before it is scored on the validation split
//! kernel_transform = true      # chain: OFA's learned kernel transform matrices (false: plain centre crop)
//! threads = 2                  # a dedicated thread pool for supernet training
//! ```
//!
//! Training runs while the study is set up, with a progress bar, and writes a checkpoint after every epoch; a
//! killed run resumes from the last checkpoint, and a complete checkpoint is only loaded (so workers and later runs
//! share the trained supernet). Metrics: `val_accuracy` (inherited), `params`, `flops` (of the stand-alone
//! network).

use crate::config::ConfigError;
use crate::train_setup::{dataset, fit_to_space, space_from, Opts, DATASET_OPTIONS};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tessera_core::Space;
use tessera_train::supernet::checkpoint::Checkpoint;
use tessera_train::{
    train_supernet, Control, Optimizer, Rule, Schedule, Scorer, SupernetConfig, SupernetEvaluator,
    SupernetSpace, TrainConfig,
};

/// Every option of `[evaluator] kind = "supernet"`.
pub const OPTIONS: &[&str] = crate::train_setup::with_dataset_options![
    "rule",
    "epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "schedule",
    "seed",
    "checkpoint",
    "recalibrate_batches",
    "recalibrate_batch_size",
    "kernel_transform",
    "threads",
];

/// The supernet evaluator and the space it scores.
pub struct SupernetSetup {
    pub space_kind: String,
    pub space_options: tessera_spaces::Options,
    pub space: Arc<dyn Space>,
    pub evaluator: Arc<SupernetEvaluator>,
    /// Where the checkpoint is.
    pub checkpoint: PathBuf,
    /// The epoch the training resumed after (`Some(epochs)`: the checkpoint was complete and only loaded).
    pub resumed_from: Option<u32>,
    /// Supernet training seconds (over all runs that trained it).
    pub train_seconds: f64,
}

impl SupernetSetup {
    /// Another instance of the space (the study loop holds its own).
    pub fn boxed_space(&self) -> Box<dyn Space> {
        tessera_spaces::build(&self.space_kind, &self.space_options).expect("built once already")
    }
}

/// The study the evaluator belongs to: where its default checkpoint goes.
pub struct StudyRef<'a> {
    pub name: &'a str,
    pub storage: &'a str,
    pub seed: u64,
}

/// Builds the supernet evaluator from `[evaluator]` (kind = "supernet") and `[space]`, training the supernet now
/// (or resuming / loading its checkpoint).
pub fn build(
    evaluator: &toml::Table,
    space: Option<&toml::Table>,
    base: &Path,
    file: &str,
    study: StudyRef<'_>,
) -> Result<SupernetSetup, ConfigError> {
    debug_assert!(DATASET_OPTIONS.iter().all(|k| OPTIONS.contains(k)));
    let field = |f: &str, msg: String| ConfigError::Field {
        file: file.to_string(),
        field: f.into(),
        msg,
    };
    let mut o = Opts::new(evaluator, file, "evaluator", OPTIONS);
    let (space_kind, space_options, space) = space_from(space, file, "kind = \"supernet\"")?;
    let kernel_transform = o.bool("kernel_transform")?.unwrap_or(true);
    let ss =
        SupernetSpace::from_kind(&space_kind, &space_options, kernel_transform).map_err(|e| {
            field(
                "space.kind",
                format!("{e} (evaluator.kind = \"supernet\" needs one)"),
            )
        })?;
    if !matches!(ss, SupernetSpace::Chain { .. }) && evaluator.contains_key("kernel_transform") {
        return Err(o.err("kernel_transform", "only for space kind = \"chain\""));
    }
    let rule = match o.string("rule")? {
        None => Rule::Sandwich,
        Some(r) => Rule::parse(&r).map_err(|e| o.err("rule", e))?,
    };
    let def = TrainConfig::default();
    let schedule = match o.string("schedule")?.as_deref() {
        None | Some("cosine") => Schedule::Cosine {
            warmup_epochs: 0.0,
            min_factor: 0.0,
        },
        Some("constant") => Schedule::Constant,
        Some(s) => {
            return Err(o.err(
                "schedule",
                format!("unknown schedule `{s}`; one of cosine, constant"),
            ))
        }
    };
    let train = TrainConfig {
        epochs: o
            .int("epochs", 1)?
            .map_or(def.epochs, |v| v.min(u32::MAX as u64) as u32),
        batch_size: o
            .int("batch_size", 2)?
            .map_or(def.batch_size, |v| v as usize),
        optimizer: Optimizer::ADAMW,
        lr: o.ranged("lr", 0.0, true, None)?.unwrap_or(3e-3),
        weight_decay: o.ranged("weight_decay", 0.0, false, None)?.unwrap_or(0.0),
        schedule,
        seed: o.int("seed", 0)?.unwrap_or(study.seed),
        threads: o.int("threads", 1)?.map(|t| t as usize),
        ..def
    };
    train
        .validate()
        .map_err(|e| field("evaluator", e.to_string()))?;
    let recal_batches = o.int("recalibrate_batches", 1)?.map_or(4, |v| v as usize);
    let recal_size = o
        .int("recalibrate_batch_size", 2)?
        .map_or(64, |v| v as usize);
    let checkpoint = match o.string("checkpoint")? {
        Some(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
        Some(d) => base.join(d),
        None => crate::artifacts_dir(study.storage, study.name).map(|d| d.join("supernet")).ok_or_else(|| {
            o.err("checkpoint", "missing: the storage has no directory beside it (PostgreSQL); give checkpoint = \"DIR\"")
        })?,
    };
    let (data, split, spec) = dataset(&mut o, base)?;
    o.finish(&spec)?;
    let data = fit_to_space(data, space.as_ref(), &space_kind, file)?;
    let cfg = SupernetConfig { rule, train };
    let scorer = Scorer::new(
        &split,
        &split.val,
        recal_batches,
        recal_size,
        cfg.train.seed,
    )
    .map_err(|e| field("evaluator.recalibrate_batches", e.to_string()))?;

    let ck = Checkpoint::new(&checkpoint);
    let bar = indicatif::ProgressBar::new(cfg.train.epochs as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "supernet {msg} [{bar:30}] epoch {pos}/{len} {elapsed_precise}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(format!("{} ({})", space_kind, rule.name()));
    let trained = {
        let bar = bar.clone();
        train_supernet(&ss, &data, &split, &cfg, Some(&ck), &mut move |e| {
            bar.set_position(e.epoch as u64);
            bar.set_message(format!("loss {:.3}", e.train_loss));
            Control::Continue
        })
    };
    bar.finish_and_clear();
    let trained = trained.map_err(|e| field("evaluator", format!("supernet training: {e}")))?;
    let evaluator = SupernetEvaluator::new(trained.net, Arc::new(data), scorer);
    Ok(SupernetSetup {
        space_kind,
        space_options,
        space,
        evaluator: Arc::new(evaluator),
        checkpoint,
        resumed_from: trained.resumed_from,
        train_seconds: trained.meta.seconds,
    })
}
