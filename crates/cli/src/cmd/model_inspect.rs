//! `vouch model inspect`: what a package holds.

use crate::io;
use crate::out;
use clap::Args;
use eyre::Result;
use serde_json::json;
use std::path::PathBuf;
use vouch_model::{Dim, Package};
use vouch_primitives::{Cid, hex0x};

/// `vouch model inspect`
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The package file.
    pub package: PathBuf,
}

fn shape_str(shape: &[Dim]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|d| {
            if let Dim::Fixed(n) = d {
                n.to_string()
            } else {
                "N".into()
            }
        })
        .collect();
    format!("[{}]", dims.join(", "))
}

/// The package summary as JSON.
pub fn summary(pkg: &Package, cid: &Cid) -> serde_json::Value {
    let io = |specs: &[vouch_model::IoSpec]| {
        specs
            .iter()
            .map(|s| {
                let v = &pkg.values[s.value as usize];
                let mut o = json!({ "name": s.name, "shape": shape_str(&v.shape), "kind": format!("{:?}", v.kind), "scale": v.scale });
                if !s.feature_scales.is_empty() {
                    o["feature_scales"] = json!(s.feature_scales);
                }
                o
            })
            .collect::<Vec<_>>()
    };
    json!({
        "name": pkg.name,
        "cid": cid.to_string(),
        "semantics_version": pkg.semantics_version,
        "source_onnx_sha256": hex0x(&pkg.source_sha256),
        "weights_root": hex0x(&pkg.weights_root()),
        "parameters": pkg.parameter_count(),
        "inputs": io(&pkg.inputs),
        "outputs": io(&pkg.outputs),
        "nodes": pkg.nodes.iter().map(|n| json!({
            "name": n.name, "op": n.op.name(), "output": shape_str(&pkg.values[n.output as usize].shape),
        })).collect::<Vec<_>>(),
        "accuracy": pkg.accuracy.outputs.iter().map(|o| json!({
            "output": o.name, "max_abs_error": o.max_abs_error, "max_abs_float": o.max_abs_float,
            "argmax_agreement": o.argmax_agreement,
        })).collect::<Vec<_>>(),
        "accuracy_samples": pkg.accuracy.samples,
    })
}

/// Runs the command.
pub fn run(a: &InspectArgs) -> Result<()> {
    let bytes = std::fs::read(&a.package)
        .map_err(|e| eyre::eyre!("cannot read {}: {e}", a.package.display()))?;
    let pkg = io::read_package(&a.package)?;
    let cid = Package::cid_of_bytes(&bytes);
    if out::json_mode() {
        out::json(&summary(&pkg, &cid));
        return Ok(());
    }
    out::line(format!("name               {}", pkg.name));
    out::line(format!("cid                {cid}"));
    out::line(format!("semantics version  {}", pkg.semantics_version));
    out::line(format!("source onnx sha256 {}", hex0x(&pkg.source_sha256)));
    out::line(format!("weights root       {}", hex0x(&pkg.weights_root())));
    out::line(format!("parameters         {}", pkg.parameter_count()));
    let io_rows = |specs: &[vouch_model::IoSpec], dir: &str| -> Vec<Vec<String>> {
        specs
            .iter()
            .map(|s| {
                let v = &pkg.values[s.value as usize];
                vec![
                    dir.into(),
                    s.name.clone(),
                    shape_str(&v.shape),
                    format!("{:?}", v.kind),
                    if s.feature_scales.is_empty() {
                        format!("{:.3e}", v.scale)
                    } else {
                        format!("per feature ({})", s.feature_scales.len())
                    },
                ]
            })
            .collect()
    };
    let mut rows = io_rows(&pkg.inputs, "input");
    rows.extend(io_rows(&pkg.outputs, "output"));
    out::line("");
    out::line(out::table(&["", "name", "shape", "kind", "scale"], &rows));
    let nodes: Vec<Vec<String>> = pkg
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            vec![
                i.to_string(),
                n.op.name().into(),
                n.name.clone(),
                shape_str(&pkg.values[n.output as usize].shape),
            ]
        })
        .collect();
    out::line("");
    out::line(out::table(&["#", "op", "node", "output shape"], &nodes));
    out::line("");
    out::line(format!(
        "accuracy measured at import on {} samples:",
        pkg.accuracy.samples
    ));
    out::line(super::model_import::accuracy_table(&pkg));
    Ok(())
}
