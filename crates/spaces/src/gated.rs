//! Shared parts of the variable-depth spaces ([`crate::chain`], [`crate::mlp`], [`crate::conv1d`]): some dimensions
//! only matter when a depth dimension enables them (the kernel of block 3 when a stage has 2 blocks). Such a space
//! says which dimensions are *active* for a sample; these helpers then give it a canonical key, an encoding, a
//! mutation and neighbours that ignore the inactive ones, so two samples differing only in unused choices are the
//! same architecture everywhere (key, encoding) and a mutation always changes the network.

use rand::Rng as _;
use tessera_core::{Dim, Rng, Sample};

/// A space whose dimensions may be inactive for some samples.
pub(crate) trait Gated {
    fn gated_dims(&self) -> &[Dim];
    /// `active[d]` is whether dimension `d` changes the network built from `s`.
    fn active(&self, s: &Sample) -> Vec<bool>;
}

/// `dim=choice` pairs of the active dimensions only: two samples building the same network share it.
pub(crate) fn key<G: Gated + ?Sized>(g: &G, s: &Sample) -> String {
    let active = g.active(s);
    g.gated_dims()
        .iter()
        .zip(s.as_slice())
        .zip(active)
        .filter(|(_, a)| *a)
        .map(|((d, &c), _)| format!("{}={}", d.name, d.choices[c as usize]))
        .collect::<Vec<_>>()
        .join(",")
}

/// One-hot per dimension, all zeros for inactive ones (a function of the key).
pub(crate) fn encode<G: Gated + ?Sized>(g: &G, s: &Sample) -> Vec<f32> {
    let active = g.active(s);
    let mut v = Vec::new();
    for (d, dim) in g.gated_dims().iter().enumerate() {
        let base = v.len();
        v.resize(base + dim.len(), 0.0);
        if active[d] {
            v[base + s[d] as usize] = 1.0;
        }
    }
    v
}

/// One active dimension changed to another of its choices, uniformly.
pub(crate) fn mutate<G: Gated + ?Sized>(g: &G, s: &Sample, rng: &mut Rng) -> Sample {
    let dims = g.gated_dims();
    let active = g.active(s);
    let free: Vec<usize> = (0..dims.len())
        .filter(|&d| active[d] && dims[d].len() > 1)
        .collect();
    if free.is_empty() {
        return s.clone();
    }
    let d = free[rng.random_range(0..free.len())];
    let mut m = s.clone();
    let v = rng.random_range(0..dims[d].len() - 1) as u16;
    m[d] = if v >= s[d] { v + 1 } else { v };
    m
}

/// Every sample differing from `s` in exactly one active dimension, in dimension then choice order.
pub(crate) fn neighbours<G: Gated + ?Sized>(g: &G, s: &Sample) -> Vec<Sample> {
    let active = g.active(s);
    let mut out = Vec::new();
    for (d, dim) in g.gated_dims().iter().enumerate() {
        if !active[d] {
            continue;
        }
        for c in 0..dim.len() as u16 {
            if c != s[d] {
                let mut m = s.clone();
                m[d] = c;
                out.push(m);
            }
        }
    }
    out
}

/// Reads a comma-separated list option (`"16,32,64"`) with a default; errors name the option.
pub(crate) fn opt_list<T: std::str::FromStr + Clone>(
    o: &crate::Options,
    name: &str,
    default: &[T],
) -> Result<Vec<T>, String> {
    match o.get(name) {
        None => Ok(default.to_vec()),
        Some(v) => {
            let list: Vec<T> = v
                .split(',')
                .map(|x| x.trim().parse::<T>())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    format!("option `{name}` must be a comma-separated list of numbers, got `{v}`")
                })?;
            if list.is_empty() {
                return Err(format!("option `{name}` must not be empty"));
            }
            Ok(list)
        }
    }
}

/// Reads a boolean option (`true`/`false`) with a default.
pub(crate) fn opt_bool(o: &crate::Options, name: &str, default: bool) -> Result<bool, String> {
    match o.get(name).map(|v| v.trim()) {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(v) => Err(format!("option `{name}` must be true or false, got `{v}`")),
    }
}

