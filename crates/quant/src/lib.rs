//! From an imported float graph to a vouch package.
//!
//! 1. [`float::run`] executes the [`FGraph`] on calibration samples; the largest magnitude of
//!    every value becomes its scale (`docs/semantics.md` section 5).
//! 2. [`quantize::quantize`] lowers every float op to its integer definition at a
//!    [`Precision`] (`act16` activations and `i16` weights by default, or `act8`/`i8`): biases
//!    to `i32`, multipliers and shifts, tables for nonlinear functions, fused clamps.
//! 3. [`accuracy::measure`] runs the integer engine on the same samples and records the error
//!    against the float model in the package; for tree ensembles, [`tree_decisions`] must
//!    find every calibration row's leaves equal to the float model's, or the import fails.
//!
//! | module | holds |
//! |---|---|
//! | [`float`] | the float reference executor, one submodule per op family |
//! | [`quantize`](mod@quantize) | scale selection and lowering to the integer IR, one submodule per op family |
//! | [`accuracy`] | input quantization, output dequantization, the accuracy report |
//! | [`decisions`] | tree ensembles: float against integer leaves on calibration rows |
//! | [`explain`] | per-node error of a package against the float model; weight rounding alone |
//! | [`json`] | the JSON tensor format of inputs, calibration samples and outputs |

#![forbid(unsafe_code)]
pub mod accuracy;
pub mod decisions;
pub mod explain;
pub mod float;
pub mod quantize;

/// The JSON tensor format (defined with the task input codec in `vouch-task`).
pub use vouch_task::codec::json;

pub use accuracy::{dequantize, measure, quantize_inputs};
pub use decisions::{TreeDecisions, tree_decisions};
pub use float::FTensor;
pub use quantize::{Precision, quantize};

use std::borrow::Cow;
use vouch_onnx::graph::FGraph;

