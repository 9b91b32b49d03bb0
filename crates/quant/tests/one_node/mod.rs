//! One ONNX node `op(inputs) -> y` built as a model and run by the float reference: what the
//! op-lowering tests (`norm_ops.rs`, `resize_ops.rs`) compare with direct definitions.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use prost::Message as _;
use vouch_onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto, tensor_shape_proto, type_proto,
};
use vouch_quant::FTensor;

/// `op(inputs) -> y` at ONNX `opset` on the float input `x` of `shape` (initializers `inits`),
/// run by the float reference: `y`'s shape and values.
pub fn run(
    opset: i64,
    op: &str,
    inputs: &[&str],
    attrs: Vec<AttributeProto>,
    inits: Vec<TensorProto>,
    shape: &[usize],
    x: &[f32],
) -> (Vec<usize>, Vec<f32>) {
    let model = model(opset, op, inputs, attrs, inits, shape);
    let g = vouch_onnx::import(&model, &Default::default()).unwrap();
    let values = vouch_quant::float::run(
        &g,
        vec![FTensor {
            shape: shape.to_vec(),
            data: x.to_vec(),
        }],
    )
    .unwrap();
    let y = &values[g.outputs[0]];
    (y.shape.clone(), y.data.clone())
}

/// The node `op(inputs) -> out` of default domain with attributes `attribute`, named after its
/// op in lower case: a step of the small multi-node models some tests build.
pub fn node(op: &str, inputs: &[&str], out: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| (*s).into()).collect(),
        output: vec![out.into()],
        name: op.to_lowercase(),
        op_type: op.into(),
        attribute,
        ..Default::default()
    }
}

/// The ONNX bytes of the model `op(inputs) -> y` at `opset`, its float input `x` of `shape`.
pub fn model(
    opset: i64,
    op: &str,
    inputs: &[&str],
    attrs: Vec<AttributeProto>,
    inits: Vec<TensorProto>,
    shape: &[usize],
) -> Vec<u8> {
    let dim = shape
        .iter()
        .map(|&d| tensor_shape_proto::Dimension {
            value: Some(tensor_shape_proto::dimension::Value::DimValue(d as i64)),
            denotation: String::new(),
        })
        .collect();
    let vi = |name: &str, shape: Option<TensorShapeProto>| ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: 1,
                shape,
            })),
            denotation: String::new(),
        }),
        doc_string: String::new(),
    };
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        graph: Some(GraphProto {
            node: vec![NodeProto {
                input: inputs.iter().map(|s| (*s).into()).collect(),
                output: vec!["y".into()],
                name: "n".into(),
                op_type: op.into(),
                attribute: attrs,
                ..Default::default()
            }],
            name: "g".into(),
            initializer: inits,
            input: vec![vi("x", Some(TensorShapeProto { dim }))],
            output: vec![vi("y", None)],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// The ONNX bytes of the graph `nodes` at opset 13 (initializers `inits`, graph inputs
/// `inputs`, outputs `outputs`).
pub fn graph(
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(GraphProto {
            node: nodes,
            name: "g".into(),
            initializer: inits,
            input: inputs,
            output: outputs,
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// A float attribute.
pub fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: 1,
        f,
        ..Default::default()
    }
}

/// An int attribute.
pub fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: 2,
        i,
        ..Default::default()
    }
}

/// A string attribute.
pub fn string(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: 3,
        s: s.as_bytes().to_vec(),
        ..Default::default()
    }
}

/// An ints attribute.
pub fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: 7,
        ints: v.to_vec(),
        ..Default::default()
    }
}

/// A float initializer of shape `dims`.
pub fn init(name: &str, dims: &[usize], data: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: 1,
        float_data: data.to_vec(),
        ..Default::default()
    }
}

/// A graph input or output of ONNX element type `elem_type`; a negative dimension is the
/// symbolic `N`, no dimensions an unknown shape.
pub fn value_info(name: &str, elem_type: i32, dims: Option<&[i64]>) -> ValueInfoProto {
    let shape = dims.map(|d| TensorShapeProto {
        dim: d
            .iter()
            .map(|&v| tensor_shape_proto::Dimension {
                value: Some(if v < 0 {
                    tensor_shape_proto::dimension::Value::DimParam("N".into())
                } else {
                    tensor_shape_proto::dimension::Value::DimValue(v)
                }),
                denotation: String::new(),
            })
            .collect(),
    });
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type,
                shape,
            })),
            denotation: String::new(),
        }),
        doc_string: String::new(),
    }
}

/// A fixed, irregular sequence of `n` values in about `[-scale, scale]`.
pub fn data(n: usize, salt: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|k| {
            let v = ((k * 37 + salt * 11) % 29) as f32 - 14.0;
            scale * v / 14.0 + ((k + salt) % 3) as f32 * 0.05
        })
        .collect()
}

/// A float value info; `None` dimensions are the symbolic `batch`.
pub fn vi(name: &str, dims: &[Option<usize>]) -> ValueInfoProto {
    use tensor_shape_proto::dimension::Value;
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                Some(n) => Value::DimValue(*n as i64),
                None => Value::DimParam("batch".into()),
            }),
            denotation: String::new(),
        })
        .collect();
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
