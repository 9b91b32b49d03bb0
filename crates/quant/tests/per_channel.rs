//! Per-output-channel weight scales (`docs/semantics.md` sections 3 and 5, version 6): a
//! `Conv`, a depthwise `Conv` and a `Gemm` whose output channels' weight ranges differ by up to
//! 300 times (as batch-norm folding makes them) are imported with one scale per channel, an
//! `[N, 3]` bias holding each channel's multiplier and `M = 0`; the engine gives the same bits
//! on 1 and 2 threads and matches the float model.

#![allow(clippy::unwrap_used, missing_docs, clippy::print_stdout)]

use prost::Message as _;
use vouch_engine::{Engine, Options};
use vouch_model::Op;
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

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: 2,
        i: v,
        ..Default::default()
    }
}

/// A fixed, irregular sequence of `n` values in `[-1, 1]`.
fn wave(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (((i * 37 + seed * 11) % 23) as f32 - 11.0) / 11.0)
        .collect()
}

/// `wave` with output channel `o` (rows of `per` values) scaled by `scales[o]`.
fn channels(scales: &[f32], per: usize, seed: usize) -> Vec<f32> {
    let w = wave(scales.len() * per, seed);
    w.chunks(per)
        .zip(scales)
        .flat_map(|(row, s)| row.iter().map(move |v| v * s))
        .collect()
}

fn vi(name: &str, dims: Option<&[i64]>) -> ValueInfoProto {
    ValueInfoProto {
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
    }
}

/// `x [1, 2, 8, 8]` -> Conv 2->4 3x3 pad 1 (channel ranges 1, 0.01, 0.1, 0.003) -> Relu ->
/// depthwise Conv 3x3 pad 1 (1, 0.02, 0.5, 0.005) -> GlobalAveragePool -> Flatten -> Gemm 4->6
/// (rows 1, 0.01, 0.3, 0.05, 1, 0.004) -> Relu -> Gemm 6->2 (a graph output: wide, per tensor).
fn model() -> Vec<u8> {
    let gemm =
        |a: &str, w: &str, b: &str, y: &str| node("Gemm", &[a, w, b], y, vec![int("transB", 1)]);
    let conv = |a: &str, w: &str, b: &str, y: &str, group: i64| {
        node(
            "Conv",
            &[a, w, b],
            y,
            vec![
                ints("kernel_shape", &[3, 3]),
                ints("pads", &[1, 1, 1, 1]),
                int("group", group),
            ],
        )
    };
    let graph = GraphProto {
        node: vec![
            conv("x", "w1", "b1", "c1", 1),
            node("Relu", &["c1"], "r1", vec![]),
            conv("r1", "w2", "b2", "c2", 4),
            node("GlobalAveragePool", &["c2"], "p", vec![]),
            node("Flatten", &["p"], "f", vec![]),
            gemm("f", "w3", "b3", "g"),
            node("Relu", &["g"], "r3", vec![]),
            gemm("r3", "w4", "b4", "y"),
        ],
        name: "per_channel".into(),
        initializer: vec![
            init(
                "w1",
                &[4, 2, 3, 3],
                channels(&[1.0, 0.01, 0.1, 0.003], 18, 1),
            ),
            init("b1", &[4], vec![0.05, 0.001, -0.01, 0.0005]),
            init(
                "w2",
                &[4, 1, 3, 3],
                channels(&[1.0, 0.02, 0.5, 0.005], 9, 2),
            ),
            init("b2", &[4], vec![0.1, -0.002, 0.03, 0.0]),
            init(
                "w3",
                &[6, 4],
                channels(&[1.0, 0.01, 0.3, 0.05, 1.0, 0.004], 4, 3),
            ),
            init("b3", &[6], vec![0.2, 0.001, -0.05, 0.01, 0.3, 0.0]),
            init("w4", &[2, 6], wave(12, 4)),
            init("b4", &[2], vec![0.1, -0.1]),
        ],
        input: vec![vi("x", Some(&[1, 2, 8, 8]))],
        output: vec![vi("y", None), vi("g", None)],
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
        shape: vec![1, 2, 8, 8],
        data: wave(128, seed),
    }
}

fn run(pkg: &vouch_model::Package, x: &FTensor, threads: usize) -> Vec<vouch_engine::Tensor> {
    let q = vouch_task::codec::quantize_inputs(pkg, std::slice::from_ref(x));
    Engine::new(
        pkg,
        Options {
            threads,
            trace: false,
        },
    )
    .unwrap()
    .run(q)
    .unwrap()
    .outputs
}

#[test]
fn channels_of_different_ranges_import_per_channel_and_match_the_float_model() {
    let g = vouch_onnx::import(&model(), &Default::default()).unwrap();
    let cal = FTensor {
        shape: vec![8, 2, 8, 8],
        data: (0..8).flat_map(|s| input(s).data).collect(),
    };
    let pkg = vouch_quant::import_at(
        &g,
        vec![cal],
        "per_channel",
        [0; 32],
        Precision::Int16,
        |_| {},
    )
    .unwrap();
    assert_eq!(pkg.semantics_version, vouch_semantics::PER_CHANNEL_VERSION);
    // both Convs and the first Gemm per channel; the last Gemm (a wide output) per tensor
    let mut per_channel = Vec::new();
    for n in &pkg.nodes {
        if let Op::Linear {
            weight, bias, rq, ..
        }
        | Op::Conv {
            weight, bias, rq, ..
        } = n.op
        {
            let (w, b) = (
                &pkg.consts[weight as usize],
                &pkg.consts[bias.unwrap() as usize],
            );
            let outs = w.shape[0] as usize;
            if let Some(m) = vouch_semantics::channel_multipliers(&b.shape, &b.data, outs) {
                assert_eq!(rq.m, 0, "{}", n.name);
                // every channel's weights span the i16 range
                for row in w.data.chunks(w.data.len() / outs) {
                    let top = row.iter().map(|v| v.abs()).max().unwrap();
                    assert_eq!(top, 32_767, "{}", n.name);
                }
                per_channel.push((n.name.clone(), m));
            }
        }
    }
    let names: Vec<&str> = per_channel.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["c1", "c2", "g"], "{per_channel:?}");
    // held-out inputs: 1 and 2 threads agree bit for bit, and each output is close to the
    // float model relative to its range (a multiplier applied to the wrong channel, or a
    // channel's weights at the wrong scale, is off by its 3x-300x ratio)
    let mut worst = 0f64;
    for seed in 20..24 {
        let x = input(seed);
        let out = run(&pkg, &x, 1);
        assert_eq!(out, run(&pkg, &x, 2), "1 vs 2 threads");
        let want = vouch_quant::float::run(&g, vec![x]).unwrap();
        for (o, &v) in g.outputs.iter().enumerate() {
            let got = vouch_task::codec::dequantize(&pkg, o, &out[o]);
            let want = &want[v].data;
            let range = want.iter().fold(1e-6f64, |m, v| m.max(f64::from(v.abs())));
            for (a, b) in got.iter().zip(want) {
                worst = worst.max((a - f64::from(*b)).abs() / range);
            }
        }
    }
    println!("per-channel model: largest error vs the float model {worst:.2e}");
    assert!(worst < 2e-3, "error {worst}");
}
