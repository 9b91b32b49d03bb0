//! A model whose biases leave `i32` at the 16-bit accumulator scale (`docs/semantics.md`
//! section 3, version 5): a `Conv` on a finely scaled input with small weights and a bias of
//! order 1, then a `Gemm` with tiny weights and a large bias (as batch-norm folding makes
//! them). Each bias is billions of accumulator steps; the importer stores it wide (`[N, 2]`)
//! instead of refusing the model, and the integer engine matches the float model.

#![allow(clippy::unwrap_used, missing_docs, clippy::print_stdout)]

use prost::Message as _;
use vouch_engine::{Engine, Options};
use vouch_onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto, tensor_shape_proto, type_proto,
};
use vouch_quant::{FTensor, Precision};

fn init(name: &str, dims: &[usize], data: Vec<f32>) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: 1,
        float_data: data,
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| (*s).into()).collect(),
        output: vec![output.into()],
        name: output.into(),
        op_type: op.into(),
        attribute,
        ..Default::default()
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: 7,
        ints: v.to_vec(),
        ..Default::default()
    }
}

/// A fixed, irregular sequence of `n` values in `[-1, 1]`.
fn wave(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (((i * 37 + seed * 11) % 23) as f32 - 11.0) / 11.0)
        .collect()
}

/// `x [1, 2, 6, 6]` (values within ±0.01) -> Conv 3x3 pad 1 (weights within ±0.01, biases
/// 0.5, -0.7, 0.3) -> Flatten -> Gemm to 4 outputs (weights within ±1e-4, biases ±2).
fn model() -> Vec<u8> {
    let vi = |name: &str, dims: Option<&[i64]>| ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: 1,
                shape: dims.map(|d| TensorShapeProto {
                    dim: d
                        .iter()
                        .map(|&v| tensor_shape_proto::Dimension {
                            value: Some(tensor_shape_proto::dimension::Value::DimValue(v)),
                            denotation: String::new(),
                        })
                        .collect(),
                }),
            })),
            denotation: String::new(),
        }),
        doc_string: String::new(),
    };
    let w: Vec<f32> = wave(3 * 2 * 9, 1).iter().map(|v| v * 0.01).collect();
    let w2: Vec<f32> = wave(4 * 108, 2).iter().map(|v| v * 1e-4).collect();
    let graph = GraphProto {
        node: vec![
            node(
                "Conv",
                &["x", "w", "b"],
                "c",
                vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1])],
            ),
            node("Flatten", &["c"], "f", vec![]),
            node(
                "Gemm",
                &["f", "w2", "b2"],
                "y",
                vec![AttributeProto {
                    name: "transB".into(),
                    r#type: 2,
                    i: 1,
                    ..Default::default()
                }],
            ),
        ],
        name: "wide_bias".into(),
        initializer: vec![
            init("w", &[3, 2, 3, 3], w),
            init("b", &[3], vec![0.5, -0.7, 0.3]),
            init("w2", &[4, 108], w2),
            init("b2", &[4], vec![2.0, -1.5, 0.25, -2.0]),
        ],
        input: vec![vi("x", Some(&[1, 2, 6, 6]))],
        output: vec![vi("y", None)],
        ..Default::default()
    };
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

fn input(seed: usize) -> FTensor {
    FTensor {
        shape: vec![1, 2, 6, 6],
        data: wave(72, seed).iter().map(|v| v * 0.01).collect(),
    }
}

#[test]
fn biases_past_i32_at_the_accumulator_scale_import_wide_and_match_the_float_model() {
    let g = vouch_onnx::import(&model(), &Default::default()).unwrap();
    let cal = FTensor {
        shape: vec![8, 2, 6, 6],
        data: (0..8).flat_map(|s| input(s).data).collect(),
    };
    let pkg = vouch_quant::import_at(
        &g,
        vec![cal],
        "wide_bias",
        [0; 32],
        Precision::Int16,
        |_| {},
    )
    .unwrap();
    assert_eq!(pkg.semantics_version, vouch_semantics::WIDE_BIAS_VERSION);
    // both products hold a wide bias: [N, 2] pairs whose values leave i32
    let mut wide = 0;
    for n in &pkg.nodes {
        if let vouch_model::Op::Linear { weight, bias, .. }
        | vouch_model::Op::Conv { weight, bias, .. } = n.op
        {
            let (w, b) = (
                &pkg.consts[weight as usize],
                &pkg.consts[bias.unwrap() as usize],
            );
            let outs = w.shape[0] as usize;
            assert_eq!(b.shape, [w.shape[0], 2], "{}", n.name);
            let v = vouch_semantics::bias_values(&b.shape, &b.data, outs).unwrap();
            assert!(
                v.iter().any(|x| i32::try_from(*x).is_err()),
                "{}: {v:?}",
                n.name
            );
            wide += 1;
        }
    }
    assert_eq!(wide, 2);
    // held-out inputs: the engine's dequantized output against the float reference
    let mut worst = 0f64;
    for seed in 20..24 {
        let x = input(seed);
        let want = vouch_quant::float::run(&g, vec![x.clone()]).unwrap()[g.outputs[0]].clone();
        let q = vouch_task::codec::quantize_inputs(&pkg, &[x]);
        let out = Engine::new(
            &pkg,
            Options {
                threads: 1,
                trace: false,
            },
        )
        .unwrap()
        .run(q)
        .unwrap()
        .outputs;
        let got = vouch_task::codec::dequantize(&pkg, 0, &out[0]);
        assert_eq!(got.len(), want.data.len());
        for (a, b) in got.iter().zip(&want.data) {
            worst = worst.max((a - f64::from(*b)).abs() / f64::from(b.abs()).max(1.0));
        }
    }
    println!("wide-bias model: largest error vs the float model {worst:.2e}");
    assert!(worst < 1e-3, "error {worst}");
}
