//! Pareto dominance, non-dominated sorting, crowding distance and exact hypervolume.
//!
//! Every function here takes objective vectors **oriented so that larger is better** (what
//! [`Objective::oriented`](crate::Objective::oriented) produces and what strategies are told). Points must not
//! contain NaN: a study never tells NaN objective values (a trial missing one fails).
//!
//! | what | function | algorithm | cost (n points, m objectives) |
//! |---|---|---|---|
//! | dominance | [`dominates`], [`constrained_dominates`] | definition; Deb's constraint domination | O(m) |
//! | first front | [`front`] | pairwise | O(m n²) |
//! | all fronts | [`non_dominated_sort`], [`constrained_sort`] | Deb et al.'s fast non-dominated sort (NSGA-II, 2002), exact | O(m n²) |
//! | diversity | [`crowding_distance`] | NSGA-II crowding distance | O(m n log n) |
//! | hypervolume, 2 objectives | [`hypervolume`] | sort + sweep | O(n log n) |
//! | hypervolume, 3 objectives | [`hypervolume`] | dimension sweep of Fonseca, Paquete & López-Ibáñez (CEC 2006; "HV3D", shown optimal by Beume et al., IEEE TEVC 2009) | O(n log n) |
//! | hypervolume, ≥ 4 objectives | [`hypervolume`] | slicing along the last objective down to the 3-D sweep (HSO-style, While et al. 2006) | exponential in m |
//! | anytime hypervolume | [`hypervolume_curve`] | incremental 2-D staircase; recomputation for ≥ 3 | O(n log n) in 2-D |
//!
//! The hypervolume of a set is the Lebesgue measure of the region it dominates and that dominates the reference
//! point: `∪ᵢ [r, pᵢ]`. Points that do not strictly dominate the reference point contribute nothing.

use std::collections::BTreeMap;

/// Whether `a` dominates `b`: at least as good everywhere and better somewhere.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x >= y) && a.iter().zip(b).any(|(x, y)| x > y)
}

/// Deb's constraint domination (Deb 2000; NSGA-II, Deb et al. 2002). With total constraint violations `va`, `vb`
/// (0 = feasible): a feasible point dominates an infeasible one; of two infeasible points the one with the smaller
/// violation dominates; two feasible points compare by [`dominates`].
pub fn constrained_dominates(a: &[f64], va: f64, b: &[f64], vb: f64) -> bool {
    match (va > 0.0, vb > 0.0) {
        (false, false) => dominates(a, b),
        (false, true) => true,
        (true, false) => false,
        (true, true) => va < vb,
    }
}

/// Indices of the non-dominated points (duplicates of a non-dominated point all belong to the front).
pub fn front(points: &[Vec<f64>]) -> Vec<usize> {
    (0..points.len())
        .filter(|&i| !points.iter().any(|q| dominates(q, &points[i])))
        .collect()
}

/// Exact non-dominated sorting: the fronts F₁, F₂, … as index lists in ascending index order. F₁ holds the points
/// no point dominates, F₂ those dominated only by points of F₁, and so on; every index is in exactly one front.
pub fn non_dominated_sort<P: AsRef<[f64]>>(points: &[P]) -> Vec<Vec<usize>> {
    sort_by_dominance(points.len(), |i, j| {
        dominates(points[i].as_ref(), points[j].as_ref())
    })
}

/// [`non_dominated_sort`] under [`constrained_dominates`]: feasible points (violation 0) are sorted by Pareto
/// dominance and come first; infeasible ones follow in fronts of equal violation, smallest first.
pub fn constrained_sort<P: AsRef<[f64]>>(points: &[P], violations: &[f64]) -> Vec<Vec<usize>> {
    assert_eq!(points.len(), violations.len(), "one violation per point");
    sort_by_dominance(points.len(), |i, j| {
        constrained_dominates(
            points[i].as_ref(),
            violations[i],
            points[j].as_ref(),
            violations[j],
        )
    })
}

/// Deb's fast non-dominated sort for any strict partial order `dom(i, j)` ("i dominates j").
fn sort_by_dominance(n: usize, dom: impl Fn(usize, usize) -> bool) -> Vec<Vec<usize>> {
    let mut dominated_by = vec![0usize; n]; // how many points dominate i
    let mut dominating: Vec<Vec<usize>> = vec![Vec::new(); n]; // which points i dominates
    for i in 0..n {
        for j in i + 1..n {
            if dom(i, j) {
                dominating[i].push(j);
                dominated_by[j] += 1;
            } else if dom(j, i) {
                dominating[j].push(i);
                dominated_by[i] += 1;
            }
        }
    }
    let mut fronts = Vec::new();
    let mut current: Vec<usize> = (0..n).filter(|&i| dominated_by[i] == 0).collect();
    while !current.is_empty() {
        let mut next = Vec::new();
        for &i in &current {
            for &j in &dominating[i] {
                dominated_by[j] -= 1;
                if dominated_by[j] == 0 {
                    next.push(j);
                }
            }
        }
        next.sort_unstable();
        fronts.push(std::mem::replace(&mut current, next));
    }
    fronts
}

