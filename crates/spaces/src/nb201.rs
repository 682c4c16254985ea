//! NAS-Bench-201 (NATS-Bench topology) cells.
//!
//! A cell has 4 nodes; node `j` sums one operation applied to every earlier node `i`, over the 6 edges
//! `(1←0) (2←0) (2←1) (3←0) (3←1) (3←2)`, each one of [`OPS`]. The text form is the benchmark's string
//! `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`. NASLib writes the same cell as a 6-tuple over the edges
//! `(1→2) (1→3) (1→4) (2→3) (2→4) (3→4)` (1-based nodes) with its own op ids ([`NASLIB_OPS`]); see
//! [`Nb201::to_naslib`] / [`Nb201::from_naslib`].
//!
//! The canonical key is NATS-Bench's unique string (`to_unique_str(consider_zero=True)`): skip connections are
//! inlined, zero (`none`) terms and ops applied to zero collapse to `#`, and the terms of each sum are sorted, so
//! isomorphic cells share it. The 15,625 cells fall into 6,466 classes.
//!
//! Lowering builds the benchmark's skeleton: a 3×3 conv stem with C channels, three stages of N cells at C, 2C and 4C
//! channels separated by residual reduction blocks, BN + ReLU, global average pooling and a linear classifier.

use smallvec::smallvec;
use tessera_core::{Activation, Dim, Network, NetworkError, Op, PoolKind, Sample, Space};

/// Operation names, in choice order.
pub const OPS: [&str; 5] = [
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
];
/// NASLib's op ids: 0=skip_connect, 1=none, 2=nor_conv_3x3, 3=nor_conv_1x1, 4=avg_pool_3x3, as indices into [`OPS`].
pub const NASLIB_OPS: [u16; 5] = [1, 0, 3, 2, 4];
/// `(to, from)` of the 6 edges in string order.
pub const EDGES: [(usize, usize); 6] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];
/// The input-to-output routes of a cell as indices into [`EDGES`].
const ROUTES: [&[usize]; 4] = [&[3], &[0, 4], &[1, 5], &[0, 2, 5]];
/// NASLib tuple position of each string-order edge: the string is `|t0~0|+|t1~0|t3~1|+|t2~0|t4~1|t5~2|`.
const NASLIB_POS: [usize; 6] = [0, 1, 3, 2, 4, 5];

/// The NB201 cell space with its network skeleton's sizes.
#[derive(Clone, Debug)]
pub struct Nb201 {
    dims: Vec<Dim>,
    /// Channels of the first stage (16 in the benchmark).
    pub channels: usize,
    /// Cells per stage (5 in the benchmark).
    pub cells: usize,
    /// Input `[C, H, W]` (3×32×32 for CIFAR).
    pub input: [usize; 3],
    pub classes: usize,
}

impl Default for Nb201 {
    fn default() -> Self {
        Self::new(16, 5, [3, 32, 32], 10)
    }
}

impl Nb201 {
    pub fn new(channels: usize, cells: usize, input: [usize; 3], classes: usize) -> Self {
        let names = ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"];
        let dims = names
            .iter()
            .map(|n| Dim::new(format!("edge{n}"), &OPS))
            .collect();
        Nb201 {
            dims,
            channels,
            cells,
            input,
            classes,
        }
    }

