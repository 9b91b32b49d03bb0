//! One EAS, two vouch deployments (`vouch deploy --eas ADDRESS`), on a real anvil: EAS and its
//! schema registry are deployed once, as an ecosystem's EAS is; both deployments use them, the
//! second registering no schema twice; tasks of both are attested per task in batches (one EAS
//! `multiAttest`, recipient the requester) on that one EAS; the attestations and the schemas
//! are read back with Foundry's `cast` against EAS's own view functions; and the receipt checks
//! (including the model's provenance attestation) pass on both deployments.
//!
//! Prints the gas of the batched attestation per receipt (`--nocapture`).

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use vouch_chain::alloy::primitives::{Address, B256, U256};
use vouch_chain::bindings::eas::EAS;
use vouch_chain::bindings::schema_registry::SchemaRegistry;
use vouch_chain::eas::schema_uid;
use vouch_chain::{Client, DeployConfig, Deployment, Devnet, DevnetConfig, Error, System};
use vouch_model::Package;
use vouch_testkit::{run_cast, signer, test_config};

mod common;

/// `EAS.getAttestation(uid)` through cast: the fields as cast prints the tuple.
fn cast_attestation(url: &str, eas: Address, uid: B256) -> String {
    run_cast(&[
        "call",
        &eas.to_string(),
        "getAttestation(bytes32)((bytes32,bytes32,uint64,uint64,uint64,bytes32,address,address,bool,bytes))",
        &uid.to_string(),
        "--rpc-url",
        url,
    ])
}