/// NSGA-II crowding distance of each member of one front (`front` indexes `points`); the result is in `front`'s
/// order. Boundary points of each objective get infinity; others the sum over objectives of the normalised gap
/// between their neighbours. Ties in an objective are broken by index, so the result is deterministic.
pub fn crowding_distance<P: AsRef<[f64]>>(points: &[P], front: &[usize]) -> Vec<f64> {
    let n = front.len();
    let mut d = vec![0.0; n];
    if n <= 2 {
        return vec![f64::INFINITY; n];
    }
    let m = points[front[0]].as_ref().len();
    let mut order: Vec<usize> = (0..n).collect();
    for k in 0..m {
        let v = |i: usize| points[front[i]].as_ref()[k];
        order.sort_by(|&a, &b| v(a).total_cmp(&v(b)).then(front[a].cmp(&front[b])));
        let (lo, hi) = (v(order[0]), v(order[n - 1]));
        d[order[0]] = f64::INFINITY;
        d[order[n - 1]] = f64::INFINITY;
        if hi > lo {
            for w in 1..n - 1 {
                d[order[w]] += (v(order[w + 1]) - v(order[w - 1])) / (hi - lo);
            }
        }
    }
    d
}

/// The exact hypervolume dominated by `points` with respect to `reference` (see the module docs for the
/// algorithms). All points must have the reference point's length; with no objectives the volume is 0.
pub fn hypervolume<P: AsRef<[f64]>>(points: &[P], reference: &[f64]) -> f64 {
    let m = reference.len();
    let pts: Vec<&[f64]> = points
        .iter()
        .map(|p| p.as_ref())
        .inspect(|p| assert_eq!(p.len(), m, "point and reference point differ in length"))
        .filter(|p| p.iter().zip(reference).all(|(x, r)| x > r))
        .collect();
    hv(&pts, reference)
}

fn hv(pts: &[&[f64]], r: &[f64]) -> f64 {
    match r.len() {
        0 => 0.0,
        _ if pts.is_empty() => 0.0,
        1 => pts.iter().map(|p| p[0]).fold(f64::NEG_INFINITY, f64::max) - r[0],
        2 => hv2(pts.iter().map(|p| (p[0], p[1])).collect(), (r[0], r[1])),
        3 => hv3(pts, r),
        m => {
            // Slice along the last objective: between consecutive distinct values (descending), the cross-section
            // is the (m-1)-dimensional hypervolume of the points at least that good in the last objective.
            let mut sorted: Vec<&[f64]> = pts.to_vec();
            sorted.sort_by(|a, b| b[m - 1].total_cmp(&a[m - 1]));
            let mut vol = 0.0;
            for i in 0..sorted.len() {
                let top = sorted[i][m - 1];
                let bottom = sorted.get(i + 1).map_or(r[m - 1], |p| p[m - 1]);
                if top > bottom {
                    let slice: Vec<&[f64]> = sorted[..=i].iter().map(|p| &p[..m - 1]).collect();
                    vol += hv(&slice, &r[..m - 1]) * (top - bottom);
                }
            }
            vol
        }
    }
}

/// 2-D: sort by the first objective, best first; each point adds the strip above the best second value so far.
fn hv2(mut pts: Vec<(f64, f64)>, (rx, ry): (f64, f64)) -> f64 {
    pts.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.total_cmp(&a.1)));
    let mut best_y = ry;
    let mut area = 0.0;
    for (x, y) in pts {
        if y > best_y {
            area += (x - rx) * (y - best_y);
            best_y = y;
        }
    }
    area
}

/// 3-D dimension sweep: points by the third objective, best first; the 2-D front of the points seen so far is kept
/// as a staircase whose area is updated at each insertion, and each slab between consecutive third values adds
/// area × thickness.
fn hv3(pts: &[&[f64]], r: &[f64]) -> f64 {
    let mut sorted: Vec<&[f64]> = pts.to_vec();
    sorted.sort_by(|a, b| b[2].total_cmp(&a[2]));
    let mut stairs = Staircase::new(r[0], r[1]);
    let mut vol = 0.0;
    for i in 0..sorted.len() {
        stairs.insert(sorted[i][0], sorted[i][1]);
        let bottom = sorted.get(i + 1).map_or(r[2], |p| p[2]);
        vol += stairs.area() * (sorted[i][2] - bottom);
    }
    vol
}

