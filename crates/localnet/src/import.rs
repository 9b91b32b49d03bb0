//! ONNX bytes and calibration JSON to a package: import, calibrate on the float model,
//! quantize, measure. `vouch model import` and the local network share it.

use eyre::{Result, WrapErr};
use vouch_model::Package;
use vouch_onnx::ImportOptions;
use vouch_primitives::Cid;

/// Imports `onnx` with the calibration rows in `calibration` (a JSON object mapping each input
/// name to a nested array, first axis = rows) at `precision`, keeping `outputs` (all when
/// `None`); `on_stage` hears each stage as it starts. The package records the ONNX file's
/// digest.
pub fn import_bytes(
    onnx: &[u8],
    calibration: &serde_json::Value,
    outputs: Option<Vec<String>>,
    name: &str,
    precision: vouch_quant::Precision,
    on_stage: impl FnMut(vouch_quant::Stage),
) -> Result<Package> {
    let opts = ImportOptions {
        outputs,
        ..ImportOptions::default()
    };
    import_with(onnx, calibration, opts, name, precision, on_stage)
}

/// [`import_bytes`] with every import option (`opts.shapes` from `--shape`); the calibration
/// rows' shapes size the input axes `opts.shapes` leaves symbolic
/// ([`ImportOptions::sample_shapes`]).
pub fn import_with(
    onnx: &[u8],
    calibration: &serde_json::Value,
    mut opts: ImportOptions,
    name: &str,
    precision: vouch_quant::Precision,
    on_stage: impl FnMut(vouch_quant::Stage),
) -> Result<Package> {
    if opts.sample_shapes.is_empty() {
        opts.sample_shapes = vouch_quant::sample_shapes(calibration);
    }
    let graph = vouch_onnx::import(onnx, &opts).wrap_err("cannot import the ONNX model")?;
    let digest = *Cid::of(onnx).digest();
    quantize(graph, calibration, name, digest, precision, on_stage)
}

/// [`import_with`] taking the ONNX bytes: they are dropped once decoded and the float graph
/// once quantized, so importing a large model holds fewer copies of its weights (a
/// 144M-parameter VGG-19 peaks at 2.7 GiB, not 3.7). The same package as [`import_with`].
pub fn import_owned(
    onnx: Vec<u8>,
    calibration: &serde_json::Value,
    mut opts: ImportOptions,
    name: &str,
    precision: vouch_quant::Precision,
    on_stage: impl FnMut(vouch_quant::Stage),
) -> Result<Package> {
    if opts.sample_shapes.is_empty() {
        opts.sample_shapes = vouch_quant::sample_shapes(calibration);
    }
    let digest = *Cid::of(&onnx).digest();
    let graph = vouch_onnx::import_owned(onnx, &opts).wrap_err("cannot import the ONNX model")?;
    quantize(graph, calibration, name, digest, precision, on_stage)
}

fn quantize(
    graph: vouch_onnx::FGraph,
    calibration: &serde_json::Value,
    name: &str,
    digest: [u8; 32],
    precision: vouch_quant::Precision,
    on_stage: impl FnMut(vouch_quant::Stage),
) -> Result<Package> {
    let samples = vouch_quant::calibration_from_json(&graph, calibration)
        .wrap_err("bad calibration samples")?;
    Ok(vouch_quant::import_owned(
        graph, samples, name, digest, precision, on_stage,
    )?)
}
