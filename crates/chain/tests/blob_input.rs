//! An image input too large for calldata travels as EIP-4844 blobs, on a real anvil (Prague,
//! sidecars with one proof a blob; and Osaka, sidecars with EIP-7594 cell proofs):
//! `symbolic_size_cnn` bound at 320x320 (RGB, 307,200 `act16` elements, 1.2 MB as canonical
//! words, 5 blobs packed). The request carries the image as blobs and names them in its
//! `inputCid`; a provider lies in the first Conv (the node reading the image); an honest
//! challenger reads the input back from the blobs by the names in the task's `TaskRequested`
//! event through the beacon REST API (`BeaconBlobs`; anvil serves its routes), checks it
//! against the input commitment, and wins the dispute with the one-step check of a chunk of
//! that Conv. A request naming blobs its transaction does not carry is refused.
//! The request's `gasUsed` and `blobGasUsed`, an inline request of the same image, and the
//! dispute's transactions and gas are printed
//! (`cargo test -p vouch-chain --test blob_input -- --nocapture`).

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use vouch_chain::alloy::primitives::{B256, U256};
use vouch_chain::alloy::providers::Provider as _;
use vouch_chain::alloy::rpc::types::Filter;
use vouch_chain::alloy::sol_types::SolEvent as _;
use vouch_chain::bindings::task_manager::TaskManager::TaskRequested;
use vouch_chain::blob::{self, AnvilBlobs, BeaconBlobs, BlockIds, SidecarForm};
use vouch_chain::dispute::{self, Evidence, HonestTrace};
use vouch_chain::graph::op;
use vouch_chain::{DevnetConfig, System};
use vouch_model::{Dim, Package};
use vouch_testkit::Chain;

mod common;

const SIDE: usize = 320;

/// The honest execution of `pkg` on canonical input bytes of one row: input commitment, trace
/// and one-step evidence.
fn honest_run(pkg: &Package, canonical: &[u8]) -> (B256, HonestTrace, Evidence) {
    let words: Vec<i32> = canonical
        .chunks_exact(4)
        .map(|c| i32::from_be_bytes(c.try_into().unwrap()))
        .collect();
    let shape = |i: usize| -> Vec<usize> {
        let s = &pkg.values[pkg.inputs[i].value as usize].shape;
        s.iter()
            .map(|d| match d {
                Dim::Fixed(n) => *n as usize,
                Dim::Batch => 1,
            })
            .collect()
    };
    let mut inputs = Vec::new();
    let mut at = 0;
    for i in 0..pkg.inputs.len() {
        let sh = shape(i);
        let n: usize = sh.iter().product();
        inputs.push(vouch_engine::Tensor {
            shape: sh,
            data: words[at..at + n].to_vec(),
        });
        at += n;
    }
    assert_eq!(at, words.len(), "the input is one row");
    let (ic, trace, _, evidence) = common::traced(pkg, inputs);
    (ic, trace, evidence)
}

/// The `TaskRequested` event of `task`, read from the chain.
async fn requested(sys: &System, task: U256) -> TaskRequested {
    requested_at(sys, task).await.0
}

/// The `TaskRequested` event of `task` and the block of its log.
async fn requested_at(sys: &System, task: U256) -> (TaskRequested, u64) {
    let filter = Filter::new()
        .address(sys.deployment().contracts.task_manager)
        .event_signature(TaskRequested::SIGNATURE_HASH)
        .topic1(B256::from(task))
        .from_block(0);
    let logs = sys.client().provider().get_logs(&filter).await.unwrap();
    let ev = logs[0].log_decode::<TaskRequested>().unwrap().inner.data;
    (ev, logs[0].block_number.unwrap())
}

