//! The integer graph IR. Each [`Op`] is defined exactly in `docs/semantics.md` section 3.

use serde::{Deserialize, Serialize};
use vouch_semantics::{Aggregate, Family, PadMode, ReduceMode, Requant};

/// Index of a dynamic tensor in [`crate::Package::values`].
pub type ValueId = u32;
/// Index of a constant in [`crate::Package::consts`].
pub type ConstId = u32;

/// One dimension of a value's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dim {
    /// The batch dimension, fixed per execution.
    Batch,
    /// A fixed size.
    Fixed(u32),
}

/// The span of one slice of `shape` along `axis` at one row (the batch dimension as 1): from
/// its first to its last element, [`vouch_semantics::reduce_span`]; `None` when the axis is
/// out of range or empty. What a `Softmax`, `ArgMax` or `Reduce` element's one-step check
/// reads as one window.
pub fn slice_span(shape: &[Dim], axis: usize) -> Option<usize> {
    let dims: Vec<usize> = shape
        .iter()
        .map(|d| match d {
            Dim::Batch => 1,
            Dim::Fixed(n) => *n as usize,
        })
        .collect();
    vouch_semantics::reduce_span(&dims, &[axis])
}

/// The most inputs a `Concat` node may have for its one-step check to stay bounded: the check
/// takes one window of every input with its Merkle and range proofs, about 29k gas an input
/// over some 290k (anvil `gasUsed`: 518,858 for 8 inputs, 750,234 for 16, 2,464,527 for the 64
/// steps of silero-vad's sequence LSTM). 8 leaves room for inputs of larger tensors in deeper
/// traces (each doubling adds a proof word per input). The importer splits a longer `Concat`
/// into a tree of `Concat`s of at most this many inputs, and a package holding a longer one is
/// refused for optimistic and committee tasks (`vouch_task::modes::check_mode`).
pub const MAX_CONCAT_INPUTS: usize = 8;

/// The value range of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// `[-128, 127]`.
    Act8,
    /// Full `i32` accumulators.
    Wide,
    /// Non-negative indices.
    Index,
    /// `[-32768, 32767]` (semantics version 2).
    Act16,
}

impl Kind {
    /// The value range of an activation kind (`None` for `Wide` and `Index`).
    pub const fn act_range(self) -> Option<(i32, i32)> {
        match self {
            Self::Act8 => Some((vouch_semantics::ACT_MIN, vouch_semantics::ACT_MAX)),
            Self::Act16 => Some((vouch_semantics::ACT16_MIN, vouch_semantics::ACT16_MAX)),
            Self::Wide | Self::Index => None,
        }
    }

    /// Bits per element of this kind in the zk input commitment (8, 16, or 32 for the rest).
    pub const fn bits(self) -> u32 {
        match self {
            Self::Act8 => 8,
            Self::Act16 => 16,
            Self::Wide | Self::Index => 32,
        }
    }

    /// The largest magnitude a value of this kind can have.
    pub const fn magnitude(self) -> i64 {
        match self {
            Self::Act8 => 128,
            Self::Act16 => 32_768,
            Self::Wide | Self::Index => 1 << 31,
        }
    }
}

/// A dynamic tensor: name, kind, scale and shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorInfo {
    /// The ONNX name.
    pub name: String,
    /// Value range.
    pub kind: Kind,
    /// Real value of one integer step (metadata for dequantizing only).
    pub scale: f64,
    /// Shape, possibly with a [`Dim::Batch`].
    pub shape: Vec<Dim>,
}

/// A constant tensor of the package (weights, biases, tables, constant operands).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Const {
    /// A name for humans.
    pub name: String,
    /// The real value of one step (`1` for tables).
    pub scale: f64,
    /// Shape.
    pub shape: Vec<u32>,
    /// Row-major elements.
    pub data: Vec<i32>,
}

/// A node operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operand {
    /// A dynamic tensor.
    Value(ValueId),
    /// A constant.
    Const(ConstId),
}

