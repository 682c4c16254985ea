//! IDX files, the format of the original MNIST distribution (`train-images-idx3-ubyte[.gz]` …).
//!
//! Layout: two zero bytes, a type byte (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64), the number of
//! dimensions, each dimension as a big-endian u32, then the values big-endian, row-major.

use super::{read_maybe_gz, Dataset, Split};
use crate::error::DataError;
use std::path::Path;

/// An IDX array converted to `f32`.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<f32>,
}

/// Reads an IDX file (plain or gzipped).
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray, DataError> {
    let path = path.as_ref();
    parse_idx(&read_maybe_gz(path)?, path)
}

pub fn parse_idx(b: &[u8], path: &Path) -> Result<IdxArray, DataError> {
    let err = |at: usize, msg: String| {
        DataError::format(path, format!("byte {at}"), format!("IDX: {msg}"))
    };
    if b.len() < 4 {
        return Err(err(
            0,
            format!("file has {} bytes, a header needs 4", b.len()),
        ));
    }
    if b[0] != 0 || b[1] != 0 {
        return Err(err(
            0,
            format!("bad magic {:02x} {:02x} (expected 00 00)", b[0], b[1]),
        ));
    }
    let size = match b[2] {
        0x08 | 0x09 => 1,
        0x0B => 2,
        0x0C | 0x0D => 4,
        0x0E => 8,
        t => return Err(err(2, format!("unknown value type 0x{t:02x}"))),
    };
    let ndim = b[3] as usize;
    if ndim == 0 {
        return Err(err(3, "zero dimensions".into()));
    }
    let head = 4 + 4 * ndim;
    if b.len() < head {
        return Err(err(
            b.len(),
            format!("truncated header: {ndim} dimensions need {head} bytes"),
        ));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|d| u32::from_be_bytes(b[4 + 4 * d..8 + 4 * d].try_into().expect("4 bytes")) as usize)
        .collect();
    let n = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| err(4, "dimensions overflow".into()))?;
    let need = n
        .checked_mul(size)
        .and_then(|x| x.checked_add(head))
        .ok_or_else(|| err(4, "size overflow".into()))?;
    if b.len() != need {
        return Err(err(
            b.len().min(need),
            format!(
                "dimensions {dims:?} need {need} bytes, the file has {}",
                b.len()
            ),
        ));
    }
    let body = &b[head..];
    let data: Vec<f32> = match b[2] {
        0x08 => body.iter().map(|&x| x as f32).collect(),
        0x09 => body.iter().map(|&x| x as i8 as f32).collect(),
        0x0B => body
            .chunks_exact(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]) as f32)
            .collect(),
        0x0C => body
            .chunks_exact(4)
            .map(|c| i32::from_be_bytes(c.try_into().expect("4")) as f32)
            .collect(),
        0x0D => body
            .chunks_exact(4)
            .map(|c| f32::from_be_bytes(c.try_into().expect("4")))
            .collect(),
        _ => body
            .chunks_exact(8)
            .map(|c| f64::from_be_bytes(c.try_into().expect("8")) as f32)
            .collect(),
    };
    Ok(IdxArray { dims, data })
}

/// An images file `[N, H, W]` and a labels file `[N]` as a dataset of `[1, H, W]` examples (values unscaled).
pub fn read_idx_pair(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
) -> Result<Dataset, DataError> {
    let (ip, lp) = (images.as_ref(), labels.as_ref());
    let img = read_idx(ip)?;
    let lab = read_idx(lp)?;
    let shape = match img.dims.as_slice() {
        [_, h, w] => vec![1, *h, *w],
        [_, c, h, w] => vec![*c, *h, *w],
        [_, f] => vec![*f],
        d => {
            return Err(DataError::format(
                ip,
                "byte 3",
                format!("IDX: images have dimensions {d:?}, expected [N, H, W]"),
            ))
        }
    };
    if lab.dims.len() != 1 || lab.dims[0] != img.dims[0] {
        return Err(DataError::format(
            lp,
            "byte 4",
            format!(
                "IDX: labels have dimensions {:?}, expected [{}] to match the images",
                lab.dims, img.dims[0]
            ),
        ));
    }
    let mut labels = Vec::with_capacity(lab.data.len());
    for (i, &l) in lab.data.iter().enumerate() {
        if l < 0.0 || l.fract() != 0.0 || l > 65535.0 {
            return Err(DataError::format(
                lp,
                format!("label {i}"),
                format!("IDX: label {l} is not a class index"),
            ));
        }
        labels.push(l as u32);
    }
    let classes = labels.iter().max().map_or(0, |&m| m as usize + 1);
    let name = ip
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Dataset::new(name, img.data, shape, labels, classes)
}

/// The four MNIST IDX files in `dir` (`train-images-idx3-ubyte`, … each optionally `.gz`): training and test
/// parts concatenated, with the standard split (train = the 60,000, test = the 10,000, val empty).
pub fn mnist_idx(dir: impl AsRef<Path>) -> Result<Dataset, DataError> {
    let dir = dir.as_ref();
    let find = |stem: &str| {
        let plain = dir.join(stem);
        let gz = dir.join(format!("{stem}.gz"));
        if gz.exists() && !plain.exists() {
            gz
        } else {
            plain
        }
    };
    let train = read_idx_pair(
        find("train-images-idx3-ubyte"),
        find("train-labels-idx1-ubyte"),
    )?;
    let test = read_idx_pair(
        find("t10k-images-idx3-ubyte"),
        find("t10k-labels-idx1-ubyte"),
    )?;
    if train.shape != test.shape {
        return Err(DataError::invalid(
            "mnist",
            "train and test images differ in shape",
        ));
    }
    let n = train.len();
    let mut d = train;
    d.features.extend_from_slice(&test.features);
    d.labels.extend_from_slice(&test.labels);
    d.classes = d.classes.max(test.classes);
    d.name = "mnist".into();
    d.split = Some(Split {
        train: (0..n).collect(),
        val: Vec::new(),
        test: (n..d.labels.len()).collect(),
    });
    d.validate()?;
    Ok(d)
}

/// Writes an IDX file of unsigned bytes (for tests and for exporting small datasets).
pub fn write_idx_u8(path: impl AsRef<Path>, dims: &[usize], data: &[u8]) -> std::io::Result<()> {
    let mut b = vec![0u8, 0, 0x08, dims.len() as u8];
    for &d in dims {
        b.extend_from_slice(&(d as u32).to_be_bytes());
    }
    b.extend_from_slice(data);
    std::fs::write(path, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_rejects() {
        let mut b = vec![0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
        b.extend_from_slice(&[1, 2, 3, 4]);
        let a = parse_idx(&b, Path::new("i")).unwrap();
        assert_eq!(
            (a.dims.clone(), a.data.clone()),
            (vec![2, 1, 2], vec![1.0, 2.0, 3.0, 4.0])
        );
        let e = parse_idx(&b[..18], Path::new("i")).unwrap_err().to_string();
        assert_eq!(
            e,
            "i: byte 18: IDX: dimensions [2, 1, 2] need 20 bytes, the file has 18"
        );
        let e = parse_idx(&[1, 0, 8, 1], Path::new("i"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad magic"), "{e}");
    }
}
