//! A depthwise `Conv` (one input channel per group) goes per output channel when one channel's
//! weight range is under half the largest (`crates/quant/src/quantize/depthwise.rs`); a
//! `Conv` whose output channels sum several input channels keeps one weight scale up to the
//! plain 128x spread (`channels.rs`).

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

/// Output channel 0's weights reach 1, channel 1's 0.3 (a 3.3x spread), `per_out` taps each.
fn weights(per_out: usize) -> Vec<f32> {
    [scaled(per_out, 1, 1.0), scaled(per_out, 2, 0.3)].concat()
}

/// `y = Sigmoid(Conv(x))`, a 3x3 `Conv` of `[N, 2, 4, 4]` to 2 channels in `group` groups
/// (read by a `Sigmoid`, so its output is requantized, not left wide), imported on 4 rows.
fn import(group: usize) -> Package {
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
        vec![one_node::init("w", &[2, c_in, 3, 3], &weights(c_in * 9))],
        vec![one_node::value_info("x", 1, Some(&[-1, 2, 4, 4]))],
        vec![one_node::value_info("y", 1, None)],
    );
    let g = vouch_onnx::import(&model, &Default::default()).unwrap();
    let cal = FTensor {
        shape: vec![4, 2, 4, 4],
        data: one_node::data(4 * 2 * 16, 3, 2.0),
    };
    vouch_quant::import(&g, vec![cal], "depthwise", [0; 32], |_| {}).unwrap()
}

/// Whether the package's one `Conv` holds a weight scale per output channel.
fn per_channel(pkg: &Package) -> bool {
    let conv = pkg.nodes.iter().find_map(|n| match n.op {
        Op::Conv { bias, .. } => Some(bias),
        _ => None,
    });
    let bias = conv.expect("a Conv").map(|b| &pkg.consts[b as usize]);
    bias.is_some_and(|b| vouch_semantics::channel_multipliers(&b.shape, &b.data, 2).is_some())
}

#[test]
fn a_depthwise_conv_with_a_3x_channel_spread_goes_per_channel() {
    assert!(
        per_channel(&import(2)),
        "depthwise Conv kept one weight scale"
    );
}

#[test]
fn a_conv_summing_input_channels_keeps_one_scale_at_that_spread() {
    assert!(!per_channel(&import(1)), "a plain Conv went per channel");
}
