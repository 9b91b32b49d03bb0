//! Kernel-SVM disputes on a real anvil (every `svm_*` fixture takes the optimistic and committee
//! modes: `tree_dispute.rs`): on the one-vs-one iris classifier a lie in one element of a node
//! of each kind its lowering uses (the `2^16`-entry RBF kernel table and the 0/1 `Greater`
//! one, the `MatMul` of the squared distances, `Mul`, `Max`, `Select`, the `Linear`s, `ArgMax`,
//! ...) is caught by an honest challenger with the one-step check of that node.

#![allow(clippy::print_stdout)] // prints the node kinds played (`cargo test -- --nocapture`)

use vouch_chain::alloy::primitives::U256;
use vouch_chain::dispute::Move;
use vouch_model::{Op, Package};

mod common;

/// The fixture every dispute here is played on.
const MODEL: &str = "svm_rbf_iris";

/// The first node of each kind: its op name and operands, and for a `Lut` its table size, its
/// output kind and whether it is a 0/1 table (scale 1).
fn one_node_per_kind(pkg: &Package) -> Vec<(usize, String)> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (i, n) in pkg.nodes.iter().enumerate() {
        let kind = match n.op {
            Op::Lut { table } => {
                let out = &pkg.values[n.output as usize];
                format!(
                    "Lut {} -> {:?}{}",
                    pkg.consts[table as usize].data.len(),
                    out.kind,
                    if out.scale == 1.0 { " 0/1" } else { "" }
                )
            }
            ref op => {
                // computed (v) or constant (c) operands: `Add` of two computed tensors is the
                // broadcast exponent, of a constant the scaler's
                let operands: String = n
                    .inputs
                    .iter()
                    .map(|o| match o {
                        vouch_model::Operand::Value(_) => 'v',
                        vouch_model::Operand::Const(_) => 'c',
                    })
                    .collect();
                format!("{} {operands}", op.name())
            }
        };
        if !seen.contains(&kind) {
            seen.push(kind.clone());
            out.push((i, format!("{kind} ({})", n.name)));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_in_each_kind_of_svm_node_loses_the_one_step() {
    let (bytes, pkg) = vouch_testkit::fixture(MODEL, None);
    // one liar loses a game per node kind: never ejected on the way
    let chain = common::dispute_chain(64).await;
    let model = common::publish(&chain, &bytes, &pkg).await;
    chain.fund(1..4, 50_000).await;
    chain.stake(2, model, 30_000).await;
    let (ic, honest, _output, evidence) = common::run_fixture(&pkg, MODEL, 1);
    assert_eq!(honest.tensors().len(), pkg.nodes.len());
    let kinds = one_node_per_kind(&pkg);
    let names: Vec<&str> = kinds.iter().map(|(_, k)| k.as_str()).collect();
    for want in [
        "Lut 65536 -> Act16",
        "Lut 65536 -> Act16 0/1",
        "Max",
        "Select",
        "Add",
    ] {
        assert!(
            names.iter().any(|k| k.starts_with(want)),
            "{want} in {names:?}"
        );
    }
    println!("{MODEL}: a lie in each of {names:?}");
    let bob = chain.system(2).await;
    let carol = chain.system(3).await;
    for (node, kind) in &kinds {
        let mut lie = honest.clone();
        lie.set(*node, 0, lie.tensors()[*node][0] + 1).unwrap();
        let (_, game) = common::lie_and_challenge(&carol, &bob, model, ic, &honest, &lie).await;
        let (outcome, last) =
            common::play_out((&carol, &honest, &evidence), (&bob, &lie), game).await;
        assert_eq!(
            (outcome, last),
            ("challenger wins", Move::Posted("one-step")),
            "{kind}"
        );
        let g = carol
            .client()
            .call("DisputeGame.game", carol.dispute_game().game(game))
            .await
            .unwrap();
        assert_eq!(
            (g.node, g.element),
            (U256::from(*node), U256::ZERO),
            "{kind}"
        );
    }
}
