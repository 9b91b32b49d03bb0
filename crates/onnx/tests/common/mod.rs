//! Builders for small ONNX models, encoded with prost.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use prost::Message as _;
use vouch_onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto, tensor_shape_proto, type_proto,
};
use vouch_onnx::{FGraph, ImportOptions};

/// A float tensor stored in `float_data`.
pub fn tf(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: 1,
        float_data: data.to_vec(),
        ..Default::default()
    }
}

/// A float tensor stored in `raw_data`.
pub fn tf_raw(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
    let raw = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: 1,
        raw_data: raw,
        ..Default::default()
    }
}

/// An int64 tensor.
pub fn ti(name: &str, dims: &[i64], data: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: 7,
        int64_data: data.to_vec(),
        ..Default::default()
    }
}

/// An attribute.
#[derive(Clone)]
pub enum A<'a> {
    I(&'a str, i64),
    F(&'a str, f32),
    Is(&'a str, &'a [i64]),
    Fs(&'a str, &'a [f32]),
    G(&'a str, Box<GraphProto>),
    S(&'a str, &'a str),
    T(&'a str, Box<TensorProto>),
    Ss(&'a str, &'a [&'a str]),
}

fn attr(a: A<'_>) -> AttributeProto {
    match a {
        A::I(n, i) => AttributeProto {
            name: n.into(),
            r#type: 2,
            i,
            ..Default::default()
        },
        A::F(n, f) => AttributeProto {
            name: n.into(),
            r#type: 1,
            f,
            ..Default::default()
        },
        A::Is(n, v) => AttributeProto {
            name: n.into(),
            r#type: 7,
            ints: v.to_vec(),
            ..Default::default()
        },
        A::Fs(n, v) => AttributeProto {
            name: n.into(),
            r#type: 6,
            floats: v.to_vec(),
            ..Default::default()
        },
        A::G(n, g) => AttributeProto {
            name: n.into(),
            r#type: 5,
            g: Some(*g),
            ..Default::default()
        },
        A::S(n, s) => AttributeProto {
            name: n.into(),
            r#type: 3,
            s: s.as_bytes().to_vec(),
            ..Default::default()
        },
        A::T(n, t) => AttributeProto {
            name: n.into(),
            r#type: 4,
            t: Some(*t),
            ..Default::default()
        },
        A::Ss(n, v) => AttributeProto {
            name: n.into(),
            r#type: 8,
            strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..Default::default()
        },
    }
}

/// A node in the default domain, named after its first output.
pub fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<A<'_>>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| (*s).into()).collect(),
        output: outputs.iter().map(|s| (*s).into()).collect(),
        name: format!("n_{}", outputs.first().unwrap_or(&"")),
        op_type: op.into(),
        attribute: attrs.into_iter().map(attr).collect(),
        ..Default::default()
    }
}

/// A node in another domain.
pub fn node_in(domain: &str, op: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        domain: domain.into(),
        ..node(op, inputs, outputs, vec![])
    }
}

/// A float graph input; a negative dimension is the symbolic `N`.
pub fn input(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| tensor_shape_proto::Dimension {
            value: Some(if d < 0 {
                tensor_shape_proto::dimension::Value::DimParam("N".into())
            } else {
                tensor_shape_proto::dimension::Value::DimValue(d)
            }),
            denotation: String::new(),
        })
        .collect();
    float_input(name, dim)
}

/// A float graph input of the dimensions `dim`.
pub fn float_input(name: &str, dim: Vec<tensor_shape_proto::Dimension>) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: 1,
                shape: Some(TensorShapeProto { dim }),
            })),
            denotation: String::new(),
        }),
        doc_string: String::new(),
    }
}

/// A graph output (type left empty).
pub fn output(name: &str) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        ..Default::default()
    }
}

/// A subgraph (an `If` branch) of `nodes` with outputs `outputs`.
pub fn branch(nodes: Vec<NodeProto>, outputs: &[&str]) -> Box<GraphProto> {
    Box::new(GraphProto {
        node: nodes,
        name: "branch".into(),
        output: outputs.iter().map(|o| output(o)).collect(),
        ..Default::default()
    })
}

/// A whole model at `opset`.
pub fn model(
    opset: i64,
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: &[&str],
) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        opset_import: vec![
            OperatorSetIdProto {
                domain: String::new(),
                version: opset,
            },
            OperatorSetIdProto {
                domain: "ai.onnx.ml".into(),
                version: 3,
            },
        ],
        graph: Some(GraphProto {
            node: nodes,
            name: "g".into(),
            initializer: inits,
            input: inputs,
            output: outputs.iter().map(|o| output(o)).collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// Imports with all outputs kept.
pub fn imp(bytes: &[u8]) -> Result<FGraph, vouch_onnx::Error> {
    vouch_onnx::import(bytes, &ImportOptions::default())
}

/// Imports keeping `outputs`.
pub fn imp_outputs(bytes: &[u8], outputs: &[&str]) -> Result<FGraph, vouch_onnx::Error> {
    vouch_onnx::import(
        bytes,
        &ImportOptions {
            outputs: Some(outputs.iter().map(|s| (*s).into()).collect()),
            ..Default::default()
        },
    )
}

/// The op names (variant names) of the graph's nodes.
pub fn ops(g: &FGraph) -> Vec<String> {
    g.nodes
        .iter()
        .map(|n| {
            format!("{:?}", n.op)
                .split([' ', '{', '('])
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// The shape of the graph's output `i`.
pub fn out_shape(g: &FGraph, i: usize) -> Vec<vouch_onnx::Dim> {
    g.values[g.outputs[i]].shape.clone()
}

/// A scalar bool tensor.
pub fn tb(name: &str, v: bool) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![],
        data_type: 9,
        raw_data: vec![u8::from(v)],
        ..Default::default()
    }
}
