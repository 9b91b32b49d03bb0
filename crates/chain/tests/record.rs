//! The hashed task layout on a real anvil: a task's record and standing result, rebuilt from
//! its `TaskRequested` and last `ResultSubmitted` logs, are what the chain checks
//! (`TaskManager.checkRecord`, the settling calls), and a tampered record or result is refused
//! with the decoded `BadRecord` revert; and the one-transaction zk decision
//! (`FeeVault.requestSignedZk`): a client's signed request filled with the provider's proof.

use vouch_chain::TOKEN;
use vouch_chain::alloy::primitives::{Address, B256, U256};
use vouch_chain::record::{self, Claim, FLAG_HAS_CALLBACK, FLAG_RESULT};
use vouch_chain::system::{Callback, Mode, Request, System};
use vouch_testkit::{Chain, signer};

fn request(model: u32, callback: Option<Callback>) -> Request {
    Request {
        model_id: model,
        version: 1,
        mode: Mode::Optimistic,
        fee: 2 * TOKEN,
        deadline_secs: 3600,
        input_commitment: B256::repeat_byte(7),
        rows: 3,
        input_cid: "bafkreiinput".to_owned(),
        inline_input: Vec::new(),
        callback,
    }
}

/// `checkRecord` on-chain: `Ok` or the decoded revert.
async fn check_record(
    sys: &System,
    t: U256,
    rec: &record::TaskRecord,
    r: &Claim,
) -> Result<(), String> {
    sys.client()
        .call(
            "TaskManager.checkRecord",
            sys.task_manager().checkRecord(t, rec.clone(), r.clone()),
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_rebuilt_from_its_logs_is_what_the_chain_checks_and_a_tampered_one_is_refused() {
    let (bytes, pkg) = vouch_testkit::digits_mlp();
    let chain = Chain::start(vouch_testkit::test_config()).await;
    let model = chain.publish(&bytes, &pkg).await;
    chain.fund(1..3, 2_000).await;
    chain.stake(1, model, 1_500).await;
    let client = chain.system(2).await;
    let provider = chain.system(1).await;
    // a callback target that is no contract: the record carries it whatever it is
    let cb = Callback {
        target: Address::repeat_byte(0xcb),
        gas: 50_000,
    };
    let t = client.request(&request(model, Some(cb))).await.unwrap();

    // requested: the record alone, every field as requested
    let got = client.task(t).await.unwrap();
    assert_eq!(got.status, 1);
    assert_eq!(got.requester, signer(2).address());
    assert_eq!(got.fee, 2 * TOKEN);
    assert_eq!((got.model_id, got.version, got.mode), (model, 1, 0));
    assert_eq!(got.rows, 3);
    assert_eq!(got.input_commitment, B256::repeat_byte(7));
    assert_eq!(got.callback(), Some(cb));
    assert_ne!(got.flags & FLAG_HAS_CALLBACK, 0);
    assert_eq!(got.flags & FLAG_RESULT, 0, "no result yet");
    assert_eq!(got.commitment, record::record_hash(&got.record));
    check_record(&client, t, &got.record, &got.result)
        .await
        .unwrap();

    // submitted: the standing result folds into the commitment
    let (output, trace) = (B256::repeat_byte(0x0a), B256::repeat_byte(0x0b));
    provider.submit(t, output, trace).await.unwrap();
    let got = client.task(t).await.unwrap();
    assert_eq!(got.status, 2);
    assert_eq!(got.provider, signer(1).address());
    assert_ne!(got.flags & FLAG_RESULT, 0);
    assert_eq!((got.output_commitment, got.trace_root), (output, trace));
    assert_eq!(
        got.commitment,
        record::commitment_of(&got.record, Some(&got.result))
    );
    check_record(&client, t, &got.record, &got.result)
        .await
        .unwrap();

    // one field off, in the record or the result: refused on-chain
    let mut fee = got.record.clone();
    fee.fee = vouch_chain::alloy::primitives::aliases::U88::from(3 * TOKEN);
    let mut rows = got.record.clone();
    rows.rows = 1;
    let mut cb_gas = got.record.clone();
    cb_gas.callbackGas += 1;
    let mut out = got.result.clone();
    out.output = B256::repeat_byte(0x0c);
    for (rec, res) in [
        (&fee, &got.result),
        (&rows, &got.result),
        (&cb_gas, &got.result),
        (&got.record, &out),
    ] {
        let err = check_record(&client, t, rec, res).await.unwrap_err();
        assert!(err.contains("BadRecord"), "{err}");
    }

    // after the window: finalize with a tampered record is refused with the decoded revert,
    // with the rebuilt one it settles
    client
        .client()
        .warp(u64::from(chain.cfg.challenge_window) + 1)
        .await
        .unwrap();
    let tm = provider.task_manager();
    let err = provider
        .client()
        .send(
            "TaskManager.finalize",
            tm.finalize(t, fee.clone(), got.result.clone(), Vec::new()),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, vouch_chain::Error::Reverted { reason, .. } if reason.starts_with("BadRecord")),
        "{err}"
    );
    let err = provider
        .client()
        .send(
            "TaskManager.finalize",
            tm.finalize(t, got.record.clone(), out.clone(), Vec::new()),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("BadRecord"), "{err}");
    provider.finalize(t).await.unwrap();
    let done = client.task(t).await.unwrap();
    assert_eq!(done.status, 4, "finalized");
    assert_eq!(done.record, got.record);
    // the receipt leaf from the rebuilt record and result is the Finalized event's
    let facts = client.receipt_facts(t).await.unwrap();
    let leaf = facts
        .checks
        .iter()
        .find(|c| c.what == "receipt leaf")
        .unwrap();
    assert!(leaf.passed(), "{leaf:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_zk_request_and_its_proof_settle_in_one_transaction() {
    let chain = Chain::start(vouch_testkit::test_config()).await;
    let owner = chain.system(0).await;
    let fx = vouch_testkit::zk::publish_mlp784(&owner).await;
    chain.fund(1..3, 2_000).await;
    chain.stake(1, fx.model, 1_500).await;
    let client = chain.system(2).await;
    let provider = chain.system(1).await;
    let key = signer(2);
    let r = Request {
        model_id: fx.model,
        version: 1,
        mode: Mode::Zk,
        fee: TOKEN,
        deadline_secs: 3600,
        input_commitment: fx.input_commitment,
        rows: 1,
        input_cid: String::new(),
        inline_input: fx.inline.clone(),
        callback: None,
    };
    // the client signs the request and a permit of the fee; it sends nothing
    let signed = client
        .sign_request(&key, &r, U256::from(7), 600)
        .await
        .unwrap();

    // a proof of another output is refused, and nothing is created
    let count = |s: &System| {
        let s = s.clone();
        async move {
            s.client()
                .call("TaskManager.ledger", s.task_manager().ledger())
                .await
                .unwrap()
                .taskCount
        }
    };
    let before = count(&provider).await;
    let err = provider
        .request_signed_zk(&signed, B256::repeat_byte(1), fx.proof.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, vouch_chain::Error::Reverted { .. }),
        "refused: {err}"
    );
    assert_eq!(count(&provider).await, before, "no task was created");

    let client_before = client.balance(key.address()).await.unwrap();
    let credits_before = provider.credits(signer(1).address()).await.unwrap();
    let (t, rc) = provider
        .request_signed_zk(&signed, fx.output, fx.proof.clone())
        .await
        .unwrap();
    assert!(rc.status());
    let got = client.task(t).await.unwrap();
    assert_eq!(got.status, 4, "finalized in the same transaction");
    assert_eq!(got.requester, key.address(), "the client is the requester");
    assert_eq!(
        got.provider,
        signer(1).address(),
        "the sender is the provider"
    );
    assert_eq!(got.output_commitment, fx.output);
    assert_eq!(
        got.trace_root,
        vouch_chain::alloy::primitives::keccak256(&fx.proof),
        "a zk trace root is the proof's hash"
    );
    assert_eq!(
        client.balance(key.address()).await.unwrap(),
        client_before - U256::from(TOKEN),
        "the client paid the fee"
    );
    assert!(
        provider.credits(signer(1).address()).await.unwrap() > credits_before,
        "the provider was paid"
    );
    // the receipt: its leaf from the rebuilt record and result, the proof from the calldata
    let facts = client.receipt_facts(t).await.unwrap();
    let leaf = facts
        .checks
        .iter()
        .find(|c| c.what == "receipt leaf")
        .unwrap();
    assert!(leaf.passed(), "{leaf:?}");
    assert_eq!(facts.zk_proof.as_ref(), Some(&fx.proof));

    // the signed request again: its nonce is spent
    let err = provider
        .request_signed_zk(&signed, fx.output, fx.proof.clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("NonceUsed"), "{err}");
}
