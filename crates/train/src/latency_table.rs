//! Latency predicted on **this** machine: a per-layer lookup table measured once and cached, plus a learned
//! predictor fitted on measured networks.
//!
//! # The layer table
//!
//! A [`Network`] is decomposed into its layers: every node but the input, keyed by its op's settings and its
//! input shapes ([`layer_key`], e.g. `conv k3 s1 p1 d1 g1 out32 in 16x28x28`; parameters that do not change the
//! work, like a dropout rate or a projection seed, are left out). Each distinct key is measured once as a tiny
//! burn model lowered by [`Model::new`] and timed by [`measure_latency`] (warm-up, repeated runs, median):
//!
//! * the **probe** is `input → layer → tail` and the **base** is `input(layer output shape) → tail`, where the
//!   tail is a global average pool when the layer's output is not flat (a lowered model must end in a flat
//!   `[F]` output) and nothing otherwise;
//! * the entry is `max(0, probe − base)`: the layer's own time, without the per-call overhead (input upload,
//!   reading the output back) and the tail. Bases are cached too, keyed by output shape.
//!
//! A network's latency is predicted as `intercept + slope · Σ entries` ([`Overhead`]): a least-squares line of
//! measured network latency against the sum of its layers' entries over the networks of a build
//! ([`LatencyTable::fit_overhead`]). The intercept is the per-forward overhead a sum of isolated layers misses;
//! the slope absorbs what running layers back to back changes (warm caches, allocator reuse). Unfitted tables use
//! intercept 0 and slope 1.
//!
//! Measurements are taken in interleaved **rounds** ([`TableConfig::rounds`]): each round times every pending
//! probe once, and the entry is the median of the round medians, so a burst of load from other processes on a
//! shared machine spreads over many entries instead of spoiling a few.
//!
//! # The cache
//!
//! Tables are JSON files under `<cache>/latency/<machine-key>.json`, `<cache>` being `$TESSERA_CACHE`, else
//! `$XDG_CACHE_HOME/tessera`, else `~/.cache/tessera` (the convention of `tessera-bench`'s `fetch::cache_dir`).
//! The [`MachineKey`] holds what makes latencies comparable: the CPU model name (`/proc/cpuinfo`), the number of
//! logical CPUs, the thread count and batch size of the measurement, and the burn backend and version. A second
//! build on the same machine reuses every entry and measures only new layer configurations. A cache file that
//! cannot be read as a table (or holds another machine's or format version's table) is moved aside to
//! `<name>.json.corrupt` and rebuilt, with a warning in [`BuildReport::warnings`]; it never panics.
//!
//! # The learned predictor
//!
//! [`Predictor`] is a ridge regression of `ln(latency)` on features of the [`Network`] ([`features`]): per op
//! family (convolution, depthwise, linear, norm, activation, pool, add/concat, other) the node count, the MACs
//! and the element-wise work, plus depth, parameters and activation memory — each as `ln(1 + x)` and scaled.
//! Predicting the logarithm keeps networks of very different sizes on one relative-error scale. It is hand-written
//! (a Cholesky solve of `(XᵀX + λI) w = Xᵀy` on standardised features, ~40 lines): `linfa-linear` only offers
//! ordinary least squares and GLMs (ridge lives in `linfa-elasticnet`, which pulls `ndarray` and `linfa`'s whole
//! trait stack), far more than a 30-feature solve needs.
//!
//! # INT8 post-training quantisation on burn 0.22.1 `flex`
//!
//! burn's API: `burn::module::Quantizer { calibration: Calibration::MinMax, scheme: QuantScheme, .. }` applied with
//! `Module::quantize_weights(&mut quantizer)` turns every float parameter into a `QFloat` tensor
//! (`QuantScheme::default().with_value(QuantValue::Q8S)`: symmetric INT8, per tensor; `with_level(
//! QuantLevel::block([..]))` for per-block scales, which panics when a dimension is not divisible by the block).
//! The `flex` backend implements quantize / dequantize / layout ops on `QFloat` tensors (`burn-flex`
//! `ops/qtensor.rs`) but **no quantized compute kernel**: it does not override `QTensorOps::q_matmul`, whose
//! default dequantizes the INT8 operand to f32 and runs the float matmul, and `conv2d` takes its weight through
//! `into_float()`, i.e. dequantizes it on every call too. So on `flex`, INT8 is weight *storage* compression (4×
//! smaller weights); inference computes in f32 after a per-call dequantization, so it is never faster and
//! usually a little slower than f32 (see `examples/int8.rs` for a measurement on one trained network).

use crate::error::TrainError;
use crate::latency::{measure_latency, LatencyConfig};
use crate::model::Model;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tessera_core::{rng_for, Network, NetworkError, Op, PoolKind, Shape, Space};
use thiserror::Error;

