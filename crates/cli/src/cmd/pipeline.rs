//! `vouch demo --offline`: the model pipeline alone on the embedded example (no chain).
//!
//! Imports the bundled scikit-learn digits classifier (an MLP exported by skl2onnx), checks
//! that a second import gives the same content id, runs the test split through the integer
//! engine at two thread counts, checks the results are bit-identical, and prints accuracy
//! against the true labels. Exits non-zero if any check fails.

use crate::cmd::demo::DemoArgs;
use crate::cmd::{infer, model_import};
use crate::io;
use crate::out;
use eyre::{Result, WrapErr, bail, eyre};
use vouch_primitives::hex0x;

use vouch_localnet::{CALIBRATION, INPUT, LABELS, MODEL};
const EXPECTED: &str = include_str!("../../../../testdata/models/digits_mlp/expected.json");

fn argmax_rows(v: &serde_json::Value) -> Result<Vec<usize>> {
    let rows = v.as_array().ok_or_else(|| eyre!("expected rows"))?;
    rows.iter()
        .map(|r| {
            let r = r.as_array().ok_or_else(|| eyre!("expected a row"))?;
            let vals: Vec<f64> = r
                .iter()
                .map(|x| x.as_f64().unwrap_or(f64::NEG_INFINITY))
                .collect();
            Ok(vals
                .iter()
                .enumerate()
                .fold(
                    (0, f64::NEG_INFINITY),
                    |b, (i, &x)| if x > b.1 { (i, x) } else { b },
                )
                .0)
        })
        .collect()
}

fn check(ok: bool, what: &str) -> Result<()> {
    if ok {
        out::line(format!("  ok    {what}"));
        Ok(())
    } else {
        bail!("demo check failed: {what}")
    }
}

/// Runs the offline demo.
pub fn run(a: &DemoArgs) -> Result<()> {
    let calibration: serde_json::Value =
        serde_json::from_str(CALIBRATION).wrap_err("embedded calibration")?;
    let input: serde_json::Value = serde_json::from_str(INPUT).wrap_err("embedded input")?;
    let labels: Vec<usize> = serde_json::from_str(LABELS).wrap_err("embedded labels")?;
    let expected: serde_json::Value =
        serde_json::from_str(EXPECTED).wrap_err("embedded expected outputs")?;

    out::line(
        "vouch demo: scikit-learn digits MLP (64-64-10, skl2onnx) -> integer package -> inference",
    );
    out::line("");
    out::line("1. import (calibrate on 128 training rows, quantize, measure)");
    let outputs = Some(vec!["probabilities".to_owned()]);
    let pkg = model_import::import_bytes(MODEL, &calibration, outputs.clone(), "digits_mlp")?;
    let bytes = pkg.to_bytes();
    let path = a.dir.join("digits_mlp.vpkg");
    io::write_atomic(&path, &bytes)?;
    out::line(model_import::accuracy_table(&pkg));
    let cid = vouch_model::Package::cid_of_bytes(&bytes);
    out::line(format!(
        "  package {} ({} bytes), cid {cid}",
        path.display(),
        bytes.len()
    ));
    out::line(format!("  weights root {}", hex0x(&pkg.weights_root())));
    let again = model_import::import_bytes(MODEL, &calibration, outputs, "digits_mlp")?;
    check(
        again.cid() == cid,
        "importing twice gives the same content id",
    )?;
    let reread = io::read_package(&path)?;
    check(
        reread == pkg,
        "the package file decodes to the same package",
    )?;

    out::line("");
    out::line("2. infer on the test split");
    let rows = input["input"].as_array().map_or(0, Vec::len);
    let one = infer::execute(&pkg, &input, 1, true)?;
    let two = infer::execute(&pkg, &input, 2, false)?;
    check(
        one.outputs == two.outputs,
        &format!("{rows} rows: 1 thread and 2 threads give bit-identical outputs"),
    )?;
    let result = infer::result_json(&pkg, &one);
    let quant_pred = argmax_rows(&result["outputs"]["probabilities"])?;
    let float_pred = argmax_rows(&expected["probabilities"])?;
    let agree = quant_pred
        .iter()
        .zip(&float_pred)
        .filter(|(a, b)| a == b)
        .count();
    let right_q = quant_pred
        .iter()
        .zip(&labels)
        .filter(|(a, b)| a == b)
        .count();
    let right_f = float_pred
        .iter()
        .zip(&labels)
        .filter(|(a, b)| a == b)
        .count();
    let pct = |n: usize| 100.0 * n as f64 / rows.max(1) as f64;
    out::line(format!(
        "  test accuracy: integer {:.2}%, float {:.2}%; argmax agreement {:.2}%",
        pct(right_q),
        pct(right_f),
        pct(agree)
    ));
    check(
        pct(agree) >= 99.0,
        "argmax agreement with the float model is at least 99%",
    )?;
    out::line(format!(
        "  output commitment {}",
        hex0x(&one.output_commitment())
    ));
    out::line(format!(
        "  trace root        {} ({} layers)",
        hex0x(&one.trace_root()),
        one.trace.len()
    ));
    let trace_dir = a.dir.join("trace");
    infer::write_trace(&trace_dir, &pkg, &one)?;
    out::line(format!("  trace written to {}", trace_dir.display()));
    out::line("");
    out::line("demo finished: every check passed");
    Ok(())
}