/// Errors naming `name` unless every value is positive.
pub(crate) fn positive(name: &str, values: &[usize]) -> Result<(), String> {
    if values.is_empty() || values.contains(&0) {
        return Err(format!("option `{name}` must be positive, got {values:?}"));
    }
    Ok(())
}

/// The most layers (per stage) a depth option may ask for: each depth slot becomes choices of the space, so a huge
/// depth was a huge allocation (an out-of-memory abort found by fuzzing), never a useful network.
pub(crate) const MAX_DEPTH: usize = 256;

/// Positive depths of at most [`MAX_DEPTH`].
pub(crate) fn depths(name: &str, values: &[usize]) -> Result<(), String> {
    positive(name, values)?;
    match values.iter().find(|&&d| d > MAX_DEPTH) {
        Some(d) => Err(format!(
            "option `{name}` must be at most {MAX_DEPTH}, got {d}"
        )),
        None => Ok(()),
    }
}

/// Activation names accepted by the spaces' `act`/`acts` options.
pub(crate) fn activation(name: &str) -> Option<tessera_core::Activation> {
    use tessera_core::Activation::*;
    Some(match name {
        "relu" => Relu,
        "relu6" => Relu6,
        "gelu" => Gelu,
        "silu" | "swish" => Silu,
        "sigmoid" => Sigmoid,
        "tanh" => Tanh,
        "hard_swish" | "hswish" => HardSwish,
        "elu" => Elu,
        "leaky_relu" => LeakyRelu,
        _ => return None,
    })
}

/// Reads a comma-separated list of activation names; errors name the option and the known names.
pub(crate) fn opt_acts(
    o: &crate::Options,
    name: &str,
    default: &[&str],
) -> Result<Vec<String>, String> {
    let list: Vec<String> = match o.get(name) {
        None => default.iter().map(|s| s.to_string()).collect(),
        Some(v) => v
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
    };
    if list.is_empty() {
        return Err(format!("option `{name}` must not be empty"));
    }
    if let Some(bad) = list.iter().find(|a| activation(a).is_none()) {
        return Err(format!(
            "option `{name}`: unknown activation `{bad}` (known: relu, relu6, gelu, silu, sigmoid, tanh, hard_swish, elu, leaky_relu)"
        ));
    }
    Ok(list)
}

/// Formats numbers as a space's choice strings.
pub(crate) fn choices<T: ToString>(v: &[T]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// Parses the `dim=choice` form ([`tessera_core::Space::describe`]'s, or the shorter [`key`]: dimensions left out
/// must be inactive and take their first choice) or a JSON-like array of choice indices.
pub(crate) fn parse<G: Gated + ?Sized>(g: &G, space: &str, text: &str) -> Result<Sample, String> {
    let text = text.trim();
    let dims = g.gated_dims();
    let check = |s: Sample| -> Result<Sample, String> {
        let ok = s.len() == dims.len()
            && s.as_slice()
                .iter()
                .zip(dims)
                .all(|(&c, d)| (c as usize) < d.len());
        if ok {
            Ok(s)
        } else {
            Err(format!(
                "{s} is not a sample of space `{space}` ({} dimensions)",
                dims.len()
            ))
        }
    };
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        let v = inner
            .split(',')
            .map(|x| {
                x.trim()
                    .parse::<u16>()
                    .map_err(|_| format!("bad choice `{x}` in `{text}`"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        return check(Sample::from(v));
    }
    let mut s = Sample::from(vec![0u16; dims.len()]);
    let mut seen = vec![false; dims.len()];
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("expected dim=choice, got `{part}`"))?;
        let d = dims
            .iter()
            .position(|d| d.name == k.trim())
            .ok_or_else(|| format!("unknown dimension `{}` of space `{space}`", k.trim()))?;
        let c = dims[d]
            .choices
            .iter()
            .position(|c| c == v.trim())
            .ok_or_else(|| {
                format!(
                    "unknown choice `{}` for `{}` (one of {})",
                    v.trim(),
                    k.trim(),
                    dims[d].choices.join(", ")
                )
            })?;
        s[d] = c as u16;
        seen[d] = true;
    }
    let active = g.active(&s);
    if let Some(d) = (0..dims.len()).find(|&d| !seen[d] && active[d]) {
        return Err(format!("dimension `{}` missing", dims[d].name));
    }
    check(s)
}
