//! The float graph: what an ONNX model becomes after import, before quantization.
//!
//! Every ONNX operator vouch supports is lowered to one of the few [`FOp`]s below; shapes are
//! fully inferred, with the batch axis kept symbolic ([`Dim::Batch`]). Constants are `f32`.
//! The quantizer (`vouch-quant`) reads this graph, the float reference executor runs it.

pub use crate::scalar::ScalarFn;
pub use vouch_semantics::{Aggregate, Family, Imputation, NodeMode, PadMode, ReduceMode};

/// One dimension of a tensor shape. Its `Debug` form is what messages show: `N` for the batch,
/// the number for a fixed size (a shape reads `[N, 3, 32, 32]`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    /// The dynamic batch dimension (ONNX `dim_param`, or the first axis of an input).
    Batch,
    /// A fixed size.
    Fixed(usize),
}

impl core::fmt::Debug for Dim {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Batch => f.write_str("N"),
            Self::Fixed(n) => write!(f, "{n}"),
        }
    }
}

/// Index of a value (a dynamic tensor) in [`FGraph::values`].
pub type ValueId = usize;
/// Index of a constant in [`FGraph::consts`].
pub type ConstId = usize;

/// A node operand: a dynamic value or a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    /// A dynamic tensor computed by a node or fed as a graph input.
    Value(ValueId),
    /// A constant tensor (initializer or folded `Constant`).
    Const(ConstId),
}

/// A dynamic tensor's name and shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueInfo {
    /// The ONNX tensor name.
    pub name: String,
    /// The inferred shape.
    pub shape: Vec<Dim>,
    /// A graph input's `Imputer`, applied by the client before quantizing (`lower/plumbing.rs`).
    pub imputation: Option<Imputation>,
    /// A graph input of an integer or boolean ONNX element type: the type's value range
    /// (inclusive; `bool` is `(0, 1)`). Its values are exact integers, carried as floats in
    /// this graph; the quantizer reads it at scale 1 (`docs/semantics.md` section 5).
    pub integer: Option<(i64, i64)>,
    /// The model's own quantization of this value (a pre-quantized model's `QuantizeLinear`,
    /// or a `QLinear*` op's output): the value is `(q - zero_point) · scale` for an integer
    /// `q` in `[lo, hi]`, computed by the chain `Mul` by `1/scale`, `Round`, `Clip` to
    /// `[lo - zero_point, hi - zero_point]`, `Mul` by `scale` whose last node writes it
    /// (`lower/prequant.rs`). The quantizer may pin the value's integers to that grid
    /// (`docs/semantics.md` section 5).
    pub grid: Option<Grid>,
    /// A graph input's declared value range `(lo, hi)` (`--input-range`,
    /// [`crate::ImportOptions::input_ranges`]): the quantizer takes its scale from it instead of
    /// the calibration rows, which need not reach the domain's ends.
    pub declared_range: Option<(f32, f32)>,
}

/// A model's quantization grid for one tensor: element `q` in `[lo, hi]` stands for
/// `(q - zero_point) · scale` ([`ValueInfo::grid`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// The scale (positive, finite).
    pub scale: f32,
    /// The zero point, in `[lo, hi]`.
    pub zero_point: i64,
    /// The element type's smallest value.
    pub lo: i64,
    /// The element type's largest value.
    pub hi: i64,
}

/// A constant tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct FConst {
    /// The ONNX initializer name (or a derived name for folded constants).
    pub name: String,
    /// The shape.
    pub shape: Vec<usize>,
    /// Row-major data.
    pub data: Vec<f32>,
}

