//! # tessera-strategies
//!
//! Search strategies, one module each, all behind [`tessera_core::Strategy`]'s ask/tell. They propose; they never
//! evaluate. Each is deterministic for its seed and the told history (resume replays the history).
//!
//! | strategy | module | categorical | multi-objective | constraints | multi-fidelity | batch ask |
//! |---|---|---|---|---|---|---|
//! | random sampling | [`random`] | yes | yes (ignores objectives) | via the study (infeasible never evaluated) | no | yes: independent samples |
//! | grid (finite spaces) | [`grid`] | yes | yes | via the study | no | yes: next grid points |
//! | local search (hill climbing, restarts) | [`local`] | yes | first objective | infeasible = worst | no | yes: next queued neighbours |
//! | regularized (aging) evolution | [`evolution`] | yes | first objective | infeasible not in population | no | yes: independent tournaments on the current population |
//!
//! [`dedup::Dedup`] wraps any strategy so it does not propose a canonical key it proposed before;
//! [`enqueue::Enqueued`] makes any strategy start with given samples (warm start).
//!
//! A new strategy is one module plus one line in [`build`] and one line in the shared sanity suite
//! (`tests/sanity.rs`).

pub mod dedup;
pub mod enqueue;
pub mod evolution;
pub mod grid;
pub mod local;
pub mod random;

use std::collections::BTreeMap;
use tessera_core::{Space, Strategy};

/// Options of a strategy from a study file's `[strategy]` table (everything but `kind`), as strings.
pub type Options = BTreeMap<String, String>;

/// The names [`build`] knows.
pub const KINDS: &[&str] = &["random", "grid", "local", "evolution"];

/// Builds a strategy by kind for `space` with `seed`. Option `dedup = true` wraps it in [`dedup::Dedup`].
pub fn build(kind: &str, options: &Options, space: &dyn Space, seed: u64) -> Result<Box<dyn Strategy>, String> {
    let mut o = options.clone();
    let dedup = take_bool(&mut o, "dedup", false)?;
    let s: Box<dyn Strategy> = match kind {
        "random" => {
            no_more(&o, kind)?;
            Box::new(random::Random::new(seed))
        }
        "grid" => {
            no_more(&o, kind)?;
            Box::new(grid::Grid::new(space)?)
        }
        "local" | "local-search" => {
            let first = take_bool(&mut o, "first_improvement", false)?;
            no_more(&o, kind)?;
            Box::new(local::LocalSearch::new(seed, first))
        }
        "evolution" | "regularized-evolution" | "rea" => {
            let population = take_usize(&mut o, "population", 20)?;
            let sample = take_usize(&mut o, "sample", 5)?;
            no_more(&o, kind)?;
            if sample == 0 || sample > population {
                return Err(format!("strategy `evolution`: sample ({sample}) must be between 1 and population ({population})"));
            }
            Box::new(evolution::Evolution::new(seed, population, sample))
        }
        _ => return Err(format!("unknown strategy `{kind}`; known strategies: {}", KINDS.join(", "))),
    };
    Ok(if dedup { Box::new(dedup::Dedup::new(s)) } else { s })
}

fn take_bool(o: &mut Options, name: &str, default: bool) -> Result<bool, String> {
    match o.remove(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("option `{name}` must be true or false, got `{v}`")),
    }
}

fn take_usize(o: &mut Options, name: &str, default: usize) -> Result<usize, String> {
    match o.remove(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("option `{name}` must be a non-negative integer, got `{v}`")),
    }
}

fn no_more(o: &Options, kind: &str) -> Result<(), String> {
    match o.keys().next() {
        Some(k) => Err(format!("unknown option `{k}` for strategy `{kind}`")),
        None => Ok(()),
    }
}
