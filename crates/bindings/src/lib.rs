//! alloy bindings for vouch's contracts.
//!
//! Each module below is expanded by alloy's `sol!` from a trimmed copy of the Foundry artifact
//! (`abi` and creation `bytecode`) committed under `crates/bindings/artifacts/`. The copies are
//! produced by `scripts/gen-bindings.sh` from `contracts/out/`, and `scripts/check-bindings.sh`
//! rebuilds the contracts and fails when the committed copies are stale.
//!
//! Every module has the contract type (`VouchToken::VouchTokenInstance`, `deploy`, one call
//! builder per function), its events, its custom errors (`VouchToken::VouchTokenErrors`) and
//! the creation bytecode (`VouchToken::BYTECODE`).
//!
//! | module | contract |
//! |---|---|
//! | [`vouch_token`] | `VouchToken` (ERC20 + votes + permit) |
//! | [`model_registry`] | `ModelRegistry` |
//! | [`provider_staking`] | `ProviderStaking` |
//! | [`randomness`] | `FutureBlockRandomness` (also the `IRandomnessSource` calls of any source) |
//! | [`vrf_randomness`] | `ChainlinkVrfRandomness` (`IRandomnessSource` on Chainlink VRF v2.5) |
//! | [`vrf_coordinator_mock`] | Chainlink's `VRFCoordinatorV2_5Mock` (tests and devnets) |
//! | [`task_manager`] | `TaskManager` |
//! | [`fee_vault`] | `FeeVault` (fees in a version's own token or ETH; client-signed requests) |
//! | [`dispute_game`] | `DisputeGame` |
//! | [`one_step_evaluator`] | `OneStepEvaluator` |
//! | [`governor`] | `VouchGovernor` |
//! | [`timelock`] | OpenZeppelin `TimelockController` |
//! | [`eas`] | EAS `EAS` |
//! | [`schema_registry`] | EAS `SchemaRegistry` |
//! | [`receipt_attester`] | `ReceiptAttester` (EAS receipts of finalized tasks) |
//! | [`lending_risk_gate`] | example consumer `LendingRiskGate` (credit line on a verified score) |
//! | [`agent_vault`] | example consumer `AgentVault` (rebalances on a verified signal) |
//! | [`permit_token`] | test `PermitToken` (6 decimals, EIP-2612, open mint) for fee tests |

#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
#![forbid(unsafe_code)]

