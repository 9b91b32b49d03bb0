//! An honest party's moves in the dispute game (contracts/src/DisputeGame.sol), computed from
//! its own traced execution: the graph header, the trace descent over node output
//! commitments, the output tensor header, the tensor descent and the disputed word; equal
//! traces with different outputs are settled with `resolveOutputs`. A party that stops
//! answering loses when its step deadline passes ([`step`] claims the timeout).
//!
//! The one-step recomputation (`oneStep`, `resolveShape`) needs the node descriptors, the
//! constants and the graph inputs ([`Evidence`]): [`step_with`] plays it (windows of every
//! input and constant the disputed element reads, with their Merkle and range proofs). For a
//! `Conv`, a `MatMul` or a `Linear` of fan-in over [`CHUNK`] it starts the partial-sum game over
//! the fan-in itself (accumulator, midpoint prefix sums, the one-step check of one chunk, which
//! proves only that chunk's reads: `fanin.rs`, docs/semantics.md section 8.4); for a `SUM` tree
//! ensemble, over the trees, proving only the walked path at its one-step (section 8.6). It
//! plays either game to its end whichever party started it. [`step`] reports
//! [`Move::NeedsOneStep`] there. Graph inputs and constants are proven against the task's
//! input commitment and the weights root; trace leaves against the *defender's* trace root,
//! so a challenger reads the defender's revealed trace path from its `bisect` calldata.
//! A task whose committed input has no answer (it cannot hold its rows, or holds an element
//! the engine refuses) is settled by [`resolve_input`] (`input.rs`).

mod fanin;
mod input;
mod need;
mod operand;
mod tree;

pub use fanin::{STRIDED_CHUNK, bisects, chunk_of, fan_in};
pub use input::{input_refused, resolve_input};
pub use tree::partial_sum as tree_partial_sum;

use crate::graph::GraphHeader;
use crate::{Error, Result, System};
use alloy::primitives::{Address, B256, U256};
use need::{need, numel};
use operand::{node_proof, operand};
use vouch_bindings::dispute_game::DisputeGame;
use vouch_bindings::dispute_game::DisputeGame::Window;
use vouch_bindings::dispute_game::OneStepVerifier::Node;
use vouch_primitives::commit::{
    merkle_levels, merkle_proof, tensor_leaves, tensor_root, tensor_words,
};
use vouch_primitives::tensor_commitment;

/// Phases of `DisputeGame.Phase`.
pub const PHASES: [&str; 13] = [
    "none",
    "graph",
    "trace",
    "header",
    "shape",
    "tensor",
    "word",
    "one-step",
    "outputs",
    "done",
    "partial-acc",
    "partial-bisect",
    "partial-step",
];

/// Outcomes of `IDisputeGame.Outcome`.
pub const OUTCOMES: [&str; 4] = ["none", "defender wins", "challenger wins", "both wrong"];

/// One party's view of an execution: every node's output (the trace) and the graph header,
/// with each output's tensor commitment (the trace leaves) computed once, when the trace is
/// made or changed: a bisection step reads them, and hashing every tensor of a large model
/// takes seconds.
#[derive(Debug, Clone)]
pub struct HonestTrace {
    tensors: Vec<Vec<i32>>,
    header: GraphHeader,
    leaves: Vec<[u8; 32]>,
}

impl HonestTrace {
    /// The trace of a run whose node outputs are `tensors` (in node order), under `header`.
    pub fn new(tensors: Vec<Vec<i32>>, header: GraphHeader) -> Self {
        let leaves = tensors.iter().map(|t| tensor_commitment(t)).collect();
        Self {
            tensors,
            header,
            leaves,
        }
    }

    /// The trace of a run of `pkg` whose node outputs are `tensors` (a traced engine run's
    /// `trace`), under `pkg`'s graph header.
    pub fn of_package(tensors: Vec<Vec<i32>>, pkg: &vouch_model::Package) -> Self {
        Self::new(tensors, crate::graph::header_of(pkg))
    }

    /// Every node's output tensor, in node order.
    pub fn tensors(&self) -> &[Vec<i32>] {
        &self.tensors
    }

    /// The graph header whose root the registry holds.
    pub fn header(&self) -> &GraphHeader {
        &self.header
    }

