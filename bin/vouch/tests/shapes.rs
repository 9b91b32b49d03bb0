//! `vouch model import --shape` and fixed-batch models through the real binary: a symbolic
//! image size bound by the flag or by the calibration rows (and the errors when neither binds
//! it or the flag is wrong), and a model exported with its batch fixed at 1 imported with 32
//! calibration rows and run on 16 rows by `vouch infer`, as declared or kept fixed.

mod common;

use common::{fixture, tmp, vouch};
use std::path::Path;

/// `vouch model import MODEL -c CAL -o OUT EXTRA..`: success, stdout, stderr.
fn import(model: &str, cal: &str, out: &Path, extra: &[&str]) -> (bool, String, String) {
    let out = out.display().to_string();
    let mut args = vec!["model", "import", model, "-c", cal, "-o", &out];
    args.extend(extra);
    let o = vouch(&args);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn shape_flag_binds_a_symbolic_image_size() {
    let dir = tmp("symbolic");
    let (model, cal) = (
        fixture("symbolic_size_cnn", "model.onnx"),
        fixture("symbolic_size_cnn", "calibration.json"),
    );
    let pkg = dir.join("p.vpkg");
    // the flag, agreeing with the rows
    let (ok, _, err) = import(&model, &cal, &pkg, &["--shape", "image=1x3x8x8"]);
    assert!(ok, "{err}");
    let o = vouch(&["model", "inspect", &pkg.display().to_string(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["inputs"][0]["name"], "image");
    assert_eq!(v["inputs"][0]["shape"], "[N, 3, 8, 8]");
    // no flag: the calibration rows' size
    let (ok, out, err) = import(&model, &cal, &pkg, &[]);
    assert!(ok, "{err}");
    assert!(err.contains("rows     any number") || out.contains("rows     any number"));
    // a size the rows do not have: the rows are refused, naming the input
    let (ok, _, err) = import(&model, &cal, &pkg, &["--shape", "image=1x3x16x16"]);
    assert!(!ok);
    assert!(err.contains("image"), "{err}");
    // nothing binds it: the input, the axis and the flag
    let empty = dir.join("empty.json");
    std::fs::write(&empty, "{}").unwrap();
    let (ok, _, err) = import(&model, &empty.display().to_string(), &pkg, &[]);
    assert!(!ok);
    assert!(
        err.contains("graph input `image`: axis 2 (`height`)")
            && err.contains("--shape image=1x3xheightxwidth"),
        "{err}"
    );
    // wrong flags
    for (flag, want) in [
        ("image=1x3x8", "has 3 axes"),
        ("image=1x4x8x8", "axis 1 is 3 in the model, 4"),
        (
            "picture=1x3x8x8",
            "`picture`, which is not a graph input (the inputs: image)",
        ),
        (
            "image=1x3xbigx8",
            "`big` in `image=1x3xbigx8` is not a positive size",
        ),
        ("image", "is not NAME=DxDx.."),
    ] {
        let (ok, _, err) = import(&model, &cal, &pkg, &["--shape", flag]);
        assert!(!ok, "{flag}");
        assert!(err.contains(want), "{flag}: {err}");
    }
    let o = vouch(&["model", "import", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(
        help.contains("--shape <NAME=DxDx..>") && help.contains("symbolic axes"),
        "{help}"
    );
    assert!(help.contains("--keep-fixed-batch"), "{help}");
}

#[test]
fn a_fixed_batch_model_takes_many_rows() {
    let dir = tmp("fixed");
    let m = "fixed_batch_cnn";
    let pkg = dir.join("p.vpkg");
    let (ok, out, err) = import(
        &fixture(m, "model.onnx"),
        &fixture(m, "calibration.json"),
        &pkg,
        &["--json"],
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["samples"], 32);
    assert_eq!(v["takes_rows"], true);
    let pkg = pkg.display().to_string();
    let o = vouch(&["infer", "-m", &pkg, "-i", &fixture(m, "input.json")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let probs = v["outputs"]["probs"].as_array().unwrap();
    assert_eq!(probs.len(), 16);
    // each row's label is onnxruntime's (run one row at a time)
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(m, "expected.json")).unwrap())
            .unwrap();
    let argmax = |r: &serde_json::Value| {
        let r: Vec<f64> = r
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        (0..r.len()).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap()
    };
    for (got, want) in probs.iter().zip(want["probs"].as_array().unwrap()) {
        assert_eq!(argmax(got), argmax(want));
    }
    // kept fixed, it calibrates on all 32 rows, a task holds one row, and `vouch infer` runs
    // the 16 rows one by one to the same labels
    let kept = dir.join("k.vpkg");
    let (ok, out, err) = import(
        &fixture(m, "model.onnx"),
        &fixture(m, "calibration.json"),
        &kept,
        &["--keep-fixed-batch", "--json"],
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["samples"], 32);
    assert_eq!(v["takes_rows"], false);
    let o = vouch(&[
        "infer",
        "-m",
        &kept.display().to_string(),
        "-i",
        &fixture(m, "input.json"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let kept_probs = v["outputs"]["probs"].as_array().unwrap();
    assert_eq!(kept_probs.len(), 16);
    for (got, want) in kept_probs.iter().zip(want["probs"].as_array().unwrap()) {
        assert_eq!(argmax(got), argmax(want));
    }
}
