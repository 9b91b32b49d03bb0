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
    /// The shape of a graph input, as `NAME=1x3x320x320` (repeatable): sizes for the input's
    /// symbolic axes after the first, which the package then fixes (the first axis, the batch,
    /// stays the rows). Without it, the calibration rows' shape sizes them; an axis neither
    /// sizes is an error naming the input and the axis. Axes the model fixes must agree.
    #[arg(long = "shape", value_name = "NAME=DxDx..", value_parser = parse_shape)]
    pub shapes: Vec<(String, Vec<usize>)>,
    /// Bind a symbolic dimension by its ONNX `dim_param` name, as `NAME=SIZE` (repeatable;
    /// e.g. `--dim sequence_length=64`), on every input that declares it, the first axis
    /// included: an input whose first axis is bound this way has no batch axis (a sequence the
    /// model reads across, not independent rows). A name no input declares is an error listing
    /// the names they do.
    #[arg(long = "dim", value_name = "NAME=SIZE", value_parser = parse_dim)]
    pub dims: Vec<(String, usize)>,
    /// Keep a batch fixed at 1 as the model declares it: a task holds one row, and calibration
    /// and `vouch infer` run several rows one by one. By default a model whose inputs all have
    /// their first axis fixed at 1 (`torch.onnx.export` without `dynamic_axes`) takes any
    /// number of rows per task, each run as the model's one row.
    #[arg(long)]
    pub keep_fixed_batch: bool,
    /// Bind a graph input to a constant, as `NAME=VALUE[,VALUE..]` (repeatable; e.g.
    /// `--const sr=16000`): the input is folded into a constant of its type and shape at
    /// import (values row-major), so what it decides (an `If` on `sr == 16000`) folds too, and
    /// the package no longer takes it. A name that is not a graph input is an error.
    #[arg(long = "const", value_name = "NAME=V,V..", value_parser = parse_const)]
    pub consts: Vec<(String, Vec<f64>)>,
    /// Declare a float graph input's value range, as `NAME=LO,HI` (repeatable; e.g.
    /// `--input-range input1=-1,1` for an image normalized to [-1, 1]): the input's scale
    /// comes from the range instead of the calibration rows, which need not reach its ends
    /// (a held-out value past what they saw would clip). A calibration value outside the range
    /// is an error.
    #[arg(long = "input-range", value_name = "NAME=LO,HI", value_parser = parse_input_range)]
    pub input_ranges: Vec<(String, (f32, f32))>,
    /// After importing, explain the error: run the float model and the integer engine on the
    /// rows of INPUTS (a JSON object like the calibration file; without a file, the
    /// calibration samples) and list the nodes that add the most relative error (`max |int -
    /// float| / max |float|` of each node's output, less its inputs'), the share of each one's
    /// float values its integer range clips, and the output error rounding the Conv/Linear
    /// weights alone causes, per tensor (as imported) and per output channel.
    #[arg(long, value_name = "INPUTS", num_args = 0..=1)]
    pub explain_error: Option<Option<PathBuf>>,
    /// How many nodes `--explain-error` lists.
    #[arg(long, default_value_t = 15, value_name = "N")]
    pub explain_top: usize,
}

/// Parses `NAME=LO,HI` (finite, `LO < HI`).
fn parse_input_range(s: &str) -> std::result::Result<(String, (f32, f32)), String> {
    let bad = || format!("`{s}` is not NAME=LO,HI with finite LO < HI (e.g. input1=-1,1)");
    let (name, range) = s.split_once('=').ok_or_else(bad)?;
    let (lo, hi) = range.split_once(',').ok_or_else(bad)?;
    let (lo, hi) = (
        lo.trim().parse::<f32>().map_err(|_| bad())?,
        hi.trim().parse::<f32>().map_err(|_| bad())?,
    );
    if name.is_empty() || !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(bad());
    }
    Ok((name.to_owned(), (lo, hi)))
}

