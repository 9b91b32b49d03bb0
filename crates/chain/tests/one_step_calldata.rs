//! `dispute::one_step_calldata` (the production gas survey's prediction of a node's one-step
//! workload) is the `oneStep` call an honest challenger sends: on a real anvil, a liar lies in
//! one element of the first node of every op of `cnn_ops` and `lenet` (plain checks, pools,
//! and the `Conv`s' partial-sum games, which end at chunk 0 when the liar's prefix sums leave
//! the honest ones from chunk 0 on); the challenger plays to the one-step check and wins, and
//! the calldata of its one-step transaction has the predicted length and the same words but for
//! the game id and the trace proofs' nodes on the lie's path (the defender's side of the tree). (`cargo test -p vouch-chain --test one_step_calldata`)

use vouch_chain::alloy::consensus::Transaction as _;
use vouch_chain::alloy::providers::Provider as _;
use vouch_chain::dispute;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_predicted_calldata_is_the_one_step_sent() {
    let chain = common::dispute_chain(0).await;
    chain.fund(2..4, 200_000).await;
    let bob = chain.system(2).await;
    let carol = chain.system(3).await;
    let mut checked = 0;
    for name in ["cnn_ops", "lenet"] {
        let (bytes, pkg) = vouch_testkit::fixture(name, None);
        let model = common::publish(&chain, &bytes, &pkg).await;
        chain.stake(2, model, 1_500).await;
        let (ic, honest, _output, evidence) = common::run_fixture(&pkg, name, 1);
        let mut seen = Vec::new();
        for (j, node) in evidence.nodes.iter().enumerate() {
            if seen.contains(&node.op) || honest.tensors()[j].is_empty() {
                continue;
            }
            seen.push(node.op);
            let e = honest.tensors()[j].len() / 2;
            let lie = common::nudged(&honest, j, e);
            let what = format!("{name} node {j} (op {})", node.op);
            common::liar_loses(
                (&carol, &honest, &evidence),
                (&bob, &lie),
                model,
                ic,
                0,
                &what,
            )
            .await;
            // the challenger's one-step is the latest block's transaction
            let p = carol.client().provider();
            let block = p
                .get_block_by_number(vouch_chain::alloy::eips::BlockNumberOrTag::Latest)
                .full()
                .await
                .unwrap()
                .unwrap();
            let sent = block.transactions.txns().last().unwrap().input().clone();
            let want = dispute::one_step_calldata(&honest, &evidence, j, e, 0).unwrap();
            assert_eq!(sent.len(), want.len(), "{what}: calldata length");
            assert_eq!(sent[..4], want[..4], "{what}: the oneStep selector");
            // word for word the same but for the game id and, in each input's trace proof,
            // the nodes on the lying node's path (the defender's, which differ from ours)
            let depth = usize::BITS - (evidence.nodes.len() - 1).leading_zeros();
            let allowed = 1 + node.inputs.len() * depth as usize;
            let differ = sent[4..]
                .chunks(32)
                .zip(want[4..].chunks(32))
                .filter(|(a, b)| a != b)
                .count();
            assert!(
                differ <= allowed,
                "{what}: {differ} words differ (at most {allowed})"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} nodes checked");
}