/// The integer operators (`docs/semantics.md` section 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// Dense layer over the last axis; `weight` is `[N, K]`.
    Linear {
        /// Weight constant `[N, K]`.
        weight: ConstId,
        /// Bias constant `[N]`.
        bias: Option<ConstId>,
        /// Requantization (ignored when `wide`).
        rq: Requant,
        /// Output is the raw `i32` accumulator.
        wide: bool,
    },
    /// 2-D convolution (1-D as `kH = 1`), NCHW.
    Conv {
        /// Weight constant `[C_out, C_in/group, kH, kW]`.
        weight: ConstId,
        /// Bias constant `[C_out]`.
        bias: Option<ConstId>,
        /// Kernel `[kH, kW]`.
        kernel: [u32; 2],
        /// Strides.
        strides: [u32; 2],
        /// Pads `[top, left, bottom, right]`.
        pads: [u32; 4],
        /// Dilations.
        dilations: [u32; 2],
        /// Groups.
        group: u32,
        /// Requantization (ignored when `wide`).
        rq: Requant,
        /// Output is the raw `i32` accumulator.
        wide: bool,
    },
    /// Product of two dynamic `act8` tensors.
    MatMul {
        /// Requantization (ignored when `wide`).
        rq: Requant,
        /// Output is the raw `i32` accumulator.
        wide: bool,
    },
    /// `requant(X*ma + Y*mb, 1, s, lo, hi)`; `Sub` negates `mb`.
    Add {
        /// Multiplier of the first operand.
        ma: i64,
        /// Multiplier of the second operand (negative for `Sub`).
        mb: i64,
        /// Shared shift and clamp (its `m` is 1).
        rq: Requant,
    },
    /// `requant(X*Y, M, s, lo, hi)`.
    Mul {
        /// Requantization.
        rq: Requant,
    },
    /// `requant(X, M, s, lo, hi)`.
    Rescale {
        /// Requantization.
        rq: Requant,
    },
    /// `max(X, 0)`.
    Relu,
    /// `clamp(X, lo, hi)`.
    Clip {
        /// Lower bound.
        lo: i32,
        /// Upper bound.
        hi: i32,
    },
    /// `X >= 0 ? X : requant(X, M, s, -128, 127)`.
    LeakyRelu {
        /// Requantization of negative inputs.
        rq: Requant,
    },
    /// `T[X + 128]` with a 256-entry constant table.
    Lut {
        /// The table constant.
        table: ConstId,
    },
    /// Integer softmax along `axis` with a 256-entry exp table; the input may be `act8` or
    /// `wide`, and `rq` maps `max - x` to the table index.
    Softmax {
        /// The axis.
        axis: u32,
        /// The table constant.
        table: ConstId,
        /// Index requantization (`lo = 0`, `hi = 255`).
        rq: Requant,
    },
    /// Index of the maximum along `axis`.
    ArgMax {
        /// The axis.
        axis: u32,
        /// Keep the reduced axis.
        keepdims: bool,
        /// Last index on ties.
        select_last_index: bool,
    },
    /// Max pooling.
    MaxPool {
        /// Kernel `[kH, kW]`.
        kernel: [u32; 2],
        /// Strides.
        strides: [u32; 2],
        /// Pads `[top, left, bottom, right]`.
        pads: [u32; 4],
        /// Dilations.
        dilations: [u32; 2],
    },
    /// Average pooling with `div_round`.
    AveragePool {
        /// Kernel `[kH, kW]`.
        kernel: [u32; 2],
        /// Strides.
        strides: [u32; 2],
        /// Pads `[top, left, bottom, right]`.
        pads: [u32; 4],
        /// Divide by the full kernel size.
        count_include_pad: bool,
    },
    /// Reshape to the output value's shape (Reshape, Flatten, Squeeze, Unsqueeze).
    Reshape,
    /// Permute axes.
    Transpose {
        /// The permutation.
        perm: Vec<u32>,
    },
    /// Concatenate along `axis`.
    Concat {
        /// The axis.
        axis: u32,
    },
    /// Pad every axis (`docs/semantics.md` section 3).
    Pad {
        /// How the padding is filled.
        mode: PadMode,
        /// `[begin_0, .., begin_{r-1}, end_0, .., end_{r-1}]` for an input of rank `r` (ONNX
        /// order); 0 on the batch axis.
        pads: Vec<u32>,
        /// The padding value (`Constant` mode; 0 otherwise), in the output kind's range.
        value: i32,
    },
    /// `requant(R(X), M, s, lo, hi)` where `R` sums, averages (`div_round`), maximizes or
    /// minimizes over `axes` (`docs/semantics.md` section 3).
    Reduce {
        /// Which reduction.
        mode: ReduceMode,
        /// The reduced axes, strictly increasing (never the batch axis).
        axes: Vec<u32>,
        /// Keep the reduced axes with size 1.
        keepdims: bool,
        /// Requantization of the reduced value (the identity onto the kind's range except for
        /// `Sum`, which changes scale).
        rq: Requant,
    },
    /// The elementwise maximum of any number of operands (numpy broadcasting), all on one
    /// scale.
    Max,
    /// The elementwise minimum of any number of operands (numpy broadcasting), all on one
    /// scale.
    Min,
    /// `X >= 0 ? X : requant(X · S, M, s, lo, hi)` with the slope constant `S` broadcast to
    /// `X`.
    PRelu {
        /// The quantized slope constant (shape broadcastable to the input's).
        slope: ConstId,
        /// Requantization of the negative products.
        rq: Requant,
    },
    /// A decision-tree ensemble over feature codes (`docs/semantics.md` section 3.1): `X`
    /// `[..., F]` (`act16` codes) to `Z` `[..., N]` (`wide`).
    TreeEnsemble {
        /// `[n_nodes, 6]`: `[mode, feature, c, missing, a, b]` per node.
        nodes: ConstId,
        /// `[n_w, 2]`: `[target, value]` per leaf weight.
        weights: ConstId,
        /// `[n_trees]`: the root row of each tree.
        roots: ConstId,
        /// `[N]`: the base value of each target.
        base: ConstId,
        /// `[F + 1]`: feature `f`'s thresholds are `thresholds[bounds[f]..bounds[f + 1]]`.
        bounds: ConstId,
        /// `[n_t]`: every feature's sorted thresholds (`f32` bit patterns): the input encoding.
        thresholds: ConstId,
        /// How leaf values combine across trees.
        aggregate: Aggregate,
    },
    /// Per-axis index selection (`docs/semantics.md` section 3): `Z[o_0, .., o_{r-1}] =
    /// X[m_0(o_0), .., m_{r-1}(o_{r-1})]` with `m_d = maps[d]` (an empty map is the identity).
    /// `Slice`, `Split`, `Expand`, `Tile` and `Gather` by constant indices of computed tensors.
    /// The last variant: postcard encodes the variant index, so a new op goes after it and
    /// existing packages keep their bytes.
    Select {
        /// One index list per input axis: output index `o` along axis `d` reads input index
        /// `maps[d][o]`; empty keeps the axis as it is.
        maps: Vec<Vec<u32>>,
    },
    /// Gather by a computed index (`docs/semantics.md` section 3): inputs `[X, I]`, `X` the
    /// data (a dynamic tensor or a constant), `I` a dynamic integer tensor (an `index` tensor
    /// or an exact integer input). `Z[a, p, b] = X[a, j(I[p]), b]` along `axis` with the total
    /// index rule [`vouch_semantics::gather_index`]. Appended after `Select` (postcard variant
    /// order).
    Gather {
        /// The axis of `X` the index picks along (never the batch axis).
        axis: u32,
    },
}

