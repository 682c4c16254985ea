//! Metrics, objectives and hard constraints.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smallvec::SmallVec;
use std::collections::HashSet;
use std::fmt;
use std::sync::{Mutex, OnceLock};

/// A small name → value map. Names are `&'static str`: literals, or strings interned once ([`intern`]), so entries
/// are `Copy` and building or dropping metrics on the hot path of a benchmark lookup neither allocates nor runs
/// destructors. Insertion order is kept; serialised as a JSON object.
#[derive(Clone, Default, PartialEq)]
pub struct Metrics(SmallVec<[(&'static str, f64); 8]>);

/// Where [`Metrics::get_hinted`] last found a metric: its position and the evaluator's own name string.
#[derive(Clone, Copy, Debug, Default)]
pub struct MetricHint(Option<(usize, &'static str)>);

/// Interns a metric name: the same `&'static str` for equal names, leaked once per distinct name (metric names are
/// few). Literals need no interning.
pub fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(&n) = set.get(name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `name` to `value`, replacing an earlier value.
    pub fn set(&mut self, name: &str, value: f64) {
        if let Some(e) = self.0.iter_mut().find(|(n, _)| *n == name) {
            e.1 = value;
        } else {
            self.0.push((intern(name), value));
        }
    }
    /// Like [`set`](Metrics::set) for a `'static` name (no interning).
    #[inline]
    pub fn set_static(&mut self, name: &'static str, value: f64) {
        if let Some(e) = self.0.iter_mut().find(|(n, _)| *n == name) {
            e.1 = value;
        } else {
            self.0.push((name, value));
        }
    }
    /// Builds metrics from distinct `'static` names without checking for duplicates (for evaluators on hot paths,
    /// whose names are constants).
    #[inline]
    pub fn from_static(pairs: &[(&'static str, f64)]) -> Self {
        debug_assert!(pairs
            .iter()
            .enumerate()
            .all(|(i, (n, _))| pairs[..i].iter().all(|(m, _)| m != n)));
        Metrics(SmallVec::from_slice(pairs))
    }
    pub fn with(mut self, name: &str, value: f64) -> Self {
        self.set(name, value);
        self
    }
    #[inline]
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
    /// [`get`](Metrics::get) for a loop that reads the same `name` from many evaluations of one evaluator: `hint`
    /// remembers where the name was and which `&'static str` the evaluator used, so the next read that finds that
    /// very string at that position is one pointer compare instead of a string compare. Any other layout falls back
    /// to [`get`](Metrics::get) (and re-learns), so the answer is always `get`'s. Keep one hint per name.
    #[inline]
    pub fn get_hinted(&self, name: &str, hint: &mut MetricHint) -> Option<f64> {
        if let Some((i, seen)) = hint.0 {
            if let Some(&(n, v)) = self.0.get(i) {
                if std::ptr::eq(n, seen) {
                    return Some(v);
                }
            }
        }
        let i = self.0.iter().position(|(n, _)| *n == name)?;
        hint.0 = Some((i, self.0[i].0));
        Some(self.0[i].1)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.0.iter().copied()
    }
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|(n, _)| *n)
    }
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Removes every entry, keeping the storage.
    pub fn clear(&mut self) {
        self.0.clear();
    }
    /// Adds every entry of `other` (replacing equal names).
    pub fn extend(&mut self, other: &Metrics) {
        for &(n, v) in &other.0 {
            self.set_static(n, v);
        }
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(n, v)| (n, v)))
            .finish()
    }
}

impl Serialize for Metrics {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (n, v) in &self.0 {
            // JSON has no NaN/inf: write them as null so a diverged metric never corrupts a study file.
            if v.is_finite() {
                m.serialize_entry(n, v)?;
            } else {
                m.serialize_entry(n, &Option::<f64>::None)?;
            }
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Metrics {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Metrics;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of metric names to numbers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Metrics, A::Error> {
                let mut m = Metrics::new();
                while let Some((k, v)) = a.next_entry::<String, Option<f64>>()? {
                    m.set(&k, v.unwrap_or(f64::NAN));
                }
                Ok(m)
            }
        }
        d.deserialize_map(V)
    }
}

/// Whether an objective is to be maximised or minimised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Max,
    Min,
}

/// A metric to optimise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    pub metric: String,
    pub direction: Direction,
    /// Where the user's interest in this objective ends (in the metric's units), e.g. accuracy 90 or latency
    /// 25 ms: the hypervolume's reference point. Multi-objective strategies that read it (surrogate NSGA-II) spend
    /// no effort beyond it; `tessera pareto` and `report` measure the hypervolume from it. Optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<f64>,
}

impl Objective {
    pub fn max(metric: &str) -> Self {
        Objective {
            metric: metric.into(),
            direction: Direction::Max,
            reference: None,
        }
    }
    pub fn min(metric: &str) -> Self {
        Objective {
            metric: metric.into(),
            direction: Direction::Min,
            reference: None,
        }
    }
    /// The same objective with a [`reference`](Objective::reference) value.
    pub fn with_reference(self, reference: f64) -> Self {
        Objective {
            reference: Some(reference),
            ..self
        }
    }
    /// The metric's value oriented so that larger is better (what strategies compare).
    #[inline]
    pub fn oriented(&self, value: f64) -> f64 {
        match self.direction {
            Direction::Max => value,
            Direction::Min => -value,
        }
    }
}

/// A hard constraint `min <= metric <= max`. Checked on the profile *before* evaluation when the metric is known
/// then (params, FLOPs, tabulated latency): a violating sample is recorded `infeasible` and never evaluated.
/// Otherwise it is checked on the evaluated metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraint {
    pub metric: String,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
}

