//! `vouch model import --const` and `vouch infer` on a model with integer and boolean inputs
//! (`testdata/models/int_inputs`): the command line binds the sample rate at import, the
//! package runs the integer inputs exactly and agrees with onnxruntime, and a request with a
//! non-integer, a bad binding or a malformed `--const` is refused with a message naming it.

#![allow(clippy::unwrap_used, missing_docs)]

use clap::Parser;
use std::path::{Path, PathBuf};
use vouch_cli::opts::Cli;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/models/int_inputs")
        .join(name)
        .display()
        .to_string()
}

fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("vouch-int-inputs-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn vouch(args: &[&str]) -> eyre::Result<()> {
    let mut all = vec!["vouch", "--json"];
    all.extend_from_slice(args);
    let cli = Cli::try_parse_from(all).map_err(|e| eyre::eyre!("{e}"))?;
    vouch_cli::run(cli)
}

#[test]
fn an_import_with_a_bound_sample_rate_runs_integer_inputs_exactly() {
    let dir = scratch();
    let pkg_path = dir.join("int_inputs.vpkg");
    let pkg_arg = pkg_path.display().to_string();
    let (model, cal) = (fixture("model.onnx"), fixture("calibration.json"));
    vouch(&[
        "model", "import", &model, "-c", &cal, "-o", &pkg_arg, "--const", "sr=16000",
    ])
    .unwrap();
    let pkg = vouch_cli::io::read_package(&pkg_path).unwrap();
    let names: Vec<&str> = pkg.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["pixels", "inverted"]);
    let input = vouch_cli::io::read_json(Path::new(&fixture("input.json"))).unwrap();
    let exec = vouch_cli::cmd::infer::execute(&pkg, &input, 1, false).unwrap();
    let got = vouch_task::codec::dequantize(&pkg, 0, &exec.outputs[0]);
    let expected = vouch_cli::io::read_json(Path::new(&fixture("expected.json"))).unwrap();
    let want = vouch_task::codec::json::nested_to_tensor("logits", &expected["logits"])
        .unwrap()
        .data;
    let top = want.iter().fold(0f64, |m, &w| m.max(f64::from(w).abs()));
    let err = got
        .iter()
        .zip(&want)
        .fold(0f64, |m, (&g, &w)| m.max((g - f64::from(w)).abs()));
    assert!(err < 1e-3 * top, "largest error {err} of {top}");
    // a pixel count of 7.5 is refused, naming the input
    let mut bad = input.clone();
    bad["pixels"][2][10] = serde_json::json!(7.5);
    let e = vouch_cli::cmd::infer::execute(&pkg, &bad, 1, false)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("input \"pixels\": element 138 (7.5) is not an integer"),
        "{e}"
    );
    // the package without the binding is a different model: the If cannot fold
    let e = vouch(&["model", "import", &model, "-c", &cal, "-o", &pkg_arg])
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot import the ONNX model"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_bindings_are_refused_with_their_name() {
    let (model, cal) = (fixture("model.onnx"), fixture("calibration.json"));
    let out = scratch().join("bad.vpkg").display().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec!["model", "import", &model, "-c", &cal, "-o", &out];
        args.extend_from_slice(extra);
        format!("{:#}", vouch(&args).unwrap_err())
    };
    let e = run(&["--const", "rate=16000"]);
    assert!(
        e.contains("a constant is bound to `rate`, which is not a graph input (the inputs: pixels, inverted, sr)"),
        "{e}"
    );
    let e = run(&["--const", "sr=16000", "--const", "sr=8000"]);
    assert!(e.contains("--const is given twice for `sr`"), "{e}");
    let e = run(&["--const", "sr"]);
    assert!(e.contains("`sr` is not NAME=VALUE[,VALUE..]"), "{e}");
    let e = run(&["--const", "sr=fast"]);
    assert!(
        e.contains("`fast` in `sr=fast` is not a finite number"),
        "{e}"
    );
}
