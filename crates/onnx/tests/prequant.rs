//! Pre-quantized forms at import (`lower/prequant.rs`, `lower/prequant_dyn.rs`): a
//! `DequantizeLinear` of a constant folds to exactly `f32(q - zp) · s` (per tensor and per
//! axis, int8, uint8 and int32 elements); a `QuantizeLinear` of a computed tensor is `Mul`,
//! `Round`, `Clip`, `Mul`, and its `DequantizeLinear` adds nothing; onnxruntime's dynamic
//! quantization pattern becomes one `Conv`/`Linear` by the dequantized weights; the malformed
//! forms are refused naming the node and the form.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{A, imp, input, model, node, node_in, ops, tf};
use vouch_onnx::FOp;
use vouch_onnx::proto::TensorProto;

/// An integer tensor of ONNX type `ty` (2 uint8, 3 int8, 6 int32) in `int32_data`.
fn tq(name: &str, ty: i32, dims: &[i64], data: &[i32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: ty,
        int32_data: data.to_vec(),
        ..Default::default()
    }
}

/// The weight of the graph's only `Conv` or `Linear`, and its bias.
fn weight_of(g: &vouch_onnx::FGraph) -> (Vec<f32>, Option<Vec<f32>>) {
    let (w, b) = g
        .nodes
        .iter()
        .find_map(|n| match &n.op {
            FOp::Conv { weight, bias, .. } | FOp::Linear { weight, bias } => Some((*weight, *bias)),
            _ => None,
        })
        .expect("a Conv or Linear");
    (
        g.consts[w].data.clone(),
        b.map(|b| g.consts[b].data.clone()),
    )
}

#[test]
fn dequantize_linear_of_a_constant_folds_exactly() {
    // int8 weights [3, 2] per axis 0 (scales, zero points per row), a MatMul by their transpose
    let q = [-128, 127, 5, -7, 0, 33];
    let s = [0.013_f32, 0.5, 1.0e-3];
    let zp = [0, -3, 4];
    let bytes = model(
        13,
        vec![
            node(
                "DequantizeLinear",
                &["wq", "ws", "wz"],
                &["w"],
                vec![A::I("axis", 0)],
            ),
            node("Transpose", &["w"], &["wt"], vec![A::Is("perm", &[1, 0])]),
            node("MatMul", &["x", "wt"], &["y"], vec![]),
        ],
        vec![
            tq("wq", 3, &[3, 2], &q),
            tf("ws", &[3], &s),
            tq("wz", 3, &[3], &zp),
        ],
        vec![input("x", &[-1, 2])],
        &["y"],
    );
    let g = imp(&bytes).unwrap();
    assert_eq!(ops(&g), ["Linear"]);
    // the Linear's [N, K] weight is the dequantized [3, 2] itself
    let want: Vec<f32> = q
        .iter()
        .enumerate()
        .map(|(i, &v)| (v - zp[i / 2]) as f32 * s[i / 2])
        .collect();
    assert_eq!(weight_of(&g).0, want);

    // an int32 bias at a per-tensor scale, uint8 with its zero point
    let bytes = model(
        13,
        vec![
            node("DequantizeLinear", &["bq", "bs"], &["b"], vec![]),
            node("DequantizeLinear", &["uq", "us", "uz"], &["u"], vec![]),
            node("Add", &["x", "b"], &["t"], vec![]),
            node("Mul", &["t", "u"], &["y"], vec![]),
        ],
        vec![
            tq("bq", 6, &[2], &[-100_000, 2_000_000_000]),
            tf("bs", &[], &[1.5e-5]),
            tq("uq", 2, &[2], &[0, 255]),
            tf("us", &[], &[0.25]),
            tq("uz", 2, &[], &[128]),
        ],
        vec![input("x", &[-1, 2])],
        &["y"],
    );
    let g = imp(&bytes).unwrap();
    let consts: Vec<Vec<f32>> = g.consts.iter().map(|c| c.data.clone()).collect();
    assert!(consts.contains(&vec![-100_000.0 * 1.5e-5, 2_000_000_000.0_f32 * 1.5e-5]));
    assert!(consts.contains(&vec![-32.0, 31.75]), "{consts:?}");
}