/// Publishes the digits MLP on deployment `d`; `n` optimistic tasks of it, answered by key 1,
/// requested by key `requester`, finalized after the window; their ids.
async fn finalized_tasks(
    url: &str,
    d: &Deployment,
    bytes: &[u8],
    pkg: &Package,
    requester: usize,
    n: usize,
) -> Vec<U256> {
    let as_ = |i: usize| {
        let d = d.clone();
        async move { System::new(Client::connect(url, Some(signer(i))).await.unwrap(), d).unwrap() }
    };
    let owner = as_(0).await;
    let model = owner
        .publish(&vouch_chain::graph::commitments_of(bytes, pkg))
        .await
        .unwrap()
        .model_id;
    for i in [1, requester] {
        owner
            .transfer(signer(i).address(), U256::from(5_000 * vouch_chain::TOKEN))
            .await
            .unwrap();
    }
    let provider = as_(1).await;
    provider
        .join(model, 1_500 * vouch_chain::TOKEN)
        .await
        .unwrap();
    let client = as_(requester).await;
    let (ic, honest, output, _) = common::run_fixture(pkg, "digits_mlp", 1);
    let mut tasks = Vec::new();
    for _ in 0..n {
        let t = client.request(&common::request(model, ic)).await.unwrap();
        provider
            .submit(t, output, honest.trace_root())
            .await
            .unwrap();
        tasks.push(t);
    }
    client
        .client()
        .warp(u64::from(test_config().challenge_window) + 1)
        .await
        .unwrap();
    for &t in &tasks {
        client.finalize(t).await.unwrap();
    }
    tasks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deployments_share_one_eas_and_attest_receipts_in_batches_on_it() {
    let devnet = Devnet::spawn(&DevnetConfig::default()).await.unwrap();
    let url = devnet.url();
    let c0 = Client::connect(&url, Some(signer(0))).await.unwrap();
    let p = c0.provider();

    // the EAS "everyone uses": deployed once, outside vouch
    let registry = *SchemaRegistry::deploy(p).await.unwrap().address();
    let eas = *EAS::deploy(p, registry).await.unwrap().address();
    let cfg = DeployConfig {
        eas: Some(eas),
        ..test_config()
    };
    let d1 = vouch_chain::deploy(&c0, &cfg).await.unwrap();
    let d2 = vouch_chain::deploy(&c0, &cfg).await.unwrap();
    for d in [&d1, &d2] {
        assert_eq!(
            (d.contracts.eas, d.contracts.schema_registry),
            (eas, registry)
        );
    }
    assert_ne!(d1.contracts.receipts, d2.contracts.receipts);

    // the schemas: one UID each on the shared registry, the registry's own hash of the schema
    let s1 = System::new(c0.clone(), d1.clone()).unwrap();
    let s2 = System::new(c0.clone(), d2.clone()).unwrap();
    let text = c0
        .call("PROVENANCE_SCHEMA", s1.registry().PROVENANCE_SCHEMA())
        .await
        .unwrap();
    let prov = c0
        .call("provenanceSchema", s1.registry().provenanceSchema())
        .await
        .unwrap();
    assert_eq!(prov, schema_uid(&text));
    assert_eq!(
        c0.call("provenanceSchema", s2.registry().provenanceSchema())
            .await
            .unwrap(),
        prov
    );
    let receipt_schema = c0
        .call("receiptSchema", s1.receipts().receiptSchema())
        .await
        .unwrap();
    assert_eq!(
        c0.call("receiptSchema", s2.receipts().receiptSchema())
            .await
            .unwrap(),
        receipt_schema
    );
    // ... as the schema registry itself answers through cast
    let rec = run_cast(&[
        "call",
        &registry.to_string(),
        "getSchema(bytes32)((bytes32,address,bool,string))",
        &receipt_schema.to_string(),
        "--rpc-url",
        &url,
    ]);
    assert!(rec.starts_with(&format!("({receipt_schema}, ")), "{rec}");
    assert!(rec.contains("uint256 taskId,uint32 modelId"), "{rec}");

    // --eas at something that is not an EAS: clear errors, nothing deployed
    let eoa = signer(9).address();
    let bad = vouch_chain::deploy(
        &c0,
        &DeployConfig {
            eas: Some(eoa),
            ..test_config()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(bad, Error::NoCode { .. }), "{bad}");
    let bad = vouch_chain::deploy(
        &c0,
        &DeployConfig {
            eas: Some(d1.contracts.token),
            ..test_config()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(bad, Error::NotEas { .. }), "{bad}");

    // tasks on both deployments (requesters: key 3 on the first, key 4 on the second; batches
    // of 8 and of 2, for the gas per receipt)
    let (bytes, pkg) = vouch_testkit::digits_mlp();
    let t1 = finalized_tasks(&url, &d1, &bytes, &pkg, 3, 8).await;
    let t2 = finalized_tasks(&url, &d2, &bytes, &pkg, 4, 2).await;

    // anyone (key 5) attests each deployment's receipts in one batch
    let mut uids = Vec::new();
    for (d, tasks, requester) in [(&d1, &t1, 3), (&d2, &t2, 4)] {
        let c5 = Client::connect(&url, Some(signer(5))).await.unwrap();
        let sys = System::new(c5, d.clone()).unwrap();
        // the task repeated in the request is attested once
        let mut ids = tasks.clone();
        ids.push(tasks[0]);
        assert_eq!(sys.unattested(&ids).await.unwrap(), tasks.clone());
        let batch = sys.attest_receipts(&ids).await.unwrap();
        let got: Vec<U256> = batch.attested.iter().map(|a| a.0).collect();
        assert_eq!(&got, tasks);
        eprintln!(
            "attestReceipts of {} receipts: {} gas, {} gas per receipt",
            batch.attested.len(),
            batch.gas_used,
            batch.gas_used / batch.attested.len() as u64
        );
        // sending the batch again attests nothing twice
        let again = sys.attest_receipts(tasks).await.unwrap_err();
        assert_eq!(again.revert_name(), Some("NothingToAttest"), "{again}");
        assert!(sys.unattested(tasks).await.unwrap().is_empty());
        for &(task, uid) in &batch.attested {
            // read through EAS's own view functions by cast
            let a = cast_attestation(&url, eas, uid);
            let want_schema = receipt_schema.to_string();
            let fields: Vec<&str> = a
                .trim_matches(|c| c == '(' || c == ')')
                .split(", ")
                .collect();
            assert_eq!(fields[0], uid.to_string(), "{a}");
            assert_eq!(fields[1], want_schema, "{a}");
            assert_eq!(
                fields[6].to_lowercase(),
                signer(requester).address().to_string().to_lowercase(),
                "the recipient is the requester: {a}"
            );
            assert_eq!(
                fields[7].to_lowercase(),
                d.contracts.receipts.to_string().to_lowercase(),
                "the attester is this deployment's ReceiptAttester: {a}"
            );
            let valid = run_cast(&[
                "call",
                &eas.to_string(),
                "isAttestationValid(bytes32)(bool)",
                &uid.to_string(),
                "--rpc-url",
                &url,
            ]);
            assert_eq!(valid, "true");
            // and vouch's receipt checks, provenance included, all pass
            let facts = sys.receipt_facts(task).await.unwrap();
            let failed: Vec<_> = facts.checks.iter().filter(|c| !c.passed()).collect();
            assert!(failed.is_empty(), "{failed:?}");
            let names: Vec<&str> = facts.checks.iter().map(|c| c.what.as_str()).collect();
            assert!(names.contains(&"provenance attestation"), "{names:?}");
            assert!(names.contains(&"provenance data"), "{names:?}");
            let prov = facts.provenance.unwrap();
            assert_eq!(prov.package_cid, Package::cid_of_bytes(&bytes).to_string());
            assert_eq!(prov.publisher, signer(0).address());
            uids.push(uid);
        }
    }
    // ten distinct attestations on the one EAS
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 10);
}