/// The 2-D non-dominated staircase of inserted points (maximisation) and the exact area it dominates above a
/// reference point, updated in O(log n) amortised per insertion.
#[derive(Clone, Debug)]
pub struct Staircase {
    rx: f64,
    ry: f64,
    /// x → y of the non-dominated points: as x grows, y falls.
    pts: BTreeMap<OrdF64, f64>,
    area: f64,
}

/// An `f64` ordered by `total_cmp` (keys of the staircase; never NaN).
#[derive(Clone, Copy, Debug)]
struct OrdF64(f64);
impl PartialEq for OrdF64 {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o).is_eq()
    }
}
impl Eq for OrdF64 {}
impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for OrdF64 {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

impl Staircase {
    /// An empty staircase over the reference point `(rx, ry)`.
    pub fn new(rx: f64, ry: f64) -> Self {
        Staircase {
            rx,
            ry,
            pts: BTreeMap::new(),
            area: 0.0,
        }
    }

    /// The area dominated by the inserted points and dominating the reference point.
    pub fn area(&self) -> f64 {
        self.area
    }

    /// The non-dominated points inserted so far, by increasing first coordinate.
    pub fn points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.pts.iter().map(|(x, &y)| (x.0, y))
    }

    /// Inserts a point; returns the area it adds (0 when dominated or not better than the reference point).
    pub fn insert(&mut self, x: f64, y: f64) -> f64 {
        if !(x > self.rx && y > self.ry) {
            return 0.0;
        }
        // Height already covered at x: the y of the first point with x' >= x (y falls as x grows).
        let h = self
            .pts
            .range(OrdF64(x)..)
            .next()
            .map_or(self.ry, |(_, &y)| y);
        if h >= y {
            return 0.0;
        }
        let mut added = 0.0;
        let mut cur = x;
        let mut below = h;
        // Walk left: each predecessor with y' <= y is now dominated; the strip between it and `cur` gains y - below.
        loop {
            let pred = self
                .pts
                .range(..OrdF64(cur))
                .next_back()
                .map(|(k, &v)| (k.0, v));
            match pred {
                Some((px, py)) if py <= y => {
                    added += (cur - px) * (y - below);
                    self.pts.remove(&OrdF64(px));
                    cur = px;
                    below = py;
                }
                Some((px, _)) => {
                    added += (cur - px) * (y - below);
                    break;
                }
                None => {
                    added += (cur - self.rx) * (y - below);
                    break;
                }
            }
        }
        self.pts.insert(OrdF64(x), y);
        self.area += added;
        added
    }
}

