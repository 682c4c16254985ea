//! Search spaces.

use crate::network::{Network, NetworkError};
use crate::rng::Rng;
use crate::sample::Sample;

/// One discrete dimension of a space: a name and its choices.
#[derive(Clone, Debug, PartialEq)]
pub struct Dim {
    pub name: String,
    pub choices: Vec<String>,
}

impl Dim {
    pub fn new(name: impl Into<String>, choices: &[&str]) -> Self {
        Dim {
            name: name.into(),
            choices: choices.iter().map(|s| s.to_string()).collect(),
        }
    }
    pub fn len(&self) -> usize {
        self.choices.len()
    }
    pub fn is_empty(&self) -> bool {
        self.choices.is_empty()
    }
}

/// One-hot of each dimension's choice, dimension after dimension (the default [`Space::encode`]; spaces that
/// encode a rewritten sample reuse it).
pub fn one_hot(dims: &[Dim], sample: &Sample) -> Vec<f32> {
    let mut v = Vec::new();
    for (d, dim) in dims.iter().enumerate() {
        let base = v.len();
        v.resize(base + dim.len(), 0.0);
        v[base + sample[d] as usize] = 1.0;
    }
    v
}

/// A search space: the set of networks a study may propose.
///
/// **Required**: [`name`](Space::name), [`dims`](Space::dims), [`lower`](Space::lower). Everything else has a
/// default built on the dimensions (uniform sampling with rejection of invalid samples, one-dimension mutation,
/// one-hot encoding); spaces override what they know better (a canonical key that groups isomorphic cells, a
/// mutation that matches a paper's).
///
/// Contract: `sample`, `mutate` and `neighbours` only return samples for which `is_valid` holds, and given the same
/// generator state they return the same samples (strategies' determinism rests on it). Implementations are immutable
/// after construction and shared between threads.
pub trait Space: Send + Sync {
    /// Short name, e.g. `nb201`.
    fn name(&self) -> &str;
    /// The discrete dimensions; a sample has one choice per dimension.
    fn dims(&self) -> &[Dim];
    /// Builds the network a sample describes.
    fn lower(&self, sample: &Sample) -> Result<Network, NetworkError>;

    /// Whether `sample` is a member of the space. The default checks lengths and ranges.
    fn is_valid(&self, sample: &Sample) -> bool {
        let dims = self.dims();
        sample.len() == dims.len()
            && sample
                .as_slice()
                .iter()
                .zip(dims)
                .all(|(&c, d)| (c as usize) < d.len())
    }

    /// A uniformly random valid sample (per-dimension uniform, invalid draws rejected).
    fn sample(&self, rng: &mut Rng) -> Sample {
        loop {
            let s = Sample(
                self.dims()
                    .iter()
                    .map(|d| crate::rng::below(rng, d.len()) as u16)
                    .collect(),
            );
            if self.is_valid(&s) {
                return s;
            }
        }
    }

    /// A random valid neighbour: one dimension changed to another choice.
    fn mutate(&self, sample: &Sample, rng: &mut Rng) -> Sample {
        let dims = self.dims();
        let free: Vec<usize> = (0..dims.len()).filter(|&d| dims[d].len() > 1).collect();
        if free.is_empty() {
            return sample.clone();
        }
        for _ in 0..1000 {
            let d = free[crate::rng::below(rng, free.len())];
            let mut s = sample.clone();
            let v = crate::rng::below(rng, dims[d].len() - 1) as u16;
            s[d] = if v >= sample[d] { v + 1 } else { v };
            if self.is_valid(&s) {
                return s;
            }
        }
        self.sample(rng)
    }

    /// Every valid sample that differs from `sample` in exactly one dimension, in a fixed order.
    fn neighbours(&self, sample: &Sample) -> Vec<Sample> {
        let mut out = Vec::new();
        for (d, dim) in self.dims().iter().enumerate() {
            for c in 0..dim.len() as u16 {
                if c != sample[d] {
                    let mut s = sample.clone();
                    s[d] = c;
                    if self.is_valid(&s) {
                        out.push(s);
                    }
                }
            }
        }
        out
    }