    /// Sets element `e` of node `j`'s output to `value` (a lie, in tests and `--lie`) and
    /// recomputes that node's leaf. `None` when the trace has no such element.
    pub fn set(&mut self, j: usize, e: usize, value: i32) -> Option<()> {
        *self.tensors.get_mut(j)?.get_mut(e)? = value;
        self.leaves[j] = tensor_commitment(&self.tensors[j]);
        Some(())
    }

    /// Adds one (wrapping) to the last node's last element: the lie the demo's liar and
    /// `vouch task submit --lie` tell. No change when the last node's output is empty.
    pub fn perturb_last(&mut self) {
        let j = self.tensors.len().saturating_sub(1);
        if let Some(e) = self.tensors.get(j).and_then(|t| t.len().checked_sub(1)) {
            let v = self.tensors[j][e].wrapping_add(1);
            self.set(j, e, v);
        }
    }

    /// The trace leaves: each node output's tensor commitment.
    pub fn leaves(&self) -> &[[u8; 32]] {
        &self.leaves
    }

    /// The trace root.
    pub fn trace_root(&self) -> B256 {
        B256::from(vouch_primitives::list_commitment(&self.leaves))
    }

    /// The output commitment: list commitment of the output nodes' tensor commitments.
    pub fn output_commitment(&self) -> B256 {
        let outs: Vec<[u8; 32]> = self
            .header
            .output_nodes
            .iter()
            .filter_map(|&n| usize::try_from(n).ok().and_then(|n| self.leaves.get(n)))
            .copied()
            .collect();
        B256::from(vouch_primitives::list_commitment(&outs))
    }

    /// The output values a result delivers (`TaskManager.finalize`, `deliver`): the output
    /// nodes' tensors end to end, in output order, which open [`Self::output_commitment`].
    pub fn output_values(&self) -> Vec<i32> {
        self.header
            .output_nodes
            .iter()
            .filter_map(|&n| usize::try_from(n).ok().and_then(|n| self.tensors.get(n)))
            .flatten()
            .copied()
            .collect()
    }
}

/// What [`step`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// Posted this step's answer (the step's name).
    Posted(&'static str),
    /// Our answer is in; waiting for the other party until `deadline` (unix seconds).
    Waiting {
        /// The step deadline.
        deadline: u64,
    },
    /// The deadline passed and we ended the game with `timeout`.
    ClaimedTimeout,
    /// The game needs the one-step check (not automated yet).
    NeedsOneStep,
    /// The game is over.
    Done {
        /// The outcome's name.
        outcome: &'static str,
    },
}

/// Children of node `index` at `depth` levels above the leaves.
fn children(leaves: &[[u8; 32]], depth: u32, index: U256) -> Result<(B256, B256)> {
    let levels = merkle_levels(leaves);
    let level = usize::try_from(depth)
        .ok()
        .and_then(|d| d.checked_sub(1))
        .and_then(|d| levels.get(d))
        .ok_or_else(|| Error::TraceMismatch {
            message: "descent deeper than our tree".to_owned(),
        })?;
    let i = usize::try_from(index).map_err(|_| Error::OutOfRange {
        what: "descent index".to_owned(),
    })?;
    let zero = [0u8; 32];
    let l = level.get(2 * i).unwrap_or(&zero);
    let r = level.get(2 * i + 1).unwrap_or(&zero);
    Ok((B256::from(*l), B256::from(*r)))
}

/// What the one-step check needs besides the trace: the node descriptors (whose leaves are the
/// `nodesRoot` of the graph header), every constant (leaves of `weights_root`) and the task's
/// graph inputs (leaves of its input commitment).
#[derive(Debug, Clone)]
pub struct Evidence {
    /// `OneStepVerifier.Node` per node ([`crate::graph::descriptors`]).
    pub nodes: Vec<Node>,
    /// Every constant's elements, in constant-id order.
    pub consts: Vec<Vec<i32>>,
    /// The graph inputs, in package input order.
    pub inputs: Vec<Vec<i32>>,
    /// Each constant's tensor commitment: the leaves of the weights root, hashed once (every
    /// one-step window of a constant is proven against them).
    const_leaves: Vec<[u8; 32]>,
}

impl Evidence {
    /// The evidence of one execution of `pkg` on `inputs`.
    pub fn new(pkg: &vouch_model::Package, inputs: Vec<Vec<i32>>) -> Self {
        let consts: Vec<Vec<i32>> = pkg.consts.iter().map(|c| c.data.clone()).collect();
        Self {
            nodes: crate::graph::descriptors(pkg),
            const_leaves: consts.iter().map(|c| tensor_commitment(c)).collect(),
            consts,
            inputs,
        }
    }

