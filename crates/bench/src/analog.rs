//! AnalogNAS-Bench (IBM; PyPI `analog-nasbench==0.1.3`, source repo Apache-2.0):
//! CIFAR-10 accuracy of all 15,625 NAS-Bench-201 architectures under analog in-memory
//! computing conditions.
//!
//! `analognasbench/data.anb` is a protocol-4 pickle of
//! `dict[tuple[int; 6], analognasbench.data.Architecture]` (no pandas): every value is a
//! plain class instance rebuilt with `NEWOBJ` + `BUILD(__dict__)` whose fields are
//! `architecture` (the key again), `baseline_accuracy`, `ptq_accuracy`, `qat_accuracy`,
//! `noisy_accuracy`, `analog_accuracy` (floats, %) and eight
//! `analognasbench.data.DriftMeasurement` instances (`value`, `uncertainty`):
//! `{baseline,analog}_drift_{60,3600,86400,2592000}` (accuracy after that many seconds
//! of conductance drift). The Python package's `_parse_drift` also accepts plain
//! numbers and `"value ± uncertainty"` strings; so does this reader.
//!
//! Keys are NASLib op-index tuples (op ids 0=skip_connect, 1=none, 2=nor_conv_3x3,
//! 3=nor_conv_1x1, 4=avg_pool_3x3 over NASLib edges (1→2),(1→3),(1→4),(2→3),(2→4),(3→4));
//! [`crate::nb201_csv::naslib_to_nb201`] converts them to NB201 op ids (note the edge
//! order differs from the architecture string's). With that mapping `baseline_accuracy`
//! correlates 0.999 with `nats_bench.csv`'s CIFAR-10 column.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{format_err, open_zip, parse_pickle, read_file, Remedy, Result};
use crate::nb201_csv::{naslib_to_nb201, nb201_to_naslib};
use crate::pickle::{Pickle, Val};

/// Path of the table inside the `analog-nasbench` wheel.
pub const ANALOG_WHEEL_ENTRY: &str = "analognasbench/data.anb";

/// Drift times (seconds) of [`AnalogRecord::baseline_drift`] / [`AnalogRecord::analog_drift`].
pub const DRIFT_TIMES_S: [u32; 4] = [60, 3_600, 86_400, 2_592_000];

/// A drift measurement: mean accuracy (%) and its uncertainty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drift {
    /// Mean accuracy (%).
    pub value: f64,
    /// Uncertainty (± , %); 0 when not measured.
    pub uncertainty: f64,
}

/// One architecture's AnalogNAS-Bench metrics (CIFAR-10 test accuracy, %).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalogRecord {
    /// `baseline_accuracy`: the benchmark's own 200-epoch digital training.
    pub baseline_accuracy: f64,
    /// `ptq_accuracy`: after post-training quantisation.
    pub ptq_accuracy: f64,
    /// `qat_accuracy`: after quantisation-aware training.
    pub qat_accuracy: f64,
    /// `noisy_accuracy`, as stored (evaluation with analog noise; 10.0 = chance level).
    pub noisy_accuracy: f64,
    /// `analog_accuracy`, as stored (evaluation on the simulated analog hardware).
    pub analog_accuracy: f64,
    /// `baseline_drift_{60,3600,86400,2592000}`: after [`DRIFT_TIMES_S`] seconds of drift.
    pub baseline_drift: [Drift; 4],
    /// `analog_drift_{60,3600,86400,2592000}`: after [`DRIFT_TIMES_S`] seconds of drift.
    pub analog_drift: [Drift; 4],
}

/// The AnalogNAS-Bench table, keyed by NASLib op-index tuple.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalogTable {
    /// Records by NASLib tuple.
    pub records: HashMap<[u8; 6], AnalogRecord>,
}

const REMEDY: Remedy = Remedy::Provide {
    what: "AnalogNAS-Bench's `data.anb` (or run `tessera bench fetch analog-nasbench` and read it from the wheel)",
};

