//! `[evaluator] kind = "proxy"`: every sampled network is scored by zero-cost proxies at initialisation
//! (`tessera_train::proxy`), in milliseconds instead of a training run.
//!
//! ```toml
//! [space]
//! kind = "nb201"               # required: the networks to score; input and classes must fit the dataset
//! C = 8
//! N = 1
//! input = "1x28x28"
//!
//! [evaluator]
//! kind = "proxy"
//! proxy = "synflow"            # or a list: ["synflow", "jacob_cov", "naswot"] (with combine)
//! combine = "rank-vote"        # several proxies: the `proxy` metric is their mean percentile among
//! reference = 100              # this many random samples of the space, scored once at the start
//!                              # (combine = "none": each proxy is a metric of its own, no `proxy` metric)
//! batch_size = 64              # examples per proxy batch, drawn once from the training split
//! seed = 0                     # weights and batch draw (default: the study's seed)
//! dataset = "csv:mnist_5k.csv.gz"  # needed by data-dependent proxies; the dataset options of kind = "train"
//! ```
//!
//! Proxies: synflow, grad_norm, snip, grasp, fisher, jacob_cov, naswot, zen, params, flops. `synflow`, `zen`,
//! `params` and `flops` are data-free: without `dataset` they score networks from their shapes alone. Metrics:
//! each proxy under its name, `proxy` (the value to optimise, higher is better), `params`, `flops`.

use crate::config::ConfigError;
use crate::train_setup::{dataset, fit_to_space, space_from, Opts, DATASET_OPTIONS};
use std::path::Path;
use std::sync::Arc;
use tessera_core::Space;
use tessera_train::{Combine, Proxy, ProxyBatch, ProxyEvaluator};

/// Every option of `[evaluator] kind = "proxy"`.
pub const OPTIONS: &[&str] = crate::train_setup::with_dataset_options![
    "proxy",
    "combine",
    "reference",
    "batch_size",
    "seed",
];

/// The proxy evaluator and the space it scores.
pub struct ProxySetup {
    pub space_kind: String,
    pub space_options: tessera_spaces::Options,
    pub space: Arc<dyn Space>,
    pub evaluator: Arc<ProxyEvaluator>,
}

impl ProxySetup {
    /// Another instance of the space (the study loop holds its own).
    pub fn boxed_space(&self) -> Box<dyn Space> {
        tessera_spaces::build(&self.space_kind, &self.space_options).expect("built once already")
    }
}

/// Builds the proxy evaluator from `[evaluator]` (kind = "proxy") and `[space]`; `study_seed` is the default seed.
pub fn build(
    evaluator: &toml::Table,
    space: Option<&toml::Table>,
    base: &Path,
    file: &str,
    study_seed: u64,
) -> Result<ProxySetup, ConfigError> {
    debug_assert!(DATASET_OPTIONS.iter().all(|k| OPTIONS.contains(k)));
    let mut o = Opts::new(evaluator, file, "evaluator", OPTIONS);
    let (space_kind, space_options, space) = space_from(space, file, "kind = \"proxy\"")?;
    let proxies = match o.get("proxy") {
        None => return Err(o.err("proxy", format!("missing; one or a list of {}", names()))),
        Some(toml::Value::String(s)) => Proxy::parse_list(s).map_err(|e| o.err("proxy", e))?,
        Some(toml::Value::Array(a)) => {
            let mut list = Vec::new();
            for v in a {
                match v {
                    toml::Value::String(s) => list.push(s.clone()),
                    other => {
                        return Err(o.err(
                            "proxy",
                            format!("list items must be proxy names, got `{other}`"),
                        ))
                    }
                }
            }
            Proxy::parse_list(&list.join(",")).map_err(|e| o.err("proxy", e))?
        }
        Some(v) => {
            return Err(o.err(
                "proxy",
                format!("must be a name or a list of names, got `{v}`"),
            ))
        }
    };
    let reference = o.int("reference", 2)?;
    let combine = match o.string("combine")?.as_deref() {
        None | Some("none") if reference.is_some() => {
            return Err(o.err("reference", "only with combine = \"rank-vote\""))
        }
        None | Some("none") => Combine::None,
        Some("rank-vote") => Combine::RankVote {
            reference: reference.map_or(100, |r| r as usize),
        },
        Some(s) => return Err(o.err("combine", format!("unknown `{s}`; one of none, rank-vote"))),
    };
    let batch_size = o.int("batch_size", 2)?.map_or(64, |b| b as usize);
    let seed = o.int("seed", 0)?.unwrap_or(study_seed);
    let batch = batch(
        &mut o,
        &proxies,
        space.as_ref(),
        &space_kind,
        base,
        file,
        batch_size,
        seed,
    )?;
    let ev = ProxyEvaluator::new(space.clone(), proxies, batch, seed, combine, &mut |_, _| {})
        .map_err(|e| o.err("combine", e))?;
    Ok(ProxySetup {
        space_kind,
        space_options,
        space,
        evaluator: Arc::new(ev),
    })
}

