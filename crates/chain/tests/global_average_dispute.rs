//! A `GlobalAveragePool` over a plane of more than 224 elements is a `Linear` sum of the
//! flattened plane requantized by `1/plane` (`crates/quant/src/quantize/pool.rs`): an
//! `AveragePool` element's one-step check reads its whole window, 18.6M gas on an 80x80 plane
//! (`bench/production/gas.sh`), past a transaction's gas cap (2^24 since Osaka) on larger ones.
//! On a real anvil: `symbolic_size_cnn` bound at 3x24x24 (a 576-element plane) imports with no
//! `AveragePool`, its mean is the plane's mean to half a step, and a provider lying in the mean
//! loses to an honest challenger with a one-step check under 1M gas
//! (`cargo test -p vouch-chain --test global_average_dispute -- --nocapture`).

#![allow(clippy::print_stdout)]

use vouch_model::Op;

mod common;

const SIDE: usize = 24;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_in_a_large_global_average_loses_within_a_million_gas() {
    let (bytes, pkg) = common::symbolic_cnn_at(SIDE, 8);
    let input = common::symbolic_cnn_rows("input.json", 1, SIDE);
    assert!(
        !pkg.nodes
            .iter()
            .any(|n| matches!(n.op, Op::AveragePool { .. })),
        "a 576-element plane is not one AveragePool window"
    );
    let j = pkg
        .nodes
        .iter()
        .position(|n| n.name.ends_with("/mean"))
        .expect("the mean's Linear");
    assert!(matches!(pkg.nodes[j].op, Op::Linear { wide: false, .. }));
    vouch_task::modes::check_mode(&pkg, vouch_task::Mode::Optimistic).unwrap();
    // the plane as one AveragePool window: refused for disputes before any task is accepted
    let mut one_window = pkg.clone();
    one_window.nodes[j].op = Op::AveragePool {
        kernel: [SIDE as u32, SIDE as u32],
        strides: [1, 1],
        pads: [0; 4],
        count_include_pad: false,
    };
    for mode in [vouch_task::Mode::Optimistic, vouch_task::Mode::Committee] {
        let e = vouch_task::modes::check_mode(&one_window, mode)
            .unwrap_err()
            .to_string();
        assert!(e.contains("pooling window of more than 224"), "{e}");
    }

    let floats = vouch_task::codec::package_inputs_from_json(&pkg, &input).unwrap();
    let (ic, honest, _output, evidence) =
        common::traced(&pkg, vouch_quant::quantize_inputs(&pkg, &floats));
    // each channel's mean is its plane's integer mean to half a step (same scale in and out)
    let vouch_model::Operand::Value(flat) = pkg.nodes[j].inputs[0] else {
        panic!("the mean reads a value");
    };
    let producer = pkg
        .nodes
        .iter()
        .position(|n| n.output == flat)
        .expect("the flattened plane");
    let planes = &honest.tensors()[producer];
    let means = &honest.tensors()[j];
    let plane = SIDE * SIDE;
    assert_eq!(planes.len(), means.len() * plane);
    for (c, &m) in means.iter().enumerate() {
        let sum: i64 = planes[c * plane..(c + 1) * plane]
            .iter()
            .map(|&v| i64::from(v))
            .sum();
        let exact = sum as f64 / plane as f64;
        assert!(
            (f64::from(m) - exact).abs() <= 0.5 + 1e-3,
            "channel {c}: mean {m}, plane mean {exact}"
        );
    }
    assert!(means.iter().any(|&m| m != 0), "a mean worth lying about");

    let (_chain, bob, carol, model) = common::staked_dispute(&bytes, &pkg, 50_000).await;
    let lies = vec![(
        j,
        0,
        format!("{} (Linear, fan-in {plane})", pkg.nodes[j].name),
    )];
    let table =
        common::nudged_liars_lose((&carol, &honest, &evidence), &bob, model, ic, lies).await;
    common::print_one_steps("lying global average", &table);
    for (what, _, gas) in &table {
        assert!(*gas < 1_000_000, "{what}: one-step {gas} gas");
    }
}
