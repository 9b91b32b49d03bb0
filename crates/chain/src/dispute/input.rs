//! A task without an answer (`docs/semantics.md` sections 8.5 and 8.7): its committed input
//! cannot hold its rows, or holds an element the engine refuses. The side that claimed "no
//! answer" proves it with `DisputeGame.resolveInput` or `resolveInputRange`.

use super::need::numel;
use super::{Move, OUTCOMES, window};
use crate::graph::GraphHeader;
use crate::{Error, Result, System};
use alloy::primitives::{B256, U256};
use vouch_bindings::dispute_game::DisputeGame::Window;
use vouch_bindings::dispute_game::OneStepVerifier::Node;
use vouch_primitives::commit::{merkle_proof, tensor_root};
use vouch_primitives::tensor_commitment;
/// Settles a task without an answer: its committed input cannot hold its rows
/// (`DisputeGame.resolveInput`, `docs/semantics.md` section 8.5) or holds an element the engine
/// refuses (`DisputeGame.resolveInputRange`, section 8.7: outside its kind's range, or a tree
/// ensemble's feature code outside `[-1, 2 |T_f|]`). `inputs` are the committed graph inputs
/// (the leaves of the task's input commitment), `nodes` the descriptors, `consts` every
/// constant (for a tree's `bounds`). Posts the graph header first while the game still waits
/// for it; an error when every graph input fits the task.
pub async fn resolve_input(
    sys: &System,
    id: U256,
    header: &GraphHeader,
    nodes: &[Node],
    inputs: &[Vec<i32>],
    consts: &[Vec<i32>],
) -> Result<Move> {
    let client = sys.client();
    let game = sys.dispute_game();
    let g = client.call("DisputeGame.game", game.game(id)).await?;
    match g.phase {
        0 => return Err(Error::NoDispute { id: id.to_string() }),
        9 => {
            let outcome = OUTCOMES.get(usize::from(g.outcome)).copied().unwrap_or("?");
            return Ok(Move::Done { outcome });
        }
        1 => {
            client
                .send(
                    "DisputeGame.postGraph",
                    game.postGraph(
                        id,
                        U256::from(header.num_nodes),
                        header.nodes_root,
                        header.output_nodes_u256(),
                    ),
                )
                .await?;
            return Ok(Move::Posted("graph"));
        }
        _ => {}
    }
    let rows = usize::from(g.rows).max(1);
    let node_leaves: Vec<[u8; 32]> = nodes.iter().map(|n| crate::graph::node_leaf(n).0).collect();
    let in_leaves: Vec<[u8; 32]> = inputs.iter().map(|t| tensor_commitment(t)).collect();
    for (j, node) in nodes.iter().enumerate() {
        for (slot, r) in node.inputs.iter().enumerate() {
            let Some(i) = crate::graph::input_index(*r) else {
                continue;
            };
            let (Some(data), Some(shape)) = (inputs.get(i), node.inShapes.get(slot)) else {
                continue;
            };
            if data.len() == rows * numel(shape) {
                continue;
            }
            let missing = || Error::OutOfRange {
                what: "resolve input: proof".to_owned(),
            };
            let node_proof = merkle_proof(&node_leaves, j).ok_or_else(missing)?;
            let leaf_proof = merkle_proof(&in_leaves, i).ok_or_else(missing)?;
            client
                .send(
                    "DisputeGame.resolveInput",
                    game.resolveInput(
                        id,
                        U256::from(j),
                        node.clone(),
                        node_proof.into_iter().map(B256::from).collect(),
                        U256::from(slot),
                        U256::from(data.len()),
                        B256::from(tensor_root(data)),
                        leaf_proof.into_iter().map(B256::from).collect(),
                    ),
                )
                .await?;
            return Ok(Move::Posted("input"));
        }
    }
    for (j, node) in nodes.iter().enumerate() {
        for (slot, r) in node.inputs.iter().enumerate() {
            let Some(i) = crate::graph::input_index(*r) else {
                continue;
            };
            let (Some(data), Some(shape)) = (inputs.get(i), node.inShapes.get(slot)) else {
                continue;
            };
            let Some(refused) = refused_element(node, *r, shape, data, consts) else {
                continue;
            };
            let missing = || Error::OutOfRange {
                what: "resolve input range: proof".to_owned(),
            };
            let node_proof = merkle_proof(&node_leaves, j).ok_or_else(missing)?;
            let leaf_proof = merkle_proof(&in_leaves, i).ok_or_else(missing)?;
            let bounds = match refused.bounds {
                Some((c, f)) => {
                    let weights: Vec<[u8; 32]> =
                        consts.iter().map(|t| tensor_commitment(t)).collect();
                    let data = consts.get(c).ok_or_else(missing)?;
                    window(
                        data,
                        merkle_proof(&weights, c).ok_or_else(missing)?,
                        f,
                        f + 2,
                    )
                }
                None => Window::default(),
            };
            let e = refused.element;
            client
                .send(
                    "DisputeGame.resolveInputRange",
                    game.resolveInputRange(
                        id,
                        U256::from(j),
                        node.clone(),
                        node_proof.into_iter().map(B256::from).collect(),
                        U256::from(slot),
                        U256::from(e),
                        window(data, leaf_proof, e, e + 1),
                        bounds,
                    ),
                )
                .await?;
            return Ok(Move::Posted("input range"));
        }
    }
    Err(Error::InputWellFormed { rows })
}