/// The floor of [`LatencyTable::try_predict`] (1 µs).
pub const MIN_PREDICTION_MS: f64 = 1e-3;

/// Format version of the cache file; a file of another version is rebuilt.
pub const TABLE_VERSION: u32 = 1;

/// Why a table could not be built, read or used.
#[derive(Debug, Error)]
pub enum LatencyTableError {
    #[error(transparent)]
    Network(#[from] NetworkError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error("layer {key}: {msg}")]
    Layer { key: String, msg: String },
    #[error("latency table {path}: {msg}")]
    File { path: PathBuf, msg: String },
    #[error("{0}")]
    Config(String),
}

/// What makes latencies of two measurements comparable (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineKey {
    /// CPU model name from `/proc/cpuinfo` (`unknown-cpu` elsewhere).
    pub cpu: String,
    /// Logical CPUs of the machine.
    pub cpus: usize,
    /// Threads the measurements run on.
    pub threads: usize,
    pub batch_size: usize,
    /// Backend and burn version, e.g. `burn-0.22.1-flex`.
    pub backend: String,
}

impl MachineKey {
    /// This machine, measured with `threads` threads at `batch_size`.
    pub fn detect(threads: usize, batch_size: usize) -> MachineKey {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown-cpu".into());
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        MachineKey {
            cpu,
            cpus,
            threads,
            batch_size,
            backend: "burn-0.22.1-flex".into(),
        }
    }
    /// A file-name-safe form: `amd-epyc_cpus2_t1_b1_burn-0-22-1-flex`.
    pub fn file_stem(&self) -> String {
        let clean = |s: &str| {
            let mut out = String::new();
            for c in s.chars() {
                let c = if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                };
                if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
                    out.push(c);
                }
            }
            out.trim_end_matches('-').to_string()
        };
        format!(
            "{}_cpus{}_t{}_b{}_{}",
            clean(&self.cpu),
            self.cpus,
            self.threads,
            self.batch_size,
            clean(&self.backend)
        )
    }
}

/// `<cache>/latency/<machine file stem>.json` (the cache: [`tessera_core::cache_dir`]).
pub fn default_table_path(machine: &MachineKey) -> PathBuf {
    tessera_core::cache_dir()
        .join("latency")
        .join(format!("{}.json", machine.file_stem()))
}

/// One layer configuration of a network: its key, op and input shapes.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerConfig {
    pub key: String,
    pub op: Op,
    pub inputs: Vec<Shape>,
    pub output: Shape,
}

fn dims(s: &[usize]) -> String {
    s.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

/// The table key of `op` reading `inputs` (None for the input node). Only what changes the work is kept.
pub fn layer_key(op: &Op, inputs: &[Shape]) -> Option<String> {
    let p = match op {
        Op::Input { .. } => return None,
        Op::Conv {
            out,
            kernel,
            stride,
            padding,
            dilation,
            groups,
            bias,
        } => {
            format!(
                "conv k{kernel} s{stride} p{padding} d{dilation} g{groups} b{} out{out}",
                *bias as u8
            )
        }
        Op::DepthwiseConv {
            kernel,
            stride,
            padding,
            dilation,
        } => {
            format!("dwconv k{kernel} s{stride} p{padding} d{dilation}")
        }
        Op::SepConv {
            out,
            kernel,
            stride,
            padding,
            dilation,
        } => {
            format!("sepconv k{kernel} s{stride} p{padding} d{dilation} out{out}")
        }
        Op::Pool {
            kind,
            kernel,
            stride,
            padding,
        } => {
            format!("{} k{kernel} s{stride} p{padding}", op_kind(*kind, "pool"))
        }
        Op::GlobalPool { kind } => op_kind(*kind, "global_pool"),
        Op::Act { act } => format!("act {}", format!("{act:?}").to_lowercase()),
        Op::Linear { out, bias } => format!("linear b{} out{out}", *bias as u8),
        Op::RandomProjection { out, .. } => format!("linear b0 out{out}"),
        Op::Output { classes } => format!("linear b1 out{classes}"),
        Op::Attention { heads } => format!("attention h{heads}"),
        Op::Gnn { kind, out, heads } => format!(
            "gnn {} h{heads} out{out}",
            format!("{kind:?}").to_lowercase()
        ),
        Op::Concat { axis } => format!("concat a{axis} n{}", inputs.len()),
        Op::Add => format!("add n{}", inputs.len()),
        Op::Dropout { .. } => "dropout".into(),
        other => other.name().to_string(),
    };
    let ins: Vec<String> = inputs.iter().map(|s| dims(s)).collect();
    Some(format!("{p} in {}", ins.join(",")))
}

fn op_kind(kind: PoolKind, what: &str) -> String {
    match kind {
        PoolKind::Avg => format!("avg_{what}"),
        PoolKind::Max => format!("max_{what}"),
    }
}

/// The layers of `net` in node order (the input node excluded).
pub fn layers(net: &Network) -> Result<Vec<LayerConfig>, NetworkError> {
    let shapes = net.shapes()?;
    Ok(net
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let inputs: Vec<Shape> = n.inputs.iter().map(|&j| shapes[j].clone()).collect();
            layer_key(&n.op, &inputs).map(|key| LayerConfig {
                key,
                op: n.op.clone(),
                inputs,
                output: shapes[i].clone(),
            })
        })
        .collect())
}

