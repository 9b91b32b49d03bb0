//! Prints a fingerprint of every fixture model under every checker that has no committed
//! output of its own: the package content id (importer, float reference and quantizer), and a
//! SHA-256 of the circuit's constraint matrices and of its witness for the first input row
//! (the verifying key is a function of the matrices). Two builds that print the same lines
//! import, quantize and arithmetize every fixture identically; a restructuring diffs them.
//!
//! `cargo run --release -p vouch-zk-prover --example fingerprint [-- --no-circuit]`
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use ark_serialize::CanonicalSerialize as _;
use sha2::{Digest as _, Sha256};
use std::path::PathBuf;
use vouch_quant::Precision;
use vouch_zk_prover::cs::Lc;

const MODELS: [&str; 9] = [
    "mlp_10_20_2",
    "mlp_784_128_10",
    "lenet",
    "cnn_ops",
    "upsample_net",
    "digits_logreg",
    "digits_logreg_zipmap",
    "digits_mlp",
    "digits_logreg_mlops",
];

fn hash_rows(h: &mut Sha256, rows: &[Lc]) {
    for lc in rows {
        h.update((lc.0.len() as u64).to_le_bytes());
        for (v, k) in &lc.0 {
            h.update(v.to_le_bytes());
            let mut b = Vec::new();
            k.serialize_compressed(&mut b).unwrap();
            h.update(&b);
        }
    }
}

fn main() {
    let circuits = !std::env::args().any(|a| a == "--no-circuit");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    for name in MODELS {
        let dir = root.join("testdata/models").join(name);
        let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
        let graph = match vouch_onnx::import(&onnx, &vouch_onnx::ImportOptions::default()) {
            Ok(g) => g,
            Err(e) => {
                println!("{name}: import error: {e}");
                continue;
            }
        };
        let names: Vec<String> = graph
            .inputs
            .iter()
            .map(|&v| graph.values[v].name.clone())
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let read = |f: &str| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap()
        };
        for precision in [Precision::Int8, Precision::Int16] {
            let samples =
                vouch_quant::json::inputs_from_json(&read("calibration.json"), &names).unwrap();
            let pkg =
                match vouch_quant::import_at(&graph, samples, name, [0; 32], precision, |_| {}) {
                    Ok(p) => p,
                    Err(e) => {
                        println!("{name} {precision:?}: quantize error: {e}");
                        continue;
                    }
                };
            let mut line = format!("{name} {precision:?}: package {}", pkg.cid());
            if circuits {
                let floats =
                    vouch_quant::json::inputs_from_json(&read("input.json"), &names).unwrap();
                let rows: Vec<_> = vouch_quant::quantize_inputs(&pkg, &floats)
                    .into_iter()
                    .map(|t| {
                        let per = t.data.len() / t.shape[0].max(1);
                        let mut shape = t.shape.clone();
                        shape[0] = 1;
                        vouch_engine::Tensor {
                            shape,
                            data: t.data[..per].to_vec(),
                        }
                    })
                    .collect();
                match vouch_zk_prover::circuit::build(&pkg, rows) {
                    Ok(c) => {
                        let mut m = Sha256::new();
                        for rows in [&c.cs.a, &c.cs.b, &c.cs.c] {
                            hash_rows(&mut m, rows);
                        }
                        let mut w = Sha256::new();
                        for z in &c.cs.z {
                            let mut b = Vec::new();
                            z.serialize_compressed(&mut b).unwrap();
                            w.update(&b);
                        }
                        line += &format!(
                            ", {} constraints, matrices {}, witness {}",
                            c.cs.num_constraints(),
                            vouch_primitives::hex0x(&m.finalize()),
                            vouch_primitives::hex0x(&w.finalize()),
                        );
                    }
                    Err(e) => line += &format!(", circuit error: {e}"),
                }
            }
            println!("{line}");
        }
    }
}
