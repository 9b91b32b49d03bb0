//! The ops of `docs/semantics.md` section 3, one module per op family
//! ([`vouch_semantics::Family::module`]).
//!
//! Each family module holds its kernels (one public function per op, on runtime tensors) and
//! the per-op part of the engine: the shape checks and the call of the kernel for one node
//! (`run_*`) and, for the products, the weights prepared once per package (`prepare_*`).
//! [`crate::exec`] walks the graph and dispatches each op to its family.
//!
//! | module | ops |
//! |---|---|
//! | [`dense`] | `Linear`, `MatMul` (and the accumulator finishing shared with `Conv`) |
//! | [`conv`](mod@conv) | `Conv` (im2col into the packed kernels) |
//! | [`conv16`](mod@conv16) | `Conv` with `i64` accumulators on AVX-512 VNNI (the same integers, faster) |
//! | [`depthwise`](mod@depthwise) | depthwise `Conv`: tap by tap along output rows (the same integers, faster) |
//! | [`elementwise`] | `Add`, `Mul`, `Rescale`, `Max`, `Min` (broadcasting binary, n-ary and unary maps) |
//! | [`activation`] | `Relu`, `Clip`, `LeakyRelu`, `PRelu`, `Lut` |
//! | `gate` | a recurrent cell's gate product `Mul(Lut(Rescale(x)), ..)` in one pass (the same integers, faster) |
//! | [`reduce`] | `Softmax`, `ArgMax`, `Reduce` |
//! | [`pool`](mod@pool) | `MaxPool`, `AveragePool` |
//! | [`layout`] | `Reshape`, `Transpose`, `Concat`, `Pad`, `Select` |
//! | [`tree`] | `TreeEnsemble` |
//!
//! This module keeps what several families share: window geometry ([`Window`], [`nchw`]), the
//! node being run, and the weight and accumulator checks of the products.
//!
//! Shapes were validated by the caller against the package; the kernels still never index out
//! of bounds on a consistent package and report semantic errors (overflow) instead of wrapping.

pub mod activation;
pub mod conv;
pub mod conv16;
pub mod dense;
pub mod depthwise;
pub mod elementwise;
pub(crate) mod gate;
pub mod layout;
pub mod pool;
pub mod reduce;
pub mod tree;

pub use activation::{lut, prelu};
pub use conv::conv;
pub use dense::{Accum, linear, matmul};
pub use depthwise::depthwise;
pub use elementwise::{binary, nary, unary};
pub use layout::{concat, gather, gather_shape, pad, select, select_index, transpose};
pub use pool::pool;
pub use reduce::{argmax, reduce, softmax};
pub use tree::{Compiled, Trees, tree_ensemble, tree_ensemble_with};

use crate::exec::shape_err;
use crate::tensor::Tensor;
use crate::{Error, Result};
use vouch_model::{Node, Operand, Package};
use vouch_semantics::Error as SemError;

type SemResult<T> = Result<T, SemError>;

/// Largest magnitude of an `act16` value: what the `i16` kernel lanes hold.
pub(crate) const ACT16_MAGNITUDE: i128 = 32_768;

/// One node about to run: what a family's `run_*` function reads.
pub(crate) struct NodeRun<'a> {
    /// The package.
    pub(crate) pkg: &'a Package,
    /// The node.
    pub(crate) node: &'a Node,
    /// The operands, in node order.
    pub(crate) ins: Vec<&'a Tensor>,
    /// The first operand.
    pub(crate) x: &'a Tensor,
    /// The output shape the package declares.
    pub(crate) out_shape: &'a [usize],
    /// Where the output's buffer comes from.
    pub(crate) bufs: &'a crate::exec::Buffers,
}

impl<'a> NodeRun<'a> {
    /// A shape error of this node.
    pub(crate) fn err(&self, reason: impl Into<String>) -> Error {
        shape_err(self.node, reason)
    }

    /// A semantic error of this node.
    pub(crate) fn sem(&self, e: SemError) -> Error {
        Error::Semantics {
            node: self.node.name.clone(),
            source: e,
        }
    }

    /// The data of constant `c`.
    pub(crate) fn konst(&self, c: u32) -> &'a [i32] {
        self.pkg.consts[c as usize].data.as_slice()
    }
}

/// Geometry of a 2-D window op over NCHW (1-D ops use `h = kh = 1`).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Kernel `[kH, kW]`.
    pub kernel: [usize; 2],
    /// Strides.
    pub strides: [usize; 2],
    /// Pads `[top, left, bottom, right]`.
    pub pads: [usize; 4],
    /// Dilations.
    pub dilations: [usize; 2],
}

