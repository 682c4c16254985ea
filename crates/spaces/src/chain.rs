//! A MobileNet-like chain of inverted-residual (MBConv) blocks, the space of ProxylessNAS and once-for-all, sized
//! for small images.
//!
//! The network is a 3×3 conv stem, `S` stages and a classifier. Stage `i` has `depth_i` blocks (the first one
//! strided by the stage's stride, the others stride 1); every block picks its own depthwise kernel and expansion
//! ratio (OFA's elastic depth, kernel and width): 1×1 expand to `e·C_in` → BN → act → depthwise `k×k` → BN → act →
//! 1×1 project → BN, plus the input when stride 1 and channels match. A global width multiplier scales every
//! stage's channels (rounded to a multiple of 4). Global average pooling and a linear layer classify.
//!
//! Dimensions: `width`, then per stage `sI_depth` and per block slot `sIbJ_kernel`, `sIbJ_expand` (I, J from 1).
//! Block slots beyond a stage's depth are **inactive**: the canonical key, the encoding, mutation and neighbours
//! ignore them (see [`crate::gated`]), so samples differing only there are one architecture.
//!
//! Options (study file `[space]`, all optional): `input_channels` (1), `height` (28), `width` (28), `classes` (10);
//! `stages` (3); `channels` per stage (`16,32,64`; default for more stages doubles), `strides` per stage (`1,2,2`),
//! `stem_channels` (16), `stem_stride` (1), `head_channels` (0 = no 1×1 head conv); choices `depths` (`1,2,3`),
//! `kernels` (`3,5,7`), `expansions` (`3,4,6`), `width_mults` (`0.5,0.75,1.0`); `act` (`relu6`).

use crate::gated::{self, opt_list, Gated};
use tessera_core::{Activation, Dim, Network, NetworkError, Op, PoolKind, Rng, Sample, Space};

/// The chain space with its skeleton's sizes.
#[derive(Clone, Debug)]
pub struct Chain {
    dims: Vec<Dim>,
    /// Input `[C, H, W]`.
    pub input: [usize; 3],
    pub classes: usize,
    pub stem_channels: usize,
    pub stem_stride: usize,
    /// Base channels of each stage (before the width multiplier).
    pub channels: Vec<usize>,
    pub strides: Vec<usize>,
    pub head_channels: usize,
    /// Choices of a stage's depth, a block's kernel and expansion, and the width multiplier.
    pub depths: Vec<usize>,
    pub kernels: Vec<usize>,
    pub expansions: Vec<usize>,
    pub width_mults: Vec<f64>,
    pub act: Activation,
}

impl Default for Chain {
    /// MNIST sizes (1×28×28, 10 classes), 3 stages of 16/32/64 channels.
    fn default() -> Self {
        Self::from_options(&crate::Options::new()).expect("defaults are valid")
    }
}

const KNOWN: &[&str] = &[
    "input_channels",
    "height",
    "width",
    "classes",
    "stages",
    "channels",
    "strides",
    "stem_channels",
    "stem_stride",
    "head_channels",
    "depths",
    "kernels",
    "expansions",
    "width_mults",
    "act",
];

impl Chain {
    /// Builds the space from study-file options (see the module docs); errors name the option.
    pub fn from_options(o: &crate::Options) -> Result<Self, String> {
        crate::check_options(o, KNOWN, "chain")?;
        let stages = crate::opt_usize(o, "stages", 3)?;
        if stages == 0 || stages > 32 {
            // (A huge count was a huge allocation: an out-of-memory abort found by fuzzing.)
            return Err(format!("option `stages` must be in 1..=32, got {stages}"));
        }
        let def_channels: Vec<usize> = (0..stages).map(|i| 16usize << i.min(6)).collect();
        let def_strides: Vec<usize> = (0..stages).map(|i| if i == 0 { 1 } else { 2 }).collect();
        let channels: Vec<usize> = opt_list(o, "channels", &def_channels)?;
        let strides: Vec<usize> = opt_list(o, "strides", &def_strides)?;
        for (name, v) in [("channels", &channels), ("strides", &strides)] {
            if v.len() != stages {
                return Err(format!(
                    "option `{name}` needs one value per stage ({stages}), got {}",
                    v.len()
                ));
            }
            gated::positive(name, v)?;
        }
        let depths: Vec<usize> = opt_list(o, "depths", &[1, 2, 3])?;
        let kernels: Vec<usize> = opt_list(o, "kernels", &[3, 5, 7])?;
        let expansions: Vec<usize> = opt_list(o, "expansions", &[3, 4, 6])?;
        let width_mults: Vec<f64> = opt_list(o, "width_mults", &[0.5, 0.75, 1.0])?;
        gated::depths("depths", &depths)?;
        gated::positive("kernels", &kernels)?;
        gated::positive("expansions", &expansions)?;
        if let Some(k) = kernels.iter().find(|k| *k % 2 == 0) {
            return Err(format!(
                "option `kernels` must be odd (same padding), got {k}"
            ));
        }
        if width_mults.iter().any(|w| !(*w > 0.0 && w.is_finite())) {
            return Err(format!(
                "option `width_mults` must be positive, got {width_mults:?}"
            ));
        }
        let act_name = o.get("act").map(String::as_str).unwrap_or("relu6");
        let act = gated::activation(act_name.trim())
            .ok_or_else(|| format!("option `act`: unknown activation `{act_name}`"))?;
        let input = [
            crate::opt_usize(o, "input_channels", 1)?,
            crate::opt_usize(o, "height", 28)?,
            crate::opt_usize(o, "width", 28)?,
        ];
        gated::positive("input_channels/height/width", &input)?;
        let classes = crate::opt_usize(o, "classes", 10)?;
        gated::positive("classes", &[classes])?;
        let stem_channels = crate::opt_usize(o, "stem_channels", 16)?;
        gated::positive("stem_channels", &[stem_channels])?;
        let stem_stride = crate::opt_usize(o, "stem_stride", 1)?;
        gated::positive("stem_stride", &[stem_stride])?;
        let head_channels = crate::opt_usize(o, "head_channels", 0)?;

        let max_depth = *depths.iter().max().expect("non-empty");
        let mut dims = vec![Dim {
            name: "width".into(),
            choices: gated::choices(&width_mults),
        }];
        for i in 1..=stages {
            dims.push(Dim {
                name: format!("s{i}_depth"),
                choices: gated::choices(&depths),
            });
            for j in 1..=max_depth {
                dims.push(Dim {
                    name: format!("s{i}b{j}_kernel"),
                    choices: gated::choices(&kernels),
                });
                dims.push(Dim {
                    name: format!("s{i}b{j}_expand"),
                    choices: gated::choices(&expansions),
                });
            }
        }
        Ok(Chain {
            dims,
            input,
            classes,
            stem_channels,
            stem_stride,
            channels,
            strides,
            head_channels,
            depths,
            kernels,
            expansions,
            width_mults,
            act,
        })
    }