    /// The Merkle proof of constant `k`'s commitment under the weights root.
    pub(crate) fn const_proof(&self, k: usize) -> Option<Vec<[u8; 32]>> {
        merkle_proof(&self.const_leaves, k)
    }
}

fn to_usize(v: U256, what: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| Error::OutOfRange {
        what: format!("{what} {v}"),
    })
}

/// Range proof of leaves `start .. start + len` (docs/semantics.md section 8.3): per level from
/// the bottom, the left sibling of the first node when it is a right child, then the right
/// sibling of the last node when it is a left child.
fn range_proof(levels: &[Vec<[u8; 32]>], start: usize, len: usize) -> Vec<B256> {
    let mut out = Vec::new();
    let (mut lo, mut len) = (start, len);
    for level in levels.iter().take(levels.len().saturating_sub(1)) {
        let hi = lo + len - 1;
        let left = lo % 2 == 1;
        let right = hi % 2 == 0;
        if left {
            out.push(B256::from(level[lo - 1]));
        }
        if right {
            out.push(B256::from(level.get(hi + 1).copied().unwrap_or([0u8; 32])));
        }
        let full = len + usize::from(left) + usize::from(right);
        len = full / 2;
        lo >>= 1;
    }
    out
}

/// A window over elements `[lo, hi)` of `data`, its commitment proven by `leaf_proof`.
fn window(data: &[i32], leaf_proof: Vec<[u8; 32]>, lo: usize, hi: usize) -> Window {
    let words = tensor_words(data);
    let levels = merkle_levels(&tensor_leaves(data));
    let last = words.len().saturating_sub(1);
    let sw = (lo / 8).min(last);
    let ew = (hi.max(lo + 1) - 1) / 8;
    let ew = ew.clamp(sw, last.max(sw));
    let picked: Vec<B256> = words
        .get(sw..=ew)
        .unwrap_or(&[])
        .iter()
        .map(|w| B256::from(*w))
        .collect();
    Window {
        numel: U256::from(data.len()),
        root: B256::from(tensor_root(data)),
        leafProof: leaf_proof.into_iter().map(B256::from).collect(),
        startWord: U256::from(sw),
        rangeProof: range_proof(&levels, sw, picked.len()),
        words: picked,
    }
}

/// The children the defender revealed in the trace descent of game `id`, from the root down:
/// the calldata of its first `levels` `bisect(id, ..)` transactions since the game opened.
async fn defender_descent(
    sys: &System,
    id: U256,
    defender: Address,
    levels: usize,
) -> Result<Vec<(B256, B256)>> {
    use alloy::consensus::Transaction as _;
    use alloy::network::TransactionResponse as _;
    use alloy::providers::Provider as _;
    use alloy::sol_types::{SolCall as _, SolEvent as _};
    if levels == 0 {
        return Ok(Vec::new());
    }
    let game = *sys.dispute_game().address();
    let provider = sys.client().provider();
    let rpc = |e: alloy::transports::TransportError| Error::Rpc {
        call: "reading the game".to_owned(),
        message: e.to_string(),
    };
    let filter = alloy::rpc::types::Filter::new()
        .address(game)
        .event_signature(DisputeGame::Opened::SIGNATURE_HASH)
        .topic1(B256::from(id))
        .from_block(0);
    let opened = provider
        .get_logs(&filter)
        .await
        .map_err(rpc)?
        .first()
        .and_then(|l| l.block_number)
        .ok_or_else(|| Error::Rpc {
            call: format!("eth_getLogs (Opened event of dispute {id})"),
            message: "no such log: the endpoint may not keep old logs".to_owned(),
        })?;
    let latest = provider.get_block_number().await.map_err(rpc)?;
    let mut out = Vec::new();
    for b in opened..=latest {
        let Some(block) = provider
            .get_block_by_number(b.into())
            .full()
            .await
            .map_err(rpc)?
        else {
            continue;
        };
        for tx in block.transactions.txns() {
            if tx.from() != defender || tx.to() != Some(game) {
                continue;
            }
            if let Ok(c) = DisputeGame::bisectCall::abi_decode(tx.input())
                && c.id == id
                && provider
                    .get_transaction_receipt(tx.tx_hash())
                    .await
                    .map_err(rpc)?
                    .is_some_and(|r| r.status())
            {
                out.push((c.left, c.right));
                if out.len() == levels {
                    return Ok(out);
                }
            }
        }
    }
    Err(Error::TraceMismatch {
        message: format!(
            "found {} of the defender's {levels} trace bisections of dispute {id}",
            out.len()
        ),
    })
}

