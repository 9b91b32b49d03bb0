//! ONNX op lowering: the one table [`LOWERINGS`] that maps each supported `(domain, op_type)`
//! to its lowering, one module per op family ([`vouch_semantics::Family::module`]), and the
//! window geometry that convolution and pooling share.
//!
//! | module | ONNX ops |
//! |---|---|
//! | [`dense`] | `Gemm`, `MatMul`; `ai.onnx.ml` `LinearClassifier`, `LinearRegressor` |
//! | [`linear_scaler`] | an `ai.onnx.ml` `Scaler` folded into the `Linear` that alone reads it (linear models, `LINEAR`/`POLY`/`SIGMOID` SVMs, `MatMul` by a constant) |
//! | [`linear_stack`] | a `Concat` along the last axis of `Linear`s of one input, each maybe times a scalar (`Mul`), as one `Linear` of the stacked rows (skl2onnx's binary linear SVM scores) |
//! | [`softmax_zero`] | the `SOFTMAX_ZERO` post-transform of tree ensembles and linear classifiers (its exactness check for trees) |
//! | [`svm`] | `ai.onnx.ml` `SVMClassifier` (binary, one-vs-one votes), `SVMRegressor`, with the `LINEAR` (folded into a `Linear`), `POLY`, `RBF` and `SIGMOID` kernels |
//! | [`svm_rbf`] | the `RBF` kernel: each vector's squared distance as an exact `MatMul` sum of squares |
//! | [`conv`] | `Conv` |
//! | [`conv_transpose`] | `ConvTranspose` (a `Conv` by the flipped kernel over the input with zeros between its elements: `Pad`, `Select`; a kernel equal to its stride, a 1×1 `Conv` interleaved by `Reshape`, `Transpose`, `Reshape`) |
//! | [`elementwise`] | `Add`, `Sub`, `Mul`, `Div` (and the bias folding into a `Linear`; by a computed tensor a `Mul` by its reciprocal's fine table), `Sum` and `Mean` of any number of operands, `Max` and `Min` (n-ary); `ai.onnx.ml` `Scaler` |
//! | [`activation`] | `Relu`, `Sigmoid`, `Tanh`, `LeakyRelu`, `PRelu`, `Clip`; `Neg` and `Abs` of a computed tensor (`Mul` by -1, `Max`); `Pow` of a computed tensor by a constant exponent of one value (a map); the functions of one argument (`HardSigmoid`, `HardSwish`, `Exp`, `Log`, `Sqrt`, `Reciprocal`, `Abs`, `Neg`, `Floor`, `Ceil`, `Round`, `Sign`, `Elu`, `Selu`, `Celu`, `ThresholdedRelu`, `Softplus`, `Softsign`, `Mish`, `Gelu`, `Erf`, `Sin`, `Cos`, `Atan`, `Sinh`, `Cosh`, `Asinh`, `Tan`, `Asin`, `Acos`, `Atanh`, `Acosh`, `Shrink`, `Swish`); `ai.onnx.ml` `Binarizer` (a map to 0/1) |
//! | [`reduce`] | `Softmax`, `LogSoftmax`, `ArgMax`, `ReduceSum`, `ReduceMean`, `ReduceMax`, `ReduceMin` (an axis longer than the one-step span as a tree of stages, [`reduce_tree`]), `ai.onnx.ml` `ArrayFeatureExtractor` (label lookup; columns of a computed tensor, a `Select`), `Normalizer` (`MAX`, `L1`, `L2` over the last axis of `[N, F]`; `L1` after a softmax is the identity) |
//! | [`pool`] | `MaxPool`, `AveragePool`, `GlobalAveragePool`, `GlobalMaxPool` (a `Reduce` max) |
//! | [`layout`] | `Reshape`, `Flatten`, `Squeeze`, `Unsqueeze`, `Transpose`, `Concat`, `Pad`, `Shape`, `Gather`, `Slice`, `ConstantOfShape` |
//! | [`resize`] | `Resize` (every mode and coordinate transformation; [`interp`] the one-axis coefficients), `Upsample`: index-map axes as one `Select`, the others a `Linear` by the constant interpolation matrix along the axis (between `Transpose`s) |
//! | [`select`] | `Slice` and `Gather` of computed tensors, `Split`, `Expand`, `Tile` (per-axis index maps); `Gather` by computed integer indices (a `Gather` node) |
//! | [`tree`] | `ai.onnx.ml` `TreeEnsembleClassifier`, `TreeEnsembleRegressor`, the opset-5 `TreeEnsemble` ([`tree_v5`]) |
//! | [`norm`] | `BatchNormalization` (folded into `Conv`/`Linear`, or `Mul` + `Add`), `InstanceNormalization` (`Reduce` mean, `Sub`, `Mul`, `Reduce` mean, a `Map` of `1/√(v+ε)`, `Mul`, per-channel `Mul` + `Add`), `LRN` (`Mul`, a 1×1 `Conv` (or `Linear`) by the 0/1 channel-window band, a `Map` of `(bias + α/size · s)^-β`, `Mul`) (no family: existing ops only) |
//! | [`layer_norm`] | `LayerNormalization`, `RMSNormalization` (as `InstanceNormalization`: `Reduce` mean, `Sub`, `Mul`, `Reduce` mean, a `Map` of `1/√(v+ε)`, `Mul` by the constant scale, `Add` of the bias) (no family: existing ops only) |
//! | [`mean_square`] | `ReduceMean` of `Pow(x, 2)` or `Mul(x, x)` over the last axis (a LayerNorm's variance as exporters spell it): a `MatMul` of `x` as a row by `x` as a column (the exact sum of squares) and a `Mul` by `1/C` (no family: existing ops only) |
//! | [`rnn`] | `LSTM`, `GRU` (both `linear_before_reset` forms), `RNN`, every direction, layouts 0 and 1: unrolled over the static sequence length into a `Linear` per gate over the sequence, per step a `Select`, a `Linear` of the previous state, `Add`, the gate activations, `Mul`, `Add`, `Sub`; `Concat` and `Reshape` for `Y` (no family: existing ops only) |
//! | [`attention`] | `Attention` (opsets 23-25) as its function body: `Reshape`/`Transpose` into heads, `Concat` of the caches, `Gather` for grouped-query heads, `Mul`, `MatMul`, the soft cap (`Tanh`), `Add` of a float mask, the masks known at import as a `Where` by the row minimum minus a margin, `Softmax`, `MatMul`; the same masking for an `Add` of a `-inf` constant or a `Where` by one whose result only feeds a last-axis `Softmax` (no family: existing ops only) |
//! | [`space_depth`] | `SpaceToDepth`, `DepthToSpace` (`Reshape` to rank 6, `Transpose`, `Reshape`), `LpNormalization` (`p` 1 or 2: `ReduceSum` of `Abs` or `Mul`, a `Pow` table, `Mul`) (no family: existing ops only) |
//! | [`lp_pool`] | `LpPool` (`Pow` of `|x|`, `AveragePool` counting pads, `Mul` by the window size, `Pow` of `1/p`) (no family: existing ops only) |
//! | [`group_norm`] | `GroupNormalization` (`Reshape` to `[N, G, -1]`, `InstanceNormalization`, `Reshape` back, `Mul` and `Add` by the scale and bias) (no family: existing ops only) |
//! | [`plumbing`] | `Constant`, `Identity`, `Dropout`, `Cast`, `ai.onnx.ml` `Imputer` on a graph input, `If` with a constant condition, comparisons and logic ops on constants (no family: no node emitted) |
//! | [`logic`] | `Greater`, `Less`, `Equal`, `GreaterOrEqual`, `LessOrEqual`, `And`, `Or`, `Xor`, `Not` of computed tensors (one `Logic` node: bools as `0`/`1`), `Where` (one `Where` node), `CastLike` (as `Cast`), `Mod` on constants |
//! | [`fold`] | `Size` of a tensor of static shape, `Range` of constants (folded; no family: no node emitted) |
//! | [`prequant`] | `DequantizeLinear` (of a constant: folded exactly; of a quantized tensor: its value), `QuantizeLinear` (of a computed tensor: `Mul` by `1/s`, a `Round` map, `Clip`, `Mul` by `s`, the value it stands for), `QLinearConv`, `QLinearMatMul`, `com.microsoft` `QGemm`, `ConvInteger`, `MatMulInteger` (the float `Conv`/`MatMul` of the dequantized operands, then the output's `QuantizeLinear`) (no family: existing ops only) |
//! | [`prequant_dyn`] | onnxruntime's dynamic quantization: `DynamicQuantizeLinear` into `ConvInteger`/`MatMulInteger`, `Cast`, `Mul` by `x_scale · w_scale` (a bias as a constant divided by that product), as the float `Conv`/`Linear` by the dequantized weights; `com.microsoft` `DynamicQuantizeLSTM` as `LSTM` (no family: existing ops only) |
//! | [`label_encoder`] | `ai.onnx.ml` `LabelEncoder` with `int64` keys: folded on constants, the identity on class indices (no family: no node emitted) |
//!
//! Adding an op: one row in [`LOWERINGS`] and one `pub(super) fn` in its family's module.

