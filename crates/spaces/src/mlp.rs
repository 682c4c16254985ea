//! Multi-layer perceptrons for flat features, in two shapes.
//!
//! **Plain** (`hourglass = false`, the default): `depth` hidden layers, each `Linear(width_i) → act`, then a
//! linear classifier. Dimensions `depth`, `l1_width … lL_width` (L = the largest depth), `act`; widths of layers
//! beyond `depth` are inactive (ignored by the key, the encoding, mutation and neighbours; see [`crate::gated`]).
//!
//! **Hourglass** (`hourglass = true`), after "Rethinking the shape convention of an MLP" (wide–narrow–wide blocks):
//! a fixed random (never trained) projection [`Op::RandomProjection`] lifts the input to the wide width `wide`;
//! then `blocks` residual blocks `x + Linear(wide)(act(Linear(narrow_i)(LayerNorm(x))))` whose skip connections
//! live at the wide width while the computation goes through a narrow bottleneck; LayerNorm and a linear
//! classifier close. Dimensions `blocks`, `wide`, `b1_narrow … bB_narrow`, `act`.
//!
//! Options: `features` (784), `classes` (10), `hourglass` (false), `seed` (0, the projection's); plain: `depths`
//! (`1,2,3,4`), `widths` (`64,128,256,512`); hourglass: `depths` (`1,2,3,4` blocks), `wides` (`256,512,1024`),
//! `narrows` (`16,32,64,128`); both: `acts` (`relu,gelu,silu,tanh`), `dropout` (0: none; else after each
//! activation).

use crate::gated::{self, opt_list, Gated};
use tessera_core::{Dim, Network, NetworkError, Op, Rng, Sample, Space};

/// The MLP space (plain or hourglass).
#[derive(Clone, Debug)]
pub struct Mlp {
    dims: Vec<Dim>,
    pub features: usize,
    pub classes: usize,
    pub hourglass: bool,
    /// Depth choices (hidden layers, or hourglass blocks).
    pub depths: Vec<usize>,
    /// Plain: hidden widths. Hourglass: narrow widths.
    pub widths: Vec<usize>,
    /// Hourglass: wide widths (empty for plain).
    pub wides: Vec<usize>,
    pub acts: Vec<String>,
    pub dropout: f32,
    /// Seed of the hourglass input projection.
    pub seed: u64,
}

impl Default for Mlp {
    /// A plain MLP space for MNIST (784 features, 10 classes).
    fn default() -> Self {
        Self::from_options(&crate::Options::new()).expect("defaults are valid")
    }
}

const KNOWN: &[&str] = &[
    "features",
    "classes",
    "hourglass",
    "seed",
    "depths",
    "widths",
    "wides",
    "narrows",
    "acts",
    "dropout",
];