/// Proof of trace leaf `r` (< `j`, agreed) against the defender's trace root: siblings left of
/// node `j`'s path are agreed leaves' subtrees (ours), the others are the nodes the defender
/// revealed on `j`'s path (`descent`, from the root down).
fn defender_leaf_proof(
    ours: &[[u8; 32]],
    descent: &[(B256, B256)],
    r: usize,
    j: usize,
) -> Option<Vec<[u8; 32]>> {
    let levels = merkle_levels(ours);
    let depth = levels.len().saturating_sub(1);
    let mut proof = Vec::with_capacity(depth);
    for h in 0..depth {
        let s = (r >> h) ^ 1;
        if (s + 1) << h <= j {
            proof.push(*levels.get(h)?.get(s)?);
        } else {
            // the defender revealed the children at height h of j's ancestor at height h + 1
            let (l, rr) = descent.get(depth - 1 - h)?;
            proof.push(if s.is_multiple_of(2) { l.0 } else { rr.0 });
        }
    }
    Some(proof)
}

/// Terms per chunk of a `Linear` partial-sum game (`DisputeGame.CHUNK`).
pub const CHUNK: usize = 64;

/// The data tensor of dynamic input `i` of `node`: a graph input or a node output.
fn input_data<'a>(
    me: &'a HonestTrace,
    ev: &'a Evidence,
    node: &Node,
    i: usize,
) -> Result<&'a [i32]> {
    let r = *node.inputs.get(i).ok_or_else(|| Error::TraceMismatch {
        message: "one-step: no such input".to_owned(),
    })?;
    let t = if let Some(i) = crate::graph::input_index(r) {
        ev.inputs.get(i)
    } else {
        me.tensors().get(to_usize(r, "node input")?)
    };
    t.map(Vec::as_slice).ok_or_else(|| Error::OutOfRange {
        what: "one-step: input".to_owned(),
    })
}

/// The prefix sum `P_c` of element `e` (of the task's tensor) of node `j` in its partial-sum
/// game: over the trees of a `SUM` tree ensemble (docs/semantics.md section 8.6), else over
/// the fan-in of a `Linear`, `Conv` or `MatMul` element (section 8.4); `P_m` is the
/// accumulator.
pub fn partial_sum(me: &HonestTrace, ev: &Evidence, j: usize, e: usize, c: usize) -> Result<i64> {
    match ev.nodes.get(j) {
        Some(n) if tree::is_tree(n) => tree::partial_sum(me, ev, j, e, c),
        _ => fanin::partial_sum(me, ev, j, e, c),
    }
}

/// The number of chunks `m` (trees for a tree ensemble) of node `j`'s partial-sum game.
pub fn chunks(ev: &Evidence, j: usize) -> Result<usize> {
    let node = ev.nodes.get(j).ok_or_else(|| Error::TraceMismatch {
        message: format!("node {j} is not in our graph"),
    })?;
    if tree::is_tree(node) {
        return tree::trees(ev, j);
    }
    let k = fan_in(node).ok_or_else(|| Error::TraceMismatch {
        message: format!("node {j} has no partial-sum game"),
    })?;
    Ok(k.div_ceil(chunk_of(node.op)))
}

/// `oneStep`'s arguments after the game id: descriptor, node proof, input and constant windows.
type OneStepArgs = (Node, Vec<B256>, Vec<Window>, Vec<Window>);

