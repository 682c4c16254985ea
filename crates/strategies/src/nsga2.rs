//! NSGA-II (Deb, Pratap, Agarwal & Meyarivan, "A fast and elitist multiobjective genetic algorithm: NSGA-II",
//! IEEE TEVC 2002) with Deb's constraint domination, over the study's objectives.
//!
//! Generational, as in the paper, driven by ask/tell:
//!
//! 1. Generation 0 is `population` distinct random samples.
//! 2. When every queued sample of a generation has been asked, the next `ask` runs **environmental selection** on
//!    the current parents plus every trial told since the last selection: exact non-dominated sorting under
//!    constraint domination ([`tessera_core::pareto::constrained_sort`]: feasible trials by Pareto dominance of
//!    the oriented objective values; infeasible ones after them, by total violation), whole fronts are kept while
//!    they fit and the last one is cut by crowding distance (largest first).
//! 3. It then **breeds** `offspring` children: two binary tournaments (lower rank wins, then larger crowding
//!    distance), uniform crossover with probability `crossover`, and per-dimension mutation with probability
//!    `mutation` (default 1 / number of dimensions) to a different choice.
//!
//! Tabular benchmarks and expensive training alike charge every query, so NSGA-II never proposes a sample it has
//! proposed before (exact duplicates; wrap it in [`Dedup`](crate::dedup::Dedup) to also skip isomorphic ones): a
//! child equal to an earlier sample is bred again (up to 100 times), then replaced by an unseen random sample.
//!
//! Infeasible samples rejected before evaluation cost no budget but still take part in selection, ranked behind
//! every feasible one; failed and pruned trials are dropped. Asking more than a generation before telling (batch
//! asks) breeds from the parents known so far; late results join the next selection.
//!
//! Options: `population` (default 20), `offspring` (default = population), `crossover` (0.9), `mutation`
//! (1 / dimensions), `init` (default = population), `archive` (false), `variation` (`uniform` | `neighbour`),
//! `surrogate` (false), `screen` (20).
//!
//! With the study's [`Foresight`] (hard constraints on the profile), children and initial samples that would be
//! rejected before evaluation are not proposed: bred again (or drawn again), like duplicates.
//!
//! ## The engineered variant (`archive = true`, `variation = "neighbour"`)
//!
//! Changes against the textbook algorithm above, for expensive discrete spaces such as NAS cells:
//!
//! * **Archive elitism** (`archive = true`): environmental selection runs over *every* trial told so far, not over
//!   parents ∪ the last offspring, and the whole first front is always kept as parents, even when it is larger than
//!   `population` (the later fronts fill up to `population`, the last one cut by crowding distance). Nothing good
//!   is ever forgotten, and a front member found early keeps breeding.
//! * **Neighbour variation** (`variation = "neighbour"`): no crossover; a child is the space's
//!   [`mutate`](tessera_core::Space::mutate) of a tournament winner, i.e. one dimension (one edge of a cell)
//!   changed. On NB201 latency is close to additive in the edges' operations, so one-edge moves walk along the front.
//! * `init`: the size of the random initial population can differ from `population` (a small start leaves more
//!   budget to variation).
//! * As always, no sample is proposed twice. Deduplication is on exact samples, **not** canonical keys: in the
//!   tabular benchmarks isomorphic cells carry different recorded accuracies and latencies (on NB201 the raspi4
//!   latency of one isomorphism class spans e.g. 15.6–51 ms, because dead operations are still timed), so skipping
//!   isomorphic samples would hide front points (one random representative per class caps the hypervolume at
//!   ~85 % of the true front's).
//!
//! ## Surrogate-assisted breeding (`surrogate = true`; as in NSGANetV2, Lu et al., ECCV 2020)
//!
//! Each generation, only the `offspring` most promising of many candidate children are proposed. Candidates:
//! `offspring × screen` children bred as above, a tenth as many random samples, and every unproposed neighbour of
//! the first front (so no one-step move along the front is missed); all distinct, unproposed and feasible.
//!
//! * Objectives the study knows before evaluation ([`Foresight::known`]: a tabulated latency, params, FLOPs) are
//!   taken as they are; every other objective is predicted by an ensemble of small MLPs (BANANAS's predictor,
//!   [`Ensemble`], on the `encoding`: `onehot` or `pairs`) fitted on the complete trials so far.
//! * Candidates are picked greedily by **hypervolume improvement** over the front of the evaluated trials plus the
//!   children picked before them. With two objectives of which one is known, it is the exact *expected* improvement
//!   under the model's normal prediction ([`ehvi_one_known`]); with one objective, the expected improvement. A
//!   picked child then joins the front at its predicted mean; otherwise each candidate gets one Thompson draw from the models and the improvement of that draw counts.
//!   A candidate that improves nothing ranks by how far the front dominates it (the additive ε indicator on
//!   range-normalised objectives).
//! * The reference point is the study's ([`Objective::reference`](tessera_core::Objective::reference)) where set:
//!   no effort is spent beyond it, and the models are fitted on values clipped far below it
//!   ([`clip_below_reference`]: the floor is the reference mirrored at the best value), so they resolve the region
//!   the front lives in instead of how bad the worst networks are. Without a study reference: each objective's
//!   worst evaluated value minus a tenth of its range, and no clipping.
//!
//! Measured on NB201 (accuracy × raspi4 latency, 500 queries, reference (90 %, 25.68 ms)): see
//! `benches/nb201_moo.sh` and the issue notes.

