//! Shared pieces of the model-based strategies ([`crate::gp_bo`], [`crate::tpe`], [`crate::bananas`],
//! [`crate::reinforce`], [`crate::mcts`], [`crate::adaptive_evolution`]): the told history, encodings, a
//! mutation-based local search that maximises an acquisition function over a space, the normal distribution, and a
//! tiny MLP regressor.
//!
//! Nothing here iterates a `HashMap`/`HashSet` (their order is random per process): sets are only used for
//! membership, so every strategy built on these pieces stays deterministic per seed.

use rand::Rng as _;
use std::collections::{HashMap, HashSet};
use tessera_core::{Foresight, Rng, Sample, Space, Told, TrialState};

/// What a model-based strategy remembers: complete trials with their score (first objective, larger is better),
/// every sample proposed or told (never proposed again: on a tabular benchmark a repeated query is a wasted one),
/// and the samples asked but not yet told (for batch asks).
#[derive(Default)]
pub struct History {
    pub samples: Vec<Sample>,
    pub scores: Vec<f64>,
    /// Trials told failed, pruned or infeasible (no score).
    pub unscored: Vec<Sample>,
    pub seen: HashSet<Sample>,
    /// Asked and not yet told, in ask order.
    pub pending: Vec<Sample>,
}

impl History {
    /// Records a proposal.
    pub fn propose(&mut self, s: &Sample) {
        self.seen.insert(s.clone());
        self.pending.push(s.clone());
    }

    /// Records a result. Returns the score when the trial completed.
    pub fn tell(&mut self, told: &Told) -> Option<f64> {
        if let Some(i) = self.pending.iter().position(|p| p == told.sample) {
            self.pending.remove(i);
        }
        self.seen.insert(told.sample.clone());
        match told.score() {
            Some(v) if told.state == TrialState::Complete => {
                self.samples.push(told.sample.clone());
                self.scores.push(v);
                Some(v)
            }
            _ => {
                self.unscored.push(told.sample.clone());
                None
            }
        }
    }

    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// Indices of the `k` best scores, best first (ties: earlier trial first).
    pub fn top(&self, k: usize) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.scores.len()).collect();
        let k = k.min(idx.len());
        if k == 0 {
            return Vec::new();
        }
        let cmp = |a: &usize, b: &usize| self.scores[*b].total_cmp(&self.scores[*a]).then(a.cmp(b));
        if k < idx.len() {
            idx.select_nth_unstable_by(k - 1, cmp);
            idx.truncate(k);
        }
        idx.sort_by(cmp);
        idx
    }

    pub fn best(&self) -> Option<f64> {
        self.scores.iter().copied().max_by(f64::total_cmp)
    }

    /// Records and returns `chosen`, or a fresh feasible sample when there is none: how every model-guided ask ends.
    pub fn propose_or_fresh(
        &mut self,
        chosen: Option<Sample>,
        space: &dyn Space,
        fore: &dyn Foresight,
        rng: &mut Rng,
    ) -> Sample {
        let s = chosen.unwrap_or_else(|| self.fresh_feasible(space, fore, rng));
        self.propose(&s);
        s
    }

    /// Where a model-guided local search starts: the `best` best trials, then `random` fresh feasible samples.
    pub fn starts(
        &self,
        best: usize,
        random: usize,
        space: &dyn Space,
        fore: &dyn Foresight,
        rng: &mut Rng,
    ) -> Vec<Sample> {
        let mut starts: Vec<Sample> = self
            .top(best)
            .into_iter()
            .map(|i| self.samples[i].clone())
            .collect();
        for _ in 0..random {
            starts.push(self.fresh_feasible(space, fore, rng));
        }
        starts
    }

    /// A uniformly random sample not proposed before that passes the foresight's hard constraints (after 1,000
    /// tries, any unproposed sample: the study then records it infeasible, unevaluated).
    pub fn fresh_feasible(&self, space: &dyn Space, fore: &dyn Foresight, rng: &mut Rng) -> Sample {
        for _ in 0..1000 {
            let s = space.sample(rng);
            if !self.seen.contains(&s) && fore.feasible(&s) {
                return s;
            }
        }
        self.fresh_sample(space, rng)
    }

    /// A uniformly random valid sample not proposed before (after 1,000 tries, any random sample).
    pub fn fresh_sample(&self, space: &dyn Space, rng: &mut Rng) -> Sample {
        for _ in 0..1000 {
            let s = space.sample(rng);
            if !self.seen.contains(&s) {
                return s;
            }
        }
        space.sample(rng)
    }
}