    /// Options: `C` or `channels` (16), `N` or `cells` (cells per stage, 5), the input as `input = "3x32x32"` or
    /// `input_channels` (3), `height` (32), `width` (32), and `classes` (10). The dimensions, text form and
    /// canonical key do not depend on them; only the lowered network's sizes do.
    pub fn from_options(o: &crate::Options) -> Result<Self, String> {
        crate::check_options(
            o,
            &[
                "C",
                "channels",
                "N",
                "cells",
                "input",
                "input_channels",
                "height",
                "width",
                "classes",
            ],
            "nb201",
        )?;
        let alias = |a: &str, b: &str, default: usize| -> Result<usize, String> {
            match (o.contains_key(a), o.contains_key(b)) {
                (true, true) => Err(format!("options `{a}` and `{b}` are the same; give one")),
                (true, false) => crate::opt_usize(o, a, default),
                _ => crate::opt_usize(o, b, default),
            }
        };
        let separate = ["input_channels", "height", "width"]
            .iter()
            .any(|k| o.contains_key(*k));
        let input = match o.get("input") {
            Some(_) if separate => {
                return Err(
                    "option `input` and `input_channels`/`height`/`width` say the same; give one"
                        .into(),
                )
            }
            None => [
                crate::opt_usize(o, "input_channels", 3)?,
                crate::opt_usize(o, "height", 32)?,
                crate::opt_usize(o, "width", 32)?,
            ],
            Some(v) => {
                let p: Vec<usize> = v
                    .split('x')
                    .map(|x| x.trim().parse())
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("option `input` must look like 3x32x32, got `{v}`"))?;
                <[usize; 3]>::try_from(p)
                    .map_err(|_| format!("option `input` must have 3 sizes (CxHxW), got `{v}`"))?
            }
        };
        let s = Self::new(
            alias("C", "channels", 16)?,
            alias("N", "cells", 5)?,
            input,
            crate::opt_usize(o, "classes", 10)?,
        );
        if s.channels == 0 {
            return Err("option `C` (channels) must be positive".into());
        }
        if s.classes == 0 {
            return Err("option `classes` must be positive".into());
        }
        if input.contains(&0) {
            return Err(format!(
                "option `input` sizes must be positive, got {input:?}"
            ));
        }
        Ok(s)
    }

    /// Parses `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`.
    pub fn parse_str(text: &str) -> Result<Sample, String> {
        let nodes: Vec<&str> = text.trim().split('+').collect();
        if nodes.len() != 3 {
            return Err(format!(
                "expected 3 nodes separated by `+`, got {} in `{text}`",
                nodes.len()
            ));
        }
        let mut s = Sample(smallvec![0; 6]);
        let mut e = 0;
        for (j, node) in nodes.iter().enumerate() {
            let parts: Vec<&str> = node.trim().trim_matches('|').split('|').collect();
            if parts.len() != j + 1 {
                return Err(format!(
                    "node {} must have {} inputs, got `{node}`",
                    j + 1,
                    j + 1
                ));
            }
            for (i, p) in parts.iter().enumerate() {
                let (op, from) = p
                    .split_once('~')
                    .ok_or_else(|| format!("expected op~input, got `{p}`"))?;
                if from != i.to_string() {
                    return Err(format!("edge `{p}` of node {} must read node {i}", j + 1));
                }
                let c = OPS.iter().position(|o| *o == op).ok_or_else(|| {
                    format!(
                        "unknown op `{op}` in `{text}`; known ops: {}",
                        OPS.join(", ")
                    )
                })?;
                s[e] = c as u16;
                e += 1;
            }
        }
        Ok(s)
    }

    /// The benchmark string of a sample.
    pub fn to_str(s: &Sample) -> String {
        let op = |e: usize| OPS[s[e] as usize];
        format!(
            "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|",
            op(0),
            op(1),
            op(2),
            op(3),
            op(4),
            op(5)
        )
    }

    /// NASLib's op tuple of a sample.
    pub fn to_naslib(s: &Sample) -> [u8; 6] {
        let mut t = [0u8; 6];
        for e in 0..6 {
            t[NASLIB_POS[e]] = NASLIB_OPS
                .iter()
                .position(|&o| o == s[e])
                .expect("valid op") as u8;
        }
        t
    }

    /// The sample of a NASLib op tuple.
    pub fn from_naslib(t: [u8; 6]) -> Result<Sample, String> {
        let mut s = Sample(smallvec![0; 6]);
        for e in 0..6 {
            let id = t[NASLIB_POS[e]] as usize;
            s[e] = *NASLIB_OPS
                .get(id)
                .ok_or_else(|| format!("NASLib op id {id} out of range 0..5 in {t:?}"))?;
        }
        Ok(s)
    }

    /// Parses NASLib's tuple as its files write it (`(0, 2, 3, 2, 3, 1)`, the keys of `zc_nasbench201.json`).
    pub fn from_naslib_str(text: &str) -> Result<Sample, String> {
        let ids: Vec<u8> = text
            .trim()
            .trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .map(|x| {
                x.trim()
                    .parse()
                    .map_err(|_| format!("bad NASLib op id `{}` in `{text}`", x.trim()))
            })
            .collect::<Result<_, _>>()?;
        let t: [u8; 6] = ids.try_into().map_err(|v: Vec<u8>| {
            format!("a NASLib tuple has 6 op ids, got {} in `{text}`", v.len())
        })?;
        Self::from_naslib(t)
    }

    /// NATS-Bench's unique string (see the module docs).
    pub fn unique_str(s: &Sample) -> String {
        let mut nodes: [String; 4] = ["0".to_string(), String::new(), String::new(), String::new()];
        let mut e = 0;
        for j in 1..4 {
            let mut terms: Vec<String> = Vec::with_capacity(j);
            for x in &nodes[..j] {
                let op = OPS[s[e] as usize];
                e += 1;
                terms.push(if op == "none" || x == "#" {
                    "#".to_string()
                } else if op == "skip_connect" {
                    x.clone()
                } else {
                    format!("({x})@{op}")
                });
            }
            terms.sort();
            nodes[j] = terms.join("+");
        }
        std::mem::take(&mut nodes[3])
    }

    fn cell(&self, net: &mut Network, s: &Sample, x: usize, c: usize) -> usize {
        let mut nodes = vec![x];
        let mut e = 0;
        for _j in 1..4 {
            let mut terms = Vec::new();
            for &inp in nodes.iter() {
                let op = s[e];
                e += 1;
                let t = match OPS[op as usize] {
                    "none" => continue,
                    "skip_connect" => inp,
                    "nor_conv_1x1" => net.chain(
                        inp,
                        [Op::act(Activation::Relu), Op::conv(c, 1, 1), Op::BatchNorm],
                    ),
                    "nor_conv_3x3" => net.chain(
                        inp,
                        [Op::act(Activation::Relu), Op::conv(c, 3, 1), Op::BatchNorm],
                    ),
                    _ => net.add(
                        Op::Pool {
                            kind: PoolKind::Avg,
                            kernel: 3,
                            stride: 1,
                            padding: 1,
                        },
                        &[inp],
                    ),
                };
                terms.push(t);
            }
            let node = if terms.is_empty() {
                net.add(Op::Zero, &[x])
            } else {
                net.add(Op::Add, &terms)
            };
            nodes.push(node);
        }
        nodes[3]
    }

    fn reduction(net: &mut Network, x: usize, c: usize) -> usize {
        let a = net.chain(
            x,
            [
                Op::act(Activation::Relu),
                Op::conv(c, 3, 2),
                Op::BatchNorm,
                Op::act(Activation::Relu),
                Op::conv(c, 3, 1),
                Op::BatchNorm,
            ],
        );
        let b = net.chain(
            x,
            [
                Op::Pool {
                    kind: PoolKind::Avg,
                    kernel: 2,
                    stride: 2,
                    padding: 0,
                },
                Op::conv(c, 1, 1),
            ],
        );
        net.add(Op::Add, &[a, b])
    }

    /// The cell with every edge that no path from the input (node 0) to the output (node 3) uses set to `none`: an
    /// edge counts when its op is not `none`, its source is reachable from the input and the output is reachable
    /// from its target, both over non-`none` edges. Such a cell computes the same function as `s`.
    pub fn effective(s: &Sample) -> Sample {
        let on = |k: usize| s.as_slice().get(k).is_some_and(|&o| o != 0);
        // EDGES[k] = (to, from): 0:(1,0) 1:(2,0) 2:(2,1) 3:(3,0) 4:(3,1) 5:(3,2).
        let from_input = [true, on(0), on(1) || (on(0) && on(2)), true];
        let to_output = [true, on(4) || (on(2) && on(5)), on(5), true];
        let mut e = s.clone();
        for (k, &(to, from)) in EDGES.iter().enumerate() {
            if k < e.len() && !(on(k) && from_input[from] && to_output[to]) {
                e[k] = 0;
            }
        }
        e
    }
}