/// The lowered operators.
#[derive(Debug, Clone, PartialEq)]
pub enum FOp {
    /// `Z[..., n] = bias[n] + Σ_k X[..., k] * weight[n, k]`; `weight` is `[N, K]`.
    /// Gemm / MatMul with a constant right operand (after transB, alpha, beta folding), and a
    /// following constant bias `Add`, become this.
    Linear {
        /// Constant `[N, K]`.
        weight: ConstId,
        /// Constant `[N]`.
        bias: Option<ConstId>,
    },
    /// 1-D or 2-D convolution, NCHW (1-D convs use `kernel[0] = 1`).
    ///
    /// For a 1-D conv the input and output values keep rank 3 (`[N, C, L]`); the importer
    /// stores the weight as `[C_out, C_in/group, 1, k]`, and `strides`, `pads` and
    /// `dilations` have the unit height entries (`pads = [0, left, 0, right]`).
    Conv {
        /// Constant `[C_out, C_in/group, kH, kW]`.
        weight: ConstId,
        /// Constant `[C_out]`.
        bias: Option<ConstId>,
        /// Kernel `[kH, kW]`.
        kernel: [usize; 2],
        /// Strides `[sH, sW]`.
        strides: [usize; 2],
        /// Pads `[top, left, bottom, right]`.
        pads: [usize; 4],
        /// Dilations `[dH, dW]`.
        dilations: [usize; 2],
        /// Groups.
        group: usize,
    },
    /// Matrix product of two dynamic tensors (numpy broadcasting of batch axes).
    MatMul,
    /// Elementwise sum, numpy broadcasting. One operand may be a constant.
    Add,
    /// Elementwise difference, numpy broadcasting. One operand may be a constant.
    Sub,
    /// Elementwise product, numpy broadcasting (`Div` by a constant becomes `Mul` by the
    /// reciprocal constant).
    Mul,
    /// `max(x, 0)`.
    Relu,
    /// `clamp(x, min, max)`.
    Clip {
        /// Lower bound (`-inf` if absent).
        min: f32,
        /// Upper bound (`+inf` if absent).
        max: f32,
    },
    /// `x >= 0 ? x : alpha * x`.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// Logistic function.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// An elementwise function of one argument (HardSigmoid, Exp, Elu, ...), tabulated by the
    /// quantizer.
    Map {
        /// The function.
        f: ScalarFn,
    },
    /// Softmax along `axis` (non-negative, normalized).
    Softmax {
        /// The axis.
        axis: usize,
    },
    /// Index of the maximum along `axis`.
    ArgMax {
        /// The axis (non-negative).
        axis: usize,
        /// Keep the reduced axis with size 1.
        keepdims: bool,
        /// Pick the last index of equal maxima.
        select_last_index: bool,
    },
    /// Max pooling, 1-D or 2-D (1-D uses `kernel[0] = 1`).
    MaxPool {
        /// Kernel `[kH, kW]`.
        kernel: [usize; 2],
        /// Strides.
        strides: [usize; 2],
        /// Pads `[top, left, bottom, right]`.
        pads: [usize; 4],
        /// Dilations.
        dilations: [usize; 2],
        /// Output size rounds up (a window that would start in the right padding is
        /// dropped, as in onnxruntime and PyTorch).
        ceil_mode: bool,
    },
    /// Average pooling, 1-D or 2-D.
    AveragePool {
        /// Kernel `[kH, kW]`.
        kernel: [usize; 2],
        /// Strides.
        strides: [usize; 2],
        /// Pads `[top, left, bottom, right]`.
        pads: [usize; 4],
        /// Divide by the full kernel size, counting pads as zeros.
        count_include_pad: bool,
        /// Output size rounds up.
        ceil_mode: bool,
    },
    /// Mean over all spatial positions; output `[N, C, 1, 1]` (or `[N, C, 1]`).
    GlobalAveragePool,
    /// Reinterpret the shape as the output value's shape (Reshape, Flatten, Squeeze, Unsqueeze).
    Reshape,
    /// Permute axes.
    Transpose {
        /// The permutation.
        perm: Vec<usize>,
    },
    /// Concatenate along `axis` (non-negative).
    Concat {
        /// The axis.
        axis: usize,
    },
    /// ONNX `Pad` with constant, non-negative pads on every axis (none on the batch axis).
    Pad {
        /// How the padding is filled.
        mode: PadMode,
        /// `[begin_0, .., begin_{r-1}, end_0, .., end_{r-1}]` (ONNX order, every axis).
        pads: Vec<usize>,
        /// The padding value (`Constant` mode; 0 otherwise).
        value: f32,
    },
    /// ONNX `ReduceSum`, `ReduceMean`, `ReduceMax`, `ReduceMin` over `axes` (never the batch
    /// axis).
    Reduce {
        /// Which reduction.
        mode: ReduceMode,
        /// The reduced axes, non-negative and strictly increasing.
        axes: Vec<usize>,
        /// Keep the reduced axes with size 1.
        keepdims: bool,
    },
    /// Elementwise maximum of two or more dynamic operands, numpy broadcasting.
    Max,
    /// Elementwise minimum of two or more dynamic operands, numpy broadcasting.
    Min,
    /// `x >= 0 ? x : slope · x` with a constant `slope` (operand 1) broadcast to `x`.
    PRelu,
    /// A decision-tree ensemble (`ai.onnx.ml` `TreeEnsembleClassifier`/`Regressor`): input
    /// `[..., F]` features, output `[..., N]` scores before any post-transform.
    TreeEnsemble(Box<FTrees>),
    /// Per-axis index selection: output index `o` along axis `d` reads input index
    /// `maps[d][o]` (an empty map keeps the axis); `Slice`, `Gather`, `Split`, `Expand`, `Tile`.
    Select {
        /// One index list per input axis.
        maps: Vec<Vec<usize>>,
    },
    /// onnxruntime's `SOFTMAX_ZERO` post-transform along `axis` (the last): a softmax over the
    /// scores that are not zero (`|x| > 1e-7`), each zero score staying (about) zero.
    SoftmaxZero {
        /// The axis (the input's last).
        axis: usize,
    },
    /// A comparison or logic op whose output is ONNX's bool as `0`/`1` (numpy broadcasting):
    /// two operands (one, for [`BoolOp::Not`]); the operands of a logic op are themselves
    /// `0`/`1` values (`lower/logic.rs`).
    Logic {
        /// Which comparison or logic op.
        op: BoolOp,
    },
    /// ONNX `Where(c, x, y)`: `x` where the `0`/`1` condition `c` (operand 0, the output of a
    /// [`FOp::Logic`] or a constant) is 1, else `y` (numpy broadcasting of all three).
    Where,
    /// ONNX `Gather` by computed indices: operand 0 the data (computed or constant), operand 1
    /// the integer indices (an `ArgMax` output or an integer graph input); a negative index
    /// counts from the end once, then it is clamped to the axis (`docs/semantics.md` section 3).
    Gather {
        /// The data axis the indices pick along (never the batch axis).
        axis: usize,
    },
}

