//! Pareto dominance and non-dominated sorting (all objectives oriented so that larger is better).

/// Whether `a` dominates `b`: at least as good everywhere and better somewhere.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x >= y) && a.iter().zip(b).any(|(x, y)| x > y)
}

/// Indices of the non-dominated points.
pub fn front(points: &[Vec<f64>]) -> Vec<usize> {
    (0..points.len()).filter(|&i| !points.iter().any(|q| dominates(q, &points[i]))).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn front_of_a_small_set() {
        let p = vec![vec![1.0, 5.0], vec![2.0, 4.0], vec![1.5, 3.0], vec![2.0, 4.0]];
        assert_eq!(super::front(&p), vec![0, 1, 3]);
    }
}
