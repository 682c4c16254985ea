//! `tessera-bench`: pure, fast, typed readers for tabular NAS benchmarks.
//!
//! Every reader returns [`Result<_, BenchError>`](BenchError); no input, however corrupt
//! or truncated, makes it panic. Every error names the file involved; a missing file says
//! which `tessera bench fetch NAME` command to run or which file to provide.
//!
//! | module | benchmark | file format |
//! |---|---|---|
//! | [`nbg`] | NAS-Bench-Graph (PyPI `nas-bench-graph==1.4.0`, Apache-2.0) | `.bench` pickle (also read straight from the wheel) |
//! | [`nb201_csv`] | NAS-Bench-201 / NATS-Bench accuracies | `nats_bench.csv` |
//! | [`help_latency`] | HELP NB201 device latencies | torch zip `.pt` holding a pickled list / dict |
//! | [`analog`] | AnalogNAS-Bench (PyPI `analog-nasbench==0.1.3`, Apache-2.0) | `data.anb` pickle (also from the wheel) |
//! | [`fetch`](mod@fetch) | download registry for the two PyPI benchmarks | `pip download` into a cache |
//!
//! Pickles are decoded by a small internal, allocation-light pickle reader (see the
//! `pickle` module source for why it is not `serde-pickle`): a 26k-record `.bench`
//! loads in 10–20 ms (release), about 7× faster than through `serde-pickle`.
//!
//! NAS-Bench-Graph keys are `valid_hash` values; the canonicalisation itself lives in
//! `tessera-spaces` (`nbg_canon`). The reader modules above use no other tessera crate.

pub mod analog;
pub mod benchmarks;
mod error;
pub mod fetch;
pub mod help_latency;
pub mod nb201_csv;
pub mod nbg;
mod pickle;

pub use analog::{AnalogRecord, AnalogTable, Drift, ANALOG_WHEEL_ENTRY, DRIFT_TIMES_S};
pub use error::{BenchError, Remedy, Result};
pub use fetch::{cache_dir, fetch, locate, locate_in, BenchSource, SOURCES};
pub use help_latency::{latency_path, load_arch2idx, load_latency, HELP_DEVICES};
pub use nb201_csv::{
    naslib_to_nb201, nb201_arch_string, nb201_to_naslib, parse_nb201_arch, Nb201Table, NASLIB_OPS,
    NB201_EDGES, NB201_LEN, NB201_OPS,
};
pub use nbg::{
    nbg_expected_len, nbg_op_list, nbg_wheel_entry, NbgOpList, NbgRecord, NbgTable, NBG_DATASETS,
    NBG_OPS, NBG_OPS_PROTEINS, NBG_PROTEINS_OP_IDS,
};