impl Mlp {
    /// Builds the space from study-file options (see the module docs); errors name the option.
    pub fn from_options(o: &crate::Options) -> Result<Self, String> {
        crate::check_options(o, KNOWN, "mlp")?;
        let hourglass = gated::opt_bool(o, "hourglass", false)?;
        let features = crate::opt_usize(o, "features", 784)?;
        let classes = crate::opt_usize(o, "classes", 10)?;
        gated::positive("features", &[features])?;
        gated::positive("classes", &[classes])?;
        let depths: Vec<usize> = opt_list(o, "depths", &[1, 2, 3, 4])?;
        gated::depths("depths", &depths)?;
        let (widths, wides) = if hourglass {
            if o.contains_key("widths") {
                return Err(
                    "option `widths` is for plain MLPs; an hourglass MLP has `wides` and `narrows`"
                        .into(),
                );
            }
            let n: Vec<usize> = opt_list(o, "narrows", &[16, 32, 64, 128])?;
            let w: Vec<usize> = opt_list(o, "wides", &[256, 512, 1024])?;
            gated::positive("narrows", &n)?;
            gated::positive("wides", &w)?;
            (n, w)
        } else {
            if let Some(k) = ["wides", "narrows"].iter().find(|k| o.contains_key(**k)) {
                return Err(format!("option `{k}` needs `hourglass = true`"));
            }
            let w: Vec<usize> = opt_list(o, "widths", &[64, 128, 256, 512])?;
            gated::positive("widths", &w)?;
            (w, Vec::new())
        };
        let acts = gated::opt_acts(o, "acts", &["relu", "gelu", "silu", "tanh"])?;
        let dropout: f32 = match o.get("dropout") {
            None => 0.0,
            Some(v) => v
                .trim()
                .parse()
                .ok()
                .filter(|p: &f32| (0.0..1.0).contains(p))
                .ok_or_else(|| {
                    format!("option `dropout` must be a probability in [0, 1), got `{v}`")
                })?,
        };
        let seed = crate::opt_usize(o, "seed", 0)? as u64;
        let max_depth = *depths.iter().max().expect("non-empty");
        let mut dims = Vec::new();
        if hourglass {
            dims.push(Dim {
                name: "blocks".into(),
                choices: gated::choices(&depths),
            });
            dims.push(Dim {
                name: "wide".into(),
                choices: gated::choices(&wides),
            });
            for i in 1..=max_depth {
                dims.push(Dim {
                    name: format!("b{i}_narrow"),
                    choices: gated::choices(&widths),
                });
            }
        } else {
            dims.push(Dim {
                name: "depth".into(),
                choices: gated::choices(&depths),
            });
            for i in 1..=max_depth {
                dims.push(Dim {
                    name: format!("l{i}_width"),
                    choices: gated::choices(&widths),
                });
            }
        }
        dims.push(Dim {
            name: "act".into(),
            choices: acts.clone(),
        });
        Ok(Mlp {
            dims,
            features,
            classes,
            hourglass,
            depths,
            widths,
            wides,
            acts,
            dropout,
            seed,
        })
    }

    /// First per-layer (or per-block) dimension.
    fn first_layer_dim(&self) -> usize {
        if self.hourglass {
            2
        } else {
            1
        }
    }
}

impl Gated for Mlp {
    fn gated_dims(&self) -> &[Dim] {
        &self.dims
    }
    fn active(&self, s: &Sample) -> Vec<bool> {
        let depth = self.depths[s[0] as usize];
        let first = self.first_layer_dim();
        let last = self.dims.len() - 1; // act
        (0..self.dims.len())
            .map(|d| d < first || d == last || d - first < depth)
            .collect()
    }
}

impl Space for Mlp {
    fn name(&self) -> &str {
        "mlp"
    }
    fn dims(&self) -> &[Dim] {
        &self.dims
    }
    fn lower(&self, s: &Sample) -> Result<Network, NetworkError> {
        let depth = self.depths[s[0] as usize];
        let act_name = &self.acts[s[self.dims.len() - 1] as usize];
        let act = Op::act(gated::activation(act_name).expect("checked in from_options"));
        let first = self.first_layer_dim();
        let mut net = Network::new();
        let mut x = net.add(
            Op::Input {
                shape: vec![self.features],
            },
            &[],
        );
        let drop = |net: &mut Network, x: usize| {
            if self.dropout > 0.0 {
                net.add(Op::Dropout { p: self.dropout }, &[x])
            } else {
                x
            }
        };
        if self.hourglass {
            let wide = self.wides[s[1] as usize];
            x = net.add(
                Op::RandomProjection {
                    out: wide,
                    seed: self.seed,
                },
                &[x],
            );
            for i in 0..depth {
                let narrow = self.widths[s[first + i] as usize];
                let h = net.chain(
                    x,
                    [
                        Op::LayerNorm,
                        Op::Linear {
                            out: narrow,
                            bias: true,
                        },
                        act.clone(),
                    ],
                );
                let h = drop(&mut net, h);
                let h = net.add(
                    Op::Linear {
                        out: wide,
                        bias: true,
                    },
                    &[h],
                );
                x = net.add(Op::Add, &[x, h]);
            }
            x = net.add(Op::LayerNorm, &[x]);
        } else {
            for i in 0..depth {
                let w = self.widths[s[first + i] as usize];
                x = net.chain(x, [Op::Linear { out: w, bias: true }, act.clone()]);
                x = drop(&mut net, x);
            }
        }
        net.add(
            Op::Output {
                classes: self.classes,
            },
            &[x],
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
        gated::parse(self, "mlp", text)
    }
}