/// The `oneStep` arguments for element `e` of node `j`: descriptor, node proof, input and
/// constant windows. `descent` is the defender's revealed trace path (empty when we are the
/// defender: then our own tree is the defender's). Element `e` of a task of several rows is
/// element `e mod n1` of row `e div n1` of the batch-1 descriptor (`docs/semantics.md`
/// section 8.5): the input windows cover that row.
fn one_step_args(
    me: &HonestTrace,
    ev: &Evidence,
    descent: &[(B256, B256)],
    j: usize,
    e: usize,
) -> Result<OneStepArgs> {
    let node = ev
        .nodes
        .get(j)
        .ok_or_else(|| Error::TraceMismatch {
            message: format!("node {j} is not in our graph"),
        })?
        .clone();
    let n1 = numel(&node.outShape).max(1);
    let (row, e) = (e / n1, e % n1);
    let missing = |what: &str| Error::OutOfRange {
        what: format!("one-step: {what}"),
    };
    let node_proof = node_proof(ev, j).ok_or_else(|| missing("node"))?;
    let mut ins = Vec::new();
    let mut x0: Option<i32> = None; // the element's first input value (a `Lut` entry's index)
    // a `Gather` element's data element, named by the value of its index element
    let gathered = match (node.inputs.last(), need::gather_at(&node, e)) {
        (Some(r), Some((_, p, _))) if node.op == crate::graph::op::GATHER => {
            let (data, _) = operand(me, ev, descent, *r, j).ok_or_else(|| missing("input"))?;
            let base = row * node.inShapes.last().map_or(0, |s| numel(s));
            data.get(base + p)
                .and_then(|&v| need::gather_source(&node, e, v))
        }
        _ => None,
    };
    for (i, r) in node.inputs.iter().enumerate() {
        let (data, proof) = operand(me, ev, descent, *r, j).ok_or_else(|| missing("input"))?;
        let (lo, hi) = match gathered {
            Some(s) if i == 0 && node.consts.is_empty() => (s, s + 1),
            _ => need(&node, false, i, e),
        };
        let base = row * node.inShapes.get(i).map_or(0, |s| numel(s));
        x0 = x0.or(data.get(base + e).copied());
        ins.push(window(data, proof, base + lo, base + hi));
    }
    let mut cs = Vec::new();
    for (i, c) in node.consts.iter().enumerate() {
        let k = to_usize(*c, "constant")?;
        let data = ev.consts.get(k).ok_or_else(|| missing("constant"))?;
        let proof = ev.const_proof(k).ok_or_else(|| missing("constant"))?;
        let (lo, hi) = need::lut_entry(&node, x0, data.len())
            .or(gathered.map(|s| (s, s + 1)))
            .unwrap_or_else(|| need(&node, true, i, e));
        cs.push(window(data, proof, lo, hi));
    }
    Ok((
        node,
        node_proof.into_iter().map(B256::from).collect(),
        ins,
        cs,
    ))
}

/// The `oneStep` calldata an honest party would send if the game over element `e` of node `j`
/// reached the one-step check: for a node with a partial-sum game (a `Conv`, a `MatMul`, a
/// `Linear` of fan-in over [`CHUNK`], a `SUM` tree ensemble) the check of chunk (tree) `chunk`,
/// else the whole element. The windows, proofs and descriptor in it are what the verifier reads
/// and hashes, the main driver of the check's gas: a measurement aid (the production gas survey
/// picks the nodes it disputes by it), computed from our own trace (the defender's proofs are
/// as long).
pub fn one_step_calldata(
    me: &HonestTrace,
    ev: &Evidence,
    j: usize,
    e: usize,
    chunk: usize,
) -> Result<Vec<u8>> {
    use alloy::sol_types::SolCall as _;
    let node = ev.nodes.get(j).ok_or_else(|| Error::TraceMismatch {
        message: format!("node {j} is not in our graph"),
    })?;
    let is_tree = tree::is_tree(node);
    let sum_tree = is_tree && node.attrs.first().is_some_and(|a| a.is_zero());
    let (node, proof, ins, cs) = if sum_tree {
        tree::step_args(me, ev, &[], j, e, chunk)?
    } else if bisects(node) {
        fanin::chunk_args(me, ev, &[], j, e, chunk)?
    } else {
        one_step_args(me, ev, &[], j, e)?
    };
    Ok(DisputeGame::oneStepCall {
        id: U256::ZERO,
        node,
        nodeProof: proof,
        inputs: ins,
        consts: cs,
    }
    .abi_encode())
}

/// Makes the caller's next move in game `id`, if any; at the one-step check it reports
/// [`Move::NeedsOneStep`] (see [`step_with`]).
pub async fn step(sys: &System, id: U256, me: &HonestTrace) -> Result<Move> {
    step_with(sys, id, me, None).await
}

