//! 1-D convolutional networks for sequences such as MNIST-1D (40 points, 1 channel, 10 classes).
//!
//! `layers` conv layers, each `Conv1d(channels_i, kernel_i, same padding) → BN → act` with a per-layer way down:
//! `none`, `stride2` (the conv itself strided), `max2` or `avg2` (a pool of 2 after the activation). A head
//! (`flatten`, `avg` or `max` global pooling) and a linear classifier close. The 1-D ops are the IR's `Conv` and
//! `Pool` on `[C, L]` shapes (the trainer runs them as 2-D ones on a `[C, 1, L]` view).
//!
//! Dimensions: `layers`, per layer slot `lI_channels`, `lI_kernel`, `lI_down` (I from 1), then `act` and `head`.
//! Slots beyond `layers` are inactive (ignored by the key, encoding, mutation and neighbours; see [`crate::gated`]).
//!
//! Options: `input_channels` (1), `length` (40), `classes` (10); choices `depths` (`1,2,3,4`), `channels`
//! (`16,32,64`), `kernels` (`3,5,7`), `downs` (`none,stride2,max2,avg2`), `acts` (`relu,gelu,silu,elu`), `heads`
//! (`flatten,avg,max`).

use crate::gated::{self, opt_list, Gated};
use tessera_core::{Dim, Network, NetworkError, Op, PoolKind, Rng, Sample, Space};

const DOWNS: &[&str] = &["none", "stride2", "max2", "avg2"];
const HEADS: &[&str] = &["flatten", "avg", "max"];

/// The 1-D conv space.
#[derive(Clone, Debug)]
pub struct Conv1d {
    dims: Vec<Dim>,
    /// Input `[C, L]`.
    pub input: [usize; 2],
    pub classes: usize,
    pub depths: Vec<usize>,
    pub channels: Vec<usize>,
    pub kernels: Vec<usize>,
    pub downs: Vec<String>,
    pub acts: Vec<String>,
    pub heads: Vec<String>,
}

impl Default for Conv1d {
    /// MNIST-1D sizes: 1×40 input, 10 classes.
    fn default() -> Self {
        Self::from_options(&crate::Options::new()).expect("defaults are valid")
    }
}

const KNOWN: &[&str] = &[
    "input_channels",
    "length",
    "classes",
    "depths",
    "channels",
    "kernels",
    "downs",
    "acts",
    "heads",
];

fn names(
    o: &crate::Options,
    name: &str,
    default: &[&str],
    known: &[&str],
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
    if let Some(bad) = list.iter().find(|x| !known.contains(&x.as_str())) {
        return Err(format!(
            "option `{name}`: unknown choice `{bad}` (known: {})",
            known.join(", ")
        ));
    }
    Ok(list)
}

impl Conv1d {
    /// Builds the space from study-file options (see the module docs); errors name the option.
    pub fn from_options(o: &crate::Options) -> Result<Self, String> {
        crate::check_options(o, KNOWN, "conv1d")?;
        let input = [
            crate::opt_usize(o, "input_channels", 1)?,
            crate::opt_usize(o, "length", 40)?,
        ];
        gated::positive("input_channels/length", &input)?;
        let classes = crate::opt_usize(o, "classes", 10)?;
        gated::positive("classes", &[classes])?;
        let depths: Vec<usize> = opt_list(o, "depths", &[1, 2, 3, 4])?;
        let channels: Vec<usize> = opt_list(o, "channels", &[16, 32, 64])?;
        let kernels: Vec<usize> = opt_list(o, "kernels", &[3, 5, 7])?;
        gated::depths("depths", &depths)?;
        gated::positive("channels", &channels)?;
        gated::positive("kernels", &kernels)?;
        if let Some(k) = kernels.iter().find(|k| *k % 2 == 0) {
            return Err(format!(
                "option `kernels` must be odd (same padding), got {k}"
            ));
        }
        let downs = names(o, "downs", DOWNS, DOWNS)?;
        let acts = gated::opt_acts(o, "acts", &["relu", "gelu", "silu", "elu"])?;
        let heads = names(o, "heads", HEADS, HEADS)?;
        let max_depth = *depths.iter().max().expect("non-empty");
        // every layer may halve the length (pools of 2 need at least 2 points)
        if downs.iter().any(|d| d != "none") && input[1] >> (max_depth - 1) < 2 {
            return Err(format!(
                "option `length` {} is too short for {max_depth} halvings (option `depths`)",
                input[1]
            ));
        }
        let mut dims = vec![Dim {
            name: "layers".into(),
            choices: gated::choices(&depths),
        }];
        for i in 1..=max_depth {
            dims.push(Dim {
                name: format!("l{i}_channels"),
                choices: gated::choices(&channels),
            });
            dims.push(Dim {
                name: format!("l{i}_kernel"),
                choices: gated::choices(&kernels),
            });
            dims.push(Dim {
                name: format!("l{i}_down"),
                choices: downs.clone(),
            });
        }
        dims.push(Dim {
            name: "act".into(),
            choices: acts.clone(),
        });
        dims.push(Dim {
            name: "head".into(),
            choices: heads.clone(),
        });
        Ok(Conv1d {
            dims,
            input,
            classes,
            depths,
            channels,
            kernels,
            downs,
            acts,
            heads,
        })
    }
}

impl Gated for Conv1d {
    fn gated_dims(&self) -> &[Dim] {
        &self.dims
    }
    fn active(&self, s: &Sample) -> Vec<bool> {
        let depth = self.depths[s[0] as usize];
        let n = self.dims.len();
        (0..n)
            .map(|d| d == 0 || d >= n - 2 || (d - 1) / 3 < depth)
            .collect()
    }
}

impl Space for Conv1d {
    fn name(&self) -> &str {
        "conv1d"
    }
    fn dims(&self) -> &[Dim] {
        &self.dims
    }
    fn lower(&self, s: &Sample) -> Result<Network, NetworkError> {
        let n = self.dims.len();
        let depth = self.depths[s[0] as usize];
        let act = Op::act(
            gated::activation(&self.acts[s[n - 2] as usize]).expect("checked in from_options"),
        );
        let mut net = Network::new();
        let mut x = net.add(
            Op::Input {
                shape: self.input.to_vec(),
            },
            &[],
        );
        for i in 0..depth {
            let (c, k) = (
                self.channels[s[1 + 3 * i] as usize],
                self.kernels[s[2 + 3 * i] as usize],
            );
            let down = self.downs[s[3 + 3 * i] as usize].as_str();
            let stride = if down == "stride2" { 2 } else { 1 };
            x = net.chain(
                x,
                [
                    Op::Conv {
                        out: c,
                        kernel: k,
                        stride,
                        padding: k / 2,
                        dilation: 1,
                        groups: 1,
                        bias: false,
                    },
                    Op::BatchNorm,
                    act.clone(),
                ],
            );
            let pool = |kind| Op::Pool {
                kind,
                kernel: 2,
                stride: 2,
                padding: 0,
            };
            match down {
                "max2" => x = net.add(pool(PoolKind::Max), &[x]),
                "avg2" => x = net.add(pool(PoolKind::Avg), &[x]),
                _ => {}
            }
        }
        x = match self.heads[s[n - 1] as usize].as_str() {
            "avg" => net.add(
                Op::GlobalPool {
                    kind: PoolKind::Avg,
                },
                &[x],
            ),
            "max" => net.add(
                Op::GlobalPool {
                    kind: PoolKind::Max,
                },
                &[x],
            ),
            _ => net.add(Op::Flatten, &[x]),
        };
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
        gated::parse(self, "conv1d", text)
    }
}
