//! A declared input range (`vouch model import --input-range NAME=MAX`): the input's scale
//! covers the declared magnitude, so an input louder than every calibration row is not
//! clipped; a range naming no input, one a calibration value passes, or one on an integer
//! input is refused with the input named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vouch_engine::Tensor;
use vouch_model::Package;
use vouch_quant::FTensor;
use vouch_quant::Precision;
use vouch_quant::json::inputs_from_json;

fn dir(model: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/models")
        .join(model)
}

/// The fixture's graph and calibration rows.
fn fixture(model: &str) -> (vouch_onnx::FGraph, Vec<FTensor>) {
    let d = dir(model);
    let onnx = std::fs::read(d.join("model.onnx")).unwrap();
    // int_inputs' sample rate is bound at import, as `vouch model import --const sr=16000`
    let opts = vouch_onnx::ImportOptions {
        consts: [("sr".to_string(), vec![16000.0])]
            .into_iter()
            .filter(|_| model == "int_inputs")
            .collect(),
        ..Default::default()
    };
    let graph = vouch_onnx::import(&onnx, &opts).unwrap();
    let names: Vec<&str> = graph
        .inputs
        .iter()
        .map(|&v| graph.values[v].name.as_str())
        .collect();
    let text = std::fs::read_to_string(d.join("calibration.json")).unwrap();
    let cal = inputs_from_json(&serde_json::from_str(&text).unwrap(), &names).unwrap();
    (graph, cal)
}

fn import(model: &str, ranges: &[(&str, f64)]) -> vouch_quant::Result<Package> {
    let (graph, cal) = fixture(model);
    let ranges: BTreeMap<String, f64> = ranges.iter().map(|(n, r)| (n.to_string(), *r)).collect();
    vouch_quant::import_owned_with_ranges(
        graph,
        cal,
        model,
        [0; 32],
        Precision::Int16,
        &ranges,
        |_| {},
    )
}

fn largest(t: &FTensor) -> f32 {
    t.data.iter().fold(0f32, |m, x| m.max(x.abs()))
}

fn quantized(pkg: &Package, x: &FTensor) -> Tensor {
    vouch_quant::quantize_inputs(pkg, std::slice::from_ref(x)).remove(0)
}

#[test]
fn a_declared_range_sets_the_input_scale_and_a_louder_input_is_not_clipped() {
    let (_, cal) = fixture("lenet");
    let top = largest(&cal[0]);
    let declared = 2.0 * f64::from(top);
    let plain = import("lenet", &[]).unwrap();
    let wide = import("lenet", &[("input", declared)]).unwrap();
    let scale = |p: &Package| p.values[p.inputs[0].value as usize].scale;
    let lim = f64::from(vouch_semantics::ACT16_MAX);
    // the declared range is the input's range, as a calibrated one would be
    assert!(
        (scale(&wide) * lim / declared - 1.0).abs() < 1e-6,
        "scale {} for a declared range {declared}",
        scale(&wide)
    );
    assert!(scale(&wide) > 1.5 * scale(&plain));
    // a row 1.8 times louder than any calibration row
    let mut loud = cal[0].clone();
    loud.data.iter_mut().for_each(|x| *x *= 1.8);
    let peak = f64::from(largest(&loud));
    let at = |p: &Package| {
        let q = quantized(p, &loud);
        let top = q.data.iter().fold(0i64, |m, &v| m.max(i64::from(v).abs()));
        f64::from(i32::try_from(top).unwrap()) * scale(p)
    };
    // without the declaration the input clamps at the calibrated range; with it, it is kept
    assert!(at(&plain) < 0.6 * peak, "{} of {peak}", at(&plain));
    assert!(
        (at(&wide) - peak).abs() <= scale(&wide),
        "{} of {peak}",
        at(&wide)
    );
}

#[test]
fn a_declared_range_that_cannot_hold_refuses_the_import_naming_the_input() {
    let (_, cal) = fixture("lenet");
    let top = f64::from(largest(&cal[0]));
    let err = import("lenet", &[("input", top / 2.0)])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("input") && err.contains("past the declared range"),
        "{err}"
    );
    let err = import("lenet", &[("pixels", 1.0)]).unwrap_err().to_string();
    assert!(
        err.contains("pixels") && err.contains("its inputs: input"),
        "{err}"
    );
    let err = import("lenet", &[("input", f64::NAN)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("positive finite"), "{err}");
    let err = import("int_inputs", &[("pixels", 100.0)])
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("integer input"), "{err}");
}
