//! The 784-128-10 MLP fixture with its committed zk proof, published with its committed
//! verifier: the one zk decision the chain tests and the consumer gas figures settle without
//! proving anything (`testdata/proofs/v3/mlp_784_128_10.calldata.json`, the package imported at
//! int8 as the proof's, `contracts/src/verifiers/VouchZkVerifierMlp784.sol` compiled with
//! solcjs).

use crate::{model_dir, repo};
use vouch_chain::System;
use vouch_chain::alloy::primitives::{B256, Bytes};
use vouch_model::Package;

/// The fixture's name under `testdata/models`.
pub const MLP784: &str = "mlp_784_128_10";

/// A published zk model and the committed proof of its row 0.
#[derive(Debug, Clone)]
pub struct ZkFixture {
    /// The model id (version 1, its verifier registered).
    pub model: u32,
    /// The package the proof is for.
    pub pkg: Package,
    /// The input commitment the proof opens (zk mode).
    pub input_commitment: B256,
    /// The output commitment the proof opens.
    pub output: B256,
    /// The `submitZk` proof blob (`abi.encode(uint256[8], int32[])`).
    pub proof: Bytes,
    /// Row 0 of the fixture input as canonical tensor bytes (a request's inline input).
    pub inline: Vec<u8>,
    /// Row 0 of the fixture input as JSON (what a gateway stores; its CID names it).
    pub input_json: serde_json::Value,
}

/// Imports the fixture at int8, deploys its committed verifier and publishes the model with
/// it as `owner`; with the committed proof of its row 0.
pub async fn publish_mlp784(owner: &System) -> ZkFixture {
    let dir = model_dir(MLP784);
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    let graph = vouch_onnx::import(&onnx, &vouch_onnx::ImportOptions::default()).unwrap();
    let cal: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("calibration.json")).unwrap()).unwrap();
    let samples = vouch_quant::calibration_from_json(&graph, &cal).unwrap();
    let pkg = vouch_quant::import_at(
        &graph,
        samples,
        MLP784,
        [0; 32],
        vouch_quant::Precision::Int8,
        |_| {},
    )
    .unwrap();
    let m = vouch_chain::graph::commitments_of(&pkg.to_bytes(), &pkg);
    let src =
        std::fs::read_to_string(repo().join("contracts/src/verifiers/VouchZkVerifierMlp784.sol"))
            .unwrap();
    let code = vouch_chain::zk::compile_solidity(&src, "VouchZkVerifierMlp784").unwrap();
    let verifier = owner.deploy_verifier(code).await.unwrap();
    let model = owner
        .publish_with_verifier(&m, verifier, None)
        .await
        .unwrap()
        .0
        .model_id;
    let fx: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join(format!("testdata/proofs/v3/{MLP784}.calldata.json"))).unwrap(),
    )
    .unwrap();
    let field = |k: &str| fx[k].as_str().unwrap().to_owned();
    // row 0 of the fixture input, as a client sends it (the proof's row)
    let mut input: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("input.json")).unwrap()).unwrap();
    for (_, v) in input.as_object_mut().unwrap().iter_mut() {
        v.as_array_mut().unwrap().truncate(1);
    }
    let floats = vouch_task::codec::package_inputs_from_json(&pkg, &input).unwrap();
    let inline = vouch_task::codec::inline_bytes(&vouch_quant::quantize_inputs(&pkg, &floats));
    ZkFixture {
        model,
        pkg,
        input_commitment: field("input_commitment").parse().unwrap(),
        output: field("output_commitment").parse().unwrap(),
        proof: field("proof").parse().unwrap(),
        inline,
        input_json: input,
    }
}
