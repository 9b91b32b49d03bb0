//! A contract acts on a verified answer, on a real anvil (free port): the digits MLP published
//! with its output sizes and exact scales, a borrower requests an optimistic task on its own
//! features with the example `LendingRiskGate` as callback, the honest provider submits the
//! engine's output, and `finalize` with the engine's values delivers them in the same
//! transaction: the gate decides exactly as the values read in fixed point say. Values that do
//! not open the output commitment are refused, and the pushed result cannot be pulled again.

use vouch_chain::TOKEN;
use vouch_chain::alloy::primitives::{I256, U256};
use vouch_chain::bindings::lending_risk_gate::{self, LendingRiskGate};
use vouch_chain::system::Callback;
use vouch_testkit::{Chain, signer};

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_risk_gate_acts_on_a_verified_optimistic_result() {
    let (bytes, pkg) = vouch_testkit::digits_mlp();
    let cfg = vouch_testkit::test_config();
    let chain = Chain::start(cfg.clone()).await;
    let owner = chain.system(0).await;
    let m = vouch_chain::graph::commitments_of(&bytes, &pkg);
    assert_eq!(m.outputs.len(), 1, "the probabilities");
    assert_eq!(m.outputs[0].size, 10);
    let published = owner.publish(&m).await.unwrap();
    let model = published.model_id;
    let reg = owner
        .client()
        .call("outputsOf", owner.registry().outputsOf(model, 1))
        .await
        .unwrap();
    assert_eq!(reg.sizes, vec![10]);
    assert_eq!(reg.scales, vec![m.outputs[0].scale_bits], "the exact bits");
    chain.fund(1..4, 5_000).await;
    chain.stake(1, model, 1_500).await;

    // risk = probability of class 0, approved under 0.5
    let line = U256::from(1_000 * TOKEN);
    let gate = LendingRiskGate::deploy(
        owner.client().provider().clone(),
        owner.deployment().contracts.task_manager,
        model,
        1,
        U256::ZERO,
        U256::ZERO,
        I256::try_from(500_000_000_000_000_000_i128).unwrap(),
        line,
    )
    .await
    .unwrap();

    let (ic, honest, output, _) = common::run_fixture(&pkg, "digits_mlp", 1);
    let values = honest.output_values();
    assert_eq!(values.len(), 10);
    let borrower = chain.system(3).await;
    let provider = chain.system(1).await;
    let mut req = common::request(model, ic);
    req.callback = Some(Callback {
        target: *gate.address(),
        gas: 200_000,
    });
    let t = borrower.request(&req).await.unwrap();
    provider
        .submit(t, output, honest.trace_root())
        .await
        .unwrap();
    let early = provider.finalize_with_values(t, &values).await.unwrap_err();
    assert!(early.to_string().contains("TooEarly"), "{early}");
    borrower
        .client()
        .warp(u64::from(cfg.challenge_window) + 1)
        .await
        .unwrap();
    let mut wrong = values.clone();
    wrong[0] += 1;
    let refused = provider.finalize_with_values(t, &wrong).await.unwrap_err();
    assert!(refused.to_string().contains("ValuesMismatch"), "{refused}");
    provider.finalize_with_values(t, &values).await.unwrap();
    assert_eq!(borrower.task(t).await.unwrap().status, 4, "finalized");
    assert_eq!(
        borrower.task(t).await.unwrap().flags & 16,
        0,
        "the callback ran"
    );

    let score = f64::from(values[0]) * m.outputs[0].scale();
    let got = owner
        .client()
        .call("creditLineOf", gate.creditLineOf(signer(3).address()))
        .await
        .unwrap();
    assert_eq!(
        got,
        if score < 0.5 { line } else { U256::ZERO },
        "score {score}"
    );
    // pulled with the task's record (from its TaskRequested log) and trace root (its last
    // ResultSubmitted): refused, the result was pushed
    let task = owner.task(t).await.unwrap();
    let rec = vouch_chain::convert_record!(&task.record, lending_risk_gate::TaskRecord);
    let Err(again) = owner
        .client()
        .call(
            "consume",
            gate.consume(t, rec, task.trace_root, values.clone()),
        )
        .await
    else {
        panic!("a pushed result was pulled again");
    };
    assert!(again.to_string().contains("NotPullable"), "{again}");
}