/// How samples become feature vectors for a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// The space's own encoding ([`Space::encode`]; one-hot per dimension by default).
    Space,
    /// One-hot of every dimension plus one-hot of every pair of dimensions' joint choice. A generic stand-in for
    /// the path encoding of cell spaces: in an NB201 cell every path of length two is a pair of edges, so the pair
    /// features contain the length-2 paths (and more). Size Σkᵢ + Σᵢ<ⱼ kᵢkⱼ (405 for NB201).
    Pairs,
    /// The space's encoding plus its path encoding ([`Space::path_encoding`], BANANAS's): for cell spaces (NB201).
    /// A space without one gets [`Encoding::Pairs`] instead.
    Paths,
}

impl Encoding {
    pub fn parse(v: &str) -> Result<Self, String> {
        match v {
            "space" | "onehot" | "one-hot" => Ok(Encoding::Space),
            "pairs" => Ok(Encoding::Pairs),
            "paths" | "path" => Ok(Encoding::Paths),
            _ => Err(format!(
                "option `encoding` must be `onehot`, `pairs` or `paths`, got `{v}`"
            )),
        }
    }

    /// The option value that selects this encoding.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Space => "onehot",
            Encoding::Pairs => "pairs",
            Encoding::Paths => "paths",
        }
    }

    /// The encoding a model gets on `space`: [`Encoding::Paths`] when the space has a path encoding, else
    /// [`Encoding::Pairs`].
    pub fn best_for(space: &dyn Space) -> Encoding {
        let probe = Sample::new(&vec![0; space.dims().len()]);
        if space.path_encoding(&probe).is_some() {
            Encoding::Paths
        } else {
            Encoding::Pairs
        }
    }

    pub fn encode(self, space: &dyn Space, s: &Sample) -> Vec<f64> {
        match self {
            Encoding::Space => space.encode(s).into_iter().map(f64::from).collect(),
            Encoding::Paths => match space.path_encoding(s) {
                Some(p) => space
                    .encode(s)
                    .into_iter()
                    .chain(p)
                    .map(f64::from)
                    .collect(),
                None => Encoding::Pairs.encode(space, s),
            },
            Encoding::Pairs => {
                let dims = space.dims();
                let mut v: Vec<f64> = Vec::new();
                for (d, dim) in dims.iter().enumerate() {
                    let base = v.len();
                    v.resize(base + dim.len(), 0.0);
                    v[base + s[d] as usize] = 1.0;
                }
                for i in 0..dims.len() {
                    for j in i + 1..dims.len() {
                        let base = v.len();
                        v.resize(base + dims[i].len() * dims[j].len(), 0.0);
                        v[base + s[i] as usize * dims[j].len() + s[j] as usize] = 1.0;
                    }
                }
                v
            }
        }
    }
}

/// Maximises an acquisition `f` over samples that `free` accepts by best-improvement hill climbing on the space's
/// neighbours from each start (the starts themselves may be taken, e.g. the best evaluated points: the climb passes
/// through taken samples but only returns free ones). `f` scores a batch of samples at once (a whole
/// neighbourhood: models predict batches faster). At most `max_evals` samples are scored in all, each once.
/// Returns the best free sample found and its value.
pub fn local_search_max(
    space: &dyn Space,
    starts: &[Sample],
    max_evals: usize,
    free: &dyn Fn(&Sample) -> bool,
    f: &mut dyn FnMut(&[Sample]) -> Vec<f64>,
) -> Option<(Sample, f64)> {
    let mut memo: HashMap<Sample, f64> = HashMap::new();
    let mut evals = 0usize;
    let mut best: Option<(Sample, f64)> = None;
    // Scores `batch` (memoised), or None when the evaluation budget is spent.
    let mut score = |batch: &[Sample],
                     memo: &mut HashMap<Sample, f64>,
                     evals: &mut usize|
     -> Option<Vec<f64>> {
        let mut todo: Vec<Sample> = Vec::new();
        for s in batch {
            if !memo.contains_key(s) && !todo.contains(s) {
                todo.push(s.clone());
            }
        }
        if *evals + todo.len() > max_evals && !todo.is_empty() {
            return None;
        }
        if !todo.is_empty() {
            *evals += todo.len();
            for (s, v) in todo.iter().zip(f(&todo)) {
                memo.insert(s.clone(), v);
            }
        }
        Some(batch.iter().map(|s| memo[s]).collect())
    };
    let consider = |s: &Sample, v: f64, best: &mut Option<(Sample, f64)>| {
        if free(s) && best.as_ref().is_none_or(|b| v > b.1) {
            *best = Some((s.clone(), v));
        }
    };
    for start in starts {
        let Some(v) = score(std::slice::from_ref(start), &mut memo, &mut evals) else {
            break;
        };
        let mut cur_v = v[0];
        consider(start, cur_v, &mut best);
        let mut cur = start.clone();
        loop {
            let ns = space.neighbours(&cur);
            let Some(vs) = score(&ns, &mut memo, &mut evals) else {
                return best;
            };
            let mut step: Option<(usize, f64)> = None;
            for (i, (n, &v)) in ns.iter().zip(&vs).enumerate() {
                consider(n, v, &mut best);
                if v > cur_v && step.is_none_or(|b| v > b.1) {
                    step = Some((i, v));
                }
            }
            match step {
                Some((i, v)) => {
                    cur = ns[i].clone();
                    cur_v = v;
                }
                None => break,
            }
        }
    }
    best
}