impl Constraint {
    /// `Some(true)` when satisfied, `Some(false)` when violated, `None` when the metric is not in `m`.
    pub fn check(&self, m: &Metrics) -> Option<bool> {
        let v = m.get(&self.metric)?;
        Some(!v.is_nan() && self.min.is_none_or(|lo| v >= lo) && self.max.is_none_or(|hi| v <= hi))
    }
    /// How far `m` is outside the bounds, relative to the violated bound's magnitude (`(v - max) / max(|max|, 1)`,
    /// likewise below `min`), so that constraints in different units add up (Deb's total constraint violation).
    /// `Some(0.0)` when satisfied, infinite for a NaN value, `None` when the metric is not in `m`.
    pub fn violation(&self, m: &Metrics) -> Option<f64> {
        let v = m.get(&self.metric)?;
        if v.is_nan() {
            return Some(f64::INFINITY);
        }
        let rel = |excess: f64, bound: f64| excess / bound.abs().max(1.0);
        Some(match (self.min, self.max) {
            (Some(lo), _) if v < lo => rel(lo - v, lo),
            (_, Some(hi)) if v > hi => rel(v - hi, hi),
            _ => 0.0,
        })
    }
    pub fn describe(&self) -> String {
        match (self.min, self.max) {
            (Some(lo), Some(hi)) => format!("{lo} <= {} <= {hi}", self.metric),
            (Some(lo), None) => format!("{} >= {lo}", self.metric),
            (None, Some(hi)) => format!("{} <= {hi}", self.metric),
            (None, None) => format!("{} (no bound)", self.metric),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hinted_reads_answer_like_get_whatever_the_layout() {
        let a = Metrics::from_static(&[("val", 1.0), ("test", 2.0)]);
        let b = Metrics::from_static(&[("test", 3.0), ("val", 4.0)]);
        let c = Metrics::new().with("loss", 0.5).with("val", 5.0);
        let empty = Metrics::new();
        let mut hint = MetricHint::default();
        for m in [&a, &a, &b, &c, &empty, &a, &c, &b] {
            assert_eq!(m.get_hinted(&String::from("val"), &mut hint), m.get("val"));
            assert_eq!(
                m.get_hinted("test", &mut MetricHint::default()),
                m.get("test")
            );
        }
    }

    #[test]
    fn metrics_round_trip_json_with_nan_as_null() {
        let m = Metrics::new().with("acc", 91.5).with("loss", f64::NAN);
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(s, r#"{"acc":91.5,"loss":null}"#);
        let back: Metrics = serde_json::from_str(&s).unwrap();
        assert_eq!(back.get("acc"), Some(91.5));
        assert!(back.get("loss").unwrap().is_nan());
    }

    #[test]
    fn constraint_checks_bounds_and_missing_metrics() {
        let c = Constraint {
            metric: "params".into(),
            min: None,
            max: Some(10.0),
        };
        assert_eq!(c.check(&Metrics::new().with("params", 5.0)), Some(true));
        assert_eq!(c.check(&Metrics::new().with("params", 11.0)), Some(false));
        assert_eq!(c.check(&Metrics::new()), None);
    }

    #[test]
    fn constraint_violation_is_relative_to_the_bound() {
        let c = Constraint {
            metric: "latency_ms".into(),
            min: Some(2.0),
            max: Some(10.0),
        };
        let v = |x: f64| c.violation(&Metrics::new().with("latency_ms", x));
        assert_eq!(v(5.0), Some(0.0));
        assert_eq!(v(15.0), Some(0.5));
        assert_eq!(v(1.0), Some(0.5));
        assert_eq!(v(f64::NAN), Some(f64::INFINITY));
        assert_eq!(c.violation(&Metrics::new()), None);
    }
}
