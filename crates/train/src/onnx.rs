//! ONNX export of a lowered [`Model`], written from the Network IR itself, so every space exports.
//!
//! [`export_onnx`] walks the model's plan (the IR nodes and their inferred shapes) in topological order and emits
//! standard ONNX operators (opset [`OPSET`], IR version [`IR_VERSION`]) with the model's trained weights as
//! initializers. The file runs in onnxruntime and gives the same outputs as [`Model::forward`] in inference mode
//! (batch norm with its running statistics, dropout as the identity); `crates/train/tests/onnx_roundtrip.rs`
//! checks this for a network of every trainable space.
//!
//! # Inputs and outputs
//!
//! | network | inputs | output |
//! |---|---|---|
//! | images, sequences, tables | `input`: float `[batch, …per-example shape]` (`batch` is a dynamic dimension) | `logits`: `[batch, classes]` |
//! | graph layers ([`Op::Gnn`]) | `x`: float `[nodes, F]`; `edge_index`: int64 `[2, edges]` (row 0 sources, row 1 targets; each undirected edge in both directions, no self loops, as [`crate::Graph`]) | `logits`: `[nodes, classes]` |
//!
//! Graph normalisations (GCN's `1/√(d̂ᵢ d̂ⱼ)`, the symmetric `1/√(dᵢ dⱼ)` of Chebyshev and ARMA, mean aggregation)
//! are computed inside the file from `edge_index`, so one file serves any graph. Message passing is a `Gather` of
//! source rows and a `ScatterND` with `reduction = "add"` (opset ≥ 16) into target rows. GAT's softmax shifts the
//! attention scores by their global maximum here (a per-node maximum, as training uses, needs opset 18's
//! `reduction = "max"`): the outputs agree unless all of a node's scores sit more than ~88 below that maximum.
//!
//! The file's metadata holds the IR (`tessera.network`, JSON) and the per-example input shape
//! (`tessera.input_shape`).
//!
//! # Operator mapping
//!
//! | IR op | ONNX |
//! |---|---|
//! | `Conv` (1-D or 2-D, stride, padding, dilation, groups, bias) | `Conv` |
//! | `DepthwiseConv`, `SepConv` | `Conv` with `group = C` (+ a 1×1 `Conv`) |
//! | `Pool` avg / max | `AveragePool` (`count_include_pad = 0`) / `MaxPool` |
//! | `GlobalPool` | `GlobalAveragePool` / `GlobalMaxPool` + `Flatten` |
//! | `BatchNorm` | `BatchNormalization` (inference form, running statistics) |
//! | `LayerNorm` | `LayerNormalization` (last axis) |
//! | `Act` | `Relu`, `Clip` (ReLU6), `Erf` form of GELU, `Sigmoid`·x (SiLU), `Sigmoid`, `Tanh`, `HardSwish`, `Elu`, `LeakyRelu` |
//! | `Linear`, `Output`, `RandomProjection` | `MatMul` (+ `Add`) |
//! | `Flatten`, `Dropout`, `Identity`, `Zero` | `Flatten`, `Identity`, `Identity`, `ConstantOfShape` |
//! | `Add`, `Concat` | `Add`/`Sum`, `Concat` |
//! | `Attention` | projections, `Reshape`/`Transpose`, `MatMul`, `Softmax` |
//! | `Gnn` (gcn, gat, gat-concat, gin, gin-linear, cheb, sage, arma, k-gnn, fc) | `MatMul`, `Gather`, `ScatterND(add)`, element-wise ops |
//!
//! Every IR op the trainer supports is covered; [`ExportError::Unsupported`] names the node and op otherwise.

use crate::model::{Layer, Linear, Model};
use burn::tensor::Tensor;
use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::tensor_shape_proto::{dimension, Dimension};
use onnx_protobuf::type_proto::{self, Value};
use onnx_protobuf::{
    AttributeProto, GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use protobuf::{EnumOrUnknown, MessageField};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tessera_core::{Activation, GnnKind, Network, Op, PoolKind};
use thiserror::Error;

/// The ONNX operator set the files declare (LayerNormalization needs 17, ScatterND with a reduction 16).
pub const OPSET: i64 = 17;
/// The ONNX IR version the files declare (the one that goes with opset 17).
pub const IR_VERSION: i64 = 8;
/// burn's `LayerNormConfig` default ε, which [`Model`] uses (the layer keeps it private).
const LAYER_NORM_EPS: f32 = 1e-5;

/// Why a model could not be exported.
#[derive(Debug, Error)]
pub enum ExportError {
    /// An IR op (or a form of it) that has no ONNX translation here. Nothing is written.
    #[error("node {node} ({op}) cannot be exported to ONNX: {msg}")]
    Unsupported {
        node: usize,
        op: &'static str,
        msg: String,
    },
    /// The model's layers do not match its plan (a bug, or a model built by hand).
    #[error("node {node} ({op}): {msg}")]
    Model {
        node: usize,
        op: &'static str,
        msg: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("encoding the ONNX file failed: {0}")]
    Encode(String),
}

/// How the file is written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OnnxOptions {
    /// A fixed batch (or node-count) dimension; `None` (the default) writes a dynamic one named `batch` (`nodes`
    /// for graph networks).
    pub batch: Option<usize>,
}