impl Op {
    /// The op's name as used in `docs/semantics.md` and the test vectors.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Linear { .. } => "Linear",
            Self::Conv { .. } => "Conv",
            Self::MatMul { .. } => "MatMul",
            Self::Add { .. } => "Add",
            Self::Mul { .. } => "Mul",
            Self::Rescale { .. } => "Rescale",
            Self::Relu => "Relu",
            Self::Clip { .. } => "Clip",
            Self::LeakyRelu { .. } => "LeakyRelu",
            Self::Lut { .. } => "Lut",
            Self::Softmax { .. } => "Softmax",
            Self::ArgMax { .. } => "ArgMax",
            Self::MaxPool { .. } => "MaxPool",
            Self::AveragePool { .. } => "AveragePool",
            Self::Reshape => "Reshape",
            Self::Transpose { .. } => "Transpose",
            Self::Concat { .. } => "Concat",
            Self::Pad { .. } => "Pad",
            Self::Reduce { .. } => "Reduce",
            Self::Max => "Max",
            Self::Min => "Min",
            Self::PRelu { .. } => "PRelu",
            Self::TreeEnsemble { .. } => "TreeEnsemble",
            Self::Select { .. } => "Select",
            Self::Gather { .. } => "Gather",
        }
    }

    /// The op's family: the module that holds it in every checker (`docs/adding-an-op.md`).
    pub const fn family(&self) -> Family {
        match self {
            Self::Linear { .. } | Self::MatMul { .. } => Family::Dense,
            Self::Conv { .. } => Family::Conv,
            Self::Add { .. } | Self::Mul { .. } | Self::Rescale { .. } | Self::Max | Self::Min => {
                Family::Elementwise
            }
            Self::Relu
            | Self::Clip { .. }
            | Self::LeakyRelu { .. }
            | Self::Lut { .. }
            | Self::PRelu { .. } => Family::Activation,
            Self::Softmax { .. } | Self::ArgMax { .. } | Self::Reduce { .. } => Family::Reduce,
            Self::MaxPool { .. } | Self::AveragePool { .. } => Family::Pool,
            Self::Reshape
            | Self::Transpose { .. }
            | Self::Concat { .. }
            | Self::Pad { .. }
            | Self::Select { .. }
            | Self::Gather { .. } => Family::Layout,
            Self::TreeEnsemble { .. } => Family::Tree,
        }
    }

    /// Constants the op reads through its parameters (not through operands).
    pub fn param_consts(&self) -> Vec<ConstId> {
        match self {
            Self::Linear { weight, bias, .. } | Self::Conv { weight, bias, .. } => {
                std::iter::once(*weight).chain(*bias).collect()
            }
            Self::Lut { table } | Self::Softmax { table, .. } => vec![*table],
            Self::PRelu { slope, .. } => vec![*slope],
            Self::TreeEnsemble {
                nodes,
                weights,
                roots,
                base,
                bounds,
                thresholds,
                ..
            } => vec![*nodes, *weights, *roots, *base, *bounds, *thresholds],
            _ => Vec::new(),
        }
    }
}

/// One node of the graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Name for errors and traces (the ONNX node name).
    pub name: String,
    /// The operator.
    pub op: Op,
    /// Operands.
    pub inputs: Vec<Operand>,
    /// The output value.
    pub output: ValueId,
}
