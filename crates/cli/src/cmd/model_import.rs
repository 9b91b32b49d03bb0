//! `vouch model import`: ONNX -> calibrated, quantized, content-addressed package.

use crate::io;
use crate::out;
use clap::Args;
use eyre::{Result, WrapErr};
use serde_json::json;
use std::path::PathBuf;
use vouch_model::Package;

/// `vouch model import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The ONNX model file.
    pub model: PathBuf,
    /// Calibration samples: a JSON object mapping each input name to a nested array (rows = batch).
    #[arg(long, short = 'c')]
    pub calibration: PathBuf,
    /// Graph outputs to keep, comma separated (default: all outputs the importer supports).
    #[arg(long, value_delimiter = ',')]
    pub outputs: Option<Vec<String>>,
    /// Where to write the package (default: MODEL with the extension `.vpkg`).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Display name recorded in the package (default: the file stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Integer width: 16 (act16 activations, i16 weights; about 256 times less error) or 8
    /// (act8/i8: faster engine kernels and smaller zk circuits).
    #[arg(long, default_value_t = 16)]
    pub bits: u32,
}

/// Imports `onnx` bytes with calibration JSON at the default precision; returns the package.
pub fn import_bytes(
    onnx: &[u8],
    calibration: &serde_json::Value,
    outputs: Option<Vec<String>>,
    name: &str,
) -> Result<Package> {
    import_bytes_at(
        onnx,
        calibration,
        outputs,
        name,
        vouch_quant::Precision::default(),
    )
}

/// [`import_bytes`] at a chosen precision.
pub fn import_bytes_at(
    onnx: &[u8],
    calibration: &serde_json::Value,
    outputs: Option<Vec<String>>,
    name: &str,
    precision: vouch_quant::Precision,
) -> Result<Package> {
    let pb = out::spinner("calibrating on the float model");
    let pkg = vouch_localnet::import::import_bytes(
        onnx,
        calibration,
        outputs,
        name,
        precision,
        |stage| {
            pb.set_message(match stage {
                vouch_quant::Stage::Calibrate => "calibrating on the float model",
                vouch_quant::Stage::Quantize => "quantizing",
                vouch_quant::Stage::Measure => "measuring accuracy with the integer engine",
            });
        },
    );
    pb.finish_and_clear();
    pkg
}

/// The accuracy table of a package.
pub fn accuracy_table(pkg: &Package) -> String {
    let rows: Vec<Vec<String>> = pkg
        .accuracy
        .outputs
        .iter()
        .map(|o| {
            vec![
                o.name.clone(),
                format!("{:.6}", o.max_abs_error),
                format!("{:.6}", o.max_abs_float),
                o.argmax_agreement
                    .map_or("-".into(), |a| format!("{:.2}%", 100.0 * a)),
            ]
        })
        .collect();
    out::table(
        &[
            "output",
            "max abs error",
            "max abs float",
            "argmax agreement",
        ],
        &rows,
    )
}

/// Runs the command.
pub fn run(a: &ImportArgs) -> Result<()> {
    let onnx =
        std::fs::read(&a.model).wrap_err_with(|| format!("cannot read {}", a.model.display()))?;
    let calibration = io::read_json(&a.calibration)?;
    let name = a.name.clone().unwrap_or_else(|| {
        a.model
            .file_stem()
            .map_or("model".into(), |s| s.to_string_lossy().into_owned())
    });
    let precision = vouch_quant::Precision::from_bits(a.bits)
        .ok_or_else(|| eyre::eyre!("--bits must be 8 or 16, not {}", a.bits))?;
    let pkg = import_bytes_at(&onnx, &calibration, a.outputs.clone(), &name, precision)?;
    let path = a
        .output
        .clone()
        .unwrap_or_else(|| a.model.with_extension("vpkg"));
    let bytes = pkg.to_bytes();
    io::write_atomic(&path, &bytes)?;
    let cid = Package::cid_of_bytes(&bytes).to_string();
    let v = json!({
        "cid": cid,
        "name": pkg.name,
        "package": path.display().to_string(),
        "bytes": bytes.len(),
        "parameters": pkg.parameter_count(),
        "samples": pkg.accuracy.samples,
        "accuracy": pkg.accuracy.outputs.iter().map(|o| json!({
            "output": o.name,
            "max_abs_error": o.max_abs_error,
            "max_abs_float": o.max_abs_float,
            "argmax_agreement": o.argmax_agreement,
        })).collect::<Vec<_>>(),
    });
    out::result(v, || {
        out::line(format!(
            "accuracy on {} calibration samples (integer engine vs float model):",
            pkg.accuracy.samples
        ));
        out::line(accuracy_table(&pkg));
        if pkg.has_trees() {
            // the import refuses a package whose tree decisions differ on any calibration row
            out::line("tree decisions: identical to the float model's on every calibration row");
        }
        out::line(format!(
            "package  {} ({} bytes, {} parameters)",
            path.display(),
            bytes.len(),
            pkg.parameter_count()
        ));
        out::line(format!("cid      {cid}"));
    });
    Ok(())
}