/// Generates one binding module from a committed artifact.
macro_rules! binding {
    ($(#[$m:meta])* $module:ident, $name:ident, $file:literal) => {
        $(#[$m])*
        pub mod $module {
            alloy::sol!(
                #[allow(missing_docs)]
                #[sol(rpc, all_derives)]
                $name,
                $file
            );
            pub use self::$name::*;
        }
    };
}

binding!(
    /// `VouchToken`: the protocol token (fees, stakes, bonds, votes).
    vouch_token, VouchToken, "artifacts/VouchToken.json"
);
binding!(
    /// `ModelRegistry`: append-only model versions with EAS provenance.
    model_registry, ModelRegistry, "artifacts/ModelRegistry.json"
);
binding!(
    /// `ProviderStaking`: stakes, unbonding, opt-in, sampling, slashing.
    provider_staking, ProviderStaking, "artifacts/ProviderStaking.json"
);
binding!(
    /// `FutureBlockRandomness`: the default randomness source.
    randomness, FutureBlockRandomness, "artifacts/FutureBlockRandomness.json"
);
binding!(
    /// `ChainlinkVrfRandomness`: the randomness source on Chainlink VRF v2.5.
    vrf_randomness, ChainlinkVrfRandomness, "artifacts/ChainlinkVrfRandomness.json"
);
binding!(
    /// Chainlink's `VRFCoordinatorV2_5Mock` (npm `@chainlink/contracts`): a real coordinator's
    /// subscription and fulfilment logic without the proof, for tests and devnets.
    vrf_coordinator_mock, VRFCoordinatorV2_5Mock, "artifacts/VRFCoordinatorV2_5Mock.json"
);
binding!(
    /// `TaskManager`: requests, settlement in three modes, receipts.
    task_manager, TaskManager, "artifacts/TaskManager.json"
);
binding!(
    /// `FeeVault`: fees in a model version's own token or ETH, and client-signed requests.
    fee_vault, FeeVault, "artifacts/FeeVault.json"
);
binding!(
    /// `DisputeGame`: bisection and the one-step check.
    dispute_game, DisputeGame, "artifacts/DisputeGame.json"
);
binding!(
    /// `OneStepEvaluator`: the op definitions the one-step check recomputes with.
    one_step_evaluator, OneStepEvaluator, "artifacts/OneStepEvaluator.json"
);
binding!(
    /// `VouchGovernor`: OpenZeppelin Governor over the token's votes.
    governor, VouchGovernor, "artifacts/VouchGovernor.json"
);
binding!(
    /// OpenZeppelin `TimelockController`, the executor of governance.
    timelock, TimelockController, "artifacts/TimelockController.json"
);
binding!(
    /// The Ethereum Attestation Service.
    eas, EAS, "artifacts/EAS.json"
);
binding!(
    /// The EAS schema registry.
    schema_registry, SchemaRegistry, "artifacts/SchemaRegistry.json"
);
binding!(
    /// `ReceiptAttester`: batched and per-task EAS receipts of finalized tasks.
    receipt_attester, ReceiptAttester, "artifacts/ReceiptAttester.json"
);
binding!(
    /// `LendingRiskGate`: example consumer approving a credit line on a verified score.
    lending_risk_gate, LendingRiskGate, "artifacts/LendingRiskGate.json"
);
binding!(
    /// `AgentVault`: example consumer rebalancing on a verified signal.
    agent_vault, AgentVault, "artifacts/AgentVault.json"
);

/// The committed artifacts as `(contract name, JSON)`, e.g. for decoding custom errors of any
/// vouch contract with a dynamic ABI.
pub const ARTIFACTS: &[(&str, &str)] = &[
    ("VouchToken", include_str!("../artifacts/VouchToken.json")),
    (
        "ModelRegistry",
        include_str!("../artifacts/ModelRegistry.json"),
    ),
    (
        "ProviderStaking",
        include_str!("../artifacts/ProviderStaking.json"),
    ),
    (
        "FutureBlockRandomness",
        include_str!("../artifacts/FutureBlockRandomness.json"),
    ),
    (
        "ChainlinkVrfRandomness",
        include_str!("../artifacts/ChainlinkVrfRandomness.json"),
    ),
    (
        "VRFCoordinatorV2_5Mock",
        include_str!("../artifacts/VRFCoordinatorV2_5Mock.json"),
    ),
    ("TaskManager", include_str!("../artifacts/TaskManager.json")),
    ("FeeVault", include_str!("../artifacts/FeeVault.json")),
    ("PermitToken", include_str!("../artifacts/PermitToken.json")),
    ("DisputeGame", include_str!("../artifacts/DisputeGame.json")),
    (
        "OneStepEvaluator",
        include_str!("../artifacts/OneStepEvaluator.json"),
    ),
    (
        "VouchGovernor",
        include_str!("../artifacts/VouchGovernor.json"),
    ),
    (
        "TimelockController",
        include_str!("../artifacts/TimelockController.json"),
    ),
    ("EAS", include_str!("../artifacts/EAS.json")),
    (
        "SchemaRegistry",
        include_str!("../artifacts/SchemaRegistry.json"),
    ),
    (
        "ReceiptAttester",
        include_str!("../artifacts/ReceiptAttester.json"),
    ),
    (
        "LendingRiskGate",
        include_str!("../artifacts/LendingRiskGate.json"),
    ),
    ("AgentVault", include_str!("../artifacts/AgentVault.json")),
];
binding!(
    /// `PermitToken` (contracts/test/utils): a 6-decimal EIP-2612 test token anyone can mint,
    /// for fee tests from Rust and TypeScript; never deployed by `vouch deploy`.
    permit_token, PermitToken, "artifacts/PermitToken.json"
);