/// Writes `model` (its IR and current weights, inference form) as an ONNX file at `path`, with a dynamic batch
/// dimension. See the module docs for inputs, outputs and the operator mapping.
pub fn export_onnx(model: &Model, path: &Path) -> Result<(), ExportError> {
    export_onnx_with(model, path, &OnnxOptions::default())
}

/// [`export_onnx`] with options.
pub fn export_onnx_with(
    model: &Model,
    path: &Path,
    options: &OnnxOptions,
) -> Result<(), ExportError> {
    let bytes = onnx_bytes(model, options)?;
    std::fs::write(path, bytes).map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The serialized ONNX model.
pub fn onnx_bytes(model: &Model, options: &OnnxOptions) -> Result<Vec<u8>, ExportError> {
    onnx_model(model, options)?
        .write_to_bytes()
        .map_err(|e| ExportError::Encode(e.to_string()))
}

/// The ONNX model as a protobuf message (for callers that want to inspect or extend it).
pub fn onnx_model(model: &Model, options: &OnnxOptions) -> Result<ModelProto, ExportError> {
    let graph = Exporter::new(model, options).run()?;
    let net = Network {
        nodes: model.plan.nodes.clone(),
    };
    let meta = |key: &str, value: String| StringStringEntryProto {
        key: key.into(),
        value,
        ..Default::default()
    };
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
            ..Default::default()
        }],
        producer_name: "tessera".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: "exported by tessera-train from the Network IR".into(),
        graph: MessageField::some(graph),
        metadata_props: vec![
            meta(
                "tessera.network",
                serde_json::to_string(&net).unwrap_or_default(),
            ),
            meta("tessera.input_shape", format!("{:?}", model.input_shape())),
        ],
        ..Default::default()
    })
}

// ---------------------------------------------------------------------------------------------------------------
// protobuf helpers

fn attr(name: &str, ty: AttributeType) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: EnumOrUnknown::new(ty),
        ..Default::default()
    }
}
fn a_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        i: v,
        ..attr(name, AttributeType::INT)
    }
}
fn a_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        ints: v.to_vec(),
        ..attr(name, AttributeType::INTS)
    }
}
fn a_float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        f: v,
        ..attr(name, AttributeType::FLOAT)
    }
}
fn a_str(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        s: v.as_bytes().to_vec(),
        ..attr(name, AttributeType::STRING)
    }
}
fn a_tensor(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        t: MessageField::some(t),
        ..attr(name, AttributeType::TENSOR)
    }
}

fn tensor_f32(name: &str, dims: &[usize], data: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::FLOAT as i32,
        raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}
