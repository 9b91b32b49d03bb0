//! The `vouch` binary end to end: import, inspect, infer, traces, and the errors a user sees
//! for bad input. One test binary, real fixture models, real processes.

mod common;

use common::{fixture, tmp, vouch};
use std::path::Path;
use std::process::Output;

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn import(model: &str, dir: &Path) -> String {
    let pkg = dir.join(format!("{model}.vpkg")).display().to_string();
    let o = vouch(&[
        "model",
        "import",
        &fixture(model, "model.onnx"),
        "-c",
        &fixture(model, "calibration.json"),
        "-o",
        &pkg,
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "import failed: {err}");
    assert!(
        out.contains("argmax agreement") && out.contains("cid      bafkrei"),
        "{out}"
    );
    pkg
}

#[test]
fn bits_picks_the_integer_width() {
    let dir = tmp("bits");
    let pkg = dir.join("p8.vpkg").display().to_string();
    let (model, cal) = (
        fixture("mlp_10_20_2", "model.onnx"),
        fixture("mlp_10_20_2", "calibration.json"),
    );
    let o = vouch(&[
        "model", "import", &model, "-c", &cal, "-o", &pkg, "--bits", "8",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let o = vouch(&["model", "inspect", &pkg, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["semantics_version"], 4, "every new package is version 4");
    assert_eq!(v["inputs"][0]["kind"], "Act8", "--bits 8 gives act8 inputs");
    let o = vouch(&[
        "model", "import", &model, "-c", &cal, "-o", &pkg, "--bits", "12",
    ]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("--bits must be 8 or 16"), "{err}");
}

#[test]
fn import_inspect_infer_trace() {
    let dir = tmp("flow");
    let pkg = import("mlp_10_20_2", &dir);
    let o = vouch(&["model", "inspect", &pkg, "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["semantics_version"], 4, "new packages are version 4");
    assert_eq!(
        v["inputs"][0]["kind"], "Act16",
        "16-bit packages by default"
    );
    assert!(v["cid"].as_str().unwrap().starts_with("bafkrei"));
    assert_eq!(v["inputs"][0]["name"], "input");
    assert!(v["nodes"].as_array().unwrap().len() >= 2);

    let trace = dir.join("trace");
    let input = fixture("mlp_10_20_2", "input.json");
    let run = |threads: &str, trace: Option<&Path>| {
        let mut args: Vec<String> = ["infer", "-m", &pkg, "-i", &input, "--threads", threads]
            .map(String::from)
            .to_vec();
        if let Some(p) = trace {
            args.extend(["--trace".to_owned(), p.display().to_string()]);
        }
        let o = vouch(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(o.status.success(), "{}", text(&o).1);
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let one = run("1", Some(&trace));
    let two = run("2", None);
    assert_eq!(
        one["commitment"], two["commitment"],
        "thread count changed the commitment"
    );
    assert_eq!(one["outputs"], two["outputs"]);
    let rows = one["outputs"]["logits"].as_array().unwrap();
    assert_eq!(rows.len(), 143);
    assert_eq!(rows[0].as_array().unwrap().len(), 2);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(trace.join("trace.json")).unwrap()).unwrap();
    assert_eq!(manifest["output_commitment"], one["commitment"]);
    assert_eq!(manifest["trace_root"], one["trace_root"]);
    let first = &manifest["layers"][0];
    let bytes = std::fs::read(trace.join(first["file"].as_str().unwrap())).unwrap();
    let numel: u64 = first["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap())
        .product();
    assert_eq!(bytes.len() as u64, 4 * numel);
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = tmp("errors");
    // A malformed ONNX file.
    let junk = dir.join("junk.onnx");
    std::fs::write(&junk, b"\x08\x07this is not protobuf\xff\xff").unwrap();
    let o = vouch(&[
        "model",
        "import",
        junk.to_str().unwrap(),
        "-c",
        &fixture("mlp_10_20_2", "calibration.json"),
    ]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("cannot import the ONNX model"), "{err}");
    // An unsupported operator: named with its domain and node.
    let lp = dir.join("loop.onnx");
    std::fs::write(&lp, loop_model()).unwrap();
    let o = vouch(&[
        "model",
        "import",
        lp.to_str().unwrap(),
        "-c",
        &fixture("mlp_10_20_2", "calibration.json"),
    ]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("`Loop`") && err.contains("ai.onnx") && err.contains("node `loop_1`"),
        "{err}"
    );

    let pkg = import("mlp_10_20_2", &dir);
    // Wrong input shape.
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"input": [[1, 2, 3]]}"#).unwrap();
    let o = vouch(&["infer", "-m", &pkg, "-i", bad.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("shape [1, 3]") && err.contains("[1, 10]"),
        "{err}"
    );
    // Unknown and missing inputs, ragged arrays.
    for (body, needle) in [
        (r#"{"nope": [[1]]}"#, "unknown input"),
        (r#"{}"#, "missing"),
        (r#"{"input": [[1, 2], [3]]}"#, "ragged"),
        (r#"{"input": "x"}"#, "nested array"),
    ] {
        std::fs::write(&bad, body).unwrap();
        let o = vouch(&["infer", "-m", &pkg, "-i", bad.to_str().unwrap()]);
        let (_, err) = text(&o);
        assert!(!o.status.success() && err.contains(needle), "{body}: {err}");
    }
    // Not a package.
    let o = vouch(&[
        "infer",
        "-m",
        junk.to_str().unwrap(),
        "-i",
        bad.to_str().unwrap(),
    ]);
    let (_, err) = text(&o);
    assert!(
        !o.status.success() && err.contains("not a vouch package"),
        "{err}"
    );
    // A package with one bit flipped in its weights: refused by its own digest, nothing run.
    let good = std::fs::read(&pkg).unwrap();
    let mut flipped = good.clone();
    let at = good.len() - 100;
    flipped[at] ^= 0x10;
    let corrupt = dir.join("corrupt.vpkg");
    std::fs::write(&corrupt, &flipped).unwrap();
    std::fs::write(&bad, r#"{"input": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}"#).unwrap();
    let o = vouch(&["infer", "-m", &pkg, "-i", bad.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "the intact package runs: {:?}",
        text(&o)
    );
    let o = vouch(&[
        "infer",
        "-m",
        corrupt.to_str().unwrap(),
        "-i",
        bad.to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert!(
        !o.status.success() && err.contains("corrupted package") && out.is_empty(),
        "{out} {err}"
    );
}

#[test]
fn help_names_the_commands() {
    let o = vouch(&["--help"]);
    let (out, _) = text(&o);
    assert!(o.status.success());
    for cmd in ["model", "infer", "demo"] {
        assert!(out.contains(cmd), "{out}");
    }
    let o = vouch(&["model", "import", "--help"]);
    assert!(text(&o).0.contains("--calibration"));
}

/// A tree ensemble through the CLI: the import reports its exact decisions, `vouch infer`
/// encodes the float input as feature codes and gives onnxruntime's labels.
#[test]
fn tree_ensemble_import_and_infer() {
    let dir = tmp("trees");
    let pkg = import("tree_gb_bc", &dir);
    let o = vouch(&[
        "model",
        "import",
        &fixture("tree_gb_bc", "model.onnx"),
        "-c",
        &fixture("tree_gb_bc", "calibration.json"),
        "-o",
        &pkg,
    ]);
    let (out, _) = text(&o);
    assert!(out.contains("tree decisions: identical"), "{out}");
    let o = vouch(&[
        "infer",
        "-m",
        &pkg,
        "-i",
        &fixture("tree_gb_bc", "input.json"),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("tree_gb_bc", "expected.json")).unwrap(),
    )
    .unwrap();
    let labels: Vec<i64> = v["outputs"]["label"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as i64)
        .collect();
    let want: Vec<i64> = expected["label"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    assert_eq!(labels.len(), 143);
    assert_eq!(labels, want);
}

/// A one-node ONNX model vouch does not support: a `Loop` (node `loop_1`, data-dependent control
/// flow, refused by design) on a `[N, 1, 4, 4]` input.
fn loop_model() -> Vec<u8> {
    use prost::Message as _;
    use vouch_onnx::proto::{
        GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorShapeProto, TypeProto,
        ValueInfoProto, tensor_shape_proto, type_proto,
    };
    let dim = |v: tensor_shape_proto::dimension::Value| tensor_shape_proto::Dimension {
        value: Some(v),
        denotation: String::new(),
    };
    let x = ValueInfoProto {
        name: "x".into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: 1,
                shape: Some(TensorShapeProto {
                    dim: vec![
                        dim(tensor_shape_proto::dimension::Value::DimParam("N".into())),
                        dim(tensor_shape_proto::dimension::Value::DimValue(1)),
                        dim(tensor_shape_proto::dimension::Value::DimValue(4)),
                        dim(tensor_shape_proto::dimension::Value::DimValue(4)),
                    ],
                }),
            })),
            denotation: String::new(),
        }),
        doc_string: String::new(),
    };
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(GraphProto {
            node: vec![NodeProto {
                input: vec!["x".into()],
                output: vec!["y".into()],
                name: "loop_1".into(),
                op_type: "Loop".into(),
                ..Default::default()
            }],
            name: "g".into(),
            input: vec![x],
            output: vec![ValueInfoProto {
                name: "y".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// `--json` anywhere on the line: stdout is exactly one JSON document with the gateway's field
/// names (text goes to stderr), and a failure is the gateway's error body on stderr.
#[test]
fn json_results_and_errors() {
    let dir = tmp("json");
    let pkg = dir.join("m.vpkg").display().to_string();
    let o = vouch(&[
        "--json",
        "model",
        "import",
        &fixture("mlp_10_20_2", "model.onnx"),
        "-c",
        &fixture("mlp_10_20_2", "calibration.json"),
        "-o",
        &pkg,
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert!(v["cid"].as_str().unwrap().starts_with("bafkrei"), "{v}");
    assert_eq!(v["accuracy"][0]["output"], "logits");
    assert!(v["accuracy"][0]["max_abs_error"].as_f64().unwrap() < 0.1);
    // the same cid as inspect reports, with --json after the subcommand
    let o = vouch(&["model", "inspect", &pkg, "--json"]);
    let w: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["cid"], w["cid"]);

    let data = dir.join("data");
    let data = data.display().to_string();
    let o = vouch(&["--json", "store", "put", &pkg, "--data-dir", &data]);
    assert!(o.status.success(), "{}", text(&o).1);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["cid"], v["cid"], "the store names the package by its cid");
    let o = vouch(&["--json", "store", "list", "--data-dir", &data]);
    let l: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(l, serde_json::json!([v["cid"]]));

    let o = vouch(&[
        "--json",
        "model",
        "inspect",
        &dir.join("missing.vpkg").display().to_string(),
    ]);
    assert!(!o.status.success());
    assert!(o.stdout.is_empty(), "no result on failure");
    let e: serde_json::Value = serde_json::from_slice(&o.stderr).expect("a JSON error");
    assert_eq!(e["error"]["code"], "command_failed");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing.vpkg"),
        "{e}"
    );
}
