//! The NB201 supernet (SPOS-style): the benchmark's skeleton with every cell edge holding the weights of both
//! parametric ops (ReLU → 1×1 conv → BN and ReLU → 3×3 conv → BN); `none`, `skip_connect` and `avg_pool_3x3` have no
//! weights. A sample activates one op per edge, the same in every cell (as the space's lowering does).
//!
//! The forward pass mirrors `Nb201::lower` node by node (stem, three stages of `N` cells, residual reduction
//! blocks, BN → ReLU → global pool → linear), so a subnet is the stand-alone network with inherited weights.

use super::{avg_pool, global_pool, ConvBn, Init, Pass};
use burn::module::{Module, Param};
use burn::tensor::{activation::relu, Tensor};
use std::sync::Arc;
use tessera_core::Sample;
use tessera_spaces::nb201::Nb201;

/// One cell edge: the weights of its 1×1 and 3×3 convolutions.
#[derive(Module, Debug)]
pub struct Edge {
    pub conv1: ConvBn,
    pub conv3: ConvBn,
}

/// A residual reduction block: ReLU → 3×3 conv stride 2 → BN → ReLU → 3×3 conv → BN, plus 2×2 avg pool → 1×1 conv.
#[derive(Module, Debug)]
pub struct Reduction {
    pub a: ConvBn,
    pub b: ConvBn,
    /// `[c, c/2, 1, 1]`: the shortcut's 1×1 convolution (no batch norm).
    pub shortcut: Param<Tensor<4>>,
}

#[derive(Module, Debug)]
pub struct Nb201Supernet {
    pub stem: ConvBn,
    /// `3 · N · 6` edges: stage by stage, cell by cell, edge by edge in string order.
    pub edges: Vec<Edge>,
    pub reductions: Vec<Reduction>,
    pub last_gamma: Param<Tensor<1>>,
    pub last_beta: Param<Tensor<1>>,
    /// `[4C, classes]`.
    pub out_w: Param<Tensor<2>>,
    pub out_b: Param<Tensor<1>>,
    #[module(skip)]
    pub space: Arc<Nb201>,
}

impl Nb201Supernet {
    pub(crate) fn new(space: Arc<Nb201>, init: &mut Init<'_>) -> Self {
        let c = space.channels;
        let stem = ConvBn::new(init, c, space.input[0], 3);
        let mut edges = Vec::new();
        let mut reductions = Vec::new();
        for stage in 0..3 {
            let ch = c << stage;
            if stage > 0 {
                reductions.push(Reduction {
                    a: ConvBn::new(init, ch, ch / 2, 3),
                    b: ConvBn::new(init, ch, ch, 3),
                    shortcut: init.uniform([ch, ch / 2, 1, 1], ch / 2),
                });
            }
            for _ in 0..space.cells * 6 {
                edges.push(Edge {
                    conv1: ConvBn::new(init, ch, ch, 1),
                    conv3: ConvBn::new(init, ch, ch, 3),
                });
            }
        }
        let top = c << 2;
        Nb201Supernet {
            stem,
            edges,
            reductions,
            last_gamma: init.constant([top], 1.0),
            last_beta: init.constant([top], 0.0),
            out_w: init.uniform([top, space.classes], top),
            out_b: init.uniform([space.classes], top),
            space,
        }
    }

    pub(crate) fn forward(&self, x: Tensor<4>, s: &Sample, p: &mut Pass<'_>) -> Tensor<2> {
        let c = self.space.channels;
        let mut h = self.stem.forward(x, c, 1, p);
        for stage in 0..3 {
            let ch = c << stage;
            if stage > 0 {
                let r = &self.reductions[stage - 1];
                let a = r.a.forward(relu(h.clone()), ch, 2, p);
                let a = r.b.forward(relu(a), ch, 1, p);
                let b = p.conv(avg_pool(h, 2, 2, 0), r.shortcut.val(), 1, false);
                h = a + b;
            }
            for cell in 0..self.space.cells {
                let first = (stage * self.space.cells + cell) * 6;
                h = self.cell(h, s, &self.edges[first..first + 6], ch, p);
            }
        }
        let c4 = c << 2;
        let h = relu(p.bn(h, self.last_gamma.val(), self.last_beta.val()));
        p.linear(
            global_pool(h),
            self.out_w.val().slice([0..c4, 0..self.space.classes]),
            self.out_b.val(),
        )
    }

    /// One cell: node `j` sums the ops of its edges from every earlier node; a node without a term is zeros.
    fn cell(
        &self,
        x: Tensor<4>,
        s: &Sample,
        edges: &[Edge],
        ch: usize,
        p: &mut Pass<'_>,
    ) -> Tensor<4> {
        let mut nodes = vec![x];
        let mut e = 0;
        for j in 1..4 {
            let mut sum: Option<Tensor<4>> = None;
            // node j reads every earlier node, in order (`nodes` holds exactly nodes 0..j here)
            for inp in nodes.iter().take(j) {
                let inp = inp.clone();
                let term = match s[e] {
                    0 => None,
                    1 => Some(inp),
                    2 => Some(edges[e].conv1.forward(relu(inp), ch, 1, p)),
                    3 => Some(edges[e].conv3.forward(relu(inp), ch, 1, p)),
                    _ => Some(avg_pool(inp, 3, 1, 1)),
                };
                e += 1;
                if let Some(t) = term {
                    sum = Some(match sum {
                        Some(acc) => acc + t,
                        None => t,
                    });
                }
            }
            let node = sum.unwrap_or_else(|| nodes[0].zeros_like());
            nodes.push(node);
        }
        nodes.swap_remove(3)
    }
}