use crate::gp_bo::{fit_for_prediction, select_hyper, Fitted};
use crate::surrogate::{expected_improvement, mean_sd, normal, Encoding, Ensemble};
use rand::Rng as _;
use std::collections::{HashSet, VecDeque};
use tessera_core::pareto::hypervolume;
use tessera_core::pareto::{constrained_sort, crowding_distance};
use tessera_core::{
    rng_for, Foresight, NoForesight, Rng, Sample, Space, Strategy, Told, TrialState,
};

/// NSGA-II's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Nsga2Options {
    /// Parents kept by environmental selection.
    pub population: usize,
    /// Children bred per generation.
    pub offspring: usize,
    /// Probability of uniform crossover (otherwise the child starts as a copy of the first parent).
    pub crossover: f64,
    /// Per-dimension mutation probability; `None`: 1 / number of dimensions.
    pub mutation: Option<f64>,
    /// Size of the random initial population; `None`: `population`.
    pub init: Option<usize>,
    /// Environmental selection over the whole history, keeping the whole first front.
    pub archive: bool,
    /// How children are bred.
    pub variation: Variation,
    /// Screen bred children with surrogate models and known objectives (see the module docs).
    pub surrogate: bool,
    /// With `surrogate`: candidates bred per proposed child.
    pub screen: usize,
    /// With `surrogate`: how samples are encoded for the models.
    pub encoding: Encoding,
    /// With `surrogate`: the model of the objectives not known before evaluation.
    pub model: Model,
}

/// The surrogate model of surrogate-assisted NSGA-II.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// An ensemble of small MLPs (BANANAS's predictor).
    Mlp,
    /// A Gaussian process with GP-BO's categorical kernel and hyperparameter grid.
    Gp,
}

/// How NSGA-II breeds a child from tournament winners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variation {
    /// Uniform crossover with probability `crossover`, then per-dimension mutation (textbook).
    Uniform,
    /// The space's one-dimension mutation of one parent (a neighbour), no crossover.
    Neighbour,
}

impl Default for Nsga2Options {
    fn default() -> Self {
        Nsga2Options {
            population: 20,
            offspring: 20,
            crossover: 0.9,
            mutation: None,
            init: None,
            archive: false,
            variation: Variation::Uniform,
            surrogate: false,
            screen: 20,
            encoding: Encoding::Space,
            model: Model::Mlp,
        }
    }
}

impl Nsga2Options {
    /// Reads `population`, `offspring`, `crossover` and `mutation` from a study file's `[strategy]` options
    /// (removing them), validating ranges.
    pub fn take(o: &mut crate::Options) -> Result<Self, String> {
        let d = Self::default();
        let population = crate::take_usize(o, "population", d.population)?;
        let offspring = crate::take_usize(o, "offspring", population)?;
        let prob = |o: &mut crate::Options, name: &str| -> Result<Option<f64>, String> {
            match o.remove(name) {
                None => Ok(None),
                Some(v) => match v.parse::<f64>() {
                    Ok(p) if (0.0..=1.0).contains(&p) => Ok(Some(p)),
                    _ => Err(format!("strategy `nsga2`: option `{name}` must be a probability between 0 and 1, got `{v}`")),
                },
            }
        };
        let crossover = prob(o, "crossover")?.unwrap_or(d.crossover);
        let mutation = prob(o, "mutation")?;
        let init = crate::take_usize(o, "init", population)?;
        let archive = crate::take_bool(o, "archive", d.archive)?;
        let variation = match o.remove("variation").as_deref() {
            None | Some("uniform") => Variation::Uniform,
            Some("neighbour") | Some("neighbor") => Variation::Neighbour,
            Some(v) => {
                return Err(format!(
                    "strategy `nsga2`: option `variation` must be uniform or neighbour, got `{v}`"
                ))
            }
        };
        let surrogate = crate::take_bool(o, "surrogate", d.surrogate)?;
        let screen = crate::take_usize(o, "screen", d.screen)?;
        let model = match o.remove("model").as_deref() {
            None | Some("mlp") => Model::Mlp,
            Some("gp") => Model::Gp,
            Some(v) => {
                return Err(format!(
                    "strategy `nsga2`: option `model` must be mlp or gp, got `{v}`"
                ))
            }
        };
        let encoding = match o.remove("encoding") {
            None => d.encoding,
            Some(v) => Encoding::parse(&v).map_err(|e| format!("strategy `nsga2`: {e}"))?,
        };
        if population < 2 || offspring < 1 || init < 1 || screen < 1 {
            return Err(format!(
                "strategy `nsga2`: population ({population}) must be at least 2, offspring ({offspring}), init ({init}) and screen ({screen}) at least 1"
            ));
        }
        Ok(Nsga2Options {
            population,
            offspring,
            crossover,
            mutation,
            init: Some(init),
            archive,
            variation,
            surrogate,
            screen,
            encoding,
            model,
        })
    }
}