/// The probe network of a layer (input → layer → tail) and its base (input of the output shape → tail).
fn probe_networks(l: &LayerConfig) -> Result<(Network, Network), LatencyTableError> {
    let bad = |msg: &str| LatencyTableError::Layer {
        key: l.key.clone(),
        msg: msg.into(),
    };
    if matches!(l.op, Op::Gnn { .. }) {
        return Err(bad(
            "graph layers need a graph; the latency table does not support them",
        ));
    }
    let first = l
        .inputs
        .first()
        .ok_or_else(|| bad("a layer without inputs"))?;
    if l.inputs.iter().any(|s| s != first) {
        return Err(bad(
            "layers reading inputs of different shapes are not supported",
        ));
    }
    let tail = |net: &mut Network, x: usize, shape: &Shape| {
        if shape.len() > 1 {
            net.add(
                Op::GlobalPool {
                    kind: PoolKind::Avg,
                },
                &[x],
            );
        }
        let _ = net.shapes();
    };
    let mut probe = Network::new();
    let x = probe.add(
        Op::Input {
            shape: first.to_vec(),
        },
        &[],
    );
    let y = probe.add(l.op.clone(), &vec![x; l.inputs.len()]);
    tail(&mut probe, y, &l.output);
    let mut base = Network::new();
    let x = base.add(
        Op::Input {
            shape: l.output.to_vec(),
        },
        &[],
    );
    tail(&mut base, x, &l.output);
    Ok((probe, base))
}

fn base_key(output: &Shape) -> String {
    format!("base out {}", dims(output))
}

/// One table entry: the layer's own time and the measurements it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// `max(0, probe − base)`, milliseconds.
    pub ms: f64,
    pub probe_ms: f64,
    pub base_ms: f64,
}

/// `latency ≈ intercept_ms + slope · Σ entries` (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overhead {
    pub intercept_ms: f64,
    pub slope: f64,
    /// Networks the line was fitted on (0: not fitted).
    pub networks: usize,
}

impl Default for Overhead {
    fn default() -> Self {
        Overhead {
            intercept_ms: 0.0,
            slope: 1.0,
            networks: 0,
        }
    }
}

/// How table entries and networks are measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableConfig {
    pub batch_size: usize,
    pub threads: usize,
    /// Warm-up forward passes per round.
    pub warmup: usize,
    /// Timed forward passes per round.
    pub runs: usize,
    /// Interleaved rounds (the result is the median of the round medians).
    pub rounds: usize,
}

impl Default for TableConfig {
    fn default() -> Self {
        TableConfig {
            batch_size: 1,
            threads: 1,
            warmup: 2,
            runs: 7,
            rounds: 3,
        }
    }
}

impl TableConfig {
    fn latency(&self) -> LatencyConfig {
        LatencyConfig {
            batch_size: self.batch_size,
            warmup: self.warmup,
            runs: self.runs,
            threads: None,
        }
    }
    fn pool(&self) -> Result<rayon::ThreadPool, LatencyTableError> {
        if self.threads == 0 || self.runs == 0 || self.rounds == 0 || self.batch_size == 0 {
            return Err(LatencyTableError::Config(
                "threads, runs, rounds and batch size must be positive".into(),
            ));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
            .map_err(|e| {
                LatencyTableError::Config(format!("cannot start {} threads: {e}", self.threads))
            })
    }
}

/// Times every model in `rounds` interleaved rounds on a pool of `cfg.threads` threads; returns per-model medians
/// of the round medians. `tick(done, total)` is called after each model of each round.
fn measure_rounds(
    models: &[Model],
    cfg: &TableConfig,
    tick: &mut dyn FnMut(usize, usize),
) -> Result<Vec<f64>, LatencyTableError> {
    let pool = cfg.pool()?;
    let lat = cfg.latency();
    let total = models.len() * cfg.rounds;
    let mut per: Vec<Vec<f64>> = vec![Vec::with_capacity(cfg.rounds); models.len()];
    let mut done = 0;
    for _ in 0..cfg.rounds {
        for (m, out) in models.iter().zip(per.iter_mut()) {
            out.push(pool.install(|| measure_latency(m, &lat, None))?.median_ms);
            done += 1;
            tick(done, total);
        }
    }
    Ok(per.into_iter().map(|mut v| median(&mut v)).collect())
}

/// Median (sorts in place); NaN for an empty slice.
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median absolute percentage error of `pred` against `truth`, in percent.
pub fn mdape(pred: &[f64], truth: &[f64]) -> f64 {
    let mut e: Vec<f64> = pred
        .iter()
        .zip(truth)
        .map(|(p, t)| 100.0 * ((p - t) / t).abs())
        .collect();
    median(&mut e)
}

/// The per-layer latency table of one machine (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyTable {
    pub version: u32,
    pub machine: MachineKey,
    /// Layer key → entry.
    pub entries: BTreeMap<String, Entry>,
    /// `base out SHAPE` → base latency (ms).
    pub bases: BTreeMap<String, f64>,
    pub overhead: Overhead,
}