impl AnalogTable {
    /// Read a `data.anb` file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = read_file(path, REMEDY)?;
        Self::from_bytes(&bytes, path, None)
    }

    /// Read `analognasbench/data.anb` from the `analog-nasbench` wheel without extracting it.
    pub fn load_from_wheel(wheel: impl AsRef<Path>) -> Result<Self> {
        let wheel = wheel.as_ref();
        let mut zip = open_zip(
            wheel,
            Remedy::Fetch {
                name: "analog-nasbench",
            },
        )?;
        let bytes = crate::error::zip_entry(wheel, &mut zip, ANALOG_WHEEL_ENTRY)?;
        Self::from_bytes(&bytes, wheel, Some(ANALOG_WHEEL_ENTRY))
    }

    /// Decode the pickle bytes; `path`/`entry` are used in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path, entry: Option<&str>) -> Result<Self> {
        let p = parse_pickle(path, entry, bytes)?;
        let items = p
            .dict(p.root)
            .ok_or_else(|| format_err(path, entry, "top-level object is not a dict"))?;
        let mut records = HashMap::with_capacity(items.len());
        for &(k, v) in items {
            let key = naslib_key(&p, k).ok_or_else(|| {
                format_err(
                    path,
                    entry,
                    "a key is not a 6-tuple of NASLib op ids (ints 0..=4)",
                )
            })?;
            let rec = record(&p, v)
                .map_err(|d| format_err(path, entry, format!("architecture {key:?}: {d}")))?;
            records.insert(key, rec);
        }
        Ok(AnalogTable { records })
    }

    /// Record of a NASLib op-index tuple.
    pub fn get(&self, naslib: [u8; 6]) -> Option<&AnalogRecord> {
        self.records.get(&naslib)
    }

    /// Record of NB201 op ids (see [`crate::nb201_csv::NB201_EDGES`]).
    pub fn get_nb201(&self, ops: [u8; 6]) -> Option<&AnalogRecord> {
        self.records.get(&nb201_to_naslib(ops)?)
    }

    /// Iterate `(NB201 op ids, record)`.
    pub fn iter_nb201(&self) -> impl Iterator<Item = ([u8; 6], &AnalogRecord)> {
        self.records
            .iter()
            .filter_map(|(k, r)| Some((naslib_to_nb201(*k)?, r)))
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True if there are no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

fn naslib_key(p: &Pickle<'_>, k: Val) -> Option<[u8; 6]> {
    let items = p.seq(k)?;
    if items.len() != 6 {
        return None;
    }
    let mut out = [0u8; 6];
    for (o, &v) in out.iter_mut().zip(items) {
        match v {
            Val::Int(i @ 0..=4) => *o = i as u8,
            _ => return None,
        }
    }
    Some(out)
}

const BASELINE_DRIFT_FIELDS: [&str; 4] = [
    "baseline_drift_60",
    "baseline_drift_3600",
    "baseline_drift_86400",
    "baseline_drift_2592000",
];
const ANALOG_DRIFT_FIELDS: [&str; 4] = [
    "analog_drift_60",
    "analog_drift_3600",
    "analog_drift_86400",
    "analog_drift_2592000",
];

fn record(p: &Pickle<'_>, v: Val) -> std::result::Result<AnalogRecord, String> {
    let d = p.instance_dict(v).or_else(|| p.dict(v)).ok_or_else(|| {
        format!(
            "value is not an `analognasbench.data.Architecture` instance (found {})",
            p.class_name(v).unwrap_or_else(|| "something else".into())
        )
    })?;
    let num = |name: &str| -> std::result::Result<f64, String> {
        let x = p
            .get(d, name)
            .ok_or_else(|| format!("missing field `{name}`"))?;
        p.f64(x)
            .ok_or_else(|| format!("field `{name}` is not a number"))
    };
    let drift = |name: &str| -> std::result::Result<Drift, String> {
        let x = p
            .get(d, name)
            .ok_or_else(|| format!("missing field `{name}`"))?;
        parse_drift(p, x)
            .ok_or_else(|| format!("field `{name}` is not a DriftMeasurement / number / \"v ± u\""))
    };
    let mut baseline_drift = [Drift {
        value: 0.0,
        uncertainty: 0.0,
    }; 4];
    let mut analog_drift = baseline_drift;
    for i in 0..4 {
        baseline_drift[i] = drift(BASELINE_DRIFT_FIELDS[i])?;
        analog_drift[i] = drift(ANALOG_DRIFT_FIELDS[i])?;
    }
    Ok(AnalogRecord {
        baseline_accuracy: num("baseline_accuracy")?,
        ptq_accuracy: num("ptq_accuracy")?,
        qat_accuracy: num("qat_accuracy")?,
        noisy_accuracy: num("noisy_accuracy")?,
        analog_accuracy: num("analog_accuracy")?,
        baseline_drift,
        analog_drift,
    })
}

/// `DriftMeasurement(value, uncertainty)`, a plain number, or a `"v ± u"` string
/// (like the package's `Architecture._parse_drift`).
fn parse_drift(p: &Pickle<'_>, v: Val) -> Option<Drift> {
    if let Some(value) = p.f64(v) {
        return Some(Drift {
            value,
            uncertainty: 0.0,
        });
    }
    if let Some(s) = p.str(v) {
        let s = s.trim();
        if let Ok(value) = s.parse() {
            return Some(Drift {
                value,
                uncertainty: 0.0,
            });
        }
        let (a, b) = s.split_once('±')?;
        return Some(Drift {
            value: a.trim().parse().ok()?,
            uncertainty: b.trim().parse().ok()?,
        });
    }
    let d = p.instance_dict(v)?;
    Some(Drift {
        value: p.f64(p.get(d, "value")?)?,
        uncertainty: p.f64(p.get(d, "uncertainty")?)?,
    })
}