mod activation;
mod attention;
mod conv;
mod conv_transpose;
mod dense;
mod elementwise;
mod fold;
mod group_norm;
mod interp;
mod label_encoder;
mod layer_norm;
mod layout;
mod linear_scaler;
mod linear_stack;
mod logic;
mod lp_pool;
mod magnitude;
mod mean_square;
mod norm;
mod plumbing;
mod pool;
mod prequant;
mod prequant_dyn;
mod reduce;
mod reduce_tree;
mod resize;
mod rnn;
mod select;
mod softmax_zero;
mod space_depth;
mod svm;
mod svm_dot;
mod svm_rbf;
mod tree;
mod tree_scaler;
mod tree_v5;

pub(crate) use attention::softmax_fed;
pub(crate) use prequant::QParams;
pub(crate) use prequant_dyn::Dyn;
pub(crate) use select::slice_indices;
pub(crate) use tree_scaler::Scaled;

use crate::error::{Error, Result};
use crate::graph::Dim;
use crate::import::{Ctx, Importer, is_onnx_domain};
use crate::tensor::MAX_ELEMS;

/// A lowering: binds the outputs of the node in [`Ctx`], emitting nodes into the graph.
type Lowering = fn(&mut Importer, &Ctx<'_>) -> Result<()>;

/// The ONNX domain (a node's empty domain and `ai.onnx` both mean it).
const ONNX: &str = "ai.onnx";

/// The ONNX-ML domain.
const ML: &str = "ai.onnx.ml";

/// onnxruntime's contrib domain.
const MS: &str = "com.microsoft";

/// Every supported op: `(domain, op_type, lowering)`, grouped by module. Any other op is an
/// [`Error::UnsupportedOp`].
const LOWERINGS: &[(&str, &str, Lowering)] = &[
    // plumbing
    (ONNX, "Constant", Importer::constant),
    (ONNX, "Identity", Importer::identity),
    (ONNX, "Dropout", Importer::dropout),
    (ONNX, "Cast", Importer::cast),
    (ML, "Imputer", Importer::imputer),
    (ML, "LabelEncoder", Importer::label_encoder),
    (ONNX, "If", Importer::if_const),
    // logic
    (ONNX, "Equal", Importer::logic),
    (ONNX, "Greater", Importer::logic),
    (ONNX, "Less", Importer::logic),
    (ONNX, "GreaterOrEqual", Importer::logic),
    (ONNX, "LessOrEqual", Importer::logic),
    (ONNX, "And", Importer::logic),
    (ONNX, "Or", Importer::logic),
    (ONNX, "Xor", Importer::logic),
    (ONNX, "Not", Importer::logic),
    (ONNX, "Where", Importer::where_op),
    (ONNX, "CastLike", Importer::cast_like),
    (ONNX, "Mod", Importer::mod_op),
    // folded shape arithmetic
    (ONNX, "Size", Importer::size_op),
    (ONNX, "Range", Importer::range_op),
    // dense
    (ONNX, "Gemm", Importer::gemm),
    (ONNX, "MatMul", Importer::matmul),
    (ML, "LinearClassifier", Importer::linear_classifier),
    (ML, "LinearRegressor", Importer::linear_regressor),
    (ML, "SVMClassifier", Importer::svm_classifier),
    (ML, "SVMRegressor", Importer::svm_regressor),
    // elementwise
    (ONNX, "Add", Importer::binary),
    (ONNX, "Sub", Importer::binary),
    (ONNX, "Mul", Importer::binary),
    (ONNX, "Div", Importer::binary),
    (ONNX, "Sum", Importer::sum),
    (ONNX, "Mean", Importer::sum),
    (ML, "Scaler", Importer::scaler),
    (ONNX, "Max", Importer::min_max),
    (ONNX, "Min", Importer::min_max),
    // activation
    (ONNX, "Relu", Importer::relu),
    (ONNX, "Sigmoid", Importer::sigmoid),
    (ONNX, "Tanh", Importer::tanh),
    (ONNX, "LeakyRelu", Importer::leaky_relu),
    (ONNX, "Clip", Importer::clip),
    (ONNX, "PRelu", Importer::prelu),
    // activation: elementwise functions of one argument, tabulated by the quantizer
    (ONNX, "HardSigmoid", Importer::scalar_map),
    (ONNX, "HardSwish", Importer::scalar_map),
    (ONNX, "Exp", Importer::scalar_map),
    (ONNX, "Log", Importer::scalar_map),
    (ONNX, "Sqrt", Importer::scalar_map),
    (ONNX, "Reciprocal", Importer::scalar_map),
    (ONNX, "Abs", Importer::scalar_map),
    (ONNX, "Neg", Importer::scalar_map),
    (ONNX, "Floor", Importer::scalar_map),
    (ONNX, "Ceil", Importer::scalar_map),
    (ONNX, "Round", Importer::scalar_map),
    (ONNX, "Sign", Importer::scalar_map),
    (ONNX, "Elu", Importer::scalar_map),
    (ONNX, "Selu", Importer::scalar_map),
    (ONNX, "Celu", Importer::scalar_map),
    (ONNX, "ThresholdedRelu", Importer::scalar_map),
    (ONNX, "Softplus", Importer::scalar_map),
    (ONNX, "Softsign", Importer::scalar_map),
    (ONNX, "Mish", Importer::scalar_map),
    (ONNX, "Gelu", Importer::scalar_map),
    (ONNX, "Erf", Importer::scalar_map),
    (ONNX, "Sin", Importer::scalar_map),
    (ONNX, "Cos", Importer::scalar_map),
    (ONNX, "Atan", Importer::scalar_map),
    (ONNX, "Sinh", Importer::scalar_map),
    (ONNX, "Cosh", Importer::scalar_map),
    (ONNX, "Asinh", Importer::scalar_map),
    (ONNX, "Tan", Importer::scalar_map),
    (ONNX, "Asin", Importer::scalar_map),
    (ONNX, "Acos", Importer::scalar_map),
    (ONNX, "Atanh", Importer::scalar_map),
    (ONNX, "Acosh", Importer::scalar_map),
    (ONNX, "Shrink", Importer::scalar_map),
    (ONNX, "Swish", Importer::scalar_map),
    (ML, "Binarizer", Importer::binarizer),
    (ONNX, "Pow", Importer::pow),
    // reduce
    (ONNX, "Softmax", Importer::softmax),
    (ONNX, "LogSoftmax", Importer::log_softmax),
    (ONNX, "ArgMax", Importer::argmax),
    (
        ML,
        "ArrayFeatureExtractor",
        Importer::array_feature_extractor,
    ),
    (ML, "Normalizer", Importer::normalizer),
    (ML, "ZipMap", Importer::zipmap),
    (ONNX, "ReduceSum", Importer::reduce_op),
    (ONNX, "ReduceMean", Importer::reduce_op),
    (ONNX, "ReduceMax", Importer::reduce_op),
    (ONNX, "ReduceMin", Importer::reduce_op),
    // tree
    (ML, "TreeEnsembleClassifier", Importer::tree_classifier),
    (ML, "TreeEnsembleRegressor", Importer::tree_regressor),
    (ML, "TreeEnsemble", Importer::tree_ensemble_v5),
    // conv
    (ONNX, "Conv", Importer::conv),
    (ONNX, "ConvTranspose", Importer::conv_transpose),
    // pool
    (ONNX, "MaxPool", Importer::pool),
    (ONNX, "AveragePool", Importer::pool),
    (ONNX, "GlobalAveragePool", Importer::global_avg_pool),
    (ONNX, "LpPool", Importer::lp_pool),
    (ONNX, "GlobalMaxPool", Importer::global_max_pool),
    // norm
    (ONNX, "BatchNormalization", Importer::batchnorm),
    (ONNX, "InstanceNormalization", Importer::instance_norm),
    (ONNX, "LRN", Importer::lrn),
    (ONNX, "LayerNormalization", Importer::layer_norm),
    (ONNX, "RMSNormalization", Importer::rms_norm),
    (ONNX, "GroupNormalization", Importer::group_norm),
    // layout
    (ONNX, "Flatten", Importer::flatten),
    (ONNX, "Reshape", Importer::reshape),
    (ONNX, "Transpose", Importer::transpose),
    (ONNX, "Concat", Importer::concat),
    (ONNX, "Squeeze", Importer::squeeze),
    (ONNX, "Unsqueeze", Importer::squeeze),
    (ONNX, "Shape", Importer::shape_op),
    (ONNX, "Gather", Importer::gather),
    (ONNX, "Slice", Importer::slice),
    // select
    (ONNX, "Split", Importer::split),
    (ONNX, "Expand", Importer::expand),
    (ONNX, "Tile", Importer::tile),
    (ONNX, "ConstantOfShape", Importer::constant_of_shape),
    (ONNX, "Pad", Importer::pad),
    // space_depth
    (ONNX, "SpaceToDepth", Importer::space_to_depth),
    (ONNX, "DepthToSpace", Importer::depth_to_space),
    (ONNX, "LpNormalization", Importer::lp_normalization),
    // resize
    (ONNX, "Resize", Importer::resize),
    (ONNX, "Upsample", Importer::upsample),
    // rnn
    // attention
    (ONNX, "Attention", Importer::attention),
    (ONNX, "LSTM", Importer::lstm),
    (ONNX, "GRU", Importer::gru),
    (ONNX, "RNN", Importer::rnn),
    // prequant: models quantized by their exporter
    (ONNX, "QuantizeLinear", Importer::quantize_linear),
    (ONNX, "DequantizeLinear", Importer::dequantize_linear),
    (ONNX, "QLinearConv", Importer::qlinear_conv),
    (ONNX, "QLinearMatMul", Importer::qlinear_matmul),
    (ONNX, "ConvInteger", Importer::conv_integer),
    (ONNX, "MatMulInteger", Importer::matmul_integer),
    (
        ONNX,
        "DynamicQuantizeLinear",
        Importer::dynamic_quantize_linear,
    ),
    (MS, "QGemm", Importer::qgemm),
    (MS, "DynamicQuantizeLSTM", Importer::dynamic_quantize_lstm),
];

/// Spatial parameters of a Conv or pooling node.
struct Spatial {
    out: Vec<usize>,
    pads: [usize; 4],
    strides: [usize; 2],
    dilations: [usize; 2],
    kernel: [usize; 2],
}

/// A 1-D or 2-D window parameter as 2-D: a single value is the last axis, `default` the first.
fn to2(v: &[usize], default: usize) -> [usize; 2] {
    match v {
        [a] => [default, *a],
        [a, b] => [*a, *b],
        _ => [default, default],
    }
}

impl Importer {
    /// Lowers one node by the row of [`LOWERINGS`] for its domain and op type.
    pub(crate) fn lower(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let domain = if is_onnx_domain(&ctx.node.domain) {
            ONNX
        } else {
            ctx.node.domain.as_str()
        };
        // a name of onnxruntime's dynamic quantization pattern (prequant_dyn.rs)
        if self.reads_dyn(ctx) {
            return self.dyn_consumer(ctx);
        }
        let tag = self.input_tag(ctx);
        match LOWERINGS
            .iter()
            .find(|(d, op, _)| *d == domain && *op == ctx.op)
        {
            Some((_, _, lower)) => lower(self, ctx)?,
            None => return Err(self.unsupported_op(ctx)),
        }
        // data movement of a quantized tensor keeps its quantization (prequant.rs)
        if let Some(q) = tag {
            self.keep_tag(ctx, q);
        }
        Ok(())
    }

    /// The [`Error::UnsupportedOp`] for the current node (an empty domain reads `ai.onnx`).
    fn unsupported_op(&self, ctx: &Ctx<'_>) -> Error {
        let d = &ctx.node.domain;
        Error::UnsupportedOp {
            op: ctx.op.to_owned(),
            domain: if d.is_empty() {
                "ai.onnx".to_owned()
            } else {
                d.clone()
            },
            node: ctx.name.clone(),
        }
    }

    /// Spatial dimensions `[.., H, W]` (or `[.., L]`) of a value, all fixed.
    fn spatial_in(&self, ctx: &Ctx<'_>, s: &[Dim]) -> Result<Vec<usize>> {
        if s.len() != 3 && s.len() != 4 {
            return Err(ctx.unsupported(format!(
                "input of rank {} (need 1-D or 2-D spatial, NCHW)",
                s.len()
            )));
        }
        s.iter()
            .skip(2)
            .map(|d| match d {
                Dim::Fixed(n) => Ok(*n),
                Dim::Batch => Err(ctx.shape_err("symbolic spatial dimension")),
            })
            .collect()
    }

    /// The output size, padding, strides, dilations and kernel (as 2-D, a 1-D window on
    /// `[1, L]`) of a `Conv` or pooling window of `kernel` over the spatial `input`.
    fn spatial(
        &self,
        ctx: &Ctx<'_>,
        input: &[usize],
        kernel: &[usize],
        ceil_mode: bool,
    ) -> Result<Spatial> {
        let nd = input.len();
        if kernel.len() != nd {
            return Err(ctx.bad_attr(
                "kernel_shape",
                format!("{} values for {nd} spatial dimensions", kernel.len()),
            ));
        }
        let strides = match ctx.ints("strides") {
            Some(v) if !v.is_empty() => ctx.positive("strides", v)?,
            _ => vec![1; nd],
        };
        let dilations = match ctx.ints("dilations") {
            Some(v) if !v.is_empty() => ctx.positive("dilations", v)?,
            _ => vec![1; nd],
        };
        if strides.len() != nd || dilations.len() != nd {
            return Err(ctx.bad_attr("strides", "length does not match the spatial rank"));
        }
        let auto_pad = ctx.string("auto_pad").unwrap_or(b"NOTSET");
        let mut begin = vec![0usize; nd];
        let mut end = vec![0usize; nd];
        let mut out = vec![0usize; nd];
        let too_big = || ctx.shape_err("spatial size overflow");
        for i in 0..nd {
            let (Some(&x), Some(&k), Some(&s), Some(&d)) = (
                input.get(i),
                kernel.get(i),
                strides.get(i),
                dilations.get(i),
            ) else {
                return Err(ctx.shape_err("rank"));
            };
            let ek = d
                .checked_mul(k - 1)
                .and_then(|v| v.checked_add(1))
                .ok_or_else(too_big)?;
            match auto_pad {
                b"SAME_UPPER" | b"SAME_LOWER" => {
                    let o = x.div_ceil(s);
                    let need = (o.saturating_sub(1))
                        .checked_mul(s)
                        .and_then(|v| v.checked_add(ek))
                        .ok_or_else(too_big)?;
                    let total = need.saturating_sub(x);
                    let small = total / 2;
                    let (b, e) = if auto_pad == b"SAME_UPPER" {
                        (small, total - small)
                    } else {
                        (total - small, small)
                    };
                    if let (Some(pb), Some(pe), Some(po)) =
                        (begin.get_mut(i), end.get_mut(i), out.get_mut(i))
                    {
                        (*pb, *pe, *po) = (b, e, o);
                    }
                    continue;
                }
                b"VALID" => {}
                b"NOTSET" | b"" => {
                    if let Some(p) = ctx.ints("pads").filter(|p| !p.is_empty()) {
                        if p.len() != 2 * nd {
                            return Err(ctx.bad_attr(
                                "pads",
                                format!("{} values for {nd} spatial dimensions", p.len()),
                            ));
                        }
                        let conv = |x: Option<&i64>| {
                            x.and_then(|&v| usize::try_from(v).ok())
                                .filter(|&v| v <= MAX_ELEMS)
                                .ok_or_else(|| ctx.bad_attr("pads", "pads must be non-negative"))
                        };
                        if let (Some(pb), Some(pe)) = (begin.get_mut(i), end.get_mut(i)) {
                            *pb = conv(p.get(i))?;
                            *pe = conv(p.get(i + nd))?;
                        }
                    }
                }
                other => {
                    return Err(ctx.bad_attr(
                        "auto_pad",
                        format!("unknown value {:?}", String::from_utf8_lossy(other)),
                    ));
                }
            }
            let padded = x
                .checked_add(begin.get(i).copied().unwrap_or(0))
                .and_then(|v| v.checked_add(end.get(i).copied().unwrap_or(0)))
                .ok_or_else(too_big)?;
            if padded < ek {
                return Err(ctx.shape_err(format!(
                    "kernel extent {ek} larger than padded input {padded}"
                )));
            }
            let span = padded - ek;
            let mut o = if ceil_mode {
                span.div_ceil(s) + 1
            } else {
                span / s + 1
            };
            // The last window must start inside the input or the left padding.
            if ceil_mode && (o - 1) * s >= x + begin.get(i).copied().unwrap_or(0) {
                o -= 1;
            }
            if let Some(po) = out.get_mut(i) {
                *po = o;
            }
        }
        let (pads, strides2, dil2, kernel2) = if nd == 1 {
            let pads = [
                0,
                begin.first().copied().unwrap_or(0),
                0,
                end.first().copied().unwrap_or(0),
            ];
            (pads, to2(&strides, 1), to2(&dilations, 1), to2(kernel, 1))
        } else {
            let g = |v: &Vec<usize>, i: usize| v.get(i).copied().unwrap_or(0);
            (
                [g(&begin, 0), g(&begin, 1), g(&end, 0), g(&end, 1)],
                to2(&strides, 1),
                to2(&dilations, 1),
                to2(kernel, 1),
            )
        };
        Ok(Spatial {
            out,
            pads,
            strides: strides2,
            dilations: dil2,
            kernel: kernel2,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::LOWERINGS;

    #[test]
    fn one_row_per_op() {
        for (i, (d, op, _)) in LOWERINGS.iter().enumerate() {
            let dup = LOWERINGS
                .iter()
                .skip(i + 1)
                .any(|(d2, op2, _)| d2 == d && op2 == op);
            assert!(!dup, "{d} {op} has two rows");
        }
    }
}
