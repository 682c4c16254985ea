//! The chain supernet (Once-for-All style): the chain space's largest network, from which every sample's network
//! is cut out.
//!
//! * **Elastic width** (width multiplier): every layer's channels are the first `Chain::scaled(c, mult)` of the
//!   largest layer's.
//! * **Elastic expansion**: a block's hidden channels are the first `e · C_in` of the largest block's (OFA sorts
//!   channels by importance first; not done here, so the first channels are simply the ones every subnet trains).
//! * **Elastic kernel**: each block's depthwise kernel has the largest size `K`; a smaller kernel is the centre
//!   crop of the next larger one, passed through OFA's learned kernel transform matrix (`k²×k²`, one per block and
//!   size step, shared by all channels, initialised to the identity) unless `kernel_transform` is off.
//! * **Elastic depth**: a stage of depth `d` runs its first `d` blocks.
//!
//! The forward pass mirrors `Chain::lower` layer by layer (stem, MBConv blocks with their residuals, optional head
//! conv, global pool, classifier), so a subnet is the stand-alone network with inherited weights.

use super::{global_pool, ConvBn, Init, Pass};
use crate::model::activate;
use burn::module::{Module, Param};
use burn::tensor::Tensor;
use std::sync::Arc;
use tessera_core::{Sample, Space};
use tessera_spaces::chain::Chain;

/// One MBConv block slot at its largest.
#[derive(Module, Debug)]
pub struct Block {
    /// 1×1 expansion `[e_max · C_in, C_in]` (absent when every expansion choice is 1).
    pub expand: Option<ConvBn>,
    /// Depthwise `[hidden_max, 1, K, K]` with its batch norm.
    pub depthwise: ConvBn,
    /// Kernel transform matrices, one per step down the sorted kernel sizes (`K→k₁`, `k₁→k₂`…), `[k², k²]`.
    pub transforms: Vec<Param<Tensor<2>>>,
    /// 1×1 projection `[C_out, hidden_max]`.
    pub project: ConvBn,
}

#[derive(Module, Debug)]
pub struct ChainSupernet {
    pub stem: ConvBn,
    /// `stages · max_depth` block slots, stage by stage.
    pub blocks: Vec<Block>,
    pub head: Option<ConvBn>,
    pub out_w: Param<Tensor<2>>,
    pub out_b: Param<Tensor<1>>,
    #[module(skip)]
    pub space: Arc<Chain>,
    #[module(skip)]
    pub kernel_transform: bool,
}

/// The largest (`largest = true`) or smallest sample: every choice at its extreme value.
pub(crate) fn extreme(space: &Chain, largest: bool) -> Sample {
    fn pick<T: PartialOrd>(v: &[T], largest: bool) -> u16 {
        let mut best = 0;
        for (i, x) in v.iter().enumerate() {
            if (largest && *x > v[best]) || (!largest && *x < v[best]) {
                best = i;
            }
        }
        best as u16
    }
    let names: Vec<String> = space.dims().iter().map(|d| d.name.clone()).collect();
    let choices: Vec<u16> = names
        .iter()
        .map(|n| {
            if n == "width" {
                pick(&space.width_mults, largest)
            } else if n.ends_with("_depth") {
                pick(&space.depths, largest)
            } else if n.ends_with("_kernel") {
                pick(&space.kernels, largest)
            } else {
                pick(&space.expansions, largest)
            }
        })
        .collect();
    Sample::new(&choices)
}

fn max_of<T: PartialOrd + Copy>(v: &[T]) -> T {
    v.iter()
        .copied()
        .fold(v[0], |a, b| if b > a { b } else { a })
}