#[derive(Clone, Debug)]
struct Member {
    sample: Sample,
    /// Oriented objective values (larger is better); empty for infeasible members.
    values: Vec<f64>,
    violation: f64,
    rank: usize,
    crowding: f64,
}

pub struct Nsga2 {
    rng: Rng,
    opts: Nsga2Options,
    parents: Vec<Member>,
    /// Told since the last environmental selection.
    fresh: Vec<Member>,
    /// With `archive`: every member told before the last selection that is not a parent.
    rest: Vec<Member>,
    queue: VecDeque<Sample>,
    seen: HashSet<Sample>,
    started: bool,
    generation: u64,
    /// With `surrogate`: every complete trial (encoded sample, oriented values), and one model per objective.
    evaluated: Vec<(Vec<f64>, Vec<f64>)>,
    models: Vec<Ensemble>,
    /// With the GP model: the last (length scale, noise) chosen.
    gp_hyper: (f64, f64),
}

impl Nsga2 {
    pub fn new(seed: u64, opts: Nsga2Options) -> Self {
        let opts = Nsga2Options {
            population: opts.population.max(2),
            offspring: opts.offspring.max(1),
            ..opts
        };
        Nsga2 {
            rng: rng_for(seed, 1),
            opts,
            parents: Vec::new(),
            fresh: Vec::new(),
            rest: Vec::new(),
            queue: VecDeque::new(),
            seen: HashSet::new(),
            started: false,
            generation: 0,
            evaluated: Vec::new(),
            models: Vec::new(),
            gp_hyper: (2.0, 1e-3),
        }
    }

    /// Generations bred so far (0 while the random initial population is being evaluated).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The current parents' samples and (rank, crowding distance), rank 0 = first front.
    pub fn parents(&self) -> impl Iterator<Item = (&Sample, usize, f64)> {
        self.parents.iter().map(|m| (&m.sample, m.rank, m.crowding))
    }

    /// Environmental selection: parents ∪ fresh → `population` members with rank and crowding distance.
    fn select(&mut self) {
        let mut all = std::mem::take(&mut self.parents);
        all.append(&mut self.rest);
        all.append(&mut self.fresh);
        let values: Vec<&[f64]> = all.iter().map(|m| m.values.as_slice()).collect();
        let violations: Vec<f64> = all.iter().map(|m| m.violation).collect();
        let fronts = constrained_sort(&values, &violations);
        let mut rank = vec![usize::MAX; all.len()];
        let mut crowding = vec![0.0; all.len()];
        let mut keep: Vec<usize> = Vec::with_capacity(self.opts.population);
        for (r, front) in fronts.iter().enumerate() {
            if keep.len() >= self.opts.population {
                break;
            }
            for (&i, c) in front.iter().zip(crowding_distance(&values, front)) {
                rank[i] = r;
                crowding[i] = c;
            }
            if keep.len() + front.len() <= self.opts.population || (self.opts.archive && r == 0) {
                keep.extend(front);
            } else {
                let mut by_crowd: Vec<usize> = front.clone();
                // Largest crowding distance first; ties keep the earlier member (parents before children).
                by_crowd.sort_by(|&a, &b| crowding[b].total_cmp(&crowding[a]).then(a.cmp(&b)));
                keep.extend(by_crowd.into_iter().take(self.opts.population - keep.len()));
            }
        }
        drop(values);
        for (i, m) in all.iter_mut().enumerate() {
            m.rank = rank[i];
            m.crowding = crowding[i];
        }
        keep.sort_unstable();
        let mut all: Vec<Option<Member>> = all.into_iter().map(Some).collect();
        self.parents = keep.into_iter().filter_map(|i| all[i].take()).collect();
        if self.opts.archive {
            self.rest = all.into_iter().flatten().collect();
        }
    }

    fn tournament(&mut self) -> usize {
        let n = self.parents.len();
        let a = self.rng.random_range(0..n);
        let b = if n > 1 {
            (a + self.rng.random_range(1..n)) % n
        } else {
            a
        };
        let (ma, mb) = (&self.parents[a], &self.parents[b]);
        if mb.rank < ma.rank || (mb.rank == ma.rank && mb.crowding > ma.crowding) {
            b
        } else {
            a
        }
    }

