//! An honest party's moves in the dispute game (contracts/src/DisputeGame.sol), computed from
//! its own traced execution: the graph header, the trace descent over node output
//! commitments, the output tensor header, the tensor descent and the disputed word; equal
//! traces with different outputs are settled with `resolveOutputs`. A party that stops
//! answering loses when its step deadline passes ([`step`] claims the timeout).
//!
//! The one-step recomputation (`oneStep`, `resolveShape`) needs the node descriptors and
//! windows of the inputs; [`step`] reports [`Move::NeedsOneStep`] there.

use crate::graph::GraphHeader;
use crate::{Error, Result, System};
use alloy::primitives::{B256, U256};
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

/// One party's view of an execution: every node's output (the trace) and the graph header.
#[derive(Debug, Clone)]
pub struct HonestTrace {
    /// Every node's output tensor, in node order.
    pub tensors: Vec<Vec<i32>>,
    /// The graph header whose root the registry holds.
    pub header: GraphHeader,
}

impl HonestTrace {
    /// The trace leaves: each node output's tensor commitment.
    pub fn leaves(&self) -> Vec<B256> {
        self.tensors
            .iter()
            .map(|t| B256::from(tensor_commitment(t)))
            .collect()
    }

    /// The trace root.
    pub fn trace_root(&self) -> B256 {
        B256::from(vouch_primitives::list_commitment(
            &self.leaves().iter().map(|l| l.0).collect::<Vec<_>>(),
        ))
    }

    /// The output commitment: list commitment of the output nodes' tensor commitments.
    pub fn output_commitment(&self) -> B256 {
        let leaves = self.leaves();
        let outs: Vec<[u8; 32]> = self
            .header
            .output_nodes
            .iter()
            .filter_map(|&n| usize::try_from(n).ok().and_then(|n| leaves.get(n)))
            .map(|l| l.0)
            .collect();
        B256::from(vouch_primitives::list_commitment(&outs))
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
        .ok_or_else(|| Error::State("descent deeper than our tree".to_owned()))?;
    let i = usize::try_from(index)
        .map_err(|_| Error::State("descent index out of range".to_owned()))?;
    let zero = [0u8; 32];
    let l = level.get(2 * i).unwrap_or(&zero);
    let r = level.get(2 * i + 1).unwrap_or(&zero);
    Ok((B256::from(*l), B256::from(*r)))
}

/// Makes the caller's next move in game `id`, if any.
pub async fn step(sys: &System, id: U256, me: &HonestTrace) -> Result<Move> {
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
        return Err(Error::State(format!("no dispute {id}")));
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
        return Err(Error::State(format!(
            "{who} is not a party to dispute {id}"
        )));
    };
    let waiting = Move::Waiting {
        deadline: g.deadline,
    };
    let node_tensor = || -> Result<&Vec<i32>> {
        usize::try_from(g.node)
            .ok()
            .and_then(|n| me.tensors.get(n))
            .ok_or_else(|| Error::State(format!("node {} is not in our trace", g.node)))
    };
    match phase {
        1 => {
            let h = &me.header;
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
            let leaves: Vec<[u8; 32]> = me.leaves().iter().map(|l| l.0).collect();
            let (l, r) = children(&leaves, g.depth, g.index)?;
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
            let leaves: Vec<[u8; 32]> = me.leaves().iter().map(|l| l.0).collect();
            let mut outs = Vec::new();
            let mut proofs = Vec::new();
            for &n in &me.header.output_nodes {
                let i = usize::try_from(n)
                    .map_err(|_| Error::State("output node out of range".to_owned()))?;
                let leaf = leaves
                    .get(i)
                    .ok_or_else(|| Error::State("output node out of range".to_owned()))?;
                outs.push(B256::from(*leaf));
                let proof = merkle_proof(&leaves, i)
                    .ok_or_else(|| Error::State("output node out of range".to_owned()))?;
                proofs.push(proof.into_iter().map(B256::from).collect::<Vec<_>>());
            }
            client
                .send(
                    "DisputeGame.resolveOutputs",
                    game.resolveOutputs(id, me.header.output_nodes_u256(), outs, proofs),
                )
                .await?;
            Ok(Move::Posted("outputs"))
        }
        _ => Ok(Move::NeedsOneStep),
    }
}
