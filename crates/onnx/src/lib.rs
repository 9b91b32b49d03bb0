//! ONNX import for vouch: decode an ONNX model (`prost`, no `protoc`) and lower it to the float
//! graph [`graph::FGraph`] the quantizer and the float reference executor read.
//!
//! | module | what |
//! |---|---|
//! | [`proto`] | hand-written `prost` messages for the subset of `onnx.proto3` vouch reads |
//! | [`graph`] | the target IR: [`FGraph`], [`FOp`], [`Dim`], [`Operand`] |
//! | [`scalar`] | the elementwise functions of one argument ([`ScalarFn`]) and their `f32` meaning |
//! | `import` (private) | the graph walk (the node being lowered, `Ctx`, in `ctx`): pruning, constant folding, the import state (`Importer`, `Ctx`) and its shape helpers |
//! | `shapes` (private) | graph input shapes: the batch axis, symbolic axes bound by [`ImportOptions::shapes`] or the calibration rows, a batch fixed at 1 read as the rows ([`BatchAxis`]) |
//! | `lower` (private) | op lowering: one table of supported ops, dispatching to one module per op family (`lower/dense.rs`, `conv`, `elementwise`, `activation`, `reduce`, `pool`, `layout`, plus `norm`, `resize` and `plumbing`) |
//!
//! Import steps:
//!
//! 1. Keep the requested outputs ([`ImportOptions::outputs`], default: all graph outputs) and
//!    prune every node not needed to compute them (e.g. a label branch nobody asked for).
//! 2. Fold constants: initializers, `Constant` nodes, and shape-only subgraphs
//!    (`Shape -> Gather -> Unsqueeze -> Concat -> Reshape`, as PyTorch writes them).
//! 3. Lower each remaining node to an [`FOp`], inferring shapes with the batch axis symbolic:
//!    a graph input's first dimension that is a `dim_param`, `0` or `-1` is [`Dim::Batch`];
//!    its other symbolic dimensions take the sizes [`ImportOptions::shapes`] or
//!    [`ImportOptions::sample_shapes`] give (`shapes`, the module that reads input shapes). A
//!    model whose inputs all have axis 0 fixed at 1 is read with axis 0 as the batch when its
//!    graph allows it, and imported as declared otherwise ([`BatchAxis`]).
//! 4. Rewrite: `Gemm`/`MatMul` with a constant right operand become [`FOp::Linear`] (`alpha`,
//!    `beta`, `transB` folded into the constants), a constant bias `Add` right after a `Linear`
//!    is folded into its bias, `BatchNormalization` is folded into a preceding `Conv`/`Linear`
//!    (or becomes `Mul` + `Add` by per-channel constants), `Div` by a constant becomes `Mul` by
//!    the reciprocal, and `Identity`, `Dropout` and float `Cast`s disappear. skl2onnx's label
//!    lookup (`ai.onnx.ml` `ArrayFeatureExtractor` of an `ArgMax` into the classes `0..n-1`)
//!    is the identity and disappears too; casts of `ArgMax` indices are dropped. The
//!    `ai.onnx.ml` linear models lower to the same ops: `LinearClassifier` to `Linear` scores,
//!    an `ArgMax` label and its post-transform (`Softmax`, `Sigmoid`), `LinearRegressor` to a
//!    `Linear`, `Scaler` to `Mul` + `Add` by per-feature constants, a `Normalizer` (`MAX`,
//!    `L1`, `L2`) to two passes of a row statistic, its reciprocal as a [`ScalarFn`] and a
//!    `Mul` (an `L1` `Normalizer` right after a softmax, a distribution already, disappears),
//!    and a `Binarizer` to a step [`ScalarFn`]; a `LabelEncoder` that maps every class index
//!    to itself disappears (on constants it folds). The tree ensembles
//!    (`TreeEnsembleClassifier`, `TreeEnsembleRegressor`) become one [`FOp::TreeEnsemble`] of
//!    raw scores over a graph input (a `Scaler` before them is moved onto their thresholds),
//!    with an `ArgMax` label and the post-transform for a classifier.
//!
//! Graph inputs may be float, integer or boolean: an integer or boolean input carries its
//! type's range ([`ValueInfo::integer`]; its values are exact integers, a `Cast` of it to
//! float disappears). A graph input named in [`ImportOptions::consts`] is a constant before
//! step 2, so what it decides (an `If` on `sr == 16000`) folds; `Size` of a static shape and
//! `Range` of constants fold too.
//!
//! A model quantized by its exporter (QDQ pairs, `QLinearConv`, `QLinearMatMul`, `QGemm`,
//! onnxruntime's dynamic quantization with `ConvInteger`, `MatMulInteger` and
//! `DynamicQuantizeLSTM`) is imported as the float model its integers stand for: constant
//! weights dequantized exactly, each activation quantization as its float meaning (`Mul`, a
//! `Round` map, `Clip`, `Mul`; `lower/prequant.rs`, `lower/prequant_dyn.rs`).
//!
//! Only graph inputs that the kept outputs depend on appear in [`FGraph::inputs`].
//! Every failure is an [`Error`]; no input makes the importer panic.