    fn child(&mut self, space: &dyn Space, fore: &dyn Foresight) -> Sample {
        let dims = space.dims();
        let pm = self.opts.mutation.unwrap_or(1.0 / dims.len().max(1) as f64);
        for _ in 0..100 {
            let a = self.tournament();
            if self.opts.variation == Variation::Neighbour {
                let c = space.mutate(&self.parents[a].sample, &mut self.rng);
                if !self.seen.contains(&c) && fore.feasible(&c) {
                    return c;
                }
                continue;
            }
            let b = self.tournament();
            let mut c = self.parents[a].sample.clone();
            if self.rng.random_bool(self.opts.crossover.clamp(0.0, 1.0)) {
                let other = &self.parents[b].sample;
                for d in 0..c.len() {
                    if self.rng.random_bool(0.5) {
                        c[d] = other[d];
                    }
                }
            }
            for (d, dim) in dims.iter().enumerate() {
                if dim.len() > 1 && self.rng.random_bool(pm.clamp(0.0, 1.0)) {
                    let v = self.rng.random_range(0..dim.len() - 1) as u16;
                    c[d] = if v >= c[d] { v + 1 } else { v };
                }
            }
            if space.is_valid(&c) && !self.seen.contains(&c) && fore.feasible(&c) {
                return c;
            }
        }
        self.random_unseen(space, fore)
    }

    fn random_unseen(&mut self, space: &dyn Space, fore: &dyn Foresight) -> Sample {
        for _ in 0..1000 {
            let s = space.sample(&mut self.rng);
            if !self.seen.contains(&s) && fore.feasible(&s) {
                return s;
            }
        }
        for _ in 0..1000 {
            let s = space.sample(&mut self.rng);
            if !self.seen.contains(&s) {
                return s;
            }
        }
        // The space is (nearly) exhausted: repeat a sample rather than stop.
        space.sample(&mut self.rng)
    }

