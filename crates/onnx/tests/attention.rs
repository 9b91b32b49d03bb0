//! ONNX `Attention` lowers to its function body over existing ops; the masks known at import
//! (causal, sliding window, a constant boolean or `-inf` mask) become one `Where` by a
//! constant 0/1 condition before the `Softmax`, and the forms that cannot run are refused
//! naming the node. (The ONNX backend's Attention cases replay through `onnx_node`.)

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{A, imp, input, model, node, ops, out_shape, tf};
use vouch_onnx::Dim::{Batch, Fixed};
use vouch_onnx::proto::{NodeProto, TensorProto, ValueInfoProto};
use vouch_onnx::{Error, FGraph, FOp, Operand};

/// 4-D inputs `[1, heads, seq, 2]` for Q, K and V.
fn inputs4(qh: i64, kvh: i64, sq: i64, skv: i64) -> Vec<ValueInfoProto> {
    vec![
        input("q", &[1, qh, sq, 2]),
        input("k", &[1, kvh, skv, 2]),
        input("v", &[1, kvh, skv, 2]),
    ]
}

fn attention(ins: &[&str], outs: &[&str], attrs: Vec<A<'_>>) -> NodeProto {
    node("Attention", ins, outs, attrs)
}

/// The data of the constant operand `i` of the graph's only node of op `name`.
fn const_of(g: &FGraph, name: &str, i: usize) -> Vec<f32> {
    let n = g
        .nodes
        .iter()
        .find(|n| format!("{:?}", n.op).starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in {:?}", ops(g)));
    match n.inputs[i] {
        Operand::Const(c) => g.consts[c].data.clone(),
        Operand::Value(_) => panic!("operand {i} of {name} is computed"),
    }
}

/// The allowed positions of a `[sq, skv]` mask as rows of 0/1.
fn rows(data: &[f32], skv: usize) -> Vec<Vec<u8>> {
    data.chunks(skv)
        .map(|r| r.iter().map(|&x| u8::from(x != 0.0)).collect())
        .collect()
}

#[test]
fn plain_4d_is_matmul_softmax_matmul() {
    // (axis 0 fixed at 1 is read as the rows: the batch stays symbolic through the body)
    let m = model(
        23,
        vec![attention(&["q", "k", "v"], &["y"], vec![])],
        vec![],
        inputs4(2, 2, 3, 4),
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Mul", "Transpose", "MatMul", "Softmax", "MatMul"]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(2), Fixed(3), Fixed(2)]);
    // the default scale 1/sqrt(head size)
    assert_eq!(const_of(&g, "Mul", 1), [1.0 / 2f32.sqrt()]);
}

#[test]
fn causal_with_past_masks_by_offset_and_outputs_the_caches() {
    // 3 new queries after a past of 2: query i sees keys j <= i + 2
    let m = model(
        23,
        vec![attention(
            &["q", "k", "v", "", "pk", "pv"],
            &["y", "present_k", "present_v"],
            vec![A::I("is_causal", 1)],
        )],
        vec![],
        [
            inputs4(1, 1, 3, 3),
            vec![input("pk", &[1, 1, 2, 2]), input("pv", &[1, 1, 2, 2])],
        ]
        .concat(),
        &["y", "present_k", "present_v"],
    );
    let g = imp(&m).unwrap();
    assert!(ops(&g).contains(&"Where".to_owned()), "{:?}", ops(&g));
    assert_eq!(
        rows(&const_of(&g, "Where", 0), 5),
        [
            vec![1, 1, 1, 0, 0],
            vec![1, 1, 1, 1, 0],
            vec![1, 1, 1, 1, 1]
        ]
    );
    assert_eq!(out_shape(&g, 1), [Batch, Fixed(1), Fixed(5), Fixed(2)]);
    // the masked scores sit 16 below their row's smallest score
    assert_eq!(const_of(&g, "Add", 1), [-16.0]);
}

#[test]
fn sliding_window_of_opset_25() {
    let m = model(
        25,
        vec![attention(
            &["q", "k", "v"],
            &["y"],
            vec![A::I("left_window_size", 1), A::I("right_window_size", 0)],
        )],
        vec![],
        inputs4(1, 1, 3, 3),
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(
        rows(&const_of(&g, "Where", 0), 3),
        [vec![1, 0, 0], vec![1, 1, 0], vec![0, 1, 1]]
    );
}

#[test]
fn constant_float_mask_splits_into_bias_and_mask_and_zeroes_empty_rows() {
    let ninf = f32::NEG_INFINITY;
    let mask = tf("m", &[2, 3], &[0.5, ninf, 0.0, ninf, ninf, ninf]);
    let m = model(
        23,
        vec![attention(&["q", "k", "v", "m"], &["y"], vec![])],
        vec![mask],
        inputs4(1, 1, 2, 3),
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(
        ops(&g),
        [
            "Mul",
            "Transpose",
            "MatMul",
            "Add",
            "Reduce",
            "Add",
            "Where",
            "Softmax",
            "Mul",
            "MatMul"
        ]
    );
    // the finite part is added, -inf becomes 0 there and a masked position
    assert_eq!(const_of(&g, "Add", 1), [0.5, 0.0, 0.0, 0.0, 0.0, 0.0]);
    assert_eq!(
        rows(&const_of(&g, "Where", 0), 3),
        [vec![1, 0, 1], vec![0, 0, 0]]
    );
    // the second query sees no key: its probabilities are 0, as ONNX defines
    let muls: Vec<_> = g
        .nodes
        .iter()
        .filter(|n| matches!(n.op, FOp::Mul))
        .collect();
    let Operand::Const(c) = muls[1].inputs[1] else {
        panic!("row mask is not a constant")
    };
    assert_eq!(g.consts[c].data, [1.0, 0.0]);
}

#[test]
fn constant_bool_mask_shorter_than_the_keys_is_padded_masked() {
    let mask = TensorProto {
        name: "m".into(),
        dims: vec![2],
        data_type: 9,
        int32_data: vec![1, 0],
        ..Default::default()
    };
    let m = model(
        23,
        vec![attention(&["q", "k", "v", "m"], &["y"], vec![])],
        vec![mask],
        inputs4(1, 1, 2, 3),
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(
        rows(&const_of(&g, "Where", 0), 3),
        [vec![1, 0, 0], vec![1, 0, 0]]
    );
    // no additive bias and no empty row: only the Where
    assert_eq!(
        ops(&g),
        [
            "Mul",
            "Transpose",
            "MatMul",
            "Reduce",
            "Add",
            "Where",
            "Softmax",
            "MatMul"
        ]
    );
}

#[test]
fn grouped_query_heads_read_their_shared_head() {
    let m = model(
        23,
        vec![attention(&["q", "k", "v"], &["y"], vec![])],
        vec![],
        inputs4(6, 2, 2, 2),
        &["y"],
    );
    let g = imp(&m).unwrap();
    let maps: Vec<_> = g
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            FOp::Select { maps } => Some(maps[1].clone()),
            _ => None,
        })
        .collect();
    assert_eq!(maps, [vec![0, 0, 0, 1, 1, 1], vec![0, 0, 0, 1, 1, 1]]);
}

#[test]
fn three_d_inputs_split_into_heads_and_merge_back() {
    let m = model(
        23,
        vec![attention(
            &["q", "k", "v"],
            &["y"],
            vec![
                A::I("q_num_heads", 2),
                A::I("kv_num_heads", 2),
                A::F("softcap", 2.0),
            ],
        )],
        vec![],
        vec![
            input("q", &[1, 3, 8]),
            input("k", &[1, 5, 8]),
            input("v", &[1, 5, 6]),
        ],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert!(ops(&g).contains(&"Tanh".to_owned()), "{:?}", ops(&g));
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3), Fixed(6)]);
}

fn refused(m: &[u8], needle: &str) {
    match imp(m) {
        Err(e @ Error::UnsupportedForm { .. }) => {
            let s = e.to_string();
            assert!(s.contains(needle), "{s}");
            assert!(s.contains("Attention"), "{s}");
        }
        other => panic!("expected a refusal naming {needle:?}, got {other:?}"),
    }
}

#[test]
fn refused_forms_name_the_node_and_the_form() {
    // a boolean mask fed at run time
    let mut bool_in = input("m", &[2, 2]);
    if let Some(vouch_onnx::proto::type_proto::Value::TensorType(t)) =
        bool_in.r#type.as_mut().and_then(|t| t.value.as_mut())
    {
        t.elem_type = 9;
    }
    let m = model(
        23,
        vec![attention(&["q", "k", "v", "m"], &["y"], vec![])],
        vec![],
        [inputs4(1, 1, 2, 2), vec![bool_in]].concat(),
        &["y"],
    );
    refused(&m, "boolean attn_mask computed at run time");
    // the scores plus a causal mask as an output hold -inf
    let m = model(
        23,
        vec![attention(
            &["q", "k", "v"],
            &["y", "", "", "qk"],
            vec![A::I("is_causal", 1), A::I("qk_matmul_output_mode", 2)],
        )],
        vec![],
        inputs4(1, 1, 2, 2),
        &["y", "qk"],
    );
    refused(&m, "qk_matmul_output_mode 2");
    // before opset 23 there is no Attention
    let m = model(
        22,
        vec![attention(&["q", "k", "v"], &["y"], vec![])],
        vec![],
        inputs4(1, 1, 2, 2),
        &["y"],
    );
    refused(&m, "opset 23");
    // heads that do not group
    let m = model(
        23,
        vec![attention(&["q", "k", "v"], &["y"], vec![])],
        vec![],
        inputs4(3, 2, 2, 2),
        &["y"],
    );
    assert!(matches!(imp(&m), Err(Error::Shape { .. })));
    // a causal mask too large to build is an error, not an allocation
    let m = model(
        23,
        vec![attention(
            &["q", "k", "v"],
            &["y"],
            vec![A::I("is_causal", 1)],
        )],
        vec![],
        inputs4(1, 1, 1 << 20, 1 << 20),
        &["y"],
    );
    assert!(matches!(imp(&m), Err(Error::Shape { .. })));
}

/// `x [N, 2, 3]` through `Relu`, then `Add` of `mask [2, 3]` (or `Where` by it), then `Softmax`
/// over `axis`; `also_out` keeps the masked scores as an output too.
fn masked_softmax(via_where: bool, mask: &[f32], axis: i64, also_out: bool) -> Vec<u8> {
    let ninf = f32::NEG_INFINITY;
    let (masking, inits) = if via_where {
        let cond = TensorProto {
            name: "c".into(),
            dims: vec![2, 3],
            data_type: 9,
            int32_data: mask.iter().map(|&m| i32::from(m.is_finite())).collect(),
            ..Default::default()
        };
        (
            node("Where", &["c", "r", "ninf"], &["s"], vec![]),
            vec![cond, tf("ninf", &[], &[ninf])],
        )
    } else {
        (
            node("Add", &["r", "m"], &["s"], vec![]),
            vec![tf("m", &[2, 3], mask)],
        )
    };
    let outs: &[&str] = if also_out { &["p", "s"] } else { &["p"] };
    model(
        23,
        vec![
            node("Relu", &["x"], &["r"], vec![]),
            masking,
            node("Cast", &["s"], &["sc"], vec![A::I("to", 1)]),
            node("Softmax", &["sc"], &["p"], vec![A::I("axis", axis)]),
        ],
        inits,
        vec![input("x", &[-1, 2, 3])],
        outs,
    )
}

#[test]
fn an_add_of_minus_infinity_before_a_softmax_is_a_mask() {
    let ninf = f32::NEG_INFINITY;
    let mask = [0.0, ninf, 0.25, ninf, 0.0, 0.0];
    for axis in [-1, 2] {
        let g = imp(&masked_softmax(false, &mask, axis, false)).unwrap();
        assert_eq!(
            ops(&g),
            ["Relu", "Add", "Reduce", "Add", "Where", "Softmax"],
            "axis {axis}"
        );
        assert_eq!(const_of(&g, "Add", 1), [0.0, 0.0, 0.25, 0.0, 0.0, 0.0]);
        assert_eq!(
            rows(&const_of(&g, "Where", 0), 3),
            [vec![1, 0, 1], vec![0, 1, 1]]
        );
    }
    // the same by a Where of -inf
    let g = imp(&masked_softmax(true, &mask, -1, false)).unwrap();
    assert_eq!(ops(&g), ["Relu", "Reduce", "Add", "Where", "Softmax"]);
    assert_eq!(
        rows(&const_of(&g, "Where", 0), 3),
        [vec![1, 0, 1], vec![0, 1, 1]]
    );
}

#[test]
fn minus_infinity_is_no_mask_where_the_sum_is_read_otherwise() {
    let ninf = f32::NEG_INFINITY;
    let mask = [0.0, ninf, 0.0, ninf, 0.0, 0.0];
    // the masked scores are an output too, or the softmax is over another axis: a plain Add
    // (whose -inf the quantizer then refuses), no Where
    for (axis, also_out) in [(-1, true), (1, false)] {
        let g = imp(&masked_softmax(false, &mask, axis, also_out)).unwrap();
        assert!(!ops(&g).contains(&"Where".to_owned()), "{:?}", ops(&g));
    }
    // a row masked entirely is refused (ONNX's softmax of it is NaN)
    let full = [0.0, 0.0, 0.0, ninf, ninf, ninf];
    for via_where in [false, true] {
        match imp(&masked_softmax(via_where, &full, -1, false)) {
            Err(e @ Error::UnsupportedForm { .. }) => {
                assert!(e.to_string().contains("whole softmax row"), "{e}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