/// Errors from calibrating and quantizing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A calibration or inference input is unusable.
    #[error("input {name:?}: {reason}")]
    Input {
        /// Input name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A node cannot be quantized (overflow proof failed, unsupported combination, ...).
    #[error("node {node:?}: {reason}")]
    Node {
        /// Node name.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// The integer engine failed on the freshly built package.
    #[error("integer engine: {0}")]
    Engine(#[from] vouch_engine::Error),
    /// The built package is invalid (a quantizer bug).
    #[error("quantizer produced an invalid package: {0}")]
    Invalid(#[from] vouch_model::validate::InvalidPackage),
}

impl From<vouch_task::codec::InputError> for Error {
    fn from(e: vouch_task::codec::InputError) -> Self {
        Self::Input {
            name: e.name,
            reason: e.reason,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// The stages reported to a progress callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Running the float model on the calibration samples.
    Calibrate,
    /// Lowering to integers.
    Quantize,
    /// Running the integer engine to measure accuracy.
    Measure,
}

/// Calibrates, quantizes and measures: the whole import after ONNX decoding, at the default
/// [`Precision`].
pub fn import(
    graph: &FGraph,
    calibration: Vec<FTensor>,
    name: &str,
    source_sha256: [u8; 32],
    progress: impl FnMut(Stage),
) -> Result<vouch_model::Package> {
    import_at(
        graph,
        calibration,
        name,
        source_sha256,
        Precision::default(),
        progress,
    )
}

/// The calibration samples of `graph` from a JSON object, one tensor per graph input in order;
/// `null` is a missing value (NaN) in an input with an `Imputer` or read by tree ensembles.
pub fn calibration_from_json(
    graph: &FGraph,
    v: &serde_json::Value,
) -> std::result::Result<Vec<FTensor>, vouch_task::codec::InputError> {
    let names: Vec<&str> = graph
        .inputs
        .iter()
        .map(|&i| graph.values[i].name.as_str())
        .collect();
    let trees = |i: usize| {
        graph.nodes.iter().any(|n| {
            matches!(n.op, vouch_onnx::FOp::TreeEnsemble(_))
                && n.inputs.first() == Some(&vouch_onnx::graph::Operand::Value(i))
        })
    };
    let missing: Vec<bool> = graph
        .inputs
        .iter()
        .map(|&i| graph.values[i].imputation.is_some() || trees(i))
        .collect();
    json::inputs_from_json_missing(v, &names, &missing)
}

/// The shape of each input's calibration rows in a JSON object of nested arrays (the first
/// element of each array read as the rest): what binds an ONNX input's symbolic axes when no
/// shape is given for it ([`vouch_onnx::ImportOptions::sample_shapes`]). Entries that are not
/// arrays are left out; the rows are checked when read.
pub fn sample_shapes(v: &serde_json::Value) -> std::collections::BTreeMap<String, Vec<usize>> {
    let Some(obj) = v.as_object() else {
        return Default::default();
    };
    obj.iter()
        .filter(|(_, x)| x.is_array())
        .map(|(name, x)| {
            let mut shape = Vec::new();
            let mut cur = x;
            while let serde_json::Value::Array(a) = cur {
                shape.push(a.len());
                match a.first() {
                    Some(first) => cur = first,
                    None => break,
                }
            }
            (name.clone(), shape)
        })
        .collect()
}

/// [`import`] at a chosen [`Precision`].
pub fn import_at(
    graph: &FGraph,
    calibration: Vec<FTensor>,
    name: &str,
    source_sha256: [u8; 32],
    precision: Precision,
    progress: impl FnMut(Stage),
) -> Result<vouch_model::Package> {
    import_graph(
        Cow::Borrowed(graph),
        calibration,
        name,
        source_sha256,
        precision,
        progress,
    )
}

/// [`import_at`] taking the graph: the same package, but the graph (its float weights, as
/// large as the model) is dropped once quantized, before the integer engine measures the
/// accuracy, so the float and the integer weights are not both held then. What a command
/// that imports a large model calls.
pub fn import_owned(
    graph: FGraph,
    calibration: Vec<FTensor>,
    name: &str,
    source_sha256: [u8; 32],
    precision: Precision,
    progress: impl FnMut(Stage),
) -> Result<vouch_model::Package> {
    import_graph(
        Cow::Owned(graph),
        calibration,
        name,
        source_sha256,
        precision,
        progress,
    )
}

fn import_graph(
    graph: Cow<'_, FGraph>,
    calibration: Vec<FTensor>,
    name: &str,
    source_sha256: [u8; 32],
    precision: Precision,
    mut progress: impl FnMut(Stage),
) -> Result<vouch_model::Package> {
    progress(Stage::Calibrate);
    // the float reference applies each input's imputation (docs/semantics.md section 5), so the
    // graph inputs' values are what the codec quantizes; only the ranges, the inputs and the
    // outputs are kept (float::calibrate drops each activation after its last reader)
    let float::Calibration {
        mut ranges,
        inputs,
        outputs: float_outputs,
    } = float::calibrate(&graph, calibration.clone())?;
    declared_input_ranges(&graph, &inputs, &mut ranges)?;
    progress(Stage::Quantize);
    let integral: Vec<bool> = inputs
        .iter()
        .map(|t| t.data.iter().all(|v| v.fract() == 0.0))
        .collect();
    // an integer or boolean input's calibration values are integers of its type
    for (&v, t) in graph.inputs.iter().zip(&inputs) {
        if let Some((lo, hi)) = graph.values[v].integer {
            #[expect(clippy::cast_precision_loss, reason = "a range check")]
            let (lo, hi) = (lo as f64, hi as f64);
            if let Some((i, x)) = t.data.iter().enumerate().find(|(_, x)| {
                let x = f64::from(**x);
                x.fract() != 0.0 || !(lo..=hi).contains(&x)
            }) {
                return Err(Error::Node {
                    node: graph.values[v].name.clone(),
                    reason: format!(
                        "calibration element {i} ({x}) is not an integer from {lo} to {hi} \
                         (the input's ONNX type)"
                    ),
                });
            }
        }
    }
    // an input with a declared range keeps one scale, the declared one
    let features: Vec<Vec<f32>> = inputs
        .iter()
        .zip(&graph.inputs)
        .map(|(t, &v)| match graph.values[v].declared_range {
            Some(_) => Vec::new(),
            None => quantize::features::feature_ranges(&t.shape, &t.data),
        })
        .collect();
    let mut pkg = quantize(
        &graph,
        &ranges,
        &features,
        &integral,
        name,
        source_sha256,
        precision,
    )?;
    drop((inputs, features));
    progress(Stage::Measure);
    // the float weights are not needed past here, but for tree ensembles' decisions
    let graph = if pkg.has_trees() { Some(graph) } else { None };
    pkg.accuracy = measure(&pkg, &calibration, &float_outputs)?;
    // tree decisions are exact by construction (docs/semantics.md section 3.1): a difference
    // on the calibration rows is an importer bug, and the package is refused
    if let Some(graph) = graph {
        let d = tree_decisions(&graph, &pkg, &calibration)?;
        if d.differing > 0 {
            return Err(Error::Node {
                node: pkg.name.clone(),
                reason: format!(
                    "{} of {} tree decisions on the calibration rows differ from the float model",
                    d.differing, d.walks
                ),
            });
        }
    }
    Ok(pkg)
}

/// A graph input with a declared range (`ImportOptions::input_ranges`) takes `max(|lo|, |hi|)`
/// as its range; a calibration value outside `[lo, hi]` is an error naming the input.
fn declared_input_ranges(graph: &FGraph, inputs: &[FTensor], ranges: &mut [f32]) -> Result<()> {
    for (&v, t) in graph.inputs.iter().zip(inputs) {
        let Some((lo, hi)) = graph.values[v].declared_range else {
            continue;
        };
        if let Some((i, x)) = t
            .data
            .iter()
            .enumerate()
            .find(|(_, x)| !(lo..=hi).contains(*x))
        {
            return Err(Error::Input {
                name: graph.values[v].name.clone(),
                reason: format!(
                    "calibration element {i} ({x}) is outside the declared range [{lo}, {hi}]"
                ),
            });
        }
        if let Some(r) = ranges.get_mut(v) {
            *r = lo.abs().max(hi.abs());
        }
    }
    Ok(())
}
