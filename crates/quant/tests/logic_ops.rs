//! ONNX comparisons, logic ops and `Where` on computed tensors, end to end: imported (one
//! `Logic` or `Where` node each), quantized into integer `Add`, `Mul` and `Lut` nodes, run by
//! the integer engine. Bool outputs must equal the float comparison exactly where the operands
//! share a scale; `Where` picks exactly the quantized operand. `Div` of two computed tensors
//! (a `Mul` by a fine `Reciprocal` table) is measured against its bound.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

mod one_node;

use one_node::value_info as vi;
use prost::Message as _;
use vouch_engine::{Engine, Options};
use vouch_model::{Kind, Op};
use vouch_onnx::proto::{GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto};
use vouch_quant::{FTensor, Precision};

fn node(op: &str, ins: &[&str], out: &str) -> NodeProto {
    NodeProto {
        input: ins.iter().map(|s| (*s).into()).collect(),
        output: vec![out.into()],
        name: out.into(),
        op_type: op.into(),
        ..Default::default()
    }
}

fn init(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: 1,
        float_data: data.to_vec(),
        ..Default::default()
    }
}

/// A model on float inputs `x`, `y` of shape `[N, 6]` with `nodes`, initializers `inits`
/// and outputs `(name, elem_type)` (9 for bool, 1 for float).
fn model(nodes: Vec<NodeProto>, inits: Vec<TensorProto>, outs: &[(&str, i32)]) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 16,
        }],
        graph: Some(GraphProto {
            node: nodes,
            name: "g".into(),
            initializer: inits,
            input: vec![vi("x", 1, Some(&[-1, 6])), vi("y", 1, Some(&[-1, 6]))],
            output: outs.iter().map(|(n, t)| vi(n, *t, None)).collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// Imports, calibrates on `inputs`, quantizes at `precision` and runs the engine: the
/// package and each output dequantized.
fn run(
    onnx: &[u8],
    inputs: &[FTensor],
    precision: Precision,
) -> (vouch_model::Package, Vec<Vec<f64>>) {
    let g = vouch_onnx::import(onnx, &Default::default()).unwrap();
    let pkg =
        vouch_quant::import_at(&g, inputs.to_vec(), "logic", [0; 32], precision, |_| {}).unwrap();
    let engine = Engine::new(
        &pkg,
        Options {
            threads: 1,
            trace: false,
        },
    )
    .unwrap();
    let exec = engine
        .run(vouch_quant::quantize_inputs(&pkg, inputs))
        .unwrap();
    let outs = exec
        .outputs
        .iter()
        .enumerate()
        .map(|(i, t)| vouch_quant::dequantize(&pkg, i, t))
        .collect();
    (pkg, outs)
}

fn t(rows: &[[f32; 6]]) -> FTensor {
    FTensor {
        shape: vec![rows.len(), 6],
        data: rows.iter().flatten().copied().collect(),
    }
}

/// `x` and `y` span the same range (so they share a scale) and are equal in some places.
fn same_scale_inputs() -> Vec<FTensor> {
    vec![
        t(&[
            [-3.0, -1.5, 0.0, 0.5, 2.25, 3.0],
            [1.0, 1.0, -0.25, 2.0, -3.0, 0.75],
        ]),
        t(&[
            [3.0, -1.5, 0.25, 0.5, 2.0, -3.0],
            [1.25, 1.0, -0.25, -2.0, -3.0, 0.5],
        ]),
    ]
}

fn b(c: bool) -> f64 {
    if c { 1.0 } else { 0.0 }
}

/// Every comparison and logic op, on two computed tensors and against constants, at 16 and 8
/// bits: the bools equal the float comparisons exactly (the operands share a scale), each is a
/// bool output of kind `act8` at scale 1, and nothing but `Add`, `Mul` and `Lut` nodes (and
/// `Rescale` onto a common scale) computes them.
#[test]
fn comparisons_and_logic_ops_are_exact_on_one_scale() {
    type Cmp = fn(f32, f32) -> bool;
    let cmp: [(&str, Cmp); 5] = [
        ("Greater", |a, b| a > b),
        ("Less", |a, b| a < b),
        ("Equal", |a, b| a == b),
        ("GreaterOrEqual", |a, b| a >= b),
        ("LessOrEqual", |a, b| a <= b),
    ];
    let mut nodes: Vec<NodeProto> = cmp
        .iter()
        .map(|(op, _)| node(op, &["x", "y"], &op.to_lowercase()))
        .collect();
    // against a constant row (broadcast over the batch) and a scalar on the left
    nodes.push(node("Greater", &["x", "row"], "gt_row"));
    nodes.push(node("Less", &["half", "y"], "half_lt_y"));
    nodes.push(node("And", &["greater", "gt_row"], "and"));
    nodes.push(node("Or", &["less", "equal"], "or"));
    nodes.push(node("Xor", &["greaterorequal", "half_lt_y"], "xor"));
    nodes.push(node("Not", &["and"], "not"));
    nodes.push(node("And", &["or", "mask"], "and_const"));
    let row = [0.0, -2.0, 0.0, 0.5, 3.0, 1.0];
    let mask = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0];
    let inits = vec![
        init("row", &[6], &row),
        init("half", &[], &[0.5]),
        init("mask", &[6], &mask),
    ];
    let names = [
        "greater",
        "less",
        "equal",
        "greaterorequal",
        "lessorequal",
        "gt_row",
        "half_lt_y",
        "and",
        "or",
        "xor",
        "not",
        "and_const",
    ];
    let outs: Vec<(&str, i32)> = names.iter().map(|n| (*n, 9)).collect();
    let onnx = model(nodes, inits, &outs);
    let inputs = same_scale_inputs();
    let (x, y) = (&inputs[0].data, &inputs[1].data);
    let mut want: Vec<Vec<f64>> = cmp
        .iter()
        .map(|(_, f)| x.iter().zip(y).map(|(&a, &c)| b(f(a, c))).collect())
        .collect();
    let k = |i: usize| i % 6;
    want.push((0..12).map(|i| b(x[i] > row[k(i)])).collect());
    want.push((0..12).map(|i| b(0.5 < y[i])).collect());
    let and: Vec<f64> = (0..12)
        .map(|i| b(x[i] > y[i] && x[i] > row[k(i)]))
        .collect();
    let or: Vec<f64> = (0..12).map(|i| b(x[i] <= y[i])).collect();
    want.push(and.clone());
    want.push(or.clone());
    want.push((0..12).map(|i| b((x[i] >= y[i]) != (0.5 < y[i]))).collect());
    want.push(and.iter().map(|&a| 1.0 - a).collect());
    want.push((0..12).map(|i| or[i] * f64::from(mask[k(i)])).collect());
    for precision in [Precision::Int16, Precision::Int8] {
        let (pkg, got) = run(&onnx, &inputs, precision);
        for (i, name) in names.iter().enumerate() {
            assert_eq!(got[i], want[i], "{name} at {precision:?}");
            let info = &pkg.values[pkg.outputs[i].value as usize];
            assert_eq!((info.kind, info.scale), (Kind::Act8, 1.0), "{name}");
        }
        for n in &pkg.nodes {
            assert!(
                matches!(
                    n.op,
                    Op::Add { .. } | Op::Mul { .. } | Op::Lut { .. } | Op::Rescale { .. }
                ),
                "{}: {:?}",
                n.name,
                n.op
            );
        }
    }
}

/// Operands on different scales: the bool is the comparison of the values the integers stand
/// for (the scales' ratio in 24 bits), so it equals the float comparison wherever the two
/// differ by more than the coarser operand's step.
#[test]
fn comparisons_across_scales_hold_up_to_quantization() {
    let onnx = model(
        vec![
            node("Greater", &["x", "y"], "g"),
            node("Equal", &["x", "y"], "e"),
        ],
        vec![],
        &[("g", 9), ("e", 9)],
    );
    // y spans a range 7.3 times x's
    let inputs = vec![
        t(&[[-1.0, -0.5, 0.0, 0.3, 0.7, 1.0]]),
        t(&[[7.3, -0.45, 0.0, 0.2, 0.71, -7.3]]),
    ];
    let (pkg, got) = run(&onnx, &inputs, Precision::Int16);
    let step = pkg
        .inputs
        .iter()
        .map(|i| pkg.values[i.value as usize].scale)
        .fold(0f64, f64::max);
    let (x, y) = (&inputs[0].data, &inputs[1].data);
    for i in 0..6 {
        let d = f64::from(x[i]) - f64::from(y[i]);
        if d.abs() > step {
            assert_eq!(got[0][i], b(d > 0.0), "element {i}");
            assert_eq!(got[1][i], 0.0, "element {i}");
        }
    }
    // zero is zero at any scale
    assert_eq!((got[0][2], got[1][2]), (0.0, 1.0));
}

/// `Where` of a computed condition picks `x` or `y` (or a constant) exactly: the output is
/// the chosen operand on the common scale, within one output step of the float; a condition
/// of fewer elements than the output (`[N, 1]`) broadcasts.
#[test]
fn where_picks_the_operand_exactly() {
    let onnx = model(
        vec![
            node("Greater", &["x", "y"], "c"),
            node("Where", &["c", "x", "y"], "w"),
            node("Not", &["c"], "nc"),
            node("Where", &["nc", "x", "k"], "wk"),
            node("Where", &["cc", "y", "x"], "wc"),
            // a condition of shape [N, 1] (and its Not) broadcast over x's rows
            NodeProto {
                attribute: vec![vouch_onnx::proto::AttributeProto {
                    name: "axes".into(),
                    r#type: 7,
                    ints: vec![1],
                    ..Default::default()
                }],
                ..node("ReduceMax", &["x"], "m")
            },
            node("Greater", &["m", "half"], "cm"),
            node("Where", &["cm", "k", "y"], "wm"),
        ],
        vec![
            init("k", &[6], &[9.0, -9.0, 0.5, 0.0, 1.5, -2.0]),
            init("cc", &[6], &[1.0, 0.0, 0.0, 1.0, 1.0, 0.0]),
            init("half", &[], &[2.5]),
        ],
        &[("w", 1), ("wk", 1), ("wc", 1), ("wm", 1)],
    );
    let inputs = same_scale_inputs();
    let (x, y) = (&inputs[0].data, &inputs[1].data);
    let k = [9.0f32, -9.0, 0.5, 0.0, 1.5, -2.0];
    let cc = [true, false, false, true, true, false];
    for precision in [Precision::Int16, Precision::Int8] {
        let (pkg, got) = run(&onnx, &inputs, precision);
        // row 0 of x reaches 3.0 > 2.5, row 1 only 2.0
        let want: [Vec<f32>; 4] = [
            (0..12)
                .map(|i| if x[i] > y[i] { x[i] } else { y[i] })
                .collect(),
            (0..12)
                .map(|i| if x[i] > y[i] { k[i % 6] } else { x[i] })
                .collect(),
            (0..12)
                .map(|i| if cc[i % 6] { y[i] } else { x[i] })
                .collect(),
            (0..12)
                .map(|i| if i < 6 { k[i % 6] } else { y[i] })
                .collect(),
        ];
        for (o, w) in want.iter().enumerate() {
            let step = pkg.values[pkg.outputs[o].value as usize].scale;
            for (i, (&g, &e)) in got[o].iter().zip(w).enumerate() {
                assert!(
                    (g - f64::from(e)).abs() <= step / 2.0 + 1e-12,
                    "output {o} element {i} at {precision:?}: {g} vs {e} (step {step})"
                );
            }
        }
    }
}

/// The refusals name the node and the form.
#[test]
fn logic_ops_of_non_bools_are_refused() {
    let onnx = model(vec![node("And", &["x", "y"], "a")], vec![], &[("a", 9)]);
    let e = vouch_onnx::import(&onnx, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not a bool computed by a comparison"), "{e}");
    let onnx = model(
        vec![
            node("Relu", &["x"], "r"),
            node("Where", &["r", "x", "y"], "w"),
        ],
        vec![],
        &[("w", 1)],
    );
    let e = vouch_onnx::import(&onnx, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"w\"") || e.contains("w"), "{e}");
    assert!(e.contains("is not a bool"), "{e}");
}

/// `Div` of two computed tensors is `x · Reciprocal(y)`, the reciprocal a fine table: its
/// error, measured here on divisors in `[1, 2)` (as ONNX's `test_div`) and in `[0.25, 4)`,
/// stays within the node-test bound (2 output steps plus 3% of the largest |expected|), and at
/// 16 bits within 0.1% of the largest quotient (measured: 0.006% and 0.021%; at 8 bits 1.0%
/// and 2.7%).
#[test]
fn div_by_a_computed_tensor_is_within_the_node_bound() {
    let onnx = model(vec![node("Div", &["x", "y"], "q")], vec![], &[("q", 1)]);
    let n = 48;
    let x: Vec<f32> = (0..n)
        .map(|i| ((i * 37 % 23) as f32 - 11.0) / 3.7)
        .collect();
    for (lo, hi) in [(1.0f32, 2.0f32), (0.25, 4.0)] {
        let y: Vec<f32> = (0..n)
            .map(|i| lo * (hi / lo).powf(((i * 29 % 47) as f32) / 47.0))
            .collect();
        let inputs = vec![
            FTensor {
                shape: vec![n / 6, 6],
                data: x.clone(),
            },
            FTensor {
                shape: vec![n / 6, 6],
                data: y.clone(),
            },
        ];
        let want: Vec<f64> = x
            .iter()
            .zip(&y)
            .map(|(&a, &d)| f64::from(a) / f64::from(d))
            .collect();
        let top = want.iter().fold(0f64, |m, v| m.max(v.abs()));
        for precision in [Precision::Int16, Precision::Int8] {
            let (pkg, got) = run(&onnx, &inputs, precision);
            let step = pkg.values[pkg.outputs[0].value as usize].scale;
            let err = got[0]
                .iter()
                .zip(&want)
                .fold(0f64, |m, (g, w)| m.max((g - w).abs()));
            println!(
                "Div, divisors in [{lo}, {hi}), {precision:?}: max abs error {err:.5} ({:.3}% of \
                 the largest quotient {top:.3}; output step {step:.5})",
                100.0 * err / top
            );
            assert!(err <= 2.0 * step + 0.03 * top, "{precision:?}: {err}");
            if precision == Precision::Int16 {
                assert!(err <= 0.001 * top, "{err} vs {top}");
            }
        }
    }
}

/// A one-hot of integer codes (magika's first layer: `Equal` of byte codes `[N, 4, 1]` against
/// the constant `0..=256`) is exact: the constant lies on the codes' grid, so it is stored at
/// their scale and compared with multipliers `(1, 1)`; at its own scale it would fall between
/// the codes' steps and `Equal` would be false for most codes. At 8 bits the constant must fit
/// 127 steps (`0..=100` here).
#[test]
fn a_one_hot_of_integer_codes_is_exact() {
    let one_hot = |n: usize| {
        let k: Vec<f32> = (0..n).map(|v| v as f32).collect();
        let onnx = ModelProto {
            ir_version: 8,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: 16,
            }],
            graph: Some(GraphProto {
                node: vec![node("Equal", &["c", "k"], "e")],
                name: "g".into(),
                initializer: vec![init("k", &[n as i64], &k)],
                input: vec![vi("c", 7, Some(&[-1, 4, 1]))],
                output: vec![vi("e", 9, None)],
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec();
        (onnx, k)
    };
    let cases = [
        (
            Precision::Int16,
            257,
            [0.0f32, 1.0, 200.0, 256.0, 7.0, 129.0, 255.0, 2.0],
        ),
        (
            Precision::Int8,
            101,
            [0.0f32, 1.0, 99.0, 100.0, 7.0, 50.0, 3.0, 2.0],
        ),
    ];
    for (precision, n, codes) in cases {
        let (onnx, k) = one_hot(n);
        let inputs = vec![FTensor {
            shape: vec![2, 4, 1],
            data: codes.to_vec(),
        }];
        let (_, got) = run(&onnx, &inputs, precision);
        for (i, &c) in codes.iter().enumerate() {
            for (j, &kj) in k.iter().enumerate() {
                assert_eq!(
                    got[0][i * n + j],
                    b(c == kj),
                    "{precision:?} code {c} vs {kj}"
                );
            }
        }
    }
}