/// The comparisons and logic ops of [`FOp::Logic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoolOp {
    /// `x > y`.
    Greater,
    /// `x < y`.
    Less,
    /// `x == y`.
    Equal,
    /// `x >= y`.
    GreaterOrEqual,
    /// `x <= y`.
    LessOrEqual,
    /// `a and b` of two `0`/`1` values.
    And,
    /// `a or b`.
    Or,
    /// `a xor b`.
    Xor,
    /// `not a` (one operand).
    Not,
}

impl BoolOp {
    /// The op of an ONNX op type, if it is one of these.
    pub fn from_onnx(op: &str) -> Option<Self> {
        Some(match op {
            "Greater" => Self::Greater,
            "Less" => Self::Less,
            "Equal" => Self::Equal,
            "GreaterOrEqual" => Self::GreaterOrEqual,
            "LessOrEqual" => Self::LessOrEqual,
            "And" => Self::And,
            "Or" => Self::Or,
            "Xor" => Self::Xor,
            "Not" => Self::Not,
            _ => return None,
        })
    }

    /// Whether the op compares numbers (`Greater` .. `LessOrEqual`) rather than combining
    /// `0`/`1` values.
    pub const fn is_comparison(self) -> bool {
        matches!(
            self,
            Self::Greater | Self::Less | Self::Equal | Self::GreaterOrEqual | Self::LessOrEqual
        )
    }

    /// The number of operands (1 for `Not`, else 2).
    pub const fn arity(self) -> usize {
        if matches!(self, Self::Not) { 1 } else { 2 }
    }

    /// The op on two floats (a logic op reads a non-zero operand as true; `Not` reads `a`).
    pub fn apply(self, a: f32, b: f32) -> bool {
        let (p, q) = (a != 0.0, b != 0.0);
        match self {
            Self::Greater => a > b,
            Self::Less => a < b,
            Self::Equal => a == b,
            Self::GreaterOrEqual => a >= b,
            Self::LessOrEqual => a <= b,
            Self::And => p && q,
            Self::Or => p || q,
            Self::Xor => p != q,
            Self::Not => !p,
        }
    }
}