impl Window {
    /// The input row/column read by output position `o` at kernel tap `t` on axis `ax`,
    /// or `None` when it falls in the padding.
    #[inline]
    fn pos(&self, ax: usize, o: usize, t: usize, size: usize) -> Option<usize> {
        let p = (o * self.strides[ax] + t * self.dilations[ax]).checked_sub(self.pads[ax])?;
        (p < size).then_some(p)
    }
}

/// Views an NCHW or NCW shape as `(n, c, h, w)`.
pub fn nchw(shape: &[usize]) -> Option<(usize, usize, usize, usize)> {
    match *shape {
        [n, c, h, w] => Some((n, c, h, w)),
        [n, c, w] => Some((n, c, 1, w)),
        _ => None,
    }
}

/// The [`Window`] of an op's attributes.
pub(crate) fn window(kernel: [u32; 2], strides: [u32; 2], pads: [u32; 4], dil: [u32; 2]) -> Window {
    Window {
        kernel: kernel.map(|v| v as usize),
        strides: strides.map(|v| v as usize),
        pads: pads.map(|v| v as usize),
        dilations: dil.map(|v| v as usize),
    }
}

/// Every output position's window must start inside `input + pads`.
fn check_window(node: &Node, input: &[usize], out: &[usize], w: &Window) -> Result<()> {
    let (n, _, h, wd) = nchw(input).ok_or_else(|| shape_err(node, "input is not NCHW/NCW"))?;
    let (on, _, oh, ow) = nchw(out).ok_or_else(|| shape_err(node, "output is not NCHW/NCW"))?;
    let fits = |o: usize, ax: usize, size: usize| {
        o == 0 || (o - 1) * w.strides[ax] < size + w.pads[ax] + w.pads[ax + 2]
    };
    if n != on || !fits(oh, 0, h) || !fits(ow, 1, wd) {
        return Err(shape_err(
            node,
            format!("output {out:?} does not fit input {input:?}"),
        ));
    }
    Ok(())
}

fn check_weights(node: &Node, w: &[i32]) -> Result<()> {
    let max = vouch_semantics::WEIGHT_MAX;
    if w.iter().any(|v| !(-max..=max).contains(v)) {
        return Err(shape_err(node, format!("weights outside [-{max}, {max}]")));
    }
    Ok(())
}

/// The overflow proof of `docs/semantics.md` section 4, re-checked on every package loaded:
/// `|B[n]| + R · Σ_k |W[n, k]|` (`B` the bias values, a wide bias joined) (`R` the input kind's largest magnitude) must fit the
/// accumulator's domain. Returns whether the accumulator needs `i64` (the bound reaches
/// `2^31`); below that the `i32` kernels are exact.
fn check_overflow(
    pkg: &Package,
    node: &Node,
    w: &[i32],
    rows: usize,
    ch: &dense::Channels,
    rq: &vouch_semantics::Requant,
    wide: bool,
) -> Result<bool> {
    let r = match node.inputs.first() {
        Some(Operand::Value(v)) => pkg
            .values
            .get(*v as usize)
            .map_or(1 << 31, |v| v.kind.magnitude()),
        _ => 1 << 31,
    };
    if i128::from(r) > ACT16_MAGNITUDE {
        // The kernels pack inputs into i16 lanes.
        return Err(shape_err(
            node,
            "the input must be an act8/act16 tensor (a wide tensor cannot feed a product)",
        ));
    }
    let per = w.len().checked_div(rows).unwrap_or(0);
    let bias = ch.bias.as_deref();
    let bound = match &ch.mults {
        // per channel: each row's bound times its own multiplier (section 4)
        Some(m) => vouch_semantics::channels_fit(w, per, bias, r, rq, m),
        None => Some(vouch_semantics::accumulator_bound(w, per, bias, r))
            .filter(|&b| vouch_semantics::accumulator_fits(b, rq, wide)),
    };
    let Some(bound) = bound else {
        let bound = vouch_semantics::accumulator_bound(w, per, bias, r);
        return Err(shape_err(
            node,
            format!(
                "the accumulator bound {bound} does not fit {}",
                if wide {
                    "i32"
                } else {
                    "the requantization's i64 domain"
                }
            ),
        ));
    };
    Ok(bound >= 1 << 31)
}