#![forbid(unsafe_code)]
pub mod graph;
pub mod proto;

mod ctx;
mod error;
mod import;
mod lower;
mod prune;
pub mod scalar;
mod shapes;
mod tensor;

pub use error::{Error, Result};
pub use graph::{
    BatchAxis, ConstId, Dim, FConst, FGraph, FNode, FOp, Grid, Operand, ValueId, ValueInfo,
};
pub use scalar::ScalarFn;

use prost::Message as _;
use std::collections::BTreeMap;

/// Options of [`import`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportOptions {
    /// Names of the tensors to keep as graph outputs, in this order (usually a subset of the
    /// ONNX graph outputs). `None` keeps every ONNX graph output.
    pub outputs: Option<Vec<String>>,
    /// Shapes of graph inputs by name (`--shape images=1x3x320x320`): each sizes the input's
    /// symbolic axes after axis 0 (axis 0, the batch, stays symbolic when the model leaves it
    /// so); a fixed axis must agree with the model.
    pub shapes: BTreeMap<String, Vec<usize>>,
    /// Shapes of the calibration rows by input name: they size the symbolic axes after axis 0
    /// that [`ImportOptions::shapes`] leaves unbound, and are not checked against fixed axes
    /// (the rows themselves are, when read).
    pub sample_shapes: BTreeMap<String, Vec<usize>>,
    /// Symbolic dimensions bound by their `dim_param` name (`--dim sequence_length=64`), on
    /// every input that declares that name, axis 0 included: an input whose axis 0 is bound
    /// this way has no batch axis there (a sequence the graph reads across, not rows). A name
    /// that no kept input declares is an error.
    pub dims: BTreeMap<String, usize>,
    /// Keep a batch fixed at 1 fixed: the package then runs one row per execution. By default
    /// a model whose inputs all have axis 0 fixed at 1 is read with axis 0 as the rows
    /// ([`BatchAxis::FixedOneAsRows`]) when its graph allows it.
    pub keep_fixed_batch: bool,
    /// Graph inputs bound to constants at import (`--const sr=16000`): each named input is
    /// folded into a constant of its declared element type holding these values (row-major;
    /// the declared shape, one symbolic axis sized by the count), so what depends on it only
    /// (an `If` on `sr == 16000`) folds too. The package no longer has the input.
    pub consts: BTreeMap<String, Vec<f64>>,
    /// Declared value ranges of float graph inputs by name (`--input-range input1=-1,1`), as
    /// `(lo, hi)`: the domain the input's values come from (a normalized image's), which a few
    /// calibration rows need not reach. A name that is not a kept float graph input is an
    /// error.
    pub input_ranges: BTreeMap<String, (f32, f32)>,
}

/// Decodes an ONNX `ModelProto` and lowers it to a float graph.
///
/// # Errors
///
/// Any [`Error`]: malformed bytes, an unsupported operator needed for a kept output (naming
/// the op, its domain and the node), invalid attributes, shapes that do not agree, ...
pub fn import(bytes: &[u8], opts: &ImportOptions) -> Result<FGraph> {
    let model = proto::ModelProto::decode(bytes)?;
    import::import_model(&model, opts)
}

/// [`import`] taking the bytes: they are dropped once decoded, and each initializer's stored
/// bytes once it is decoded, so a large model's weights are held encoded and decoded at once
/// only one tensor at a time. The same graph as [`import`].
///
/// # Errors
///
/// As [`import`].
pub fn import_owned(bytes: Vec<u8>, opts: &ImportOptions) -> Result<FGraph> {
    // decoded from a shared buffer over the same allocation: each stored tensor is copied once
    // into its message (from a slice it would pass through a temporary copy first), and the
    // buffer is freed when decoding ends
    let model = proto::ModelProto::decode(prost::bytes::Bytes::from(bytes))?;
    import::import_model_owned(model, opts)
}

/// Decodes a serialized `TensorProto` (e.g. the `input_0.pb` files of the ONNX backend node
/// tests) into its shape and row-major `f32` elements (integer types are converted).
///
/// # Errors
///
/// [`Error::Decode`] for malformed bytes, [`Error::ExternalData`], [`Error::Tensor`] for
/// unsupported data types or inconsistent lengths, [`Error::TooLarge`].
pub fn decode_tensor(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>)> {
    let t = proto::TensorProto::decode(bytes)?;
    let tensor = tensor::Tensor::from_proto(&t)?;
    let data = tensor.to_f32().ok_or_else(|| Error::Tensor {
        tensor: t.name.clone(),
        reason: "elements not representable as f32".to_owned(),
    })?;
    Ok((tensor.shape, data))
}
