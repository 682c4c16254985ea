//! MNIST-1D (Greydanus 2020): small 1-D signals that separate model families about as well as MNIST does,
//! at a fraction of the cost.
//!
//! Two sources: [`read_mnist1d`] reads the reference pickle (`mnist1d_data.pkl`: a dict of numpy arrays `x`,
//! `y`, `x_test`, `y_test`, …), and [`generate`] builds a dataset procedurally, following the idea of the public
//! generator (a short template per class, padded, stretched, scaled, translated, filled with correlated noise,
//! sheared and resampled) with this crate's own templates and random stream. Same seed, same data, on every
//! platform (ChaCha8).

use super::pickle::{self, Value};
use super::{Dataset, Split};
use crate::error::DataError;
use rand::Rng as _;
use std::path::Path;
use tessera_core::rng_for;

/// Reads the reference pickle: examples shaped `[1, L]` (L = 40), train then test, split train/test (val empty;
/// carve one with [`Dataset::split_or_stratified`]).
pub fn read_mnist1d(path: impl AsRef<Path>) -> Result<Dataset, DataError> {
    let path = path.as_ref();
    let v = pickle::read_file(path)?;
    let field = |k: &str| -> Result<&Value, DataError> {
        v.get(k)
            .ok_or_else(|| DataError::format(path, "top-level dict", format!("no key {k:?}")))
    };
    let x = pickle::ndarray(field("x")?, path, "key 'x'")?;
    let y = pickle::ndarray(field("y")?, path, "key 'y'")?;
    let xt = pickle::ndarray(field("x_test")?, path, "key 'x_test'")?;
    let yt = pickle::ndarray(field("y_test")?, path, "key 'y_test'")?;
    if x.shape.len() != 2 || xt.shape.len() != 2 || x.shape[1] != xt.shape[1] {
        return Err(DataError::format(
            path,
            "key 'x'",
            format!(
                "x {:?} and x_test {:?} are not [n, L] alike",
                x.shape, xt.shape
            ),
        ));
    }
    if y.data.len() != x.shape[0] || yt.data.len() != xt.shape[0] {
        return Err(DataError::format(
            path,
            "key 'y'",
            "label counts differ from signal counts",
        ));
    }
    let mut labels = Vec::with_capacity(y.data.len() + yt.data.len());
    for (i, &l) in y.data.iter().chain(&yt.data).enumerate() {
        if l < 0.0 || l.fract() != 0.0 || l > 1e6 {
            return Err(DataError::format(
                path,
                format!("label {i}"),
                format!("{l} is not a class index"),
            ));
        }
        labels.push(l as u32);
    }
    let classes = labels.iter().max().map_or(0, |&m| m as usize + 1);
    let features: Vec<f32> = x.data.iter().chain(&xt.data).map(|&v| v as f32).collect();
    let n = x.shape[0];
    let mut d = Dataset::new("mnist1d", features, vec![1, x.shape[1]], labels, classes)?;
    d.split = Some(Split {
        train: (0..n).collect(),
        val: Vec::new(),
        test: (n..d.len()).collect(),
    });
    Ok(d)
}

/// Parameters of the procedural generator. Defaults follow the public generator's published defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Mnist1dConfig {
    pub num_samples: usize,
    /// Fraction of samples in the training part (the rest is the test part).
    pub train_split: f64,
    /// Zeros appended after the template: uniform in `padding.0..=padding.1`.
    pub padding: (usize, usize),
    /// Amplitude scaled by `1 + scale_coeff * (u - 0.5)`.
    pub scale_coeff: f64,
    /// Circular shift by `0..max_translation` steps.
    pub max_translation: usize,
    /// Standard deviation of the smoothed noise that fills the padding.
    pub corr_noise_scale: f64,
    pub iid_noise_scale: f64,
    /// A linear trend of slope `shear_scale * (u - 0.5)` is subtracted.
    pub shear_scale: f64,
    pub final_seq_length: usize,
    pub seed: u64,
}

impl Default for Mnist1dConfig {
    fn default() -> Self {
        Mnist1dConfig {
            num_samples: 5000,
            train_split: 0.8,
            padding: (36, 60),
            scale_coeff: 0.4,
            max_translation: 48,
            corr_noise_scale: 0.25,
            iid_noise_scale: 2e-2,
            shear_scale: 0.75,
            final_seq_length: 40,
            seed: 42,
        }
    }
}

const TEMPLATE_LEN: usize = 12;

/// Ten class templates of 12 points, one per digit: simple, mutually distinct waveforms (this crate's own design:
/// a sine, a pulse, two ramps, a double wave, a peak, a valley, a sawtooth, a mixed wave, a plateau).
fn templates() -> [[f64; TEMPLATE_LEN]; 10] {
    let mut t = [[0.0; TEMPLATE_LEN]; 10];
    #[allow(clippy::needless_range_loop)] // each template is a formula of the same index
    for i in 0..TEMPLATE_LEN {
        let u = i as f64 / (TEMPLATE_LEN - 1) as f64; // 0..1
        let tau = std::f64::consts::TAU;
        t[0][i] = (tau * u).sin();
        t[1][i] = if (3..9).contains(&i) { 1.0 } else { -0.5 };
        t[2][i] = 2.0 * u - 1.0;
        t[3][i] = 1.0 - 2.0 * u;
        t[4][i] = (2.0 * tau * u).sin();
        t[5][i] = 1.0 - 2.0 * (2.0 * u - 1.0).abs();
        t[6][i] = 2.0 * (2.0 * u - 1.0).abs() - 1.0;
        t[7][i] = 2.0 * ((2.0 * u) % 1.0) - 1.0;
        t[8][i] = -(tau * u).sin() * 0.5 + (0.5 * tau * u).cos() * 0.5;
        t[9][i] = if i < 8 { 0.8 } else { -1.0 };
    }
    // amplitude ≈ 0.4 with both ends at zero, so the correlated noise (σ 0.25) and the distortions make the task
    // about as hard as the public one
    for row in t.iter_mut() {
        for (i, v) in row.iter_mut().enumerate() {
            let taper = if i == 0 || i == TEMPLATE_LEN - 1 {
                0.0
            } else {
                1.0
            };
            *v *= 0.4 * taper;
        }
    }
    t
}

