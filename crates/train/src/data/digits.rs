//! The scikit-learn digits dataset, bundled with this crate (`crates/train/data/digits.csv.gz`, BSD-3, see
//! `crates/train/data/LICENSE-digits.md`): 1,797 grey-scale 8×8 images, pixel values 0–16, 10 classes.

use super::csv::{parse_csv, CsvOptions, Header};
use super::{gunzip_if_needed, Dataset};
use crate::error::DataError;
use std::path::Path;

const DIGITS_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");

/// The bundled digits, examples shaped `[64]` (use [`Dataset::with_shape`]`(&[1, 8, 8])` for convolutions),
/// pixel values 0–16 (normalise before training).
pub fn digits() -> Result<Dataset, DataError> {
    let path = Path::new("digits.csv.gz (bundled)");
    let bytes = gunzip_if_needed(DIGITS_GZ.to_vec(), path)?;
    let opts = CsvOptions {
        header: Header::No,
        ..CsvOptions::default()
    };
    let mut d = parse_csv(bytes, path, "digits", &opts)?;
    d.name = "digits".into();
    Ok(d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundled_digits_have_the_documented_size() {
        let d = super::digits().unwrap();
        assert_eq!((d.len(), d.shape.clone(), d.classes), (1797, vec![64], 10));
        assert!(d.features.iter().all(|&x| (0.0..=16.0).contains(&x)));
    }
}