impl LatencyTable {
    pub fn new(machine: MachineKey) -> LatencyTable {
        LatencyTable {
            version: TABLE_VERSION,
            machine,
            entries: BTreeMap::new(),
            bases: BTreeMap::new(),
            overhead: Overhead::default(),
        }
    }

    /// Reads the table at `path` if it exists and belongs to `machine`; otherwise starts an empty one. A file that
    /// cannot be used is moved aside to `…json.corrupt` and reported in the returned warnings.
    pub fn load_or_new(path: &Path, machine: &MachineKey) -> (LatencyTable, Vec<String>) {
        let mut warnings = Vec::new();
        if path.exists() {
            match Self::load(path) {
                Ok(t) if &t.machine == machine => return (t, warnings),
                Ok(t) => warnings.push(format!(
                    "{}: the table is for another machine ({}), rebuilding",
                    path.display(),
                    t.machine.file_stem()
                )),
                Err(e) => {
                    let aside = path.with_extension("json.corrupt");
                    let moved = std::fs::rename(path, &aside).is_ok();
                    warnings.push(format!(
                        "{e}; rebuilding the table{}",
                        if moved {
                            format!(" (old file moved to {})", aside.display())
                        } else {
                            String::new()
                        }
                    ));
                }
            }
        }
        (LatencyTable::new(machine.clone()), warnings)
    }

    /// Reads a table file; errors name the file and what is wrong.
    pub fn load(path: &Path) -> Result<LatencyTable, LatencyTableError> {
        let err = |msg: String| LatencyTableError::File {
            path: path.to_path_buf(),
            msg,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let t: LatencyTable =
            serde_json::from_str(&text).map_err(|e| err(format!("not a latency table: {e}")))?;
        if t.version != TABLE_VERSION {
            return Err(err(format!(
                "format version {} (this build reads {TABLE_VERSION})",
                t.version
            )));
        }
        if let Some((k, e)) = t
            .entries
            .iter()
            .find(|(_, e)| !(e.ms.is_finite() && e.ms >= 0.0))
        {
            return Err(err(format!("entry `{k}` has an invalid latency {}", e.ms)));
        }
        Ok(t)
    }

    /// Writes the table (atomically: a temporary file renamed over `path`), creating the directory.
    pub fn save(&self, path: &Path) -> Result<(), LatencyTableError> {
        let err = |msg: String| LatencyTableError::File {
            path: path.to_path_buf(),
            msg,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| err(format!("cannot create the directory: {e}")))?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|e| err(e.to_string()))?;
        std::fs::write(&tmp, text).map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
    }