    /// A feature vector for predictors and Bayesian optimisation. Default: [`one_hot`] per dimension.
    fn encode(&self, sample: &Sample) -> Vec<f32> {
        one_hot(self.dims(), sample)
    }

    /// BANANAS's path encoding for cell spaces: one count per sequence of ops along a live input-to-output path of
    /// the cell (a path through a `none` edge is cut), so a model sees which computations reach the output, not only
    /// which op sits on which edge. `None` (the default) for spaces without cells.
    fn path_encoding(&self, _sample: &Sample) -> Option<Vec<f32>> {
        None
    }

    /// A canonical key: two samples with the same key build the same function (isomorphic cells). Default: the
    /// description.
    fn key(&self, sample: &Sample) -> String {
        self.describe(sample)
    }

    /// Human-readable form. Default: `dim=choice` pairs. Spaces with a standard notation use it (NB201 strings).
    fn describe(&self, sample: &Sample) -> String {
        self.dims()
            .iter()
            .zip(sample.as_slice())
            .map(|(d, &c)| {
                format!(
                    "{}={}",
                    d.name,
                    d.choices.get(c as usize).map(String::as_str).unwrap_or("?")
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses [`describe`](Space::describe)'s output (or a JSON array of choice indices).
    fn parse(&self, text: &str) -> Result<Sample, String> {
        let text = text.trim();
        let s = if text.starts_with('[') {
            let v: Vec<u16> = serde_json::from_str(text)
                .map_err(|e| format!("not a JSON array of choices: {e}"))?;
            Sample::from(v)
        } else {
            let dims = self.dims();
            let mut s = Sample(smallvec::smallvec![0; dims.len()]);
            let mut seen = vec![false; dims.len()];
            for part in text.split(',') {
                let (k, v) = part
                    .split_once('=')
                    .ok_or_else(|| format!("expected dim=choice, got `{part}`"))?;
                let d = dims
                    .iter()
                    .position(|d| d.name == k.trim())
                    .ok_or_else(|| format!("unknown dimension `{k}`"))?;
                let c = dims[d]
                    .choices
                    .iter()
                    .position(|c| c == v.trim())
                    .ok_or_else(|| {
                        format!(
                            "unknown choice `{v}` for `{k}` (one of {})",
                            dims[d].choices.join(", ")
                        )
                    })?;
                s[d] = c as u16;
                seen[d] = true;
            }
            if let Some(d) = seen.iter().position(|x| !x) {
                return Err(format!("dimension `{}` missing", dims[d].name));
            }
            s
        };
        if self.is_valid(&s) {
            Ok(s)
        } else {
            Err(format!(
                "{s} is not a valid sample of space `{}`",
                self.name()
            ))
        }
    }

    /// Number of samples when finite and countable (product of the dimension sizes, invalid ones included).
    fn cardinality(&self) -> Option<u128> {
        self.dims()
            .iter()
            .try_fold(1u128, |acc, d| acc.checked_mul(d.len() as u128))
    }

    /// The `i`-th sample in mixed-radix order (last dimension fastest), valid or not; used by grid search.
    fn nth(&self, mut i: u128) -> Sample {
        let dims = self.dims();
        let mut s = Sample(smallvec::smallvec![0; dims.len()]);
        for d in (0..dims.len()).rev() {
            let n = dims[d].len() as u128;
            s[d] = (i % n) as u16;
            i /= n;
        }
        s
    }
}

/// Restricts a space to the samples a predicate accepts (for example those a tabular benchmark contains), as a
/// wrapper implementing the same trait.
pub struct Restricted<S, F> {
    pub inner: S,
    pub accept: F,
    pub name: String,
}

impl<S: Space, F: Fn(&Sample) -> bool + Send + Sync> Space for Restricted<S, F> {
    fn name(&self) -> &str {
        &self.name
    }
    fn dims(&self) -> &[Dim] {
        self.inner.dims()
    }
    fn lower(&self, s: &Sample) -> Result<Network, NetworkError> {
        self.inner.lower(s)
    }
    fn is_valid(&self, s: &Sample) -> bool {
        self.inner.is_valid(s) && (self.accept)(s)
    }
    fn sample(&self, rng: &mut Rng) -> Sample {
        loop {
            let s = self.inner.sample(rng);
            if (self.accept)(&s) {
                return s;
            }
        }
    }
    fn mutate(&self, s: &Sample, rng: &mut Rng) -> Sample {
        loop {
            let m = self.inner.mutate(s, rng);
            if (self.accept)(&m) {
                return m;
            }
        }
    }
    fn neighbours(&self, s: &Sample) -> Vec<Sample> {
        self.inner
            .neighbours(s)
            .into_iter()
            .filter(|m| (self.accept)(m))
            .collect()
    }
    fn encode(&self, s: &Sample) -> Vec<f32> {
        self.inner.encode(s)
    }
    fn path_encoding(&self, s: &Sample) -> Option<Vec<f32>> {
        self.inner.path_encoding(s)
    }
    fn key(&self, s: &Sample) -> String {
        self.inner.key(s)
    }
    fn describe(&self, s: &Sample) -> String {
        self.inner.describe(s)
    }
    fn parse(&self, text: &str) -> Result<Sample, String> {
        let s = self.inner.parse(text)?;
        if (self.accept)(&s) {
            Ok(s)
        } else {
            Err(format!("{text} is not in `{}`", self.name))
        }
    }
    fn cardinality(&self) -> Option<u128> {
        self.inner.cardinality()
    }
    fn nth(&self, i: u128) -> Sample {
        self.inner.nth(i)
    }
}

#[cfg(test)]
pub(crate) mod toy {
    //! A toy space for the core's own tests: `n` dimensions of `k` choices, invalid when all choices are 0.
    use super::*;
    use crate::network::Op;

    pub struct Toy {
        pub dims: Vec<Dim>,
    }
    impl Toy {
        pub fn new(n: usize, k: usize) -> Self {
            let choices: Vec<String> = (0..k).map(|c| c.to_string()).collect();
            Toy {
                dims: (0..n)
                    .map(|d| Dim {
                        name: format!("d{d}"),
                        choices: choices.clone(),
                    })
                    .collect(),
            }
        }
    }
    impl Space for Toy {
        fn name(&self) -> &str {
            "toy"
        }
        fn dims(&self) -> &[Dim] {
            &self.dims
        }
        fn lower(&self, _: &Sample) -> Result<Network, NetworkError> {
            let mut n = Network::new();
            let x = n.add(Op::Input { shape: vec![4] }, &[]);
            n.add(Op::Output { classes: 2 }, &[x]);
            Ok(n)
        }
        fn is_valid(&self, s: &Sample) -> bool {
            s.len() == self.dims.len()
                && s.as_slice().iter().any(|&c| c != 0)
                && s.as_slice()
                    .iter()
                    .all(|&c| (c as usize) < self.dims[0].len())
        }
    }

    #[test]
    fn defaults_respect_validity_and_parse_round_trips() {
        let t = Toy::new(3, 4);
        let mut rng = crate::rng_for(1, 0);
        for _ in 0..200 {
            let s = t.sample(&mut rng);
            assert!(t.is_valid(&s));
            let m = t.mutate(&s, &mut rng);
            assert!(t.is_valid(&m));
            assert_eq!(
                m.as_slice()
                    .iter()
                    .zip(s.as_slice())
                    .filter(|(a, b)| a != b)
                    .count(),
                1
            );
            assert_eq!(t.parse(&t.describe(&s)).unwrap(), s);
        }
        let zero = Sample::new(&[0, 0, 1]);
        assert_eq!(t.neighbours(&zero).len(), 3 * 3 - 1);
        assert_eq!(
            t.encode(&zero),
            vec![1., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0., 0.]
        );
        assert!(t.parse("d0=0,d1=0,d2=0").is_err());
        assert!(t.parse("d0=9").unwrap_err().contains("unknown choice"));
    }
}