    /// Surrogate-assisted breeding (module docs): `offspring` children picked from `offspring × screen` candidates.
    fn breed_screened(&mut self, space: &dyn Space, fore: &dyn Foresight) {
        let m = self.evaluated[0].1.len();
        // Fit one model per objective the foresight does not know (checked on a parent: knowledge is per metric).
        let known_probe = fore.known(&self.parents[0].sample);
        let unknown: Vec<usize> = (0..m)
            .filter(|&j| known_probe.get(j).copied().flatten().is_none())
            .collect();
        if self.models.is_empty() {
            self.models = (0..m)
                .map(|_| Ensemble::new(5, 20, 50, 300, 16, 0.01))
                .collect();
        }
        let xs: Vec<Vec<f64>> = self.evaluated.iter().map(|(x, _)| x.clone()).collect();
        let study_reference = fore.reference();
        let mut gps: Vec<Option<(Fitted, f64, f64)>> = (0..m).map(|_| None).collect();
        for &j in &unknown {
            let mut ys: Vec<f64> = self.evaluated.iter().map(|(_, v)| v[j]).collect();
            if let Some(r) = study_reference.get(j).copied().flatten() {
                clip_below_reference(&mut ys, r);
            }
            if self.opts.model == Model::Gp {
                // Standardised; hyperparameters from the best-first prefix, as GP-BO does.
                let (my, sy) = mean_sd(&ys);
                let y: Vec<f64> = ys.iter().map(|v| (v - my) / sy).collect();
                let mut order: Vec<usize> = (0..y.len()).collect();
                order.sort_by(|&a, &b| y[b].total_cmp(&y[a]).then(a.cmp(&b)));
                let (ox, oy): (Vec<Vec<f64>>, Vec<f64>) =
                    order.iter().map(|&i| (xs[i].clone(), y[i])).unzip();
                if let Some(h) = select_hyper(&ox, &oy, None) {
                    self.gp_hyper = h;
                }
                gps[j] = fit_for_prediction(ox, &oy, self.gp_hyper.0, self.gp_hyper.1)
                    .map(|f| (f, my, sy));
            } else {
                self.models[j].fit(&xs, &ys, &mut self.rng);
            }
        }
        // Candidates: bred children and some random samples, distinct and unproposed.
        let want = self.opts.offspring * self.opts.screen;
        let mut pool: Vec<Sample> = Vec::with_capacity(want + want / 10);
        let mut in_pool: HashSet<Sample> = HashSet::new();
        for i in 0..want + want / 10 {
            let c = if i < want {
                self.child(space, fore)
            } else {
                self.random_unseen(space, fore)
            };
            if in_pool.insert(c.clone()) {
                pool.push(c);
            }
        }
        // Every unproposed feasible neighbour of the first front, so no one-step move along the front is missed.
        let front_members: Vec<Sample> = self
            .parents
            .iter()
            .filter(|p| p.rank == 0)
            .map(|p| p.sample.clone())
            .collect();
        for p in front_members {
            for c in space.neighbours(&p) {
                if !self.seen.contains(&c) && fore.feasible(&c) && in_pool.insert(c.clone()) {
                    pool.push(c);
                }
            }
        }
        // Per candidate: known values as they are, unknown ones as the model's (mean, sd).
        let pool_x: Vec<Vec<f64>> = pool
            .iter()
            .map(|c| self.opts.encoding.encode(space, c))
            .collect();
        let gp_preds: Vec<Option<Vec<(f64, f64)>>> = gps
            .iter()
            .map(|g| {
                g.as_ref().map(|(f, my, sy)| {
                    f.predict(&pool_x)
                        .into_iter()
                        .map(|(mu, sd)| (my + mu * sy, sd * sy))
                        .collect()
                })
            })
            .collect();
        let mut stats: Vec<Vec<(f64, f64)>> = pool
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let known = fore.known(c);
                (0..m)
                    .map(|j| match (known.get(j).copied().flatten(), &gp_preds[j]) {
                        (Some(v), _) => (v, 0.0),
                        (None, Some(p)) => p[i],
                        (None, None) => self.models[j].predict(&pool_x[i]),
                    })
                    .collect()
            })
            .collect();
        // The evaluated front, the reference point and each objective's range.
        let mut front: Vec<Vec<f64>> = tessera_core::pareto::front(
            &self
                .evaluated
                .iter()
                .map(|(_, v)| v.clone())
                .collect::<Vec<_>>(),
        )
        .into_iter()
        .map(|i| self.evaluated[i].1.clone())
        .collect();
        let (mut lo, mut hi) = (vec![f64::INFINITY; m], vec![f64::NEG_INFINITY; m]);
        for (_, v) in &self.evaluated {
            for j in 0..m {
                lo[j] = lo[j].min(v[j]);
                hi[j] = hi[j].max(v[j]);
            }
        }
        let range: Vec<f64> = (0..m).map(|j| (hi[j] - lo[j]).max(1e-12)).collect();
        // The study's reference point where set, else each objective's worst evaluated value minus a tenth of its
        // range (then the search also spreads to regions a fixed reference would ignore).
        let reference: Vec<f64> = (0..m)
            .map(|j| {
                study_reference
                    .get(j)
                    .copied()
                    .flatten()
                    .unwrap_or(lo[j] - 0.1 * range[j])
            })
            .collect();
        // Closed-form expectations where they exist: one objective (expected improvement) or two with one known.
        let exact = unknown.len() == 1 && m <= 2;
        // Thompson draws, for the general case.
        let mut preds: Vec<Vec<f64>> = stats
            .iter()
            .map(|st| {
                st.iter()
                    .map(|&(mu, sd)| mu + sd * normal(&mut self.rng))
                    .collect()
            })
            .collect();
        for _ in 0..self.opts.offspring.min(pool.len()) {
            // Per pick, not per candidate: the front's hypervolume (Thompson case) or best value (one objective).
            let base = if exact {
                0.0
            } else {
                hypervolume(&front, &reference)
            };
            let best_so_far = front.iter().map(|f| f[0]).fold(reference[0], f64::max);
            let mut best: Option<(usize, f64)> = None;
            for (i, p) in preds.iter().enumerate() {
                let gain = if exact && m == 1 {
                    expected_improvement(stats[i][0].0, stats[i][0].1, best_so_far)
                } else if exact {
                    let (u, k) = (unknown[0], 1 - unknown[0]);
                    ehvi_one_known(
                        &front,
                        &reference,
                        k,
                        stats[i][k].0,
                        stats[i][u].0,
                        stats[i][u].1,
                    )
                } else {
                    front.push(p.clone());
                    let g = hypervolume(&front, &reference) - base;
                    front.pop();
                    g
                };
                let score = if gain > 0.0 {
                    gain
                } else {
                    // How much every objective would have to improve (range-normalised) to escape domination.
                    -front
                        .iter()
                        .map(|f| {
                            (0..m)
                                .map(|j| (f[j] - p[j]) / range[j])
                                .fold(f64::NEG_INFINITY, f64::max)
                        })
                        .fold(f64::INFINITY, f64::min)
                };
                if best.is_none_or(|b| score > b.1) {
                    best = Some((i, score));
                }
            }
            let Some((i, _)) = best else { break };
            let p = preds.swap_remove(i);
            let st = stats.swap_remove(i);
            let c = pool.swap_remove(i);
            // The batch's later picks see this one at its predicted mean ("kriging believer") or its draw.
            front.push(if exact {
                st.iter().map(|v| v.0).collect()
            } else {
                p
            });
            self.push(c);
        }
    }

    fn push(&mut self, s: Sample) {
        self.seen.insert(s.clone());
        self.queue.push_back(s);
    }
}