/// The batch the proxies score on: drawn from the dataset options of `o` when given (fitted to `space`), else
/// data-free from the space's input shape, which only data-free proxies accept. Finishes `o` (unknown options).
#[allow(clippy::too_many_arguments)]
fn batch(
    o: &mut Opts,
    proxies: &[Proxy],
    space: &dyn Space,
    space_kind: &str,
    base: &Path,
    file: &str,
    batch_size: usize,
    seed: u64,
) -> Result<ProxyBatch, ConfigError> {
    if o.get("dataset").is_some() {
        let (data, split, spec) = dataset(o, base)?;
        o.finish(&spec)?;
        let data = fit_to_space(data, space, space_kind, file)?;
        return ProxyBatch::draw(&data, &split.train, batch_size, seed)
            .map_err(|e| o.err("batch_size", e.to_string()));
    }
    let which: Vec<&str> = proxies
        .iter()
        .filter(|p| p.needs_data())
        .map(|p| p.name())
        .collect();
    if !which.is_empty() {
        return Err(o.err(
            "dataset",
            format!(
                "missing: {} need(s) examples; one of {}",
                which.join(", "),
                crate::train_setup::DATASETS
            ),
        ));
    }
    o.finish("(none)")?;
    let (_, shape, classes) = crate::train_setup::io_of(space)
        .map_err(|e| o.err("proxy", format!("`{space_kind}` {e}")))?;
    Ok(ProxyBatch::data_free(&shape, classes, batch_size))
}

/// Every option of `[guide]`: the proxy options of one proxy (no combination).
pub const GUIDE_OPTIONS: &[&str] =
    crate::train_setup::with_dataset_options!["proxy", "batch_size", "seed"];

/// `[guide]`: one zero-cost proxy offered to the study's strategy as its guide (evolution's `warmup` and `guided`
/// options), its cost added to the simulated seconds of the trials it was computed for.
///
/// ```toml
/// [guide]
/// proxy = "synflow"      # one proxy; data proxies take the dataset options of kind = "train"
/// batch_size = 64        # seed = … (default: the study's seed)
/// ```
///
/// `space` is the space the proxy lowers samples in: the study's `[space]` for trainable spaces, or the benchmark's
/// space with its default options (the benchmark's own network: NB201 at C=16, N=5 on 3×32×32).
pub fn guide(
    table: &toml::Table,
    space: &toml::Table,
    base: &Path,
    file: &str,
    study_seed: u64,
) -> Result<tessera_train::ProxyGuide, ConfigError> {
    debug_assert!(DATASET_OPTIONS.iter().all(|k| GUIDE_OPTIONS.contains(k)));
    let mut o = Opts::new(table, file, "guide", GUIDE_OPTIONS);
    let (space_kind, _, space) = space_from(Some(space), file, "[guide]")?;
    let proxy = match o.string("proxy")? {
        None => return Err(o.err("proxy", format!("missing; one of {}", names()))),
        Some(p) => Proxy::parse(&p).map_err(|e| o.err("proxy", e))?,
    };
    let batch_size = o.int("batch_size", 2)?.map_or(64, |b| b as usize);
    let seed = o.int("seed", 0)?.unwrap_or(study_seed);
    let batch = batch(
        &mut o,
        &[proxy],
        space.as_ref(),
        &space_kind,
        base,
        file,
        batch_size,
        seed,
    )?;
    Ok(tessera_train::ProxyGuide::new(space, proxy, batch, seed))
}

fn names() -> String {
    Proxy::ALL.map(|p| p.name()).join(", ")
}

/// `key=value` options from a command line as a TOML table, the study file's syntax: a value that reads as a TOML
/// value (number, boolean, array) keeps its type, anything else is a string.
pub fn options_table(pairs: &[String], what: &str) -> Result<toml::Table, String> {
    let mut t = toml::Table::new();
    for p in pairs {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| format!("{what} `{p}`: expected NAME=VALUE"))?;
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            return Err(format!("{what} `{p}`: empty name"));
        }
        let value = format!("v = {v}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut x| x.remove("v"))
            .unwrap_or_else(|| toml::Value::String(v.to_string()));
        if t.insert(k.to_string(), value).is_some() {
            return Err(format!("{what} `{k}` given twice"));
        }
    }
    Ok(t)
}

/// One architecture per non-empty line of `text` (`#` starts a comment line), in the space's text form as
/// `tessera trials` prints it, or its choice array. Errors name `source` and the line.
pub fn parse_archs(
    space: &dyn Space,
    text: &str,
    source: &str,
) -> Result<Vec<(String, tessera_core::Sample)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let s = space
            .parse(l)
            .map_err(|e| format!("{source}: line {}: {e}", i + 1))?;
        out.push((l.to_string(), s));
    }
    if out.is_empty() {
        return Err(format!("{source}: no architecture (one per line)"));
    }
    Ok(out)
}