    /// Layer configurations of `nets` not yet in the table (each once).
    pub fn missing(&self, nets: &[Network]) -> Result<Vec<LayerConfig>, NetworkError> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for net in nets {
            for l in layers(net)? {
                if !self.entries.contains_key(&l.key) && seen.insert(l.key.clone()) {
                    out.push(l);
                }
            }
        }
        Ok(out)
    }

    /// Measures the layer configurations of `nets` the table lacks (see the module docs); returns how many
    /// entries were measured. `tick(done, total)` reports progress in timed models.
    pub fn measure_missing(
        &mut self,
        nets: &[Network],
        cfg: &TableConfig,
        tick: &mut dyn FnMut(usize, usize),
    ) -> Result<usize, LatencyTableError> {
        let todo = self.missing(nets)?;
        if todo.is_empty() {
            return Ok(0);
        }
        let device = Device::flex();
        let mut models = Vec::new();
        let mut probe_of = Vec::new(); // index into models of each todo's probe and base
        let mut base_index: BTreeMap<String, usize> = BTreeMap::new();
        for l in &todo {
            let (probe, base) = probe_networks(l)?;
            let wrap = |e: TrainError| LatencyTableError::Layer {
                key: l.key.clone(),
                msg: e.to_string(),
            };
            models.push(Model::new(&probe, &device, 0).map_err(wrap)?);
            let p = models.len() - 1;
            let bk = base_key(&l.output);
            let b = if self.bases.contains_key(&bk) {
                None
            } else if let Some(&b) = base_index.get(&bk) {
                Some(b)
            } else {
                models.push(Model::new(&base, &device, 0).map_err(wrap)?);
                base_index.insert(bk, models.len() - 1);
                Some(models.len() - 1)
            };
            probe_of.push((p, b));
        }
        let times = measure_rounds(&models, cfg, tick)?;
        for (bk, &i) in &base_index {
            self.bases.insert(bk.clone(), times[i]);
        }
        for (l, (p, _)) in todo.iter().zip(&probe_of) {
            let base_ms = self.bases[&base_key(&l.output)];
            let probe_ms = times[*p];
            self.entries.insert(
                l.key.clone(),
                Entry {
                    ms: (probe_ms - base_ms).max(0.0),
                    probe_ms,
                    base_ms,
                },
            );
        }
        Ok(todo.len())
    }

    /// Σ entries of `net`'s layers (ms); errors name a layer the table lacks.
    pub fn layer_sum(&self, net: &Network) -> Result<f64, LatencyTableError> {
        layers(net)?
            .iter()
            .try_fold(0.0, |acc, l| match self.entries.get(&l.key) {
                Some(e) => Ok(acc + e.ms),
                None => Err(LatencyTableError::Layer {
                    key: l.key.clone(),
                    msg: "not in the latency table".into(),
                }),
            })
    }

    /// Predicted latency (ms): `intercept + slope · Σ entries`; an error if a layer is missing.
    /// Never below [`MIN_PREDICTION_MS`] (a negative fitted intercept could otherwise go below zero).
    pub fn try_predict(&self, net: &Network) -> Result<f64, LatencyTableError> {
        Ok(
            (self.overhead.intercept_ms + self.overhead.slope * self.layer_sum(net)?)
                .max(MIN_PREDICTION_MS),
        )
    }

    /// Predicted latency (ms) of `net` on this table's machine; NaN when a layer is not in the table (or the
    /// network is malformed). For constraints checked before training.
    pub fn predict(&self, net: &Network) -> f64 {
        self.try_predict(net).unwrap_or(f64::NAN)
    }

    /// Fits [`Overhead`] by least squares of `measured_ms` on the layer sums of `nets` (intercept + slope). With
    /// fewer than 2 networks or no spread in the sums, only the intercept is fitted (slope 1).
    pub fn fit_overhead(
        &mut self,
        nets: &[Network],
        measured_ms: &[f64],
    ) -> Result<Overhead, LatencyTableError> {
        let x: Vec<f64> = nets
            .iter()
            .map(|n| self.layer_sum(n))
            .collect::<Result<_, _>>()?;
        let n = x.len().min(measured_ms.len());
        if n == 0 {
            return Err(LatencyTableError::Config(
                "fitting the overhead needs measured networks".into(),
            ));
        }
        let (y, x) = (&measured_ms[..n], &x[..n]);
        let mx = x.iter().sum::<f64>() / n as f64;
        let my = y.iter().sum::<f64>() / n as f64;
        let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
        let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
        // a non-positive slope (noise on a narrow range of sums) would make bigger networks faster: fall back to
        // a pure offset then
        let slope = if n >= 2 && sxx > 1e-12 && sxy > 0.0 {
            sxy / sxx
        } else {
            1.0
        };
        self.overhead = Overhead {
            intercept_ms: my - slope * mx,
            slope,
            networks: n,
        };
        Ok(self.overhead.clone())
    }
}

/// Measures the inference latency of each network (ms) on the table's configuration, in interleaved rounds.
pub fn measure_networks(
    nets: &[Network],
    cfg: &TableConfig,
    tick: &mut dyn FnMut(usize, usize),
) -> Result<Vec<f64>, LatencyTableError> {
    let device = Device::flex();
    let models: Vec<Model> = nets
        .iter()
        .map(|n| Model::new(n, &device, 0))
        .collect::<Result<_, _>>()?;
    measure_rounds(&models, cfg, tick)
}

// ---------------------------------------------------------------------------------------------------------------
// The learned predictor

/// Op families the features count separately.
const FAMILIES: [&str; 8] = [
    "conv",
    "depthwise",
    "linear",
    "norm",
    "act",
    "pool",
    "merge",
    "other",
];