impl Strategy for Nsga2 {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        self.ask_informed(space, &NoForesight)
    }

    fn ask_informed(&mut self, space: &dyn Space, fore: &dyn Foresight) -> Option<Sample> {
        if self.queue.is_empty() {
            if !self.fresh.is_empty() {
                self.select();
            }
            if !self.started || self.parents.is_empty() {
                self.started = true;
                for _ in 0..self.opts.init.unwrap_or(self.opts.population).max(1) {
                    let s = self.random_unseen(space, fore);
                    self.push(s);
                }
            } else {
                self.generation += 1;
                if self.opts.surrogate && self.evaluated.len() >= 2 {
                    self.breed_screened(space, fore);
                }
                while self.queue.len() < self.opts.offspring {
                    let s = self.child(space, fore);
                    self.push(s);
                }
            }
        }
        self.queue.pop_front()
    }

    fn tell(&mut self, space: &dyn Space, told: &Told) {
        let member = match told.state {
            TrialState::Complete
                if !told.values.is_empty() && told.values.iter().all(|v| !v.is_nan()) =>
            {
                if self.opts.surrogate {
                    self.evaluated.push((
                        self.opts.encoding.encode(space, told.sample),
                        told.values.to_vec(),
                    ));
                }
                Member {
                    sample: told.sample.clone(),
                    values: told.values.to_vec(),
                    violation: 0.0,
                    rank: 0,
                    crowding: 0.0,
                }
            }
            TrialState::Infeasible => Member {
                sample: told.sample.clone(),
                values: Vec::new(),
                violation: if told.violation > 0.0 {
                    told.violation
                } else {
                    f64::MIN_POSITIVE
                },
                rank: 0,
                crowding: 0.0,
            },
            _ => return,
        };
        // Samples told without being asked (warm starts, replays through wrappers) are remembered too.
        self.seen.insert(told.sample.clone());
        self.fresh.push(member);
    }

    fn name(&self) -> &str {
        "nsga2"
    }
}

/// Clips oriented values (larger is better) far below the reference `r` to a floor, the reference mirrored at the
/// best value: `r − (best − r)`. Only values above the reference count towards the hypervolume, so the model need
/// not learn how bad a bad network is: on NB201 a few cells at 10 % accuracy otherwise set the standardisation and
/// the length scale, and the 90–94 % region the front lives in gets a fraction of the model's resolution. Nothing is
/// clipped until some value beats the reference, or when fewer than two values would stay above the floor.
pub fn clip_below_reference(ys: &mut [f64], r: f64) {
    let best = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !(best > r) {
        return;
    }
    let floor = r - (best - r);
    if ys.iter().filter(|&&y| y > floor).count() >= 2 {
        for y in ys.iter_mut() {
            *y = y.max(floor);
        }
    }
}