fn interpolate(x: &[f64], n: usize) -> Vec<f64> {
    if x.len() == 1 || n == 1 {
        return vec![x[0]; n];
    }
    (0..n)
        .map(|i| {
            let pos = i as f64 * (x.len() - 1) as f64 / (n - 1) as f64;
            let lo = (pos.floor() as usize).min(x.len() - 2);
            let f = pos - lo as f64;
            x[lo] * (1.0 - f) + x[lo + 1] * f
        })
        .collect()
}

/// 1-D Gaussian smoothing (σ in samples, kernel radius 4σ, mirror-reflected edges).
fn gaussian_filter(x: &[f64], sigma: f64) -> Vec<f64> {
    let r = (4.0 * sigma).round() as isize;
    let w: Vec<f64> = (-r..=r)
        .map(|k| (-(k * k) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let s: f64 = w.iter().sum();
    let n = x.len() as isize;
    let at = |mut i: isize| {
        // reflect: ... 2 1 0 | 0 1 2 ... n-1 | n-1 n-2 ...
        loop {
            if i < 0 {
                i = -i - 1;
            } else if i >= n {
                i = 2 * n - i - 1;
            } else {
                return x[i as usize];
            }
        }
    };
    (0..n)
        .map(|i| (-r..=r).zip(&w).map(|(k, wk)| wk * at(i + k)).sum::<f64>() / s)
        .collect()
}

fn normal(rng: &mut tessera_core::Rng) -> f64 {
    // Box–Muller; u1 in (0, 1] so the log is finite
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Generates an MNIST-1D-like dataset: labels cycle through the 10 classes, examples shaped `[1, final_len]`,
/// split train (first `train_split`) / test, val empty.
pub fn generate(cfg: &Mnist1dConfig) -> Result<Dataset, DataError> {
    if cfg.padding.0 > cfg.padding.1 || cfg.final_seq_length < 2 || cfg.num_samples < 10 {
        return Err(DataError::invalid(
            "mnist1d generator",
            "needs padding.0 ≤ padding.1, length ≥ 2, ≥ 10 samples",
        ));
    }
    let t = templates();
    let mut rng = rng_for(cfg.seed, 0x1d);
    let long = TEMPLATE_LEN + cfg.padding.1;
    let mut features = Vec::with_capacity(cfg.num_samples * cfg.final_seq_length);
    let mut labels = Vec::with_capacity(cfg.num_samples);
    for i in 0..cfg.num_samples {
        let y = i % 10;
        let p = cfg.padding.0 + rng.random_range(0..=cfg.padding.1 - cfg.padding.0);
        let mut x: Vec<f64> = t[y].iter().map(|v| v + 1e-8).collect();
        x.resize(TEMPLATE_LEN + p, 0.0);
        let mut x = interpolate(&x, long);
        let scale = 1.0 + cfg.scale_coeff * (rng.random::<f64>() - 0.5);
        x.iter_mut().for_each(|v| *v *= scale);
        if cfg.max_translation > 0 {
            let k = rng.random_range(0..cfg.max_translation) % long;
            x.rotate_right(k);
        }
        let noise: Vec<f64> = (0..long)
            .map(|_| cfg.corr_noise_scale * normal(&mut rng))
            .collect();
        let noise = gaussian_filter(&noise, 2.0);
        for (v, n) in x.iter_mut().zip(&noise) {
            if *v == 0.0 {
                *v = *n;
            }
        }
        for v in x.iter_mut() {
            *v += cfg.iid_noise_scale * normal(&mut rng);
        }
        let coeff = cfg.shear_scale * (rng.random::<f64>() - 0.5);
        for (j, v) in x.iter_mut().enumerate() {
            *v -= coeff * (j as f64 / (long - 1) as f64 - 0.5);
        }
        features.extend(
            interpolate(&x, cfg.final_seq_length)
                .into_iter()
                .map(|v| v as f32),
        );
        labels.push(y as u32);
    }
    let n_train = ((cfg.num_samples as f64) * cfg.train_split).round() as usize;
    let mut d = Dataset::new(
        "mnist1d-generated",
        features,
        vec![1, cfg.final_seq_length],
        labels,
        10,
    )?;
    d.split = Some(Split {
        train: (0..n_train).collect(),
        val: Vec::new(),
        test: (n_train..cfg.num_samples).collect(),
    });
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_seeded_and_shaped() {
        let cfg = Mnist1dConfig {
            num_samples: 100,
            ..Default::default()
        };
        let a = generate(&cfg).unwrap();
        assert_eq!((a.len(), a.shape.clone()), (100, vec![1, 40]));
        assert_eq!(a, generate(&cfg).unwrap());
        let b = generate(&Mnist1dConfig { seed: 1, ..cfg }).unwrap();
        assert_ne!(a.features, b.features);
        assert!(a.features.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn helpers() {
        assert_eq!(interpolate(&[0.0, 1.0], 3), vec![0.0, 0.5, 1.0]);
        let s = gaussian_filter(&[1.0; 10], 2.0);
        assert!(s.iter().all(|v| (v - 1.0).abs() < 1e-12));
    }
}