/// Makes the caller's next move in game `id`, if any, including the one-step check
/// (`oneStep` over the full row, `resolveShape`) when `evidence` is given.
pub async fn step_with(
    sys: &System,
    id: U256,
    me: &HonestTrace,
    evidence: Option<&Evidence>,
) -> Result<Move> {
    let client = sys.client();
    let who = client.sender("dispute")?;
    let game = sys.dispute_game();
    let g = client.call("DisputeGame.game", game.game(id)).await?;
    let phase = usize::from(g.phase);
    if phase == 9 {
        let outcome = OUTCOMES.get(usize::from(g.outcome)).copied().unwrap_or("?");
        return Ok(Move::Done { outcome });
    }
    if phase == 0 {
        return Err(Error::NoDispute { id: id.to_string() });
    }
    let now = sys.latest_timestamp().await?;
    if now > g.deadline {
        client.send("DisputeGame.timeout", game.timeout(id)).await?;
        return Ok(Move::ClaimedTimeout);
    }
    let bit = if who == g.p.defender {
        1u8
    } else if who == g.p.challenger {
        2u8
    } else {
        return Err(Error::NotAParty {
            who: who.to_string(),
            id: id.to_string(),
        });
    };
    let waiting = Move::Waiting {
        deadline: g.deadline,
    };
    let node_tensor = || -> Result<&Vec<i32>> {
        usize::try_from(g.node)
            .ok()
            .and_then(|n| me.tensors().get(n))
            .ok_or_else(|| Error::TraceMismatch {
                message: format!("node {} is not in our trace", g.node),
            })
    };
    match phase {
        1 => {
            let h = me.header();
            client
                .send(
                    "DisputeGame.postGraph",
                    game.postGraph(
                        id,
                        U256::from(h.num_nodes),
                        h.nodes_root,
                        h.output_nodes_u256(),
                    ),
                )
                .await?;
            Ok(Move::Posted("graph"))
        }
        2 | 5 if g.posted & bit != 0 => Ok(waiting),
        2 => {
            let leaves = me.leaves();
            let (l, r) = children(leaves, g.depth, g.index)?;
            client
                .send("DisputeGame.bisect", game.bisect(id, l, r))
                .await?;
            Ok(Move::Posted("trace bisect"))
        }
        5 => {
            let leaves = tensor_leaves(node_tensor()?);
            let (l, r) = children(&leaves, g.depth, g.index)?;
            client
                .send("DisputeGame.bisect", game.bisect(id, l, r))
                .await?;
            Ok(Move::Posted("tensor bisect"))
        }
        3 if g.posted & bit != 0 => Ok(waiting),
        3 => {
            let t = node_tensor()?;
            client
                .send(
                    "DisputeGame.postHeader",
                    game.postHeader(id, U256::from(t.len()), B256::from(tensor_root(t))),
                )
                .await?;
            Ok(Move::Posted("header"))
        }
        6 if g.posted & bit != 0 => Ok(waiting),
        6 => {
            let words = tensor_words(node_tensor()?);
            let w = usize::try_from(g.index)
                .ok()
                .and_then(|i| words.get(i))
                .copied()
                .unwrap_or([0u8; 32]);
            client
                .send("DisputeGame.postWord", game.postWord(id, B256::from(w)))
                .await?;
            Ok(Move::Posted("word"))
        }
        8 => {
            let leaves = me.leaves();
            let mut outs = Vec::new();
            let mut proofs = Vec::new();
            for &n in &me.header().output_nodes {
                let i = usize::try_from(n).map_err(|_| Error::OutOfRange {
                    what: "output node".to_owned(),
                })?;
                let leaf = leaves.get(i).ok_or_else(|| Error::OutOfRange {
                    what: "output node".to_owned(),
                })?;
                outs.push(B256::from(*leaf));
                let proof = merkle_proof(leaves, i).ok_or_else(|| Error::OutOfRange {
                    what: "output node".to_owned(),
                })?;
                proofs.push(proof.into_iter().map(B256::from).collect::<Vec<_>>());
            }
            client
                .send(
                    "DisputeGame.resolveOutputs",
                    game.resolveOutputs(id, me.header().output_nodes_u256(), outs, proofs),
                )
                .await?;
            Ok(Move::Posted("outputs"))
        }
        10 | 11 if g.posted & bit != 0 => Ok(waiting),
        10 | 11 => {
            let Some(ev) = evidence else {
                return Ok(Move::NeedsOneStep);
            };
            let j = to_usize(g.node, "node")?;
            let e = to_usize(g.element, "element")?;
            let ps = client
                .call("DisputeGame.partialSums", game.partialSums(id))
                .await?;
            // PartialAcc: the accumulator P_m (hi = m); PartialBisect: P_mid
            let c = if phase == 10 {
                ps.hi as usize
            } else {
                (ps.lo as usize + ps.hi as usize) / 2
            };
            let p = partial_sum(me, ev, j, e, c)?;
            client
                .send(
                    "DisputeGame.postPartial",
                    game.postPartial(id, alloy::primitives::I256::try_from(p).unwrap_or_default()),
                )
                .await?;
            Ok(Move::Posted(if phase == 10 {
                "partial accumulator"
            } else {
                "partial sum"
            }))
        }
        4 | 7 | 12 => {
            let Some(ev) = evidence else {
                return Ok(Move::NeedsOneStep);
            };
            let chunk = if phase == 12 {
                let ps = client
                    .call("DisputeGame.partialSums", game.partialSums(id))
                    .await?;
                Some(ps.lo as usize)
            } else {
                None
            };
            let j = to_usize(g.node, "node")?;
            let e = to_usize(g.element, "element")?;
            let descent = if bit == 1 || phase == 4 {
                Vec::new()
            } else {
                let depth = merkle_levels(me.leaves()).len().saturating_sub(1);
                defender_descent(sys, id, g.p.defender, depth).await?
            };
            let is_tree = ev.nodes.get(j).is_some_and(tree::is_tree);
            let sum_tree = is_tree
                && ev
                    .nodes
                    .get(j)
                    .is_some_and(|n| n.attrs.first().is_some_and(|a| a.is_zero()));
            if phase == 7 && (sum_tree || ev.nodes.get(j).is_some_and(bisects)) {
                // a SUM ensemble, a Conv, a MatMul or a large fan-in Linear: the partial-sum
                // game, never the whole element (its one-step gas does not grow with the node)
                let node = ev.nodes.get(j).cloned().ok_or_else(|| Error::OutOfRange {
                    what: "node".to_owned(),
                })?;
                let leaves: Vec<[u8; 32]> = ev
                    .nodes
                    .iter()
                    .map(|n| crate::graph::node_leaf(n).0)
                    .collect();
                let proof = merkle_proof(&leaves, j).ok_or_else(|| Error::OutOfRange {
                    what: "node proof".to_owned(),
                })?;
                let acc = partial_sum(me, ev, j, e, chunks(ev, j)?)?;
                let mult = fanin::multiplier_window(ev, j, e)?;
                client
                    .send(
                        "DisputeGame.startPartialSums",
                        game.startPartialSums(
                            id,
                            node,
                            proof.into_iter().map(B256::from).collect(),
                            alloy::primitives::I256::try_from(acc).unwrap_or_default(),
                            mult,
                        ),
                    )
                    .await?;
                return Ok(Move::Posted(if is_tree {
                    "tree partial sums"
                } else {
                    "partial sums"
                }));
            }
            let (node, proof, ins, cs) = match chunk {
                Some(t) if is_tree => tree::step_args(me, ev, &descent, j, e, t)?,
                Some(c) => fanin::chunk_args(me, ev, &descent, j, e, c)?,
                None => one_step_args(me, ev, &descent, j, e)?,
            };
            let ours = me.tensors().get(j).map_or(0, Vec::len);
            let rows = usize::from(g.rows).max(1);
            if numel(&node.outShape) * rows != ours {
                // our trace does not fit the task: the check would end BothWrong
                return Err(Error::TraceMismatch {
                    message: format!(
                        "node {j} has {ours} elements in our trace, but the task's {rows} rows \
                         of the graph root's {} make {}",
                        numel(&node.outShape),
                        numel(&node.outShape) * rows
                    ),
                });
            }
            if phase == 4 {
                client
                    .send(
                        "DisputeGame.resolveShape",
                        game.resolveShape(id, node, proof),
                    )
                    .await?;
                return Ok(Move::Posted("shape"));
            }
            client
                .send(
                    "DisputeGame.oneStep",
                    game.oneStep(id, node, proof, ins, cs),
                )
                .await?;
            Ok(Move::Posted("one-step"))
        }
        _ => Ok(Move::NeedsOneStep),
    }
}