/// Transactions and gasUsed summed over blocks `from..=to`.
async fn gas_of_blocks(sys: &System, from: u64, to: u64) -> (usize, u64) {
    let (mut n, mut gas) = (0, 0);
    for b in from..=to {
        let rs = sys
            .client()
            .provider()
            .get_block_receipts(b.into())
            .await
            .unwrap()
            .unwrap();
        n += rs.len();
        gas += rs.iter().map(|r| r.gas_used).sum::<u64>();
    }
    (n, gas)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_320x320_image_travels_as_blobs_and_a_challenger_reading_them_wins() {
    flow("prague", SidecarForm::Eip4844).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_osaka_the_image_travels_with_cell_proofs_and_a_challenger_reading_them_wins() {
    flow("osaka", SidecarForm::Eip7594).await;
}

/// The flow on anvil at `hardfork`, whose blob transactions take sidecars in `form`.
async fn flow(hardfork: &str, form: SidecarForm) {
    let (bytes, pkg) = common::symbolic_cnn_at(SIDE, 4);
    vouch_task::modes::check_mode(&pkg, vouch_task::Mode::Optimistic).unwrap();
    let devnet = DevnetConfig {
        hardfork: Some(hardfork.to_owned()),
        ..Default::default()
    };
    let chain = Chain::start_on(
        devnet,
        vouch_chain::deploy::DeployConfig {
            challenge_window: 100,
            step_timeout: 50,
            audit_bps: 0,
            ..Default::default()
        },
    )
    .await;
    chain.fund(2..4, 200_000).await;
    let model = chain.publish(&bytes, &pkg).await;
    chain.stake(2, model, 1_500).await;
    let (requester, bob, carol) = (
        chain.system(0).await,
        chain.system(2).await,
        chain.system(3).await,
    );

    // the requester's image: the first input row scaled up, quantized, as canonical words
    let floats = vouch_task::codec::package_inputs_from_json(
        &pkg,
        &common::symbolic_cnn_rows("input.json", 1, SIDE),
    )
    .unwrap();
    let inputs = vouch_quant::quantize_inputs(&pkg, &floats);
    let canonical = vouch_task::codec::inline_bytes(&inputs);
    let ic = B256::from(vouch_engine::exec::commit_list(&inputs));
    assert_eq!(canonical.len(), 3 * SIDE * SIDE * 4);

    assert_eq!(requester.sidecar_form().await, form);

    // a request naming blobs its transaction does not carry is refused
    let sidecar = blob::sidecar(&canonical).unwrap();
    let names: Vec<B256> = sidecar.versioned_hashes().collect();
    let mut bare = common::request(model, ic);
    bare.input_cid = blob::cid_of(&names);
    let e = requester.request(&bare).await.unwrap_err().to_string();
    assert!(e.contains("BlobNotCarried(index: 0)"), "{e}");

    // a first task (its writes of the ledger's zero slots are not a blob request's cost)
    requester
        .request(&common::request(model, ic))
        .await
        .unwrap();

    // the request with the image as blobs
    let (task, cid, rc) = requester
        .request_with_blobs(&common::request(model, ic), &canonical)
        .await
        .unwrap();
    assert_eq!(cid, blob::cid_of(&names));
    let blob_gas = rc.blob_gas_used.unwrap_or(0);
    println!(
        "{hardfork}: blob request ({form:?} sidecar): {} blobs, gasUsed {}, blobGasUsed {blob_gas}",
        names.len(),
        rc.gas_used
    );
    assert_eq!(blob_gas, 131_072 * names.len() as u64);

    // for scale: a request naming no input at all, the same image inline (calldata and the
    // event's data), and its first 1/16 and 1/4 inline (requests never served: gas only)
    let none = requester
        .request(&common::request(model, ic))
        .await
        .unwrap();
    let gas_none = common::last_gas(&requester).await;
    assert!(requested(&requester, none).await.inputCid.is_empty());
    println!("{hardfork}: request with no input data: gasUsed {gas_none}");
    for part in [16, 4, 1] {
        let mut inline = common::request(model, ic);
        inline.inline_input = canonical[..canonical.len() / part].to_vec();
        let n = inline.inline_input.len();
        match requester.request(&inline).await {
            Ok(t) => {
                let ev = requested(&requester, t).await;
                assert_eq!(ev.inlineInput.len(), n);
                let gas = common::last_gas(&requester).await;
                println!(
                    "{hardfork}: inline request of {n} bytes (1/{part} of the image): gasUsed {gas}"
                );
            }
            Err(e) => println!(
                "{hardfork}: inline request of {n} bytes (1/{part} of the image) refused: {e}"
            ),
        }
    }

    // the liar answers with a lie in the Conv reading the image
    let (ic_run, honest, evidence) = honest_run(&pkg, &canonical);
    assert_eq!(ic_run, ic);
    let j = (0..evidence.nodes.len())
        .find(|&j| evidence.nodes[j].op == op::CONV)
        .unwrap();
    let mut lie = honest.clone();
    let e = lie.tensors()[j].len() / 2 + 7;
    let hi = evidence.nodes[j].attrs[3].as_i64();
    let v = lie.tensors()[j][e];
    lie.set(j, e, if i64::from(v) < hi { v + 1 } else { v - 1 })
        .unwrap();
    bob.submit(task, lie.output_commitment(), lie.trace_root())
        .await
        .unwrap();

    // the challenger reads the input back from the blobs the task names, through the beacon
    // REST API (anvil serves it on its RPC port, keyed by execution block number)
    let (ev, block) = requested_at(&carol, task).await;
    assert!(ev.inlineInput.is_empty());
    let beacon = BeaconBlobs::new(&chain.url, carol.client().clone()).unwrap();
    assert_eq!(
        beacon.block_ids().await.unwrap(),
        BlockIds::ExecutionNumbers
    );
    let read = blob::read_input(&beacon, &ev.inputCid, block)
        .await
        .unwrap();
    let pooled = blob::read_input(&AnvilBlobs(carol.client().clone()), &ev.inputCid, block)
        .await
        .unwrap();
    assert_eq!(read, pooled, "the beacon route and anvil's pool agree");
    let (ic_read, theirs, ev_read) = honest_run(&pkg, &read);
    assert_eq!(ic_read, ev.inputCommitment, "the blobs open the commitment");
    assert_eq!(ic_read, ic);
    let first = carol.client().provider().get_block_number().await.unwrap() + 1;
    let game = carol
        .challenge(task, theirs.output_commitment(), theirs.trace_root())
        .await
        .unwrap();
    let liar_address = vouch_testkit::signer(2).address();
    let before = carol.provider_info(liar_address).await.unwrap().stake;
    let chunks = dispute::chunks(&ev_read, j).unwrap();
    let (outcome, moves, one_step) =
        common::play((&carol, &theirs, &ev_read), (&bob, &lie), game, chunks / 2).await;
    assert_eq!(outcome, "challenger wins", "{moves:?}");
    let g = carol
        .client()
        .call("game", carol.dispute_game().game(game))
        .await
        .unwrap();
    assert_eq!(
        g.node.to::<usize>(),
        j,
        "judged at the Conv reading the image"
    );
    assert!(carol.provider_info(liar_address).await.unwrap().stake < before);
    assert_eq!(carol.task(task).await.unwrap().status, 6);
    let last = carol.client().provider().get_block_number().await.unwrap();
    let (txs, gas) = gas_of_blocks(&carol, first, last).await;
    println!(
        "{hardfork}: dispute at node {j} (Conv, fan-in {}): {txs} transactions from the challenge on, \
         {gas} gas in all, one-step {one_step}",
        dispute::fan_in(&ev_read.nodes[j]).unwrap()
    );
}