/// Expected hypervolume improvement of a candidate in two objectives (oriented, larger is better) when objective
/// `k` is known exactly (`known`) and the other is normal (`mean`, `sd`), over `front` with reference `r`.
///
/// Exact, in closed form: for a level `t` of the uncertain objective the candidate adds the strip of the known one
/// between the best known value of the front's points at least `t` good and `known`, a width `w(t)` that is a step
/// function of `t`, so EHVI = ∫ w(t)·P(X ≥ t) dt = Σ wᵢ·(EI(tᵢ) − EI(tᵢ₊₁)) with EI(t) = E[(X − t)⁺] (the
/// expected improvement) and tᵢ the front's values of the uncertain objective.
pub fn ehvi_one_known(
    front: &[Vec<f64>],
    r: &[f64],
    k: usize,
    known: f64,
    mean: f64,
    sd: f64,
) -> f64 {
    let u = 1 - k;
    if known <= r[k] {
        return 0.0;
    }
    let mut pts: Vec<(f64, f64)> = front
        .iter()
        .filter(|p| p[u] > r[u] && p[k] > r[k])
        .map(|p| (p[u], p[k]))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    // best_from[i]: the best known-objective value among pts[i..].
    let mut best_from = vec![f64::NEG_INFINITY; pts.len() + 1];
    for i in (0..pts.len()).rev() {
        best_from[i] = best_from[i + 1].max(pts[i].1);
    }
    let mut total = 0.0;
    let mut lo = r[u];
    for i in 0..=pts.len() {
        let width = (known - best_from[i].max(r[k])).max(0.0);
        let ei_hi = pts
            .get(i)
            .map_or(0.0, |p| expected_improvement(mean, sd, p.0));
        total += width * (expected_improvement(mean, sd, lo) - ei_hi);
        if let Some(p) = pts.get(i) {
            lo = p.0;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::{Dim, Metrics, Network, NetworkError, Op};

    /// `n` dimensions of `k` choices, all valid.
    struct Toy(Vec<Dim>);
    impl Toy {
        fn new(n: usize, k: usize) -> Self {
            let names: Vec<String> = (0..k).map(|c| c.to_string()).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            Toy((0..n).map(|d| Dim::new(format!("d{d}"), &names)).collect())
        }
    }
    impl Space for Toy {
        fn name(&self) -> &str {
            "toy"
        }
        fn dims(&self) -> &[Dim] {
            &self.0
        }
        fn lower(&self, _: &Sample) -> Result<Network, NetworkError> {
            let mut n = Network::new();
            let x = n.add(Op::Input { shape: vec![1] }, &[]);
            n.add(Op::Output { classes: 2 }, &[x]);
            Ok(n)
        }
    }

    /// Two objectives on a toy space: maximise the first choice, maximise (n - 1 - second choice).
    fn tell_all(s: &mut Nsga2, space: &Toy, asked: &[Sample]) {
        for x in asked {
            let v = [x[0] as f64, -(x[1] as f64)];
            let m = Metrics::new();
            s.tell(
                space,
                &Told {
                    number: 0,
                    sample: x,
                    state: TrialState::Complete,
                    values: &v,
                    metrics: &m,
                    violation: 0.0,
                },
            );
        }
    }

    #[test]
    fn never_repeats_a_sample_and_keeps_the_front() {
        let space = Toy::new(3, 6);
        let mut s = Nsga2::new(
            1,
            Nsga2Options {
                population: 8,
                offspring: 8,
                ..Default::default()
            },
        );
        let mut all = Vec::new();
        for _ in 0..12 {
            let batch: Vec<Sample> = (0..8).map(|_| s.ask(&space).unwrap()).collect();
            tell_all(&mut s, &space, &batch);
            all.extend(batch);
        }
        let distinct: HashSet<&Sample> = all.iter().collect();
        assert_eq!(distinct.len(), all.len(), "a sample was proposed twice");
        s.ask(&space);
        // The optimum of both objectives at once ([5, 0, *]) is found and kept as a rank-0 parent.
        assert!(s
            .parents()
            .any(|(p, rank, _)| p[0] == 5 && p[1] == 0 && rank == 0));
    }

    /// Two objectives and a constraint on a profile metric (known before evaluation).
    struct TwoObj;
    impl tessera_core::Evaluator for TwoObj {
        fn evaluate(
            &self,
            s: &Sample,
            _: &tessera_core::EvalContext,
        ) -> Result<tessera_core::Evaluation, tessera_core::EvalError> {
            let a = s[0] as f64 + 0.1 * s[2] as f64;
            Ok(tessera_core::Evaluation {
                metrics: Metrics::new().with("a", a),
                sim_seconds: 1.0,
            })
        }
        fn profile(&self, s: &Sample) -> Metrics {
            Metrics::new().with("cost", (s[0] + s[1]) as f64)
        }
        fn metric_names(&self) -> Vec<String> {
            vec!["a".into(), "cost".into()]
        }
    }

    #[test]
    fn clip_below_reference_floors_at_the_reference_mirrored_at_the_best() {
        // Best 94 over reference 90: the floor is 86; values above it stay as they are.
        let mut ys = vec![10.0, 85.0, 88.0, 91.0, 94.0];
        clip_below_reference(&mut ys, 90.0);
        assert_eq!(ys, vec![86.0, 86.0, 88.0, 91.0, 94.0]);
        // Nothing beats the reference yet, or only one value would stay above the floor: untouched.
        let mut none_above = vec![10.0, 50.0, 89.0];
        clip_below_reference(&mut none_above, 90.0);
        assert_eq!(none_above, vec![10.0, 50.0, 89.0]);
        let mut one_above = vec![10.0, 50.0, 95.0];
        clip_below_reference(&mut one_above, 90.0);
        assert_eq!(one_above, vec![10.0, 50.0, 95.0]);
    }

    #[test]
    fn ehvi_one_known_matches_the_hypervolume_gain_and_its_average() {
        let front = vec![vec![3.0, -10.0], vec![2.0, -5.0], vec![1.0, -2.0]];
        let r = [0.0, -12.0];
        let gain = |a: f64, known: f64| {
            let mut with = front.clone();
            with.push(vec![a, known]);
            hypervolume(&with, &r) - hypervolume(&front, &r)
        };
        // Without uncertainty it is the plain hypervolume improvement, for either objective known.
        for (a, known) in [(2.5, -4.0), (0.5, -1.0), (4.0, -11.0), (1.5, -6.0)] {
            let e = ehvi_one_known(&front, &r, 1, known, a, 1e-9);
            assert!(
                (e - gain(a, known)).abs() < 1e-6,
                "{a} {known}: {e} vs {}",
                gain(a, known)
            );
            let swapped: Vec<Vec<f64>> = front.iter().map(|p| vec![p[1], p[0]]).collect();
            let e2 = ehvi_one_known(&swapped, &[r[1], r[0]], 0, known, a, 1e-9);
            assert!((e2 - e).abs() < 1e-9);
        }
        // With uncertainty it is the average improvement over the normal (Monte Carlo, 200,000 draws).
        let mut rng = rng_for(7, 0);
        let (mean, sd, known) = (2.2, 0.8, -4.0);
        let n = 200_000;
        let mc = (0..n)
            .map(|_| gain(mean + sd * normal(&mut rng), known))
            .sum::<f64>()
            / n as f64;
        let e = ehvi_one_known(&front, &r, 1, known, mean, sd);
        assert!((e - mc).abs() < 0.01 * mc, "{e} vs Monte Carlo {mc}");
    }

    #[test]
    fn resumed_constrained_study_equals_an_uninterrupted_one() {
        use tessera_core::{Budget, Constraint, MemoryStorage, Objective, Storage, Study};
        let space = Toy::new(4, 6);
        let mut study = Study::new(
            "r",
            &space,
            &TwoObj,
            vec![Objective::max("a"), Objective::min("cost")],
        );
        study.constraints = vec![Constraint {
            metric: "cost".into(),
            min: None,
            max: Some(6.0),
        }];
        study.profile_network = false;
        let opts = Nsga2Options {
            population: 6,
            offspring: 6,
            ..Default::default()
        };
        let run = |study: &mut Study, store: &mut MemoryStorage, n: u64| {
            study.budget = Budget::trials(n);
            study.run(&mut Nsga2::new(4, opts), store, &mut ()).unwrap();
        };
        let mut full = MemoryStorage::new();
        run(&mut study, &mut full, 60);
        let mut part = MemoryStorage::new();
        run(&mut study, &mut part, 25);
        run(&mut study, &mut part, 60);
        let strip = |s: &MemoryStorage| {
            s.trials(1)
                .unwrap()
                .into_iter()
                .map(|t| (t.number, t.sample, t.state, t.metrics))
                .collect::<Vec<_>>()
        };
        let trials = strip(&full);
        assert_eq!(trials, strip(&part));
        // With the study's foresight NSGA-II proposes only samples that meet the constraint (cost = s0 + s1 <= 6 of
        // 0..=10: a third of the space is infeasible).
        assert!(
            trials
                .iter()
                .all(|t| t.2 == TrialState::Complete && t.1[0] + t.1[1] <= 6),
            "{trials:?}"
        );
    }

    #[test]
    fn engineered_variant_keeps_the_whole_first_front_and_breeds_neighbours() {
        let space = Toy::new(3, 6);
        let mut o = crate::Options::new();
        for (k, v) in [
            ("archive", "true"),
            ("variation", "neighbour"),
            ("population", "4"),
            ("init", "12"),
        ] {
            o.insert(k.into(), v.into());
        }
        let opts = Nsga2Options::take(&mut o).unwrap();
        assert!(o.is_empty());
        assert_eq!(
            (opts.archive, opts.variation, opts.init),
            (true, Variation::Neighbour, Some(12))
        );
        let mut s = Nsga2::new(2, opts);
        let first: Vec<Sample> = (0..12).map(|_| s.ask(&space).unwrap()).collect();
        tell_all(&mut s, &space, &first);
        let mut all = first.clone();
        // Three whole generations of `offspring` (4), so the next ask selects over everything told.
        for _ in 0..12 {
            let child = s.ask(&space).unwrap();
            // One dimension away from some parent, never seen before.
            assert!(s.parents().any(|(p, _, _)| p
                .as_slice()
                .iter()
                .zip(child.as_slice())
                .filter(|(a, b)| a != b)
                .count()
                == 1));
            assert!(!all.contains(&child));
            tell_all(&mut s, &space, std::slice::from_ref(&child));
            all.push(child);
        }
        s.ask(&space);
        // Every non-dominated sample told so far is a parent, however many there are.
        let pts: Vec<Vec<f64>> = all
            .iter()
            .map(|x| vec![x[0] as f64, -(x[1] as f64)])
            .collect();
        let nd = tessera_core::pareto::front(&pts);
        assert!(nd
            .iter()
            .all(|&i| s.parents().any(|(p, r, _)| *p == all[i] && r == 0)));
        let mut bad = crate::Options::new();
        bad.insert("variation".into(), "blend".into());
        assert!(Nsga2Options::take(&mut bad)
            .unwrap_err()
            .contains("uniform or neighbour"));
    }

    #[test]
    fn infeasible_members_rank_behind_feasible_ones_by_violation() {
        let space = Toy::new(2, 5);
        let mut s = Nsga2::new(
            0,
            Nsga2Options {
                population: 3,
                offspring: 3,
                ..Default::default()
            },
        );
        let asked: Vec<Sample> = (0..3).map(|_| s.ask(&space).unwrap()).collect();
        let m = Metrics::new();
        let v = [1.0];
        s.tell(
            &space,
            &Told {
                number: 0,
                sample: &asked[0],
                state: TrialState::Infeasible,
                values: &[],
                metrics: &m,
                violation: 0.5,
            },
        );
        s.tell(
            &space,
            &Told {
                number: 1,
                sample: &asked[1],
                state: TrialState::Complete,
                values: &v,
                metrics: &m,
                violation: 0.0,
            },
        );
        s.tell(
            &space,
            &Told {
                number: 2,
                sample: &asked[2],
                state: TrialState::Infeasible,
                values: &[],
                metrics: &m,
                violation: 0.1,
            },
        );
        s.ask(&space);
        let ranks: Vec<(Sample, usize)> = s.parents().map(|(p, r, _)| (p.clone(), r)).collect();
        let rank_of = |x: &Sample| ranks.iter().find(|(p, _)| p == x).unwrap().1;
        assert_eq!(
            (rank_of(&asked[1]), rank_of(&asked[2]), rank_of(&asked[0])),
            (0, 1, 2)
        );
    }
}