#[test]
fn a_qdq_pair_is_the_float_meaning_of_the_quantization() {
    let bytes = model(
        13,
        vec![
            node("Relu", &["x"], &["r"], vec![]),
            node("QuantizeLinear", &["r", "s", "z"], &["q"], vec![]),
            node("DequantizeLinear", &["q", "s", "z"], &["y"], vec![]),
        ],
        vec![tf("s", &[], &[0.05]), tq("z", 2, &[], &[10])],
        vec![input("x", &[-1, 4])],
        &["y"],
    );
    let g = imp(&bytes).unwrap();
    assert_eq!(ops(&g), ["Relu", "Mul", "Map", "Clip", "Mul"]);
    let clip = g
        .nodes
        .iter()
        .find_map(|n| match n.op {
            FOp::Clip { min, max } => Some((min, max)),
            _ => None,
        })
        .unwrap();
    // uint8 [0, 255] less the zero point 10, in steps
    assert_eq!(clip, (-10.0, 245.0));
    assert!(matches!(
        g.nodes[2].op,
        FOp::Map {
            f: vouch_onnx::ScalarFn::Round
        }
    ));
}

#[test]
fn the_dynamic_pattern_is_one_conv_by_the_dequantized_weights() {
    // onnxruntime's older form: bias over the scale product, Floor, Cast, Reshape, Add
    let w = [3, 250, 128, 0];
    let bytes = model(
        13,
        vec![
            node("DynamicQuantizeLinear", &["x"], &["xq", "xs", "xz"], vec![]),
            node("Mul", &["xs", "ws"], &["scale"], vec![]),
            node("Div", &["b", "scale"], &["bq_f"], vec![]),
            node("Floor", &["bq_f"], &["bq_r"], vec![]),
            node("Cast", &["bq_r"], &["bq"], vec![A::I("to", 6)]),
            node("ConvInteger", &["xq", "wq", "xz", "wz"], &["acc"], vec![]),
            node("Reshape", &["bq", "bshape"], &["bq4"], vec![]),
            node("Add", &["acc", "bq4"], &["accb"], vec![]),
            node("Cast", &["accb"], &["accf"], vec![A::I("to", 1)]),
            node("Mul", &["xs", "ws"], &["scale2"], vec![]),
            node("Mul", &["accf", "scale2"], &["y"], vec![]),
        ],
        vec![
            tq("wq", 2, &[1, 4, 1, 1], &w),
            tf("ws", &[], &[0.02]),
            tq("wz", 2, &[], &[128]),
            tf("b", &[1], &[0.75]),
            common::ti("bshape", &[4], &[1, -1, 1, 1]),
        ],
        vec![input("x", &[-1, 4, 3, 3])],
        &["y"],
    );
    let g = imp(&bytes).unwrap();
    assert_eq!(ops(&g), ["Conv"]);
    let (wd, bias) = weight_of(&g);
    let want: Vec<f32> = w.iter().map(|&q| (q - 128) as f32 * 0.02).collect();
    assert_eq!(wd, want);
    // the bias is b (onnxruntime's Floor of b over the scales is not reproduced)
    let b = bias.unwrap()[0];
    assert!((b - 0.75).abs() < 1e-6, "{b}");
}

