//! HELP (Lee et al., NeurIPS 2021, MIT) NAS-Bench-201 latency tables.
//!
//! `nb201/latency/<device>.pt` is a torch zip file whose `<dir>/data.pkl` is a protocol-2
//! pickle of a plain list of 15,625 numbers: the inference latency in milliseconds of
//! every NB201 architecture on that device (integers for `essential_ph_1`).
//! `str_arch2idx.pt` holds a dict architecture string -> index giving the list order.
//!
//! That order is the NATS-Bench index order: `str_arch2idx[nats_bench.csv row i arch] == i`
//! for all 15,625 rows (checked in `tests/readers.rs::help_arch2idx_matches_csv_order`),
//! so `load_latency(..)[i]` is the latency of NATS index `i`.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{format_err, open_zip, parse_pickle, zip_entry, BenchError, Remedy, Result};

/// Devices with a latency file in the HELP NB201 data (file stem = device name):
/// HW-NAS-Bench devices (`eyeriss`, `fpga`, `pixel3`, `raspi4`), a GTX 1080 Ti at batch
/// size 1 (`1080ti_1`), a Xeon Gold 6226 CPU (`gold_6226`) and an Essential phone
/// (`essential_ph_1`, integer ms). [`load_latency`] reads any HELP device file.
pub const HELP_DEVICES: [&str; 7] = [
    "1080ti_1",
    "essential_ph_1",
    "eyeriss",
    "fpga",
    "gold_6226",
    "pixel3",
    "raspi4",
];

/// `<dir>/<device>.pt`.
pub fn latency_path(dir: impl AsRef<Path>, device: &str) -> std::path::PathBuf {
    dir.as_ref().join(format!("{device}.pt"))
}

const REMEDY_LAT: Remedy = Remedy::Provide {
    what: "a HELP latency file `<device>.pt` (HELP, MIT: github.com/HayeonLee/HELP, \
           data/nasbench201/latency/)",
};
const REMEDY_IDX: Remedy = Remedy::Provide {
    what: "HELP's `str_arch2idx.pt` (HELP, MIT: github.com/HayeonLee/HELP, data/nasbench201/)",
};

/// Read the pickle bytes of the single `*/data.pkl` entry of a torch zip file.
fn torch_data_pkl(path: &Path, remedy: Remedy) -> Result<(String, Vec<u8>)> {
    let mut zip = open_zip(path, remedy)?;
    let names: Vec<String> = zip
        .file_names()
        .filter(|n| n.ends_with("/data.pkl") || *n == "data.pkl")
        .map(str::to_owned)
        .collect();
    match names.as_slice() {
        [one] => {
            let bytes = zip_entry(path, &mut zip, one)?;
            Ok((one.clone(), bytes))
        }
        [] => Err(BenchError::Zip {
            path: path.to_path_buf(),
            detail: "no `*/data.pkl` entry: not a torch zip file".into(),
        }),
        many => Err(BenchError::Zip {
            path: path.to_path_buf(),
            detail: format!("several `data.pkl` entries ({})", many.join(", ")),
        }),
    }
}

/// Read a HELP latency file: latency (ms) by NATS index.
pub fn load_latency(path: impl AsRef<Path>) -> Result<Vec<f64>> {
    let path = path.as_ref();
    let (entry, bytes) = torch_data_pkl(path, REMEDY_LAT)?;
    let p = parse_pickle(path, Some(&entry), &bytes)?;
    let items = p.seq(p.root).ok_or_else(|| {
        format_err(
            path,
            Some(&entry),
            "pickle is not a list of numbers (a tensor file?)",
        )
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, &v)| match p.f64(v) {
            Some(x) if x.is_finite() => Ok(x),
            _ => Err(format_err(
                path,
                Some(&entry),
                format!("item {i} is not a finite number"),
            )),
        })
        .collect()
}

/// Read HELP's `str_arch2idx.pt`: NB201 architecture string -> index.
pub fn load_arch2idx(path: impl AsRef<Path>) -> Result<HashMap<String, usize>> {
    let path = path.as_ref();
    let (entry, bytes) = torch_data_pkl(path, REMEDY_IDX)?;
    let p = parse_pickle(path, Some(&entry), &bytes)?;
    let items = p
        .dict(p.root)
        .ok_or_else(|| format_err(path, Some(&entry), "pickle is not a dict"))?;
    let mut out = HashMap::with_capacity(items.len());
    for &(k, v) in items {
        let key = p
            .str(k)
            .ok_or_else(|| format_err(path, Some(&entry), "a key is not a string"))?;
        let idx = match p.f64(v) {
            Some(x) if x >= 0.0 && x.fract() == 0.0 && x < u32::MAX as f64 => x as usize,
            _ => {
                return Err(format_err(
                    path,
                    Some(&entry),
                    format!("value of {key:?} is not an index"),
                ))
            }
        };
        out.insert(key.to_owned(), idx);
    }
    Ok(out)
}