/// Whether some graph input of `inputs` (as committed) holds an element the engine refuses by
/// the descriptors `nodes` (its kind's range, a tree ensemble's feature code range by `consts`):
/// the case [`resolve_input`] settles with `DisputeGame.resolveInputRange`.
pub fn input_refused(nodes: &[Node], inputs: &[Vec<i32>], consts: &[Vec<i32>]) -> bool {
    nodes.iter().any(|node| {
        node.inputs.iter().zip(&node.inShapes).any(|(r, shape)| {
            crate::graph::input_index(*r)
                .and_then(|i| inputs.get(i))
                .is_some_and(|data| refused_element(node, *r, shape, data, consts).is_some())
        })
    })
}

/// An element of a graph input that the engine refuses (`docs/semantics.md` section 8.7).
struct Refused {
    /// Its index in the task's tensor.
    element: usize,
    /// For a feature code in its kind's range but outside its feature's code range: the tree
    /// ensemble's `bounds` constant id and the feature.
    bounds: Option<(usize, usize)>,
}

/// The first element of `data` (graph input `r` of `node`, read as `shape`) that the engine
/// refuses: outside the range of the kind `r` declares, or, when `node` is a tree ensemble, a
/// feature code outside `[-1, 2 |T_f|]` by its `bounds` constant (4) in `consts`.
fn refused_element(
    node: &Node,
    r: U256,
    shape: &[U256],
    data: &[i32],
    consts: &[Vec<i32>],
) -> Option<Refused> {
    if let Some((lo, hi)) = crate::graph::input_range(r)
        && let Some(element) = data.iter().position(|v| !(lo..=hi).contains(v))
    {
        return Some(Refused {
            element,
            bounds: None,
        });
    }
    if node.op != crate::graph::op::TREE_ENSEMBLE {
        return None;
    }
    let c = usize::try_from(*node.consts.get(4)?).ok()?;
    let bounds = consts.get(c)?;
    let n1 = numel(shape).max(1);
    let features = shape
        .last()
        .map_or(1, |d| usize::try_from(*d).unwrap_or(1))
        .max(1);
    data.iter().enumerate().find_map(|(element, &v)| {
        let f = element % n1 % features;
        let width = i64::from(*bounds.get(f + 1)?) - i64::from(*bounds.get(f)?);
        (i64::from(v) < -1 || i64::from(v) > 2 * width).then_some(Refused {
            element,
            bounds: Some((c, f)),
        })
    })
}