#[test]
fn malformed_forms_are_refused_naming_the_node() {
    // a zero point computed from the input
    let bytes = model(
        13,
        vec![
            node("Relu", &["x"], &["r"], vec![]),
            node("QuantizeLinear", &["r", "s", "r"], &["y"], vec![]),
        ],
        vec![tf("s", &[], &[0.05])],
        vec![input("x", &[-1, 4])],
        &["y"],
    );
    let e = imp(&bytes).unwrap_err().to_string();
    assert!(
        e.contains("n_y") && e.contains("a computed zero point"),
        "{e}"
    );

    // a DynamicQuantizeLinear output read by anything but the pattern
    let bytes = model(
        13,
        vec![
            node("DynamicQuantizeLinear", &["x"], &["xq", "xs", "xz"], vec![]),
            node("Cast", &["xq"], &["xf"], vec![A::I("to", 1)]),
            node("Relu", &["xf"], &["y"], vec![]),
        ],
        vec![],
        vec![input("x", &[-1, 4])],
        &["y"],
    );
    let e = imp(&bytes).unwrap_err().to_string();
    assert!(
        e.contains("n_xf") && e.contains("`xq`, the quantized tensor of DynamicQuantizeLinear"),
        "{e}"
    );

    // ... or as a graph output
    let bytes = model(
        13,
        vec![node(
            "DynamicQuantizeLinear",
            &["x"],
            &["xq", "xs", "xz"],
            vec![],
        )],
        vec![],
        vec![input("x", &[-1, 4])],
        &["xs"],
    );
    let e = imp(&bytes).unwrap_err().to_string();
    assert!(e.contains("n_xq") && e.contains("graph output `xs`"), "{e}");

    // a DequantizeLinear of a float tensor no quantization produced
    let bytes = model(
        13,
        vec![
            node("Relu", &["x"], &["r"], vec![]),
            node("DequantizeLinear", &["r", "s"], &["y"], vec![]),
        ],
        vec![tf("s", &[], &[0.05])],
        vec![input("x", &[-1, 4])],
        &["y"],
    );
    let e = imp(&bytes).unwrap_err().to_string();
    assert!(
        e.contains("n_y") && e.contains("no QuantizeLinear or QLinear op produced"),
        "{e}"
    );

    // a DequantizeLinear at other parameters than its QuantizeLinear's
    let bytes = model(
        13,
        vec![
            node("QuantizeLinear", &["x", "s", "z"], &["q"], vec![]),
            node("DequantizeLinear", &["q", "s2", "z"], &["y"], vec![]),
        ],
        vec![
            tf("s", &[], &[0.05]),
            tf("s2", &[], &[0.1]),
            tq("z", 3, &[], &[0]),
        ],
        vec![input("x", &[-1, 4])],
        &["y"],
    );
    let e = imp(&bytes).unwrap_err().to_string();
    assert!(
        e.contains("n_y") && e.contains("quantized at scale 0.05"),
        "{e}"
    );

    // a ConvInteger whose zero point is not its DynamicQuantizeLinear's
    let bytes = model(
        13,
        vec![
            node("DynamicQuantizeLinear", &["x"], &["xq", "xs", "xz"], vec![]),
            node("ConvInteger", &["xq", "wq"], &["y"], vec![]),
        ],
        vec![tq("wq", 2, &[1, 4, 1, 1], &[1, 2, 3, 4])],
        vec![input("x", &[-1, 4, 3, 3])],
        &["y"],
    );
    let e = imp(&bytes).unwrap_err().to_string();
    assert!(e.contains("n_y") && e.contains("not its zero point"), "{e}");

    // a DynamicQuantizeLSTM weight that is not integer
    let bytes = model(
        13,
        vec![node_in(
            "com.microsoft",
            "DynamicQuantizeLSTM",
            &["x", "w", "r", "", "", "", "", "", "ws", "wz", "rs", "rz"],
            &["y"],
        )],
        vec![
            tf("w", &[1, 2, 4], &[0.0; 8]),
            tf("r", &[1, 1, 4], &[0.0; 4]),
            tf("ws", &[1], &[0.1]),
            tq("wz", 3, &[1], &[0]),
            tf("rs", &[1], &[0.1]),
            tq("rz", 3, &[1], &[0]),
        ],
        vec![input("x", &[3, 1, 2])],
        &["y"],
    );
    let e = imp(&bytes).unwrap_err().to_string();
    assert!(e.contains("n_y") && e.contains("integer tensor"), "{e}");
}
