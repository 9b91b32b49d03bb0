//! A value read only by `HardSigmoid`s is held at no coarser a scale than the gate's reach
//! over `L` steps (`crates/quant/src/quantize/gate.rs`): a pre-activation calibrated to 41,
//! far past the gate's flat points at ±2.5, keeps fine steps on the sloped part.

mod one_node;

use vouch_engine::{Engine, Options};
use vouch_quant::FTensor;
use vouch_task::Mode;
use vouch_task::modes::check_mode;

/// `y = HardSigmoid(a · b)` (`α = 0.2`, `β = 0.5`) over `a`, `b` of `[N, 1]` (opset 13).
fn model() -> Vec<u8> {
    let dims = [-1, 1];
    let gate = vec![one_node::float("alpha", 0.2), one_node::float("beta", 0.5)];
    one_node::graph(
        vec![
            one_node::node("Mul", &["a", "b"], "z", vec![]),
            one_node::node("HardSigmoid", &["z"], "y", gate),
        ],
        vec![],
        vec![
            one_node::value_info("a", 1, Some(&dims)),
            one_node::value_info("b", 1, Some(&dims)),
        ],
        vec![one_node::value_info("y", 1, None)],
    )
}

fn column(v: &[f32]) -> FTensor {
    FTensor {
        shape: vec![v.len(), 1],
        data: v.to_vec(),
    }
}

#[test]
fn a_gate_input_past_its_reach_keeps_fine_steps() {
    // products up to 6.4² = 40.96: the calibrated scale (twice the range) would put 2.5e-3
    // per step, an error up to 2.5e-4 of the gate's output
    let cal = vec![column(&[6.4, -6.4, 1.0]), column(&[6.4, 6.4, 1.0])];
    let g = vouch_onnx::import(&model(), &Default::default()).unwrap();
    let pkg = vouch_quant::import(&g, cal, "gate", [0; 32], |_| {}).unwrap();
    for mode in [Mode::Optimistic, Mode::Committee, Mode::Zk] {
        check_mode(&pkg, mode).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
    }
    // held-out inputs on the inputs' own grids, so only the product's and the table's steps
    // count: points spread over the sloped part (|a · b| <= 2.5) times b = 1
    let step = |i: usize| pkg.values[pkg.inputs[i].value as usize].scale;
    let on_grid = |v: f64, s: f64| ((v / s).round() * s) as f32;
    let b = on_grid(1.0, step(1));
    let a: Vec<f32> = (0..400)
        .map(|k| on_grid(5.0 * (f64::from(k) * 0.618_034).fract() - 2.5, step(0)))
        .collect();
    let held = vec![column(&a), column(&vec![b; a.len()])];
    let out = Engine::new(&pkg, Options::default())
        .unwrap()
        .run(vouch_quant::quantize_inputs(&pkg, &held))
        .unwrap();
    let got = vouch_quant::dequantize(&pkg, 0, &out.outputs[0]);
    let worst = a
        .iter()
        .zip(&got)
        .map(|(&a, &y)| {
            let z = f64::from(a) * f64::from(b);
            (y - (0.2 * z + 0.5).clamp(0.0, 1.0)).abs()
        })
        .fold(0.0, f64::max);
    // at 2.5 / 32767 per step: 7.6e-6 from the product, 1.5e-5 from the table's output
    assert!(worst < 6e-5, "HardSigmoid off by {worst}");
}