/// One node of a tree ensemble, laid out so that children come after their parent.
#[derive(Debug, Clone, PartialEq)]
pub struct FTreeNode {
    /// The test (or [`NodeMode::Leaf`]).
    pub mode: NodeMode,
    /// The feature a branch tests.
    pub feature: usize,
    /// The threshold a branch tests against (`-0.0` stored as `0.0`).
    pub threshold: f32,
    /// A missing (NaN) value takes the true branch (`missing_value_tracks_true`).
    pub missing: bool,
    /// A branch's true child row; a leaf's first weight.
    pub a: usize,
    /// A branch's false child row; a leaf's weight count.
    pub b: usize,
}

/// A tree ensemble in float: what the float reference walks and the quantizer encodes.
#[derive(Debug, Clone, PartialEq)]
pub struct FTrees {
    /// Every tree's nodes, each tree depth first (children after parents).
    pub nodes: Vec<FTreeNode>,
    /// The root row of each tree.
    pub roots: Vec<usize>,
    /// Leaf weights `(target, value)`.
    pub weights: Vec<(usize, f32)>,
    /// Base value of each target (the output has `base.len()` columns).
    pub base: Vec<f32>,
    /// How leaf values combine.
    pub aggregate: Aggregate,
    /// `AVERAGE`: the aggregated sum is divided by the number of trees (before the base).
    pub average: bool,
    /// Number of input features.
    pub features: usize,
}

impl FOp {
    /// The op's family: the module that holds it in the importer, the float reference and the
    /// quantizer (`docs/adding-an-op.md`).
    pub const fn family(&self) -> Family {
        match self {
            Self::Linear { .. } | Self::MatMul => Family::Dense,
            Self::Conv { .. } => Family::Conv,
            Self::Add
            | Self::Sub
            | Self::Mul
            | Self::Max
            | Self::Min
            | Self::Logic { .. }
            | Self::Where => Family::Elementwise,
            Self::Relu
            | Self::Clip { .. }
            | Self::LeakyRelu { .. }
            | Self::Sigmoid
            | Self::Tanh
            | Self::Map { .. }
            | Self::PRelu => Family::Activation,
            Self::Softmax { .. }
            | Self::SoftmaxZero { .. }
            | Self::ArgMax { .. }
            | Self::Reduce { .. } => Family::Reduce,
            Self::MaxPool { .. } | Self::AveragePool { .. } | Self::GlobalAveragePool => {
                Family::Pool
            }
            Self::Reshape
            | Self::Transpose { .. }
            | Self::Concat { .. }
            | Self::Pad { .. }
            | Self::Select { .. }
            | Self::Gather { .. } => Family::Layout,
            Self::TreeEnsemble(_) => Family::Tree,
        }
    }
}

/// One node: an op, its operands and its single output value.
#[derive(Debug, Clone, PartialEq)]
pub struct FNode {
    /// The ONNX node name (or `op_type#index` when the node has none).
    pub name: String,
    /// The lowered op.
    pub op: FOp,
    /// Operands in ONNX order.
    pub inputs: Vec<Operand>,
    /// The output value.
    pub output: ValueId,
}

/// A whole imported graph, nodes in topological order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FGraph {
    /// All dynamic values (graph inputs and node outputs).
    pub values: Vec<ValueInfo>,
    /// All constants.
    pub consts: Vec<FConst>,
    /// Nodes in execution order.
    pub nodes: Vec<FNode>,
    /// Graph inputs, in ONNX order (initializers that are also listed as inputs excluded).
    /// The importer lists only the inputs the kept outputs depend on.
    pub inputs: Vec<ValueId>,
    /// Graph outputs kept, in the requested (or ONNX) order.
    pub outputs: Vec<ValueId>,
    /// How the inputs' axis 0 was read.
    pub batch: BatchAxis,
}

/// How the importer read the graph inputs' axis 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BatchAxis {
    /// As the model declares it: a symbolic axis 0 is the batch (rows), a fixed one is fixed.
    #[default]
    AsDeclared,
    /// The model fixes axis 0 of every input at 1 (as `torch.onnx.export` without
    /// `dynamic_axes` writes it), or of some inputs while the others are wholly fixed (a
    /// state the rows share); the importer reads it as the batch axis, so a task may hold
    /// several rows, each run as the model's one row (`docs/semantics.md` section 1).
    FixedOneAsRows,
    /// The model fixes axis 0 of every input at 1 and its graph cannot be read with axis 0 as
    /// the rows: it runs one row per execution. The reason the rows reading failed.
    FixedOne(String),
}