impl Space for Nb201 {
    fn name(&self) -> &str {
        "nb201"
    }
    fn dims(&self) -> &[Dim] {
        &self.dims
    }
    fn lower(&self, s: &Sample) -> Result<Network, NetworkError> {
        let mut net = Network::new();
        let x = net.add(
            Op::Input {
                shape: self.input.to_vec(),
            },
            &[],
        );
        let mut h = net.chain(x, [Op::conv(self.channels, 3, 1), Op::BatchNorm]);
        for stage in 0..3 {
            let c = self.channels << stage;
            if stage > 0 {
                h = Self::reduction(&mut net, h, c);
            }
            for _ in 0..self.cells {
                h = self.cell(&mut net, s, h, c);
            }
        }
        let h = net.chain(
            h,
            [
                Op::BatchNorm,
                Op::act(Activation::Relu),
                Op::GlobalPool {
                    kind: PoolKind::Avg,
                },
            ],
        );
        net.add(
            Op::Output {
                classes: self.classes,
            },
            &[h],
        );
        net.shapes()?;
        Ok(net)
    }
    /// One-hot per edge of the cell's *effective* ops ([`Nb201::effective`]): an op on an edge that no
    /// input-to-output path uses is encoded as `none`, so a predictor does not see a difference the network does not
    /// have. (On NB201 CIFAR-10 × raspi4 latency this raised the surrogate NSGA-II's hypervolume ratio from 0.930
    /// to 0.948 over 50 seeds; see benches/nb201_moo.sh.)
    fn encode(&self, s: &Sample) -> Vec<f32> {
        tessera_core::space::one_hot(&self.dims, &Self::effective(s))
    }
    /// The 4 input-to-output routes of a cell (`3←0`, `1←0 3←1`, `2←0 3←2`, `1←0 2←1 3←2`); each whose edges are all
    /// not `none` adds 1 to the feature of its op sequence: 4 + 4² + 4³ = 84 features. With the one-hot of
    /// [`Space::encode`] this is the predictor's default encoding on NB201 (Kendall τ 0.78 instead of 0.68 with 200
    /// training cells; `cargo run --release -p tessera --example predictor_nb201`).
    fn path_encoding(&self, s: &Sample) -> Option<Vec<f32>> {
        let mut v = vec![0.0; 4 + 16 + 64];
        for route in ROUTES {
            let ops = route.iter().map(|&e| s[e] as usize);
            if ops.clone().any(|o| o == 0) {
                continue;
            }
            // ops 1..5 as base-4 digits, after the 4^1 + … offsets of the shorter lengths
            let offset = [0, 0, 4, 20][route.len()];
            v[offset + ops.fold(0, |i, o| i * 4 + o - 1)] += 1.0;
        }
        Some(v)
    }
    fn key(&self, s: &Sample) -> String {
        Self::unique_str(s)
    }
    fn describe(&self, s: &Sample) -> String {
        Self::to_str(s)
    }
    fn parse(&self, text: &str) -> Result<Sample, String> {
        if text.trim_start().starts_with('|') {
            Self::parse_str(text)
        } else {
            let s: Sample = serde_json_like(text)?;
            if self.is_valid(&s) {
                Ok(s)
            } else {
                Err(format!("{s} is not an NB201 sample (6 choices in 0..5)"))
            }
        }
    }
}

