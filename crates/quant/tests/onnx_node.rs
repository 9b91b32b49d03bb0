//! The ONNX backend node tests (and the PyTorch-exported `pytorch-converted` /
//! `pytorch-operator` suites) for the supported ops, through `testdata/onnx-node/allowlist.txt`.
//!
//! Each case is imported, calibrated on its own test inputs, quantized, run by the integer
//! engine, and compared with the reference outputs the ONNX suite ships, within the node-test
//! bound of `docs/semantics.md` section 5. The cases are exported from the pinned `onnx` wheel
//! by `testdata/onnx-node/export.py` into `target/onnx-node/` (the test script does this first).
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use vouch_engine::{Engine, Options};
use vouch_model::Kind;
use vouch_quant::FTensor;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_pb(p: &Path) -> Result<FTensor, String> {
    let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let (shape, data) =
        vouch_onnx::decode_tensor(&bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(FTensor { shape, data })
}

fn numbered(dir: &Path, prefix: &str) -> Result<Vec<FTensor>, String> {
    (0..)
        .map(|i| dir.join(format!("{prefix}_{i}.pb")))
        .take_while(|p| p.exists())
        .map(|p| read_pb(&p))
        .collect()
}

/// Max abs error allowed for one output: 2 output steps plus 3% of the largest |expected|.
fn bound(step: f64, expected: &[f64]) -> f64 {
    2.0 * step + 0.03 * expected.iter().fold(0f64, |m, v| m.max(v.abs()))
}

/// vouch executes models whose weights are constants. Node tests that feed weights (Conv's W,
/// BatchNormalization's statistics, Clip's bounds) or parameters (Reshape's shape, Pad's
/// `pads`, `constant_value` and `axes`, of any element type) as graph inputs are rewritten so
/// that every input after the first becomes an initializer holding its test value.
fn bind_params(onnx: &[u8], data: &Path) -> Result<Vec<u8>, String> {
    use prost::Message;
    use vouch_onnx::proto::{ModelProto, TensorProto};
    let mut model = ModelProto::decode(onnx).map_err(|e| e.to_string())?;
    let graph = model.graph.as_mut().ok_or("no graph")?;
    let inits: Vec<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
    let names: Vec<String> = graph
        .input
        .iter()
        .map(|i| i.name.clone())
        .filter(|n| !inits.contains(n))
        .collect();
    for (i, name) in names.iter().enumerate().skip(1) {
        let bytes = std::fs::read(data.join(format!("input_{i}.pb"))).map_err(|e| e.to_string())?;
        let mut t = TensorProto::decode(bytes.as_slice()).map_err(|e| e.to_string())?;
        t.name = name.clone();
        graph.initializer.push(t);
    }
    Ok(model.encode_to_vec())
}

/// Which expected outputs of a data set are ONNX bools.
fn bool_outputs(dir: &Path) -> Result<Vec<bool>, String> {
    use prost::Message;
    (0..)
        .map(|i| dir.join(format!("output_{i}.pb")))
        .take_while(|p| p.exists())
        .map(|p| {
            let bytes = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            let t = vouch_onnx::proto::TensorProto::decode(bytes.as_slice())
                .map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(t.data_type == vouch_onnx::proto::DataType::Bool as i32)
        })
        .collect()
}

/// Runs one case; `Ok(whether weights were bound as constants)` or an error message.
fn run_case(dir: &Path) -> Result<bool, String> {
    let data = dir.join("test_data_set_0");
    let mut onnx = std::fs::read(dir.join("model.onnx")).map_err(|e| e.to_string())?;
    let mut inputs = numbered(&data, "input")?;
    let mut bound_params = false;
    let graph = match vouch_onnx::import(&onnx, &Default::default()) {
        Ok(g) => g,
        Err(first) if inputs.len() > 1 => {
            onnx = bind_params(&onnx, &data)?;
            inputs.truncate(1);
            bound_params = true;
            vouch_onnx::import(&onnx, &Default::default())
                .map_err(|e| format!("import: {first}; with weights bound as constants: {e}"))?
        }
        Err(e) => return Err(format!("import: {e}")),
    };
    let expected = numbered(&data, "output")?;
    let bools = bool_outputs(&data)?;
    if inputs.len() != graph.inputs.len() || expected.len() != graph.outputs.len() {
        return Err(format!(
            "{} inputs / {} outputs on disk, graph has {} / {}",
            inputs.len(),
            expected.len(),
            graph.inputs.len(),
            graph.outputs.len()
        ));
    }
    let pkg = vouch_quant::import(&graph, inputs.clone(), "case", [0; 32], |_| {})
        .map_err(|e| format!("quantize: {e}"))?;
    let engine = Engine::new(
        &pkg,
        Options {
            threads: 1,
            trace: false,
        },
    )
    .map_err(|e| e.to_string())?;
    let exec = engine
        .run(vouch_quant::quantize_inputs(&pkg, &inputs))
        .map_err(|e| format!("engine: {e}"))?;
    for (i, (got, want)) in exec.outputs.iter().zip(&expected).enumerate() {
        if got.data.len() != want.data.len() {
            return Err(format!(
                "output {i}: {} elements, expected {}",
                got.data.len(),
                want.data.len()
            ));
        }
        let info = &pkg.values[pkg.outputs[i].value as usize];
        let deq = vouch_quant::dequantize(&pkg, i, got);
        let exp: Vec<f64> = want.data.iter().map(|&v| f64::from(v)).collect();
        // indices and ONNX bools (0/1 at scale 1) must be exact
        let b = if info.kind == Kind::Index || bools.get(i).copied().unwrap_or(false) {
            0.0
        } else {
            bound(info.scale, &exp)
        };
        let err = deq
            .iter()
            .zip(&exp)
            .fold(0f64, |m, (a, e)| m.max((a - e).abs()));
        if err > b {
            return Err(format!("output {i}: max abs error {err:.5} > bound {b:.5}"));
        }
    }
    Ok(bound_params)
}

#[test]
fn onnx_backend_node_tests() {
    // allowlist_int_params.txt: Reshape/Squeeze/Unsqueeze/Pad cases whose int64 shape, axes
    // or pads operand is fed as an input; it is bound as a constant like any weight.
    let list = ["allowlist.txt", "allowlist_int_params.txt"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(root().join("testdata/onnx-node").join(f)).expect("allowlist")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let cases: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let base = root().join("target/onnx-node");
    assert!(
        base.is_dir(),
        "{} is missing: run `python3 testdata/onnx-node/export.py` (the test script does)",
        base.display()
    );
    let (mut failed, mut bound) = (Vec::new(), 0);
    for case in &cases {
        match run_case(&base.join(case)) {
            Ok(b) => bound += usize::from(b),
            Err(e) => failed.push(format!("{case}: {e}")),
        }
    }
    let passed = cases.len() - failed.len();
    println!(
        "onnx node tests: {passed} of {} allowlisted cases passed ({bound} with weights fed as graph inputs bound as constants)",
        cases.len()
    );
    for f in &failed {
        println!("  FAIL {f}");
    }
    assert!(
        failed.is_empty(),
        "{} allowlisted ONNX node cases failed",
        failed.len()
    );
}
