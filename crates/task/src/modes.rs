//! Which settlement modes a package can be checked in. A mode is only offered when every op of
//! the package has the checker the mode ends in: the zk circuit (zk), or the one-step verifier
//! that settles a dispute (optimistic, and committee disagreements). A task in a mode a
//! package cannot be checked in is refused before it is accepted, never accepted and then left
//! undisputable.

use crate::Mode;
use vouch_model::{Node, Op, Package};

/// A package holds an op that `mode` cannot check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{mode} mode cannot check this model: node {node:?} is a {op}, which has no {checker} yet \
     (run it locally with `vouch infer`)"
)]
pub struct ModeUnsupported {
    /// The mode asked for.
    pub mode: Mode,
    /// The first node it cannot check.
    pub node: String,
    /// Its op.
    pub op: &'static str,
    /// The checker the op lacks.
    pub checker: &'static str,
}

/// Whether `node` has the checker `mode` ends in (`None`), or which it lacks. The zk circuit
/// constrains every op (trees included: `circuit/tree.rs`); a tree ensemble is disputable when
/// the game can judge its form (`Package::tree_dispute_refusal`).
fn missing_checker(pkg: &Package, node: &Node, mode: Mode) -> Option<&'static str> {
    match (&node.op, mode) {
        (Op::TreeEnsemble { .. }, Mode::Optimistic | Mode::Committee) => {
            pkg.tree_dispute_refusal(node)
        }
        (
            Op::Softmax { axis, .. } | Op::ArgMax { axis, .. },
            Mode::Optimistic | Mode::Committee,
        ) => slice_refusal(pkg, node, *axis as usize),
        (
            Op::AveragePool { kernel, .. } | Op::MaxPool { kernel, .. },
            Mode::Optimistic | Mode::Committee,
        ) => window_refusal(kernel),
        (Op::Concat { .. }, Mode::Optimistic | Mode::Committee) => concat_refusal(node),
        _ => None,
    }
}

/// A pooling element's one-step check reads its whole window (about 2.9k gas an element: an
/// 80x80 window is 18.6M, past a transaction's gas cap on a larger one), so a window is at
/// most [`vouch_semantics::MAX_REDUCE_SPAN`] elements. The importer lowers a large
/// `GlobalAveragePool` to a `Linear` sum (a partial-sum game at any size); what is refused here
/// is a pooling op whose own window is that large.
fn window_refusal(kernel: &[u32; 2]) -> Option<&'static str> {
    let window = u64::from(kernel[0]) * u64::from(kernel[1]);
    (window > vouch_semantics::MAX_REDUCE_SPAN as u64).then_some(
        "one-step verifier for a pooling window of more than 224 elements (zk mode proves it)",
    )
}

/// A `Concat` element's one-step check takes one window of every input with its Merkle and
/// range proofs (about 29-38k gas an input: 2.46M for the 64 steps of silero-vad's sequence
/// LSTM), so a `Concat` has at most [`vouch_model::MAX_CONCAT_INPUTS`] inputs. The importer
/// splits a longer one into a tree of `Concat`s within the bound; what is refused here is an
/// older package's, or one along the batch axis.
fn concat_refusal(node: &Node) -> Option<&'static str> {
    const _: () = assert!(
        vouch_model::MAX_CONCAT_INPUTS == 8,
        "the refusal names the bound"
    );
    (node.inputs.len() > vouch_model::MAX_CONCAT_INPUTS)
        .then_some("one-step verifier for a Concat of more than 8 inputs (zk mode proves it)")
}

/// A `Softmax` or `ArgMax` element's one-step check reads one window of its input, from the
/// first to the last element of its slice: like a `Reduce`'s, that span must be at most
/// [`vouch_semantics::MAX_REDUCE_SPAN`] (a slice along an axis of large stride, or a long
/// one, would need a check no block holds: `docs/semantics.md` section 8.1). A 16-bit import
/// lowers a long softmax on the last axis to stages each within the span (`docs/semantics.md`
/// section 5, the long fine softmax), so what is refused here is the op itself: an 8-bit
/// package's, a slice over 65,535 elements, an `ArgMax`.
fn slice_refusal(pkg: &Package, node: &Node, axis: usize) -> Option<&'static str> {
    const REFUSAL: &str =
        "one-step verifier for a slice of more than 224 input elements (zk mode proves it)";
    let Some(vouch_model::Operand::Value(v)) = node.inputs.first() else {
        return Some(REFUSAL);
    };
    match pkg
        .values
        .get(*v as usize)
        .and_then(|x| vouch_model::slice_span(&x.shape, axis))
    {
        Some(span) if span <= vouch_semantics::MAX_REDUCE_SPAN => None,
        _ => Some(REFUSAL),
    }
}

/// Checks that every node of `pkg` can be checked in `mode`.
pub fn check_mode(pkg: &Package, mode: Mode) -> Result<(), ModeUnsupported> {
    match pkg
        .nodes
        .iter()
        .find_map(|n| missing_checker(pkg, n, mode).map(|c| (n, c)))
    {
        Some((n, checker)) => Err(ModeUnsupported {
            mode,
            node: n.name.clone(),
            op: n.op.name(),
            checker,
        }),
        None => Ok(()),
    }
}

/// The modes `pkg` can be checked in, in [`Mode::ALL`] order: those [`check_mode`] accepts,
/// without zk for a package older than the zk statement (its input commitment is refused).
pub fn supported_modes(pkg: &Package) -> Vec<Mode> {
    Mode::ALL
        .into_iter()
        .filter(|&m| check_mode(pkg, m).is_ok())
        .filter(|&m| m != Mode::Zk || vouch_semantics::zk_supports_version(pkg.semantics_version))
        .collect()
}