/// Parses `[a, b, …]` without pulling serde_json into this crate.
fn serde_json_like(text: &str) -> Result<Sample, String> {
    let t = text.trim();
    let inner = t.strip_prefix('[').and_then(|t| t.strip_suffix(']')).ok_or_else(|| {
        format!("expected an NB201 string like |nor_conv_3x3~0|+|…| or a choice array [..], got `{t}`")
    })?;
    inner
        .split(',')
        .map(|x| {
            x.trim()
                .parse::<u16>()
                .map_err(|_| format!("bad choice `{x}` in `{t}`"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Sample::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_drops_edges_no_input_to_output_path_uses() {
        let eff = |c: [u16; 6]| Nb201::effective(&Sample::new(&c)).as_slice().to_vec();
        assert_eq!(
            eff([3, 0, 0, 0, 1, 0]),
            [3, 0, 0, 0, 1, 0],
            "conv then skip to the output is one path"
        );
        assert_eq!(
            eff([2, 4, 4, 1, 2, 0]),
            [2, 0, 0, 1, 2, 0],
            "node 2 feeds nothing"
        );
        assert_eq!(eff([3, 0, 0, 0, 0, 0]), [0; 6], "node 1 feeds nothing");
        assert_eq!(
            eff([0, 0, 4, 3, 0, 0]),
            [0, 0, 0, 3, 0, 0],
            "node 1 receives nothing"
        );
        assert_eq!(
            eff([3, 3, 3, 1, 3, 3]),
            [3, 3, 3, 1, 3, 3],
            "a dense cell keeps every edge"
        );
        let space = Nb201::new(16, 1, [3, 32, 32], 10);
        let e = space.encode(&Sample::new(&[0, 0, 0, 3, 0, 0]));
        for x in 1..5 {
            assert_eq!(
                space.encode(&Sample::new(&[x, 0, 0, 3, 0, 0])),
                e,
                "an unused edge's op is not a feature"
            );
        }
    }

    #[test]
    fn path_encoding_counts_live_routes_by_op_sequence() {
        let space = Nb201::default();
        let paths = |c: [u16; 6]| space.path_encoding(&Sample::new(&c)).unwrap();
        assert_eq!(
            paths([0; 6]),
            vec![0.0; 84],
            "an all-none cell has no live route"
        );
        // only the direct edge 3←0 = conv3x3 (op 3 → digit 2): feature 2 of the length-1 block
        let one = paths([0, 0, 0, 3, 0, 0]);
        assert_eq!((one[2], one.iter().sum::<f32>()), (1.0, 1.0));
        // every edge conv1x1 (digit 1): one route of each length, 1 + 2 + 1 = 4 routes
        let dense = paths([2; 6]);
        assert_eq!(
            (
                dense[1],
                dense[4 + 5],
                dense[20 + 21],
                dense.iter().sum::<f32>()
            ),
            (1.0, 2.0, 1.0, 4.0)
        );
        // the order along a route matters: skip then conv ≠ conv then skip
        assert_ne!(paths([1, 0, 0, 0, 3, 0]), paths([3, 0, 0, 0, 1, 0]));
        // a none on 3←1 cuts the route 1←0 3←1 even though 1←0 is a conv
        assert_eq!(paths([3, 0, 0, 0, 0, 0]), vec![0.0; 84]);
    }

    const BEST: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";

    #[test]
    fn string_and_naslib_round_trip() {
        let s = Nb201::parse_str(BEST).unwrap();
        assert_eq!(Nb201::to_str(&s), BEST);
        let t = Nb201::to_naslib(&s);
        // string |t0~0|+|t1~0|t3~1|+|t2~0|t4~1|t5~2| with 2=nor_conv_3x3, 0=skip_connect
        assert_eq!(t, [2, 2, 0, 2, 2, 2]);
        assert_eq!(Nb201::from_naslib(t).unwrap(), s);
    }

    #[test]
    fn bad_strings_say_what_is_wrong() {
        assert!(Nb201::parse_str("|conv~0|+|a~0|b~1|+|c~0|d~1|e~2|")
            .unwrap_err()
            .contains("unknown op `conv`"));
        assert!(Nb201::parse_str("|none~0|+|none~0|")
            .unwrap_err()
            .contains("expected 3 nodes"));
        assert!(
            Nb201::parse_str("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|")
                .unwrap_err()
                .contains("must read node 0")
        );
    }

    #[test]
    fn unique_str_matches_nats_examples() {
        let s = Nb201::parse_str(
            "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|",
        )
        .unwrap();
        assert_eq!(
            Nb201::unique_str(&s),
            "#+#+(#+(0)@nor_conv_3x3)@avg_pool_3x3"
        );
        let s = Nb201::parse_str("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|")
            .unwrap();
        assert_eq!(Nb201::unique_str(&s), "#+#+#+#");
    }

    #[test]
    fn lowering_builds_the_benchmark_skeleton() {
        let sp = Nb201::default();
        let net = sp.lower(&Nb201::parse_str(BEST).unwrap()).unwrap();
        let shapes = net.shapes().unwrap();
        assert_eq!(shapes.last().unwrap().as_slice(), &[10]);
        // 15 cells, each with 5 convs in the best cell.
        let convs = net
            .nodes
            .iter()
            .filter(|n| matches!(n.op, Op::Conv { .. }))
            .count();
        assert_eq!(convs, 1 + 15 * 5 + 2 * 3);
        assert_eq!(
            net.nodes
                .iter()
                .filter(|n| matches!(n.op, Op::Output { .. }))
                .count(),
            1
        );
        // NASLib (zc_nasbench201.json) reports 0.615386 M params and 88.307392 M FLOPs for (0, 2, 3, 2, 3, 1).
        let s = Nb201::from_naslib([0, 2, 3, 2, 3, 1]).unwrap();
        let (p, f) = sp.lower(&s).unwrap().costs().unwrap();
        let (p, f) = (p as f64 / 1e6, f as f64 / 1e6);
        assert!((p - 0.615386).abs() / 0.615386 < 0.01, "params {p} M");
        assert!((f - 88.307392).abs() / 88.307392 < 0.0001, "flops {f} M");
    }
}