fn tensor_i64(name: &str, dims: &[usize], data: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::INT64 as i32,
        raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// A value-info with a float or int64 element type; `None` dimensions are the symbolic `param`.
fn value_info(name: &str, elem: DataType, dims: &[Result<usize, &str>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Ok(n) => dimension::Value::DimValue(*n as i64),
                Err(p) => dimension::Value::DimParam((*p).into()),
            }),
            ..Default::default()
        })
        .collect();
    let tensor = type_proto::Tensor {
        elem_type: elem as i32,
        shape: MessageField::some(TensorShapeProto {
            dim,
            ..Default::default()
        }),
        ..Default::default()
    };
    ValueInfoProto {
        name: name.into(),
        type_: MessageField::some(TypeProto {
            value: Some(Value::TensorType(tensor)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn values<const D: usize>(t: Tensor<D>) -> (Vec<usize>, Vec<f32>) {
    let dims = t.dims().to_vec();
    let v = t
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 weights");
    (dims, v)
}

// ---------------------------------------------------------------------------------------------------------------
// the exporter

/// Graph tensors derived from `edge_index`, built on first use.
#[derive(Default)]
struct GraphNames {
    src: String,
    dst: String,
    /// `[N]`-shaped int64 `Shape` slice of `x` (the node count as a 1-D tensor).
    n1: String,
    src_loop: Option<String>,
    dst_loop: Option<String>,
    dst_idx: Option<String>,
    dst_loop_idx: Option<String>,
    deg: Option<String>,
    gcn_norm: Option<String>,
    sym_norm: Option<String>,
    inv_deg: Option<String>,
}

struct Exporter<'a> {
    model: &'a Model,
    options: &'a OnnxOptions,
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    counter: usize,
    consts: HashMap<String, String>,
    graph: Option<GraphNames>,
}

impl<'a> Exporter<'a> {
    fn new(model: &'a Model, options: &'a OnnxOptions) -> Self {
        Exporter {
            model,
            options,
            nodes: Vec::new(),
            inits: Vec::new(),
            counter: 0,
            consts: HashMap::new(),
            graph: None,
        }
    }

    fn fresh(&mut self, hint: &str) -> String {
        self.counter += 1;
        format!("{hint}_{}", self.counter)
    }

    /// Appends one node with one output; returns the output's name.
    fn op(&mut self, op_type: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        let out = self.fresh(&op_type.to_lowercase());
        self.op_to(op_type, inputs, attrs, &out);
        out
    }

    fn op_to(&mut self, op_type: &str, inputs: &[&str], attrs: Vec<AttributeProto>, out: &str) {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.to_string()],
            name: out.to_string(),
            op_type: op_type.into(),
            attribute: attrs,
            ..Default::default()
        });
    }

    fn init_f32(&mut self, hint: &str, dims: &[usize], data: &[f32]) -> String {
        let name = self.fresh(hint);
        self.inits.push(tensor_f32(&name, dims, data));
        name
    }

    fn weight<const D: usize>(&mut self, hint: &str, t: Tensor<D>) -> String {
        let (dims, v) = values(t);
        self.init_f32(hint, &dims, &v)
    }

    /// A float scalar constant (shared).
    fn scalar(&mut self, v: f32) -> String {
        let key = format!("f{}", v.to_bits());
        if let Some(n) = self.consts.get(&key) {
            return n.clone();
        }
        let name = self.init_f32("const", &[], &[v]);
        self.consts.insert(key, name.clone());
        name
    }

    /// An int64 1-D constant (shared).
    fn ints(&mut self, v: &[i64]) -> String {
        let key = format!("i{v:?}");
        if let Some(n) = self.consts.get(&key) {
            return n.clone();
        }
        let name = self.fresh("ints");
        self.inits.push(tensor_i64(&name, &[v.len()], v));
        self.consts.insert(key, name.clone());
        name
    }

    /// An int64 scalar constant (shared).
    fn int_scalar(&mut self, v: i64) -> String {
        let key = format!("s{v}");
        if let Some(n) = self.consts.get(&key) {
            return n.clone();
        }
        let name = self.fresh("int");
        self.inits.push(tensor_i64(&name, &[], &[v]));
        self.consts.insert(key, name.clone());
        name
    }

    /// `x W + b` with burn's `[in, out]` weight layout (MatMul broadcasts over leading dimensions).
    fn linear(&mut self, x: &str, l: &Linear, hint: &str) -> String {
        let w = self.weight(&format!("{hint}_weight"), l.weight.val());
        let y = self.op("MatMul", &[x, &w], vec![]);
        match &l.bias {
            Some(b) => {
                let b = self.weight(&format!("{hint}_bias"), b.val());
                self.op("Add", &[&y, &b], vec![])
            }
            None => y,
        }
    }

    /// Zeros shaped like `like` (float).
    fn zeros_like(&mut self, like: &str) -> String {
        let shape = self.op("Shape", &[like], vec![]);
        self.op(
            "ConstantOfShape",
            &[&shape],
            vec![a_tensor("value", tensor_f32("", &[1], &[0.0]))],
        )
    }

    fn run(mut self) -> Result<GraphProto, ExportError> {
        let plan = self.model.plan.clone();
        let has_gnn = plan.has_gnn;
        let batch: Result<usize, &str> = match self.options.batch {
            Some(b) => Ok(b),
            None if has_gnn => Err("nodes"),
            None => Err("batch"),
        };
        let mut inputs = Vec::new();
        let input_shape = &plan.shapes[plan.input];
        let input_name = if has_gnn { "x" } else { "input" };
        let mut dims = vec![batch];
        dims.extend(input_shape.iter().map(|&d| Ok(d)));
        inputs.push(value_info(input_name, DataType::FLOAT, &dims));
        if has_gnn {
            inputs.push(value_info(
                "edge_index",
                DataType::INT64,
                &[Ok(2), Err("edges")],
            ));
            let zero = self.int_scalar(0);
            let one = self.int_scalar(1);
            let src = self.op("Gather", &["edge_index", &zero], vec![a_int("axis", 0)]);
            let dst = self.op("Gather", &["edge_index", &one], vec![a_int("axis", 0)]);
            let n1 = self.op("Shape", &["x"], vec![a_int("start", 0), a_int("end", 1)]);
            self.graph = Some(GraphNames {
                src,
                dst,
                n1,
                ..Default::default()
            });
        }
        let mut names: Vec<String> = Vec::with_capacity(plan.nodes.len());
        for (i, node) in plan.nodes.iter().enumerate() {
            let ins: Vec<String> = node.inputs.iter().map(|&j| names[j].clone()).collect();
            let out = match &node.op {
                Op::Input { .. } => input_name.to_string(),
                _ => self.node(i, &ins)?,
            };
            names.push(out);
        }
        let last = names.last().expect("non-empty plan").clone();
        self.op_to("Identity", &[&last], vec![], "logits");
        let classes = self.model.classes();
        Ok(GraphProto {
            name: "tessera".into(),
            node: self.nodes,
            initializer: self.inits,
            input: inputs,
            output: vec![value_info("logits", DataType::FLOAT, &[batch, Ok(classes)])],
            ..Default::default()
        })
    }

    /// Emits IR node `i` reading `ins`; returns its output name.
    fn node(&mut self, i: usize, ins: &[String]) -> Result<String, ExportError> {
        let model: &'a Model = self.model;
        let plan = model.plan.clone();
        let node = &plan.nodes[i];
        let layer = &model.layers[i];
        let op_name = node.op.name();
        let in_shape = node
            .inputs
            .first()
            .map(|&j| plan.shapes[j].clone())
            .unwrap_or_default();
        let spatial = in_shape.len().saturating_sub(1); // 1 for [C, L], 2 for [C, H, W]
        let x = ins.first().map(String::as_str).unwrap_or("");
        let mismatch = || ExportError::Model {
            node: i,
            op: op_name,
            msg: "the model's layer does not match the op (was the model built from this network?)"
                .into(),
        };
        let unsupported = |msg: String| ExportError::Unsupported {
            node: i,
            op: op_name,
            msg,
        };
        let hint = format!("n{i}_{op_name}");
        // Conv weights are stored `[out, in/g, kh, kw]` with kh = 1 for 1-D: drop that axis for a 1-D ONNX Conv.
        let conv_w = |e: &mut Self, t: Tensor<4>, what: &str| {
            let (mut dims, v) = values(t);
            if spatial == 1 {
                dims.remove(2);
            }
            e.init_f32(&format!("{hint}_{what}"), &dims, &v)
        };
        let rep = |v: usize| vec![v as i64; spatial];
        Ok(match (&node.op, layer) {
            (
                Op::Conv {
                    kernel,
                    stride,
                    padding,
                    dilation,
                    groups,
                    ..
                },
                Layer::Conv(c),
            ) => {
                if spatial != 1 && spatial != 2 {
                    return Err(unsupported(format!("input shape {in_shape:?}")));
                }
                let w = conv_w(self, c.weight.val(), "weight");
                let mut inputs = vec![x.to_string(), w];
                if let Some(b) = &c.bias {
                    inputs.push(self.weight(&format!("{hint}_bias"), b.val()));
                }
                let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                self.op(
                    "Conv",
                    &refs,
                    vec![
                        a_ints("kernel_shape", &rep(*kernel)),
                        a_ints("strides", &rep(*stride)),
                        a_ints("pads", &rep(*padding).repeat(2)),
                        a_ints("dilations", &rep(*dilation)),
                        a_int("group", *groups as i64),
                    ],
                )
            }
            (
                Op::DepthwiseConv {
                    kernel,
                    stride,
                    padding,
                    dilation,
                }
                | Op::SepConv {
                    kernel,
                    stride,
                    padding,
                    dilation,
                    ..
                },
                Layer::Conv(c),
            ) => {
                let w = conv_w(self, c.weight.val(), "depthwise");
                let y = self.op(
                    "Conv",
                    &[x, &w],
                    vec![
                        a_ints("kernel_shape", &rep(*kernel)),
                        a_ints("strides", &rep(*stride)),
                        a_ints("pads", &rep(*padding).repeat(2)),
                        a_ints("dilations", &rep(*dilation)),
                        a_int("group", in_shape[0] as i64),
                    ],
                );
                match (&node.op, &c.pointwise) {
                    (Op::SepConv { .. }, Some(pw)) => {
                        let pw = conv_w(self, pw.val(), "pointwise");
                        self.op("Conv", &[&y, &pw], vec![a_ints("kernel_shape", &rep(1))])
                    }
                    (Op::DepthwiseConv { .. }, None) => y,
                    _ => return Err(mismatch()),
                }
            }
            (
                Op::Pool {
                    kind,
                    kernel,
                    stride,
                    padding,
                },
                _,
            ) => {
                let mut attrs = vec![
                    a_ints("kernel_shape", &rep(*kernel)),
                    a_ints("strides", &rep(*stride)),
                    a_ints("pads", &rep(*padding).repeat(2)),
                ];
                match kind {
                    PoolKind::Max => self.op("MaxPool", &[x], attrs),
                    PoolKind::Avg => {
                        attrs.push(a_int("count_include_pad", 0));
                        self.op("AveragePool", &[x], attrs)
                    }
                }
            }
            (Op::GlobalPool { kind }, _) => {
                let op = match kind {
                    PoolKind::Avg => "GlobalAveragePool",
                    PoolKind::Max => "GlobalMaxPool",
                };
                let y = self.op(op, &[x], vec![]);
                self.op("Flatten", &[&y], vec![a_int("axis", 1)])
            }
            (Op::BatchNorm, Layer::BatchNorm(bn)) => {
                let scale = self.weight(&format!("{hint}_gamma"), bn.gamma.val());
                let bias = self.weight(&format!("{hint}_beta"), bn.beta.val());
                let mean = self.weight(&format!("{hint}_running_mean"), bn.running_mean.value());
                let var = self.weight(&format!("{hint}_running_var"), bn.running_var.value());
                self.op(
                    "BatchNormalization",
                    &[x, &scale, &bias, &mean, &var],
                    vec![
                        a_float("epsilon", bn.epsilon as f32),
                        a_float("momentum", 1.0 - bn.momentum as f32),
                    ],
                )
            }
            (Op::LayerNorm, Layer::LayerNorm(ln)) => {
                let scale = self.weight(&format!("{hint}_gamma"), ln.gamma.val());
                let mut inputs = vec![x.to_string(), scale];
                if let Some(b) = &ln.beta {
                    inputs.push(self.weight(&format!("{hint}_beta"), b.val()));
                }
                let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                self.op(
                    "LayerNormalization",
                    &refs,
                    vec![a_int("axis", -1), a_float("epsilon", LAYER_NORM_EPS)],
                )
            }
            (Op::Act { act }, _) => self.activation(x, *act),
            // a random projection is a fixed linear layer: its weight is in the model like any other
            (
                Op::Linear { .. } | Op::Output { .. } | Op::RandomProjection { .. },
                Layer::Linear(l),
            ) => self.linear(x, l, &hint),
            (Op::Flatten, _) => self.op("Flatten", &[x], vec![a_int("axis", 1)]),
            (Op::Dropout { .. } | Op::Identity, _) => self.op("Identity", &[x], vec![]),
            (Op::Zero, _) => self.zeros_like(x),
            (Op::Add, _) => match ins {
                [a] => self.op("Identity", &[a], vec![]),
                [a, b] => self.op("Add", &[a, b], vec![]),
                many => {
                    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
                    self.op("Sum", &refs, vec![])
                }
            },
            (Op::Concat { axis }, _) => {
                let refs: Vec<&str> = ins.iter().map(String::as_str).collect();
                self.op("Concat", &refs, vec![a_int("axis", *axis as i64 + 1)])
            }
            (Op::Attention { heads }, Layer::Attention(a)) => {
                if in_shape.len() != 2 {
                    return Err(unsupported(format!(
                        "attention expects [T, D], got {in_shape:?}"
                    )));
                }
                let d = in_shape[1];
                let (h, dh) = (*heads as i64, (d / heads) as i64);
                let split = self.ints(&[0, 0, h, dh]);
                let q = self.linear(x, &a.q, &format!("{hint}_q"));
                let k = self.linear(x, &a.k, &format!("{hint}_k"));
                let v = self.linear(x, &a.v, &format!("{hint}_v"));
                let heads_first = |e: &mut Self, t: &str, perm: &[i64]| {
                    let r = e.op("Reshape", &[t, &split], vec![]);
                    e.op("Transpose", &[&r], vec![a_ints("perm", perm)])
                };
                let q = heads_first(self, &q, &[0, 2, 1, 3]); // [B, h, T, dh]
                let kt = heads_first(self, &k, &[0, 2, 3, 1]); // [B, h, dh, T]
                let v = heads_first(self, &v, &[0, 2, 1, 3]);
                let s = self.op("MatMul", &[&q, &kt], vec![]);
                let scale = self.scalar((1.0 / (dh as f64).sqrt()) as f32);
                let s = self.op("Mul", &[&s, &scale], vec![]);
                let p = self.op("Softmax", &[&s], vec![a_int("axis", -1)]);
                let y = self.op("MatMul", &[&p, &v], vec![]);
                let y = self.op("Transpose", &[&y], vec![a_ints("perm", &[0, 2, 1, 3])]);
                let merge = self.ints(&[0, 0, d as i64]);
                let y = self.op("Reshape", &[&y, &merge], vec![]);
                self.linear(&y, &a.o, &format!("{hint}_o"))
            }
            (Op::Gnn { kind, out, heads }, Layer::Gnn(g)) => {
                if self.graph.is_none() {
                    return Err(unsupported("graph layer without graph inputs".into()));
                }
                self.gnn(x, *kind, *out, *heads, g, &hint)
                    .ok_or_else(mismatch)?
            }
            (Op::Input { .. }, _) => return Err(unsupported("a second input node".into())),
            _ => return Err(mismatch()),
        })
    }

    fn activation(&mut self, x: &str, act: Activation) -> String {
        match act {
            Activation::Relu => self.op("Relu", &[x], vec![]),
            Activation::Relu6 => {
                let (lo, hi) = (self.scalar(0.0), self.scalar(6.0));
                self.op("Clip", &[x, &lo, &hi], vec![])
            }
            // exact GELU (burn's `gelu`): x · ½ · (1 + erf(x / √2))
            Activation::Gelu => {
                let r2 = self.scalar(std::f32::consts::SQRT_2);
                let (one, half) = (self.scalar(1.0), self.scalar(0.5));
                let t = self.op("Div", &[x, &r2], vec![]);
                let t = self.op("Erf", &[&t], vec![]);
                let t = self.op("Add", &[&t, &one], vec![]);
                let t = self.op("Mul", &[x, &t], vec![]);
                self.op("Mul", &[&t, &half], vec![])
            }
            Activation::Silu => {
                let s = self.op("Sigmoid", &[x], vec![]);
                self.op("Mul", &[x, &s], vec![])
            }
            Activation::Sigmoid => self.op("Sigmoid", &[x], vec![]),
            Activation::Tanh => self.op("Tanh", &[x], vec![]),
            Activation::HardSwish => self.op("HardSwish", &[x], vec![]),
            Activation::Elu => self.op("Elu", &[x], vec![a_float("alpha", 1.0)]),
            Activation::LeakyRelu => self.op("LeakyRelu", &[x], vec![a_float("alpha", 0.01)]),
        }
    }

    // --- graph tensors ------------------------------------------------------------------------------------------

    fn g(&self) -> &GraphNames {
        self.graph.as_ref().expect("graph inputs declared")
    }

    /// `src ++ 0..N` and `dst ++ 0..N` (one self loop per node).
    fn loops(&mut self) -> (String, String) {
        if let (Some(s), Some(d)) = (&self.g().src_loop, &self.g().dst_loop) {
            return (s.clone(), d.clone());
        }
        let n1 = self.g().n1.clone();
        let n = self.op("Squeeze", &[&n1], vec![]);
        let (zero, one) = (self.int_scalar(0), self.int_scalar(1));
        let range = self.op("Range", &[&zero, &n, &one], vec![]);
        let (src, dst) = (self.g().src.clone(), self.g().dst.clone());
        let s = self.op("Concat", &[&src, &range], vec![a_int("axis", 0)]);
        let d = self.op("Concat", &[&dst, &range], vec![a_int("axis", 0)]);
        let g = self.graph.as_mut().expect("graph");
        g.src_loop = Some(s.clone());
        g.dst_loop = Some(d.clone());
        (s, d)
    }

    /// Scatter indices `[E, 1]` of the targets (with or without self loops).
    fn dst_index(&mut self, with_loops: bool) -> String {
        let cached = if with_loops {
            &self.g().dst_loop_idx
        } else {
            &self.g().dst_idx
        };
        if let Some(n) = cached {
            return n.clone();
        }
        let dst = if with_loops {
            self.loops().1
        } else {
            self.g().dst.clone()
        };
        let axes = self.ints(&[1]);
        let idx = self.op("Unsqueeze", &[&dst, &axes], vec![]);
        let g = self.graph.as_mut().expect("graph");
        if with_loops {
            g.dst_loop_idx = Some(idx.clone());
        } else {
            g.dst_idx = Some(idx.clone());
        }
        idx
    }

    /// In-degrees `[N]` (float), without self loops.
    fn degrees(&mut self) -> String {
        if let Some(d) = &self.g().deg {
            return d.clone();
        }
        let (n1, dst) = (self.g().n1.clone(), self.g().dst.clone());
        let zeros = self.op(
            "ConstantOfShape",
            &[&n1],
            vec![a_tensor("value", tensor_f32("", &[1], &[0.0]))],
        );
        let e1 = self.op("Shape", &[&dst], vec![]);
        let ones = self.op(
            "ConstantOfShape",
            &[&e1],
            vec![a_tensor("value", tensor_f32("", &[1], &[1.0]))],
        );
        let deg = self.op(
            "ScatterElements",
            &[&zeros, &dst, &ones],
            vec![a_int("axis", 0), a_str("reduction", "add")],
        );
        self.graph.as_mut().expect("graph").deg = Some(deg.clone());
        deg
    }

    /// `1/√(a[src] · a[dst])` as a column `[E, 1]`.
    fn edge_norm(&mut self, deg: &str, src: &str, dst: &str) -> String {
        let a = self.op("Gather", &[deg, src], vec![a_int("axis", 0)]);
        let b = self.op("Gather", &[deg, dst], vec![a_int("axis", 0)]);
        let p = self.op("Mul", &[&a, &b], vec![]);
        let s = self.op("Sqrt", &[&p], vec![]);
        let r = self.op("Reciprocal", &[&s], vec![]);
        let axes = self.ints(&[1]);
        self.op("Unsqueeze", &[&r, &axes], vec![])
    }

    fn gcn_norm(&mut self) -> String {
        if let Some(n) = &self.g().gcn_norm {
            return n.clone();
        }
        let deg = self.degrees();
        let one = self.scalar(1.0);
        let dl = self.op("Add", &[&deg, &one], vec![]);
        let (s, d) = self.loops();
        let norm = self.edge_norm(&dl, &s, &d);
        self.graph.as_mut().expect("graph").gcn_norm = Some(norm.clone());
        norm
    }

    fn sym_norm(&mut self) -> String {
        if let Some(n) = &self.g().sym_norm {
            return n.clone();
        }
        let deg = self.degrees();
        let (s, d) = (self.g().src.clone(), self.g().dst.clone());
        let norm = self.edge_norm(&deg, &s, &d);
        self.graph.as_mut().expect("graph").sym_norm = Some(norm.clone());
        norm
    }

    /// `1/max(d, 1)` as a column `[N, 1]`.
    fn inv_deg(&mut self) -> String {
        if let Some(n) = &self.g().inv_deg {
            return n.clone();
        }
        let deg = self.degrees();
        let one = self.scalar(1.0);
        let m = self.op("Max", &[&deg, &one], vec![]);
        let r = self.op("Reciprocal", &[&m], vec![]);
        let axes = self.ints(&[1]);
        let col = self.op("Unsqueeze", &[&r, &axes], vec![]);
        self.graph.as_mut().expect("graph").inv_deg = Some(col.clone());
        col
    }

    /// `Σ_e w_e · h[src_e]` into rows `dst_e` (zeros elsewhere), `h` `[N, …]`.
    fn propagate(&mut self, h: &str, with_loops: bool, w: Option<&str>) -> String {
        let src = if with_loops {
            self.loops().0
        } else {
            self.g().src.clone()
        };
        let msg = self.op("Gather", &[h, &src], vec![a_int("axis", 0)]);
        let msg = match w {
            Some(w) => self.op("Mul", &[&msg, w], vec![]),
            None => msg,
        };
        let idx = self.dst_index(with_loops);
        let zeros = self.zeros_like(h);
        self.op(
            "ScatterND",
            &[&zeros, &idx, &msg],
            vec![a_str("reduction", "add")],
        )
    }

    fn matmul_weight(&mut self, x: &str, l: &Linear, hint: &str) -> String {
        let w = self.weight(&format!("{hint}_weight"), l.weight.val());
        self.op("MatMul", &[x, &w], vec![])
    }

    fn add_bias(
        &mut self,
        y: String,
        b: Option<&burn::module::Param<Tensor<1>>>,
        hint: &str,
    ) -> String {
        match b {
            Some(b) => {
                let b = self.weight(hint, b.val());
                self.op("Add", &[&y, &b], vec![])
            }
            None => y,
        }
    }

    /// One graph layer, mirroring `model::gnn` term by term. `None`: the layer's parameters do not fit the kind.
    fn gnn(
        &mut self,
        x: &str,
        kind: GnnKind,
        out: usize,
        heads: usize,
        g: &crate::model::Gnn,
        hint: &str,
    ) -> Option<String> {
        let bias = g.bias.as_ref();
        let lin = |k: usize| g.lins.get(k);
        let bh = format!("{hint}_bias");
        Some(match kind {
            GnnKind::Gcn => {
                let h = self.linear(x, lin(0)?, &format!("{hint}_lin0"));
                let norm = self.gcn_norm();
                let p = self.propagate(&h, true, Some(&norm));
                self.add_bias(p, bias, &bh)
            }
            GnnKind::Fc => self.linear(x, lin(0)?, &format!("{hint}_lin0")),
            GnnKind::Gin | GnnKind::GinLinear => {
                let l0 = lin(0)?;
                let h = self.matmul_weight(x, l0, &format!("{hint}_lin0"));
                let p = self.propagate(&h, false, None);
                let agg = self.op("Add", &[&h, &p], vec![]);
                let agg = self.add_bias(agg, l0.bias.as_ref(), &format!("{hint}_lin0_bias"));
                if kind == GnnKind::GinLinear {
                    return Some(agg);
                }
                let r = self.op("Relu", &[&agg], vec![]);
                self.linear(&r, lin(1)?, &format!("{hint}_lin1"))
            }
            GnnKind::Cheb => {
                let t0 = self.linear(x, lin(0)?, &format!("{hint}_lin0"));
                let h1 = self.linear(x, lin(1)?, &format!("{hint}_lin1"));
                let norm = self.sym_norm();
                let p = self.propagate(&h1, false, Some(&norm));
                let y = self.op("Sub", &[&t0, &p], vec![]);
                self.add_bias(y, bias, &bh)
            }
            GnnKind::Sage | GnnKind::KGnn => {
                let l0 = lin(0)?;
                let h = self.matmul_weight(x, l0, &format!("{hint}_lin0"));
                let mut agg = self.propagate(&h, false, None);
                if kind == GnnKind::Sage {
                    let inv = self.inv_deg();
                    agg = self.op("Mul", &[&agg, &inv], vec![]);
                }
                let agg = self.add_bias(agg, l0.bias.as_ref(), &format!("{hint}_lin0_bias"));
                let root = self.linear(x, lin(1)?, &format!("{hint}_lin1"));
                self.op("Add", &[&agg, &root], vec![])
            }
            GnnKind::Arma => {
                let h = self.linear(x, lin(0)?, &format!("{hint}_lin0"));
                let norm = self.sym_norm();
                let p = self.propagate(&h, false, Some(&norm));
                let root = self.linear(x, lin(1)?, &format!("{hint}_lin1"));
                let y = self.op("Add", &[&p, &root], vec![]);
                let y = self.add_bias(y, bias, &bh);
                self.op("Relu", &[&y], vec![])
            }
            GnnKind::Gat | GnnKind::GatConcat => {
                let hw = crate::model::head_width(kind, out, heads);
                let h = self.linear(x, lin(0)?, &format!("{hint}_lin0"));
                let shape = self.ints(&[-1, heads as i64, hw as i64]);
                let h = self.op("Reshape", &[&h, &shape], vec![]); // [N, h, o]
                let (dims, att) = values(g.att.as_ref()?.val()); // [h, 2o]
                if dims != [heads, 2 * hw] {
                    return None;
                }
                let half = |from: usize| -> Vec<f32> {
                    (0..heads)
                        .flat_map(|k| att[k * 2 * hw + from..k * 2 * hw + from + hw].to_vec())
                        .collect()
                };
                let a_src = self.init_f32(&format!("{hint}_att_src"), &[1, heads, hw], &half(0));
                let a_dst = self.init_f32(&format!("{hint}_att_dst"), &[1, heads, hw], &half(hw));
                let axes2 = self.ints(&[2]);
                let ms = self.op("Mul", &[&h, &a_src], vec![]);
                let s_src = self.op("ReduceSum", &[&ms, &axes2], vec![a_int("keepdims", 0)]); // [N, h]
                let md = self.op("Mul", &[&h, &a_dst], vec![]);
                let s_dst = self.op("ReduceSum", &[&md, &axes2], vec![a_int("keepdims", 0)]);
                let (sl, dl) = self.loops();
                let es = self.op("Gather", &[&s_src, &sl], vec![a_int("axis", 0)]);
                let ed = self.op("Gather", &[&s_dst, &dl], vec![a_int("axis", 0)]);
                let e = self.op("Add", &[&es, &ed], vec![]);
                let e = self.op("LeakyRelu", &[&e], vec![a_float("alpha", 0.2)]);
                // a global shift keeps exp() finite and leaves every per-node softmax unchanged
                let shift = self.op("ReduceMax", &[&e], vec![a_int("keepdims", 1)]);
                let e = self.op("Sub", &[&e, &shift], vec![]);
                let p = self.op("Exp", &[&e], vec![]); // [E', h]
                let idx = self.dst_index(true);
                let zeros = self.zeros_like(&s_src);
                let denom = self.op(
                    "ScatterND",
                    &[&zeros, &idx, &p],
                    vec![a_str("reduction", "add")],
                );
                let dg = self.op("Gather", &[&denom, &dl], vec![a_int("axis", 0)]);
                let eps = self.scalar(1e-16);
                let dg = self.op("Add", &[&dg, &eps], vec![]);
                let alpha = self.op("Div", &[&p, &dg], vec![]);
                let alpha = self.op("Unsqueeze", &[&alpha, &axes2], vec![]); // [E', h, 1]
                let hs = self.op("Gather", &[&h, &sl], vec![a_int("axis", 0)]);
                let msg = self.op("Mul", &[&hs, &alpha], vec![]);
                let zeros = self.zeros_like(&h);
                let agg = self.op(
                    "ScatterND",
                    &[&zeros, &idx, &msg],
                    vec![a_str("reduction", "add")],
                );
                let y = if kind == GnnKind::Gat {
                    self.op(
                        "ReduceMean",
                        &[&agg],
                        vec![a_ints("axes", &[1]), a_int("keepdims", 0)],
                    )
                } else {
                    let flat = self.ints(&[-1, out as i64]);
                    self.op("Reshape", &[&agg, &flat], vec![])
                };
                self.add_bias(y, bias, &bh)
            }
        })
    }
}