    fn max_depth(&self) -> usize {
        *self.depths.iter().max().expect("non-empty")
    }
    fn stage_base(&self, stage: usize) -> usize {
        1 + stage * (1 + 2 * self.max_depth())
    }

    /// Per stage, the (kernel, expansion) of each active block.
    pub fn blocks(&self, s: &Sample) -> Vec<Vec<(usize, usize)>> {
        (0..self.channels.len())
            .map(|i| {
                let b = self.stage_base(i);
                let depth = self.depths[s[b] as usize];
                (0..depth)
                    .map(|j| {
                        (
                            self.kernels[s[b + 1 + 2 * j] as usize],
                            self.expansions[s[b + 2 + 2 * j] as usize],
                        )
                    })
                    .collect()
            })
            .collect()
    }

    /// Channels of a stage after the width multiplier: rounded to a multiple of 4, at least 4.
    pub fn scaled(c: usize, mult: f64) -> usize {
        (((c as f64 * mult) / 4.0).round() as usize * 4).max(4)
    }

    /// One inverted-residual block; `ke` is its (kernel, expansion).
    fn mbconv(
        &self,
        net: &mut Network,
        x: usize,
        (cin, cout): (usize, usize),
        stride: usize,
        ke: (usize, usize),
    ) -> usize {
        let (k, e) = ke;
        let hidden = cin * e;
        let mut h = x;
        if e != 1 {
            h = net.chain(
                h,
                [Op::conv(hidden, 1, 1), Op::BatchNorm, Op::act(self.act)],
            );
        }
        h = net.chain(
            h,
            [
                Op::DepthwiseConv {
                    kernel: k,
                    stride,
                    padding: k / 2,
                    dilation: 1,
                },
                Op::BatchNorm,
                Op::act(self.act),
                Op::conv(cout, 1, 1),
                Op::BatchNorm,
            ],
        );
        if stride == 1 && cin == cout {
            net.add(Op::Add, &[x, h])
        } else {
            h
        }
    }
}

impl Gated for Chain {
    fn gated_dims(&self) -> &[Dim] {
        &self.dims
    }
    fn active(&self, s: &Sample) -> Vec<bool> {
        let mut a = vec![true; self.dims.len()];
        let md = self.max_depth();
        for i in 0..self.channels.len() {
            let b = self.stage_base(i);
            let depth = self.depths[s[b] as usize];
            for j in depth..md {
                a[b + 1 + 2 * j] = false;
                a[b + 2 + 2 * j] = false;
            }
        }
        a
    }
}

impl Space for Chain {
    fn name(&self) -> &str {
        "chain"
    }
    fn dims(&self) -> &[Dim] {
        &self.dims
    }
    fn lower(&self, s: &Sample) -> Result<Network, NetworkError> {
        let mult = self.width_mults[s[0] as usize];
        let mut net = Network::new();
        let x = net.add(
            Op::Input {
                shape: self.input.to_vec(),
            },
            &[],
        );
        let mut cin = Self::scaled(self.stem_channels, mult);
        let mut h = net.chain(
            x,
            [
                Op::conv(cin, 3, self.stem_stride),
                Op::BatchNorm,
                Op::act(self.act),
            ],
        );
        for (i, blocks) in self.blocks(s).into_iter().enumerate() {
            let cout = Self::scaled(self.channels[i], mult);
            for (j, (k, e)) in blocks.into_iter().enumerate() {
                let stride = if j == 0 { self.strides[i] } else { 1 };
                h = self.mbconv(&mut net, h, (cin, cout), stride, (k, e));
                cin = cout;
            }
        }
        if self.head_channels > 0 {
            let c = Self::scaled(self.head_channels, mult);
            h = net.chain(h, [Op::conv(c, 1, 1), Op::BatchNorm, Op::act(self.act)]);
        }
        let h = net.add(
            Op::GlobalPool {
                kind: PoolKind::Avg,
            },
            &[h],
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
    fn mutate(&self, s: &Sample, rng: &mut Rng) -> Sample {
        gated::mutate(self, s, rng)
    }
    fn neighbours(&self, s: &Sample) -> Vec<Sample> {
        gated::neighbours(self, s)
    }
    fn encode(&self, s: &Sample) -> Vec<f32> {
        gated::encode(self, s)
    }
    fn key(&self, s: &Sample) -> String {
        gated::key(self, s)
    }
    fn parse(&self, text: &str) -> Result<Sample, String> {
        gated::parse(self, "chain", text)
    }
}
