//! Recurrent states given as graph inputs. A streaming model (silero VAD) takes its state as an
//! input and returns the next one as an output of the same shape, which the caller feeds back:
//! the input's values are then a computed activation's, and a longer stream than calibration's
//! drives a cell state past what calibration saw (silero's cell state: calibrated 16.3 over 64
//! calls, 20.3 over 128). Such an input gets a computed activation's headroom
//! (`docs/architecture.md`, "Streamed states").

use vouch_onnx::graph::{FGraph, FOp, Operand};

/// Whether graph input `v` is a recurrent state: every node that reads it only re-arranges it
/// (`Transpose`, `Reshape`, `Select`, `Gather`: the state is split into its parts before any
/// arithmetic), and a graph output of the same shape depends on it.
pub(super) fn is_recurrent_input(g: &FGraph, consumers: &[Vec<usize>], v: usize) -> bool {
    let readers = consumers.get(v).map_or(&[][..], Vec::as_slice);
    let layout_only = !readers.is_empty()
        && readers.iter().all(|&n| {
            g.nodes.get(n).is_some_and(|node| {
                matches!(
                    node.op,
                    FOp::Transpose { .. } | FOp::Reshape | FOp::Select { .. } | FOp::Gather { .. }
                ) && node.inputs.first() == Some(&Operand::Value(v))
            })
        });
    if !layout_only {
        return false;
    }
    // the values computed from v (nodes are in topological order)
    let mut from = vec![false; g.values.len()];
    if let Some(f) = from.get_mut(v) {
        *f = true;
    }
    for node in &g.nodes {
        let reads = node
            .inputs
            .iter()
            .any(|o| matches!(o, Operand::Value(u) if from.get(*u).copied().unwrap_or(false)));
        if reads && let Some(f) = from.get_mut(node.output) {
            *f = true;
        }
    }
    let shape = &g.values[v].shape;
    g.outputs
        .iter()
        .any(|&o| o != v && from.get(o).copied().unwrap_or(false) && &g.values[o].shape == shape)
}