/// The hypervolume of the first k points for k = 1..=n (an anytime curve): incremental in 2-D (O(n log n)); in
/// other dimensions recomputed only when a point is not dominated by the ones before it.
pub fn hypervolume_curve<P: AsRef<[f64]>>(points: &[P], reference: &[f64]) -> Vec<f64> {
    if reference.len() == 2 {
        let mut s = Staircase::new(reference[0], reference[1]);
        return points
            .iter()
            .map(|p| {
                s.insert(p.as_ref()[0], p.as_ref()[1]);
                s.area()
            })
            .collect();
    }
    let mut out = Vec::with_capacity(points.len());
    let mut nd: Vec<&[f64]> = Vec::new();
    let mut last = 0.0;
    for p in points {
        let p = p.as_ref();
        if !nd.iter().any(|q| dominates(q, p) || *q == p) {
            nd.retain(|q| !dominates(p, q));
            nd.push(p);
            last = hypervolume(&nd, reference);
        }
        out.push(last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng as _, SeedableRng};

    #[test]
    fn front_of_a_small_set() {
        let p = vec![
            vec![1.0, 5.0],
            vec![2.0, 4.0],
            vec![1.5, 3.0],
            vec![2.0, 4.0],
        ];
        assert_eq!(super::front(&p), vec![0, 1, 3]);
    }

    #[test]
    fn sorting_assigns_every_point_to_the_right_front() {
        let p = [
            [1.0, 5.0],
            [2.0, 4.0],
            [1.5, 3.0],
            [2.0, 4.0],
            [0.0, 0.0],
            [1.0, 2.0],
            [3.0, 1.0],
        ];
        assert_eq!(
            non_dominated_sort(&p),
            vec![vec![0, 1, 3, 6], vec![2], vec![5], vec![4]]
        );
    }

    #[test]
    fn constraint_domination_puts_feasible_first_then_smaller_violation() {
        let p = [[9.0, 9.0], [1.0, 1.0], [0.0, 0.0], [5.0, 5.0], [2.0, 0.0]];
        let v = [0.5, 0.0, 0.0, 0.2, 0.5];
        assert!(constrained_dominates(&p[1], v[1], &p[0], v[0]));
        assert!(!constrained_dominates(&p[0], v[0], &p[1], v[1]));
        assert!(constrained_dominates(&p[3], v[3], &p[0], v[0]));
        assert_eq!(
            constrained_sort(&p, &v),
            vec![vec![1], vec![2], vec![3], vec![0, 4]]
        );
    }

    #[test]
    fn crowding_distance_of_a_line() {
        let p = [[0.0, 4.0], [1.0, 3.0], [3.0, 1.0], [4.0, 0.0]];
        let d = crowding_distance(&p, &[0, 1, 2, 3]);
        assert!(d[0].is_infinite() && d[3].is_infinite());
        assert!((d[1] - (3.0 / 4.0 + 3.0 / 4.0)).abs() < 1e-12);
        assert!((d[2] - d[1]).abs() < 1e-12);
    }

    #[test]
    fn hypervolume_by_hand() {
        // Three boxes from the origin: (3,1), (2,2), (1,3): area 3 + 2 + 1 = 6.
        let p = [[3.0, 1.0], [2.0, 2.0], [1.0, 3.0], [0.5, 0.5], [-1.0, 9.0]];
        assert_eq!(hypervolume(&p, &[0.0, 0.0]), 6.0);
        // A unit cube and a 2×1×1 box overlapping in a unit cube: 2.
        assert_eq!(
            hypervolume(&[[1.0, 1.0, 1.0], [2.0, 1.0, 1.0]], &[0.0, 0.0, 0.0]),
            2.0
        );
        let q = [[1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [2.0, 3.0, 2.0]];
        assert_eq!(hypervolume(&q, &[0.0, 0.0, 0.0]), grid_volume(&q, 4));
        assert_eq!(
            hypervolume(&[[1.0, 1.0, 1.0, 2.0], [2.0, 1.0, 1.0, 1.0]], &[0.0; 4]),
            3.0
        );
        assert_eq!(hypervolume::<[f64; 2]>(&[], &[0.0, 0.0]), 0.0);
    }

    /// The volume of integer-coordinate boxes counted cell by cell.
    fn grid_volume<P: AsRef<[f64]>>(pts: &[P], side: i32) -> f64 {
        let m = pts[0].as_ref().len();
        let cells = (side as usize).pow(m as u32);
        (0..cells)
            .filter(|&c| {
                let centre: Vec<f64> = (0..m)
                    .map(|k| (c / (side as usize).pow(k as u32) % side as usize) as f64 + 0.5)
                    .collect();
                pts.iter()
                    .any(|p| p.as_ref().iter().zip(&centre).all(|(x, c)| x > c))
            })
            .count() as f64
    }

    /// Random integer point sets: the exact algorithms equal cell counting in 2, 3 and 4 dimensions, and the 3-D
    /// sweep equals the generic slicing recursion.
    #[test]
    fn hypervolume_equals_cell_counting_on_random_sets() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for m in 2..=4 {
            for _ in 0..60 {
                let n = rng.random_range(1..12);
                let pts: Vec<Vec<f64>> = (0..n)
                    .map(|_| (0..m).map(|_| rng.random_range(0..7) as f64).collect())
                    .collect();
                let exact = hypervolume(&pts, &vec![0.0; m]);
                assert_eq!(exact, grid_volume(&pts, 7), "{pts:?}");
                if m == 3 {
                    let lifted: Vec<Vec<f64>> = pts
                        .iter()
                        .map(|p| [p.clone(), vec![1.0]].concat())
                        .collect();
                    assert_eq!(hypervolume(&lifted, &[0.0; 4]), exact);
                }
            }
        }
    }

    #[test]
    fn curve_is_monotone_and_ends_at_the_total() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for m in [2, 3] {
            let pts: Vec<Vec<f64>> = (0..40)
                .map(|_| (0..m).map(|_| rng.random_range(0.0..1.0)).collect())
                .collect();
            let r = vec![0.1; m];
            let c = hypervolume_curve(&pts, &r);
            assert!(c.windows(2).all(|w| w[1] >= w[0]));
            for k in [1, 7, 40] {
                assert!((c[k - 1] - hypervolume(&pts[..k], &r)).abs() < 1e-12);
            }
        }
    }
}