fn family(op: &Op) -> usize {
    match op {
        Op::Conv { .. } | Op::SepConv { .. } => 0,
        Op::DepthwiseConv { .. } => 1,
        Op::Linear { .. }
        | Op::RandomProjection { .. }
        | Op::Output { .. }
        | Op::Attention { .. }
        | Op::Gnn { .. } => 2,
        Op::BatchNorm | Op::LayerNorm => 3,
        Op::Act { .. } => 4,
        Op::Pool { .. } | Op::GlobalPool { .. } => 5,
        Op::Add | Op::Concat { .. } => 6,
        _ => 7,
    }
}

/// Names of [`features`], in order.
pub fn feature_names() -> Vec<String> {
    let mut v = Vec::new();
    for f in FAMILIES {
        v.push(format!("{f}_count"));
        v.push(format!("{f}_macs"));
        v.push(format!("{f}_elems"));
    }
    v.extend(["depth", "params", "flops", "act_peak", "act_total"].map(String::from));
    v
}

/// Features of a network for the learned predictor: per op family the node count, the MACs and the output
/// elements, then depth (nodes), params, FLOPs, peak and total activation memory; every value as `ln(1 + x)`.
pub fn features(net: &Network) -> Result<Vec<f64>, NetworkError> {
    let shapes = net.shapes()?;
    let mut fam = [[0f64; 3]; FAMILIES.len()];
    for (i, node) in net.nodes.iter().enumerate() {
        if matches!(node.op, Op::Input { .. }) {
            continue;
        }
        // the MACs of one node: a one-node network reading the node's input shape
        let mut one = Network::new();
        let ins: Vec<usize> = node
            .inputs
            .iter()
            .map(|&j| {
                one.add(
                    Op::Input {
                        shape: shapes[j].to_vec(),
                    },
                    &[],
                )
            })
            .collect();
        one.add(node.op.clone(), &ins);
        let macs = one.macs().unwrap_or(0) as f64;
        let f = family(&node.op);
        fam[f][0] += 1.0;
        fam[f][1] += macs;
        fam[f][2] += shapes[i].iter().product::<usize>() as f64;
    }
    let (params, flops) = net.costs()?;
    let (peak, total) = net.activations()?;
    let mut v: Vec<f64> = fam.iter().flatten().copied().collect();
    v.extend([
        net.len() as f64,
        params as f64,
        flops as f64,
        peak as f64,
        total as f64,
    ]);
    Ok(v.into_iter().map(|x| x.ln_1p()).collect())
}

/// Ridge regression of `ln(latency_ms)` on standardised [`features`] (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Predictor {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub weights: Vec<f64>,
    pub intercept: f64,
    pub lambda: f64,
}

