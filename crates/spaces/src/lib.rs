//! # tessera-spaces
//!
//! Search spaces, one module each, each with the same parts (see [`tessera_core::Space`]): dimensions, sampling,
//! mutation, neighbours, encoding, a canonical key grouping isomorphic samples, a text form, and lowering to the
//! [`tessera_core::Network`] IR.
//!
//! | space | module | samples | canonical key |
//! |---|---|---|---|
//! | NAS-Bench-201 cells | [`nb201`] | 5⁶ = 15,625 | NATS-Bench's unique string (6,466 classes) |
//! | NAS-Bench-Graph cells | [`nbg`] | 9 link patterns × 9⁴ ops | the official `valid_hash` |
//! | MobileNet-like MBConv chains (ProxylessNAS / OFA) | [`chain`] | 3 widths × (Σ_d (3 kernels × 3 expansions)^d)³ | active choices only (blocks beyond a stage's depth ignored) |
//! | MLPs, plain or hourglass (wide–narrow–wide residual blocks) | [`mlp`] | depth × widths^depth × activations | active choices only |
//! | 1-D conv nets (MNIST-1D) | [`conv1d`] | layers × (channels × kernels × downsampling)^layers × acts × heads | active choices only |
//!
//! A new space is one module plus one line in [`build`] and [`KINDS`]. The variable-depth spaces share
//! [`gated`]'s key, encoding, mutation and neighbours, which ignore choices a sample's depth leaves unused.

pub mod chain;
pub mod conv1d;
pub(crate) mod gated;
pub mod mlp;
pub mod nb201;
pub mod nbg;
pub mod nbg_canon;

use std::collections::BTreeMap;
use tessera_core::Space;

/// Options of a space from a study file's `[space]` table (everything but `kind`), as `name -> value` strings.
pub type Options = BTreeMap<String, String>;

/// The names [`build`] knows.
pub const KINDS: &[&str] = &["nb201", "nas-bench-graph", "chain", "mlp", "conv1d"];

/// Builds a space by kind. Unknown kinds and options are errors naming what is known.
pub fn build(kind: &str, options: &Options) -> Result<Box<dyn Space>, String> {
    match kind {
        "nb201" | "nas-bench-201" => Ok(Box::new(nb201::Nb201::from_options(options)?)),
        "nas-bench-graph" | "nbg" => Ok(Box::new(nbg::NasBenchGraph::from_options(options)?)),
        "chain" | "mbconv" => Ok(Box::new(chain::Chain::from_options(options)?)),
        "mlp" => Ok(Box::new(mlp::Mlp::from_options(options)?)),
        "conv1d" => Ok(Box::new(conv1d::Conv1d::from_options(options)?)),
        _ => Err(format!(
            "unknown space `{kind}`; known spaces: {}",
            KINDS.join(", ")
        )),
    }
}

/// Reads an integer option with a default; errors name the option.
pub fn opt_usize(options: &Options, name: &str, default: usize) -> Result<usize, String> {
    match options.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("option `{name}` must be a non-negative integer, got `{v}`")),
    }
}

/// Errors on options a space does not know.
pub fn check_options(options: &Options, known: &[&str], space: &str) -> Result<(), String> {
    match options.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "unknown option `{k}` for space `{space}`; known: {}",
            known.join(", ")
        )),
        None => Ok(()),
    }
}