/// Parses `NAME=VALUE[,VALUE..]` (finite numbers).
fn parse_const(s: &str) -> std::result::Result<(String, Vec<f64>), String> {
    let (name, values) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE[,VALUE..] (e.g. sr=16000)"))?;
    if name.is_empty() {
        return Err(format!("`{s}` names no input"));
    }
    let values = values
        .split(',')
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("`{v}` in `{s}` is not a finite number"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((name.to_owned(), values))
}

/// Parses `NAME=DxDx..` (positive sizes).
fn parse_dim(s: &str) -> std::result::Result<(String, usize), String> {
    let (name, size) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=SIZE (e.g. sequence_length=64)"))?;
    if name.is_empty() {
        return Err(format!("`{s}` names no dimension"));
    }
    let size = size
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{size}` in `{s}` is not a positive size"))?;
    Ok((name.to_owned(), size))
}

fn parse_shape(s: &str) -> std::result::Result<(String, Vec<usize>), String> {
    let (name, dims) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=DxDx.. (e.g. images=1x3x320x320)"))?;
    if name.is_empty() {
        return Err(format!("`{s}` names no input"));
    }
    let dims = dims
        .split(['x', 'X', ','])
        .map(|d| {
            d.trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("`{d}` in `{s}` is not a positive size"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((name.to_owned(), dims))
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
    let opts = vouch_onnx::ImportOptions {
        outputs,
        ..Default::default()
    };
    import_with(onnx, calibration, opts, name, precision)
}

/// [`import_with`] taking the ONNX bytes, dropped once decoded (a large model's weights are
/// then not held twice over).
pub fn import_owned(
    onnx: Vec<u8>,
    calibration: &serde_json::Value,
    opts: vouch_onnx::ImportOptions,
    name: &str,
    precision: vouch_quant::Precision,
) -> Result<Package> {
    let pb = out::spinner("calibrating on the float model");
    let pkg =
        vouch_localnet::import::import_owned(onnx, calibration, opts, name, precision, |stage| {
            pb.set_message(stage_message(stage));
        });
    pb.finish_and_clear();
    pkg
}

fn stage_message(stage: vouch_quant::Stage) -> &'static str {
    match stage {
        vouch_quant::Stage::Calibrate => "calibrating on the float model",
        vouch_quant::Stage::Quantize => "quantizing",
        vouch_quant::Stage::Measure => "measuring accuracy with the integer engine",
    }
}

/// [`import_bytes_at`] with every import option (input shapes, the fixed batch).
pub fn import_with(
    onnx: &[u8],
    calibration: &serde_json::Value,
    opts: vouch_onnx::ImportOptions,
    name: &str,
    precision: vouch_quant::Precision,
) -> Result<Package> {
    let pb = out::spinner("calibrating on the float model");
    let pkg =
        vouch_localnet::import::import_with(onnx, calibration, opts, name, precision, |stage| {
            pb.set_message(stage_message(stage));
        });
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
    let mut shapes = std::collections::BTreeMap::new();
    for (input, dims) in &a.shapes {
        if shapes.insert(input.clone(), dims.clone()).is_some() {
            eyre::bail!("--shape is given twice for `{input}`");
        }
    }
    let mut dims = std::collections::BTreeMap::new();
    for (name, size) in &a.dims {
        if dims.insert(name.clone(), *size).is_some() {
            eyre::bail!("--dim is given twice for `{name}`");
        }
    }
    let mut consts = std::collections::BTreeMap::new();
    for (input, values) in &a.consts {
        if consts.insert(input.clone(), values.clone()).is_some() {
            eyre::bail!("--const is given twice for `{input}`");
        }
    }
    let mut input_ranges = std::collections::BTreeMap::new();
    for (input, range) in &a.input_ranges {
        if input_ranges.insert(input.clone(), *range).is_some() {
            eyre::bail!("--input-range is given twice for `{input}`");
        }
    }
    let opts = vouch_onnx::ImportOptions {
        outputs: a.outputs.clone(),
        shapes,
        keep_fixed_batch: a.keep_fixed_batch,
        consts,
        dims,
        input_ranges,
        ..Default::default()
    };
    // the bytes go to the importer (a large model's are dropped once decoded) and are read
    // again for `--explain-error`
    let pkg = import_owned(onnx, &calibration, opts.clone(), &name, precision)?;
    let explained = match &a.explain_error {
        Some(file) => {
            let onnx = std::fs::read(&a.model)
                .wrap_err_with(|| format!("cannot read {}", a.model.display()))?;
            let rows = match file {
                Some(f) => io::read_json(f)?,
                None => calibration.clone(),
            };
            Some(super::explain::explain(
                &onnx,
                &calibration,
                &rows,
                opts,
                &pkg,
                precision,
                a.explain_top,
            )?)
        }
        None => None,
    };
    let path = a
        .output
        .clone()
        .unwrap_or_else(|| a.model.with_extension("vpkg"));
    let bytes = pkg.to_bytes();
    io::write_atomic(&path, &bytes)?;
    let cid = Package::cid_of_bytes(&bytes).to_string();
    let mut v = json!({
        "cid": cid,
        "name": pkg.name,
        "package": path.display().to_string(),
        "bytes": bytes.len(),
        "parameters": pkg.parameter_count(),
        "samples": pkg.accuracy.samples,
        "takes_rows": pkg.takes_rows(),
        "accuracy": pkg.accuracy.outputs.iter().map(|o| json!({
            "output": o.name,
            "max_abs_error": o.max_abs_error,
            "max_abs_float": o.max_abs_float,
            "argmax_agreement": o.argmax_agreement,
        })).collect::<Vec<_>>(),
    });
    if let Some(e) = &explained {
        v["explain_error"] = e.to_json();
    }
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
        out::line(if pkg.takes_rows() {
            "rows     any number per input, each run as one row of the model"
        } else if pkg.runs_row_by_row() {
            "rows     one per task (the model fixes its batch at 1; several rows run one by one)"
        } else {
            "rows     one per execution (an input has no batch axis first)"
        });
        out::line(format!(
            "package  {} ({} bytes, {} parameters)",
            path.display(),
            bytes.len(),
            pkg.parameter_count()
        ));
        out::line(format!("cid      {cid}"));
        if let Some(e) = &explained {
            out::line(e.to_text());
        }
    });
    Ok(())
}
