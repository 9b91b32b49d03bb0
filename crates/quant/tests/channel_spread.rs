//! When a product's weights go per output channel (`docs/semantics.md` section 5): a depthwise
//! `Conv` (one input channel per group) when one channel's weight range is under half the
//! largest (`crates/quant/src/quantize/depthwise.rs`); a plain `Conv` or `Linear` only past a
//! 128x spread (`channels.rs`), since lower spreads, swept on the production survey, took models
//! past 2% (docs/architecture.md, "Plain per-channel spread swept").

#![allow(clippy::unwrap_used, missing_docs)]

mod one_node;

use vouch_model::{Op, Package};
use vouch_quant::FTensor;

/// `n` weights whose largest magnitude is `top`.
fn scaled(n: usize, salt: usize, top: f32) -> Vec<f32> {
    let w = one_node::data(n, salt, 1.0);
    let max = w.iter().fold(0f32, |m, v| m.max(v.abs()));
    w.iter().map(|v| v / max * top).collect()
}

/// Output channel 0's weights reach 1, channel 1's `low`, `per_out` values each.
fn weights(per_out: usize, low: f32) -> Vec<f32> {
    [scaled(per_out, 1, 1.0), scaled(per_out, 2, low)].concat()
}

/// Imports `model` (input `x` of `shape`, batch first) on 4 rows.
fn import(model: &[u8], shape: &[usize]) -> Package {
    let g = vouch_onnx::import(model, &Default::default()).unwrap();
    let cal = FTensor {
        shape: shape.to_vec(),
        data: one_node::data(shape.iter().product(), 3, 2.0),
    };
    vouch_quant::import(&g, vec![cal], "spread", [0; 32], |_| {}).unwrap()
}

/// `y = Sigmoid(Conv(x))`, a 3x3 `Conv` of `[N, 2, 4, 4]` to 2 channels in `group` groups
/// (read by a `Sigmoid`, so its output is requantized, not left wide), channel 1 at `low`.
fn conv(group: usize, low: f32) -> Package {
    let c_in = 2 / group;
    let model = one_node::graph(
        vec![
            one_node::node(
                "Conv",
                &["x", "w"],
                "c",
                vec![
                    one_node::int("group", group as i64),
                    one_node::ints("pads", &[1, 1, 1, 1]),
                ],
            ),
            one_node::node("Sigmoid", &["c"], "y", vec![]),
        ],
        vec![one_node::init(
            "w",
            &[2, c_in, 3, 3],
            &weights(c_in * 9, low),
        )],
        vec![one_node::value_info("x", 1, Some(&[-1, 2, 4, 4]))],
        vec![one_node::value_info("y", 1, None)],
    );
    import(&model, &[4, 2, 4, 4])
}

/// `y = Sigmoid(Gemm(Tanh(x), w, transB))`, 8 features to 2 outputs, row 1 at `low`.
fn linear(low: f32) -> Package {
    let model = one_node::graph(
        vec![
            one_node::node("Tanh", &["x"], "t", vec![]),
            one_node::node("Gemm", &["t", "w"], "c", vec![one_node::int("transB", 1)]),
            one_node::node("Sigmoid", &["c"], "y", vec![]),
        ],
        vec![one_node::init("w", &[2, 8], &weights(8, low))],
        vec![one_node::value_info("x", 1, Some(&[-1, 8]))],
        vec![one_node::value_info("y", 1, None)],
    );
    import(&model, &[4, 8])
}

/// Whether the package's one `Conv` or `Linear` holds a weight scale per output channel.
fn per_channel(pkg: &Package) -> bool {
    let product = pkg.nodes.iter().find_map(|n| match n.op {
        Op::Conv { bias, .. } | Op::Linear { bias, .. } => Some(bias),
        _ => None,
    });
    let bias = product
        .expect("a Conv or Linear")
        .map(|b| &pkg.consts[b as usize]);
    bias.is_some_and(|b| vouch_semantics::channel_multipliers(&b.shape, &b.data, 2).is_some())
}

#[test]
fn a_depthwise_conv_with_a_3x_channel_spread_goes_per_channel() {
    assert!(
        per_channel(&conv(2, 0.3)),
        "depthwise Conv kept one weight scale"
    );
}

#[test]
fn a_conv_summing_input_channels_keeps_one_scale_up_to_a_128x_spread() {
    for low in [0.3, 1.0 / 64.0, 1.0 / 100.0] {
        assert!(
            !per_channel(&conv(1, low)),
            "a plain Conv went per channel at {low}"
        );
    }
    assert!(
        per_channel(&conv(1, 1.0 / 200.0)),
        "a 200x spread kept one scale"
    );
}

#[test]
fn a_linear_keeps_one_scale_up_to_a_128x_spread() {
    for low in [0.5, 1.0 / 64.0, 1.0 / 100.0] {
        assert!(
            !per_channel(&linear(low)),
            "a Linear went per channel at {low}"
        );
    }
    assert!(
        per_channel(&linear(1.0 / 200.0)),
        "a 200x spread kept one scale"
    );
}