impl Predictor {
    /// Fits on networks and their measured latencies (ms, positive). `lambda` is the ridge penalty on the
    /// standardised weights (1.0 is a good default for ~100 networks).
    pub fn fit(
        nets: &[Network],
        measured_ms: &[f64],
        lambda: f64,
    ) -> Result<Predictor, LatencyTableError> {
        if nets.len() != measured_ms.len() || nets.is_empty() {
            return Err(LatencyTableError::Config(
                "the predictor needs one measurement per network".into(),
            ));
        }
        if measured_ms.iter().any(|t| !(t.is_finite() && *t > 0.0)) {
            return Err(LatencyTableError::Config(
                "latencies must be positive and finite".into(),
            ));
        }
        let xs: Vec<Vec<f64>> = nets.iter().map(features).collect::<Result<_, _>>()?;
        let y: Vec<f64> = measured_ms.iter().map(|t| t.ln()).collect();
        let (n, d) = (xs.len() as f64, xs[0].len());
        let mean: Vec<f64> = (0..d)
            .map(|j| xs.iter().map(|x| x[j]).sum::<f64>() / n)
            .collect();
        let scale: Vec<f64> = (0..d)
            .map(|j| {
                let var = xs.iter().map(|x| (x[j] - mean[j]).powi(2)).sum::<f64>() / n;
                if var > 1e-12 {
                    var.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        let z: Vec<Vec<f64>> = xs
            .iter()
            .map(|x| (0..d).map(|j| (x[j] - mean[j]) / scale[j]).collect())
            .collect();
        let ym = y.iter().sum::<f64>() / n;
        // normal equations (ZᵀZ + λI) w = Zᵀ(y − ȳ); the intercept is ȳ since Z is centred
        let mut a = vec![vec![0.0; d]; d];
        let mut b = vec![0.0; d];
        for (zi, yi) in z.iter().zip(&y) {
            for j in 0..d {
                b[j] += zi[j] * (yi - ym);
                for k in 0..d {
                    a[j][k] += zi[j] * zi[k];
                }
            }
        }
        for (j, row) in a.iter_mut().enumerate() {
            row[j] += lambda.max(1e-9);
        }
        let weights = cholesky_solve(a, b).ok_or_else(|| {
            LatencyTableError::Config("the ridge system is not positive definite".into())
        })?;
        Ok(Predictor {
            mean,
            scale,
            weights,
            intercept: ym,
            lambda,
        })
    }

    /// Predicted latency (ms); NaN for a malformed network.
    pub fn predict(&self, net: &Network) -> f64 {
        match features(net) {
            Ok(x) => {
                let s: f64 = x
                    .iter()
                    .enumerate()
                    .map(|(j, v)| (v - self.mean[j]) / self.scale[j] * self.weights[j])
                    .sum();
                (self.intercept + s).exp()
            }
            Err(_) => f64::NAN,
        }
    }
}

/// Solves `A x = b` for a symmetric positive definite `A` (Cholesky); None if `A` is not positive definite.
fn cholesky_solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for j in 0..n {
        let d = a[j][j] - (0..j).map(|k| a[j][k] * a[j][k]).sum::<f64>();
        if d <= 0.0 {
            return None;
        }
        a[j][j] = d.sqrt();
        for i in j + 1..n {
            a[i][j] = (a[i][j] - (0..j).map(|k| a[i][k] * a[j][k]).sum::<f64>()) / a[j][j];
        }
    }
    for i in 0..n {
        b[i] = (b[i] - (0..i).map(|k| a[i][k] * b[k]).sum::<f64>()) / a[i][i];
    }
    for i in (0..n).rev() {
        b[i] = (b[i] - (i + 1..n).map(|k| a[k][i] * b[k]).sum::<f64>()) / a[i][i];
    }
    Some(b)
}

// ---------------------------------------------------------------------------------------------------------------
// A whole build: sample, measure, table, fit, evaluate

/// What [`build`] does.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Held-out networks the errors are reported on.
    pub samples: usize,
    /// Networks the overhead and the predictor are fitted on (a separate sample).
    pub train: usize,
    pub seed: u64,
    pub config: TableConfig,
    /// The table file (default: [`default_table_path`]).
    pub table_path: Option<PathBuf>,
    /// Ridge penalty of the predictor.
    pub lambda: f64,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            samples: 50,
            train: 50,
            seed: 0,
            config: TableConfig::default(),
            table_path: None,
            lambda: 1.0,
        }
    }
}

/// Which part of a build a progress tick belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Networks,
    Layers,
}

/// Result of [`build`].
#[derive(Clone, Debug, Serialize)]
pub struct BuildReport {
    pub space: String,
    pub table_path: PathBuf,
    pub machine: MachineKey,
    pub train_networks: usize,
    pub test_networks: usize,
    /// Distinct layer configurations of all the build's networks.
    pub layer_configs: usize,
    pub entries_measured: usize,
    pub entries_reused: usize,
    pub table_entries: usize,
    pub overhead: Overhead,
    /// MdAPE (%) on the held-out networks: the raw layer sum, the table with the fitted overhead, the predictor.
    pub mdape_layer_sum: f64,
    pub mdape_table: f64,
    pub mdape_predictor: f64,
    /// 90th percentile of the absolute percentage errors (%), table and predictor.
    pub p90_ape_table: f64,
    pub p90_ape_predictor: f64,
    /// Median measured latency of the held-out networks (ms) and its range.
    pub median_latency_ms: f64,
    pub min_latency_ms: f64,
    pub max_latency_ms: f64,
    pub networks_seconds: f64,
    pub layers_seconds: f64,
    pub fit_seconds: f64,
    pub warnings: Vec<String>,
    /// Per held-out network: measured, table, predictor (ms).
    pub held_out: Vec<[f64; 3]>,
    #[serde(skip)]
    pub table: Option<LatencyTable>,
    #[serde(skip)]
    pub predictor: Option<Predictor>,
}