/// Standard normal density.
pub fn norm_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal distribution function, through `erfc` (Numerical Recipes' Chebyshev fit, relative error below
/// 1.2e-7 everywhere). Hand-written: std has no `erf` on stable, and this one function does not justify a
/// dependency.
pub fn norm_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.26551223
            + t * (1.00002368
                + t * (0.37409196
                    + t * (0.09678418
                        + t * (-0.18628806
                            + t * (0.27886807
                                + t * (-1.13520398
                                    + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Expected improvement over `best` of a normal prediction `(mean, sd)` (maximisation).
pub fn expected_improvement(mean: f64, sd: f64, best: f64) -> f64 {
    if sd <= 1e-12 {
        return (mean - best).max(0.0);
    }
    let z = (mean - best) / sd;
    (mean - best) * norm_cdf(z) + sd * norm_pdf(z)
}

/// A standard normal draw (Box–Muller) from the strategy's generator.
pub fn normal(rng: &mut Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Mean and standard deviation (population) of `v`; the deviation is at least `1e-9`.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 1.0);
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64;
    (m, var.sqrt().max(1e-9))
}

/// BANANAS's predictor: an ensemble of [`Mlp`]s, each from its own random initialisation and minibatch order,
/// regressing one standardised target. Warm-started: the first [`fit`](Ensemble::fit) runs `first_steps` Adam steps
/// per member, later ones `steps` (so a fit costs the same at 100 or 10,000 points, apart from standardising).
pub struct Ensemble {
    pub size: usize,
    pub hidden: usize,
    pub steps: usize,
    pub first_steps: usize,
    pub batch: usize,
    pub lr: f64,
    nets: Vec<Mlp>,
    /// Mean and standard deviation of the targets of the last fit.
    scale: (f64, f64),
}

impl Ensemble {
    pub fn new(
        size: usize,
        hidden: usize,
        steps: usize,
        first_steps: usize,
        batch: usize,
        lr: f64,
    ) -> Self {
        Ensemble {
            size: size.max(1),
            hidden: hidden.max(1),
            steps,
            first_steps,
            batch: batch.max(1),
            lr,
            nets: Vec::new(),
            scale: (0.0, 1.0),
        }
    }

    /// Trains every member on `xs` → `ys` (standardised); `xs` is not empty.
    pub fn fit(&mut self, xs: &[Vec<f64>], ys: &[f64], rng: &mut Rng) {
        self.scale = mean_sd(ys);
        let (m, sd) = self.scale;
        let y: Vec<f64> = ys.iter().map(|v| (v - m) / sd).collect();
        let steps = if self.nets.is_empty() {
            self.nets = (0..self.size)
                .map(|_| Mlp::new(xs[0].len(), self.hidden, rng))
                .collect();
            self.first_steps
        } else {
            self.steps
        };
        for net in &mut self.nets {
            net.train(xs, &y, steps, self.batch, self.lr, 1e-4, rng);
        }
    }

    /// Mean and standard deviation of the members' predictions for `x`, standardised as the targets of the last fit.
    pub fn predict_standard(&self, x: &[f64]) -> (f64, f64) {
        let preds: Vec<f64> = self.nets.iter().map(|n| n.predict(x)).collect();
        mean_sd(&preds)
    }

    /// Mean and standard deviation of the members' predictions for `x`, in the targets' units.
    pub fn predict(&self, x: &[f64]) -> (f64, f64) {
        let (mu, sigma) = self.predict_standard(x);
        (self.scale.0 + mu * self.scale.1, sigma * self.scale.1)
    }

    /// The targets' mean and standard deviation at the last fit.
    pub fn scale(&self) -> (f64, f64) {
        self.scale
    }
}

/// A small multilayer perceptron regressor (`inputs → hidden → hidden → 1`, ReLU) trained with Adam on squared
/// error. Hand-written on purpose: BANANAS-style predictors are a few thousand weights, where a deep-learning
/// framework's per-call overhead would dominate, and this crate stays free of burn (see the issue).
#[derive(Clone)]
pub struct Mlp {
    sizes: [usize; 3],
    /// Weights then biases of each layer, flattened: `w1 (h×d), b1 (h), w2 (h×h), b2 (h), w3 (h), b3 (1)`.
    params: Vec<f64>,
    m: Vec<f64>,
    v: Vec<f64>,
    t: u64,
}

impl Mlp {
    /// He-initialised network with `inputs` inputs and two hidden layers of `hidden` units.
    pub fn new(inputs: usize, hidden: usize, rng: &mut Rng) -> Self {
        let (d, h) = (inputs, hidden);
        let n = h * d + h + h * h + h + h + 1;
        let mut params = vec![0.0; n];
        let mut o = 0;
        for (fan_in, count) in [(d, h * d), (0, h), (h, h * h), (0, h), (h, h), (0, 1)] {
            for p in &mut params[o..o + count] {
                *p = if fan_in > 0 {
                    normal(rng) * (2.0 / fan_in as f64).sqrt()
                } else {
                    0.0
                };
            }
            o += count;
        }
        Mlp {
            sizes: [d, h, 1],
            params,
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }

    fn offsets(&self) -> [usize; 6] {
        let [d, h, _] = self.sizes;
        let w1 = 0;
        let b1 = w1 + h * d;
        let w2 = b1 + h;
        let b2 = w2 + h * h;
        let w3 = b2 + h;
        let b3 = w3 + h;
        [w1, b1, w2, b2, w3, b3]
    }

    /// Prediction for one input.
    pub fn predict(&self, x: &[f64]) -> f64 {
        let [d, h, _] = self.sizes;
        let [w1, b1, w2, b2, w3, b3] = self.offsets();
        let p = &self.params;
        // Encodings are sparse (one-hot): the first layer only visits the non-zero inputs.
        let nz: Vec<(usize, f64)> = x
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, v)| *v != 0.0)
            .collect();
        let mut a1 = vec![0.0; h];
        for (j, a) in a1.iter_mut().enumerate() {
            let row = &p[w1 + j * d..w1 + (j + 1) * d];
            let s = p[b1 + j] + nz.iter().map(|&(c, v)| row[c] * v).sum::<f64>();
            *a = s.max(0.0);
        }
        let mut out = p[b3];
        for j in 0..h {
            let row = &p[w2 + j * h..w2 + (j + 1) * h];
            let s = p[b2 + j] + row.iter().zip(&a1).map(|(w, a)| w * a).sum::<f64>();
            out += p[w3 + j] * s.max(0.0);
        }
        out
    }

    /// One Adam step on the mean squared error of a minibatch (`xs[i]` → `ys[i]` for `i` in `batch`).
    pub fn step(
        &mut self,
        xs: &[Vec<f64>],
        ys: &[f64],
        batch: &[usize],
        lr: f64,
        weight_decay: f64,
    ) {
        let [d, h, _] = self.sizes;
        let [w1, b1, w2, b2, w3, b3] = self.offsets();
        let mut g = vec![0.0; self.params.len()];
        let mut z1 = vec![0.0; h];
        let mut a1 = vec![0.0; h];
        let mut a2 = vec![0.0; h];
        let mut d2 = vec![0.0; h];
        let scale = 2.0 / batch.len().max(1) as f64;
        for &i in batch {
            let (x, y) = (&xs[i], ys[i]);
            let p = &self.params;
            let nz: Vec<(usize, f64)> = x
                .iter()
                .copied()
                .enumerate()
                .filter(|(_, v)| *v != 0.0)
                .collect();
            for j in 0..h {
                let row = &p[w1 + j * d..w1 + (j + 1) * d];
                let s = p[b1 + j] + nz.iter().map(|&(c, v)| row[c] * v).sum::<f64>();
                z1[j] = s;
                a1[j] = s.max(0.0);
            }
            let mut out = p[b3];
            for j in 0..h {
                let row = &p[w2 + j * h..w2 + (j + 1) * h];
                let s = p[b2 + j] + row.iter().zip(&a1).map(|(w, a)| w * a).sum::<f64>();
                a2[j] = s.max(0.0);
                out += p[w3 + j] * a2[j];
            }
            let e = scale * (out - y);
            g[b3] += e;
            for j in 0..h {
                g[w3 + j] += e * a2[j];
                d2[j] = if a2[j] > 0.0 { e * p[w3 + j] } else { 0.0 };
            }
            // Back through layer 2 into layer 1.
            let mut d1 = vec![0.0; h];
            for j in 0..h {
                if d2[j] == 0.0 {
                    continue;
                }
                g[b2 + j] += d2[j];
                for k in 0..h {
                    g[w2 + j * h + k] += d2[j] * a1[k];
                    d1[k] += d2[j] * p[w2 + j * h + k];
                }
            }
            for k in 0..h {
                if z1[k] <= 0.0 || d1[k] == 0.0 {
                    continue;
                }
                g[b1 + k] += d1[k];
                for &(c, v) in &nz {
                    g[w1 + k * d + c] += d1[k] * v;
                }
            }
        }
        self.t += 1;
        let (beta1, beta2, eps) = (0.9f64, 0.999f64, 1e-8);
        let c1 = 1.0 - beta1.powi(self.t as i32);
        let c2 = 1.0 - beta2.powi(self.t as i32);
        for (k, gk) in g.iter().enumerate() {
            let gk = gk + weight_decay * self.params[k];
            self.m[k] = beta1 * self.m[k] + (1.0 - beta1) * gk;
            self.v[k] = beta2 * self.v[k] + (1.0 - beta2) * gk * gk;
            self.params[k] -= lr * (self.m[k] / c1) / ((self.v[k] / c2).sqrt() + eps);
        }
    }

    /// `steps` Adam steps on minibatches of `batch` indices drawn with replacement from `0..xs.len()`.
    pub fn train(
        &mut self,
        xs: &[Vec<f64>],
        ys: &[f64],
        steps: usize,
        batch: usize,
        lr: f64,
        weight_decay: f64,
        rng: &mut Rng,
    ) {
        if xs.is_empty() {
            return;
        }
        let mut idx = vec![0usize; batch.min(xs.len()).max(1)];
        for _ in 0..steps {
            for i in idx.iter_mut() {
                *i = rng.random_range(0..xs.len());
            }
            self.step(xs, ys, &idx, lr, weight_decay);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::rng_for;

    #[test]
    fn normal_cdf_and_ei_are_right() {
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((norm_cdf(1.96) - 0.9750021).abs() < 1e-6);
        assert!((norm_cdf(-1.0) - 0.1586553).abs() < 1e-6);
        // EI at mean = best is sd * φ(0).
        assert!((expected_improvement(1.0, 2.0, 1.0) - 2.0 * 0.3989423).abs() < 1e-6);
        assert_eq!(expected_improvement(0.5, 0.0, 1.0), 0.0);
    }

    #[test]
    fn mlp_fits_a_small_function() {
        let mut rng = rng_for(0, 0);
        let xs: Vec<Vec<f64>> = (0..64)
            .map(|i| (0..6).map(|b| ((i >> b) & 1) as f64).collect())
            .collect();
        let ys: Vec<f64> = xs.iter().map(|x| x[0] - 2.0 * x[1] + x[2] * x[3]).collect();
        let mut net = Mlp::new(6, 16, &mut rng);
        let mse = |net: &Mlp| {
            xs.iter()
                .zip(&ys)
                .map(|(x, y)| (net.predict(x) - y).powi(2))
                .sum::<f64>()
                / 64.0
        };
        let before = mse(&net);
        net.train(&xs, &ys, 1500, 16, 0.01, 0.0, &mut rng);
        let after = mse(&net);
        assert!(
            after < 0.02 && after < before / 10.0,
            "mse {before} -> {after}"
        );
    }
}
