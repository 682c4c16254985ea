//! Rank statistics for comparing a cheap score with the truth (proxies, predictors, supernets against trained
//! accuracy): average ranks, Pearson, Spearman and Kendall's τ-b. Written here (a few lines each) because the
//! crates that offer them pull in a numerics stack this crate keeps out.

/// Ranks 1..n, tied values sharing their average rank.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Pearson's correlation; NaN when either side is constant or the lengths differ.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    if x.len() != y.len() || x.is_empty() {
        return f64::NAN;
    }
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// Spearman's ρ: Pearson's correlation of the average ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// Kendall's τ-b (ties counted as in SciPy's default): O(n²), fine for the thousands of points compared here.
pub fn kendall_tau(x: &[f64], y: &[f64]) -> f64 {
    if x.len() != y.len() || x.len() < 2 {
        return f64::NAN;
    }
    let (mut concordant, mut discordant, mut tie_x, mut tie_y) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            let dx = x[i].total_cmp(&x[j]) as i8;
            let dy = y[i].total_cmp(&y[j]) as i8;
            match (dx, dy) {
                (0, 0) => {}
                (0, _) => tie_x += 1,
                (_, 0) => tie_y += 1,
                _ if dx == dy => concordant += 1,
                _ => discordant += 1,
            }
        }
    }
    let n0 = concordant + discordant;
    ((concordant - discordant) as f64) / (((n0 + tie_x) as f64) * ((n0 + tie_y) as f64)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_uses_average_ranks() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    }

    #[test]
    fn kendall_tau_b_matches_scipy() {
        // scipy.stats.kendalltau([1, 2, 3, 4, 5], [3, 1, 2, 5, 4]) = 0.4
        assert!(
            (kendall_tau(&[1.0, 2.0, 3.0, 4.0, 5.0], &[3.0, 1.0, 2.0, 5.0, 4.0]) - 0.4).abs()
                < 1e-12
        );
        // with ties (τ-b): scipy.stats.kendalltau([1, 1, 2, 3], [1, 2, 2, 3]) = 0.8
        let t = kendall_tau(&[1.0, 1.0, 2.0, 3.0], &[1.0, 2.0, 2.0, 3.0]);
        assert!((t - 0.8).abs() < 1e-12, "{t}");
        assert!(kendall_tau(&[1.0, 2.0], &[5.0, 5.0]).is_nan());
    }
}