fn p90(pred: &[f64], truth: &[f64]) -> f64 {
    let mut e: Vec<f64> = pred
        .iter()
        .zip(truth)
        .map(|(p, t)| 100.0 * ((p - t) / t).abs())
        .collect();
    e.sort_by(f64::total_cmp);
    e.get(((e.len() as f64 - 1.0) * 0.9).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// Samples `train + samples` random networks of `space` (seeded), measures them, builds or extends the cached
/// layer table, fits the overhead and the predictor on the first `train` networks and reports errors on the
/// other `samples`.
pub fn build(
    space: &dyn Space,
    opts: &BuildOptions,
    progress: &mut dyn FnMut(Stage, usize, usize),
) -> Result<BuildReport, LatencyTableError> {
    if opts.samples == 0 || opts.train < 2 {
        return Err(LatencyTableError::Config(
            "need at least 1 held-out and 2 training networks".into(),
        ));
    }
    let machine = MachineKey::detect(opts.config.threads, opts.config.batch_size);
    let path = opts
        .table_path
        .clone()
        .unwrap_or_else(|| default_table_path(&machine));
    let mut rng = rng_for(opts.seed, 0x1a7e);
    let nets: Vec<Network> = (0..opts.train + opts.samples)
        .map(|_| space.lower(&space.sample(&mut rng)))
        .collect::<Result<_, _>>()?;
    let t0 = Instant::now();
    let measured = measure_networks(&nets, &opts.config, &mut |d, t| {
        progress(Stage::Networks, d, t)
    })?;
    let networks_seconds = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let (mut table, warnings) = LatencyTable::load_or_new(&path, &machine);
    let configs: BTreeSet<String> = nets
        .iter()
        .map(layers)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .map(|l| l.key)
        .collect();
    let entries_measured = table.measure_missing(&nets, &opts.config, &mut |d, t| {
        progress(Stage::Layers, d, t)
    })?;
    let layers_seconds = t1.elapsed().as_secs_f64();

    let t2 = Instant::now();
    let (train_n, test_n) = nets.split_at(opts.train);
    let (train_y, test_y) = measured.split_at(opts.train);
    let sums: Vec<f64> = test_n
        .iter()
        .map(|n| table.layer_sum(n))
        .collect::<Result<_, _>>()?;
    let overhead = table.fit_overhead(train_n, train_y)?;
    let predictor = Predictor::fit(train_n, train_y, opts.lambda)?;
    let fit_seconds = t2.elapsed().as_secs_f64();
    table.save(&path)?;

    let tab: Vec<f64> = test_n.iter().map(|n| table.predict(n)).collect();
    let pred: Vec<f64> = test_n.iter().map(|n| predictor.predict(n)).collect();
    let mut sorted = test_y.to_vec();
    let med = median(&mut sorted);
    Ok(BuildReport {
        space: space.name().to_string(),
        table_path: path,
        machine,
        train_networks: train_n.len(),
        test_networks: test_n.len(),
        layer_configs: configs.len(),
        entries_measured,
        entries_reused: configs.len() - entries_measured,
        table_entries: table.entries.len(),
        overhead,
        mdape_layer_sum: mdape(&sums, test_y),
        mdape_table: mdape(&tab, test_y),
        mdape_predictor: mdape(&pred, test_y),
        p90_ape_table: p90(&tab, test_y),
        p90_ape_predictor: p90(&pred, test_y),
        median_latency_ms: med,
        min_latency_ms: sorted[0],
        max_latency_ms: *sorted.last().expect("samples ≥ 1"),
        networks_seconds,
        layers_seconds,
        fit_seconds,
        warnings,
        held_out: test_y
            .iter()
            .zip(&tab)
            .zip(&pred)
            .map(|((a, b), c)| [*a, *b, *c])
            .collect(),
        table: Some(table),
        predictor: Some(predictor),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ridge_recovers_a_linear_function() {
        // cholesky on a small SPD system
        let x = cholesky_solve(vec![vec![4.0, 2.0], vec![2.0, 3.0]], vec![2.0, 1.0]).unwrap();
        assert!(
            (4.0 * x[0] + 2.0 * x[1] - 2.0).abs() < 1e-12
                && (2.0 * x[0] + 3.0 * x[1] - 1.0).abs() < 1e-12
        );
        assert!(cholesky_solve(vec![vec![0.0]], vec![1.0]).is_none());
    }

    #[test]
    fn keys_and_file_stem() {
        let mut n = Network::new();
        let x = n.add(
            Op::Input {
                shape: vec![16, 28, 28],
            },
            &[],
        );
        let c = n.add(Op::conv(32, 3, 1), &[x]);
        n.add(Op::Add, &[c, c]);
        let l = layers(&n).unwrap();
        assert_eq!(l[0].key, "conv k3 s1 p1 d1 g1 b0 out32 in 16x28x28");
        assert_eq!(l[1].key, "add n2 in 32x28x28,32x28x28");
        let m = MachineKey {
            cpu: "AMD EPYC 7B13 (x)".into(),
            cpus: 2,
            threads: 1,
            batch_size: 1,
            backend: "burn-0.22.1-flex".into(),
        };
        assert_eq!(
            m.file_stem(),
            "amd-epyc-7b13-x_cpus2_t1_b1_burn-0-22-1-flex"
        );
    }
}