impl ChainSupernet {
    pub(crate) fn new(space: Arc<Chain>, kernel_transform: bool, init: &mut Init<'_>) -> Self {
        let m = max_of(&space.width_mults);
        let e_max = max_of(&space.expansions);
        let k_max = max_of(&space.kernels);
        let d_max = max_of(&space.depths);
        let mut kernels = space.kernels.clone();
        kernels.sort_unstable_by(|a, b| b.cmp(a));
        kernels.dedup();
        let stem_c = Chain::scaled(space.stem_channels, m);
        let stem = ConvBn::new(init, stem_c, space.input[0], 3);
        let mut blocks = Vec::new();
        let mut cin = stem_c;
        for &c in &space.channels {
            let cout = Chain::scaled(c, m);
            for j in 0..d_max {
                let bin = if j == 0 { cin } else { cout };
                let hidden = bin * e_max;
                let expand = space
                    .expansions
                    .iter()
                    .any(|&e| e != 1)
                    .then(|| ConvBn::new(init, hidden, bin, 1));
                let mut depthwise = ConvBn::new(init, hidden, 1, k_max);
                // fan-in of a depthwise filter is its own k²
                depthwise.weight = init.uniform([hidden, 1, k_max, k_max], k_max * k_max);
                let transforms = if kernel_transform {
                    kernels[1..].iter().map(|&k| init.identity(k * k)).collect()
                } else {
                    Vec::new()
                };
                let project = ConvBn::new(init, cout, hidden, 1);
                blocks.push(Block {
                    expand,
                    depthwise,
                    transforms,
                    project,
                });
            }
            cin = cout;
        }
        let (head, last) = if space.head_channels > 0 {
            let h = Chain::scaled(space.head_channels, m);
            (Some(ConvBn::new(init, h, cin, 1)), h)
        } else {
            (None, cin)
        };
        ChainSupernet {
            stem,
            blocks,
            head,
            out_w: init.uniform([last, space.classes], last),
            out_b: init.uniform([space.classes], last),
            space,
            kernel_transform,
        }
    }

    /// The depthwise kernel of size `k` for the first `hidden` channels: centre crops down the sorted kernel sizes,
    /// each through its transform matrix.
    fn kernel(&self, block: &Block, hidden: usize, k: usize) -> Tensor<4> {
        let [_, _, kmax, _] = block.depthwise.weight.dims();
        let mut w = block
            .depthwise
            .weight
            .val()
            .slice([0..hidden, 0..1, 0..kmax, 0..kmax]);
        let mut sizes = self.space.kernels.clone();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        sizes.dedup();
        let mut cur = kmax;
        for (step, &next) in sizes[1..].iter().enumerate() {
            if cur <= k {
                break;
            }
            let off = (cur - next) / 2;
            w = w.slice([0..hidden, 0..1, off..off + next, off..off + next]);
            if let Some(t) = block.transforms.get(step) {
                w = w
                    .reshape([hidden, next * next])
                    .matmul(t.val())
                    .reshape([hidden, 1, next, next]);
            }
            cur = next;
        }
        w
    }

    pub(crate) fn forward(&self, x: Tensor<4>, s: &Sample, p: &mut Pass<'_>) -> Tensor<2> {
        let sp = &*self.space;
        let act = sp.act;
        let mult = sp.width_mults[s[0] as usize];
        let d_max = max_of(&sp.depths);
        let mut cin = Chain::scaled(sp.stem_channels, mult);
        let mut h = activate(self.stem.forward(x, cin, sp.stem_stride, p), act);
        for (i, stage) in sp.blocks(s).into_iter().enumerate() {
            let cout = Chain::scaled(sp.channels[i], mult);
            for (j, (k, e)) in stage.into_iter().enumerate() {
                let b = &self.blocks[i * d_max + j];
                let stride = if j == 0 { sp.strides[i] } else { 1 };
                let hidden = cin * e;
                let mut y = h.clone();
                if e != 1 {
                    let ex = b
                        .expand
                        .as_ref()
                        .expect("an expansion layer whenever some expansion is not 1");
                    y = activate(ex.forward(y, hidden, 1, p), act);
                }
                let dw = self.kernel(b, hidden, k);
                let y = p.conv(y, dw, stride, true);
                let y = activate(
                    p.bn(
                        y,
                        b.depthwise.gamma.val().narrow(0, 0, hidden),
                        b.depthwise.beta.val().narrow(0, 0, hidden),
                    ),
                    act,
                );
                let y = b.project.forward(y, cout, 1, p);
                h = if stride == 1 && cin == cout { h + y } else { y };
                cin = cout;
            }
        }
        if let Some(head) = &self.head {
            let c = Chain::scaled(sp.head_channels, mult);
            h = activate(head.forward(h, c, 1, p), act);
        }
        let w = self.out_w.val().slice([0..cin_of(&h), 0..sp.classes]);
        p.linear(global_pool(h), w, self.out_b.val())
    }
}

fn cin_of(h: &Tensor<4>) -> usize {
    h.dims()[1]
}
