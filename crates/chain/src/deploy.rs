//! Deploys the whole system from the committed bytecode: EAS schema registry and EAS (or, with
//! [`DeployConfig::eas`], an existing EAS and its schema registry, on which the registry and
//! the receipt attester register their schemas only when they are not there yet), the
//! token, timelock and governor, model registry, staking, randomness source (the future-block
//! source, or the Chainlink VRF v2.5 adapter on an existing coordinator and subscription), task
//! manager and dispute game, receipt attester; wires their permissions (and the model
//! registry's guardian, if one is given); and, unless asked not to, hands the governance of the
//! registry, staking and task manager to the timelock (whose only proposer is the governor).

use crate::deployments::{Addresses, Deployment};
use crate::{Client, Error, Result, client::call_error};
use alloy::primitives::aliases::{U48, U96};
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use vouch_bindings::{
    dispute_game::DisputeGame, eas::EAS, fee_vault::FeeVault, governor::VouchGovernor,
    model_registry::ModelRegistry, one_step_evaluator::OneStepEvaluator,
    provider_staking::ProviderStaking, randomness::FutureBlockRandomness,
    receipt_attester::ReceiptAttester, schema_registry::SchemaRegistry, task_manager::TaskManager,
    timelock::TimelockController, vouch_token::VouchToken,
    vrf_coordinator_mock::VRFCoordinatorV2_5Mock, vrf_randomness::ChainlinkVrfRandomness,
};

/// One token, with 18 decimals.
pub const TOKEN: u128 = 1_000_000_000_000_000_000;

/// The randomness source of committee draws.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RandomnessConfig {
    /// `FutureBlockRandomness`: the hash of the block after the request. Free and instant, for
    /// devnets (the builder of that block can bias it).
    #[default]
    FutureBlock,
    /// `ChainlinkVrfRandomness` on an existing Chainlink VRF v2.5 coordinator and subscription.
    ChainlinkVrf(VrfConfig),
}

/// A Chainlink VRF v2.5 coordinator, subscription and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrfConfig {
    /// The VRF coordinator (`VRFCoordinatorV2_5`).
    pub coordinator: Address,
    /// The subscription that pays for requests; the adapter must be one of its consumers
    /// (added by [`deploy`] when the deployer owns the subscription).
    pub subscription_id: U256,
    /// The key hash (gas lane) of the VRF key.
    pub key_hash: B256,
    /// Blocks the coordinator waits before fulfilling.
    pub confirmations: u16,
    /// Gas limit of the fulfilment callback.
    pub callback_gas: u32,
    /// Pay in the native token instead of LINK.
    pub native_payment: bool,
}

impl VrfConfig {
    /// A config with Chainlink's usual defaults: 3 confirmations, a 100k-gas callback
    /// (`fulfillRandomWords` stores one value: ~50k), LINK payment.
    pub fn new(coordinator: Address, subscription_id: U256, key_hash: B256) -> Self {
        Self {
            coordinator,
            subscription_id,
            key_hash,
            confirmations: 3,
            callback_gas: 100_000,
            native_payment: false,
        }
    }
}

/// Deployment parameters.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    /// Total token supply, minted to the deployer.
    pub token_supply: U256,
    /// Strikes after which a model version freezes.
    pub freeze_threshold: u32,
    /// Unbonding delay in seconds.
    pub unbonding_delay: u64,
    /// Minimum stake to opt in to a model.
    pub min_stake: u128,
    /// Slashes after which a provider is ejected (0: never).
    pub max_faults: u8,
    /// May unfreeze a frozen model version at once (and nothing else); `None` for none.
    pub guardian: Option<Address>,
    /// The randomness source of committee draws.
    pub randomness: RandomnessConfig,
    /// Bond locked from a provider's stake per optimistic task.
    pub provider_bond: u128,
    /// Bond locked per committee member.
    pub committee_bond: u128,
    /// Challenge window in seconds.
    pub challenge_window: u32,
    /// Committee reveal window in seconds.
    pub reveal_window: u32,
    /// Audit window in seconds.
    pub audit_window: u32,
    /// Gas cap of consumer callbacks.
    pub max_callback_gas: u32,
    /// Share of finalized tasks flagged for audit, in basis points.
    pub audit_bps: u16,
    /// Share of each fee paid into the audit pool, in basis points.
    pub audit_fee_bps: u16,
    /// Committee size.
    pub committee_size: u8,
    /// Challenger bond.
    pub challenger_bond: u128,
    /// Audit reward.
    pub audit_reward: u128,
    /// Seconds each dispute step may take.
    pub step_timeout: u64,
    /// Timelock delay in seconds.
    pub timelock_delay: u64,
    /// Governor voting delay (blocks).
    pub voting_delay: u64,
    /// Governor voting period (blocks).
    pub voting_period: u32,
    /// Hand the registry, staking and task manager governance to the timelock.
    pub hand_over_governance: bool,
    /// An existing EAS to attest on (its schema registry is read from
    /// `EAS.getSchemaRegistry()`); `None` deploys a new EAS and schema registry.
    pub eas: Option<Address>,
}

impl Default for DeployConfig {
    /// The defaults of `contracts/script/Deploy.s.sol` (`VouchDeploy.defaultConfig`).
    fn default() -> Self {
        Self {
            token_supply: U256::from(1_000_000_000u128) * U256::from(TOKEN),
            freeze_threshold: 3,
            unbonding_delay: 7 * 24 * 3600,
            min_stake: 1_000 * TOKEN,
            max_faults: 3,
            guardian: None,
            randomness: RandomnessConfig::FutureBlock,
            provider_bond: 100 * TOKEN,
            committee_bond: 50 * TOKEN,
            challenge_window: 3600,
            reveal_window: 1800,
            audit_window: 3600,
            max_callback_gas: 500_000,
            audit_bps: 500,
            audit_fee_bps: 200,
            committee_size: 3,
            challenger_bond: 100 * TOKEN,
            audit_reward: 5 * TOKEN,
            step_timeout: 3600,
            timelock_delay: 24 * 3600,
            voting_delay: 1,
            voting_period: 50,
            hand_over_governance: true,
            eas: None,
        }
    }
}

/// Deploys every contract with the client's signer and returns the deployment (not yet
/// saved).
pub async fn deploy(client: &Client, cfg: &DeployConfig) -> Result<Deployment> {
    let me = client.sender("deploy")?;
    let p = client.provider();
    let url = client.url();
    let err = |what: &'static str| move |e| call_error(what, url, e);

    let (schema_registry, eas) = match cfg.eas {
        Some(eas) => (existing_schema_registry(client, eas).await?, eas),
        None => {
            let schema_registry = SchemaRegistry::deploy(p)
                .await
                .map_err(err("deploy SchemaRegistry"))?;
            let eas = EAS::deploy(p, *schema_registry.address())
                .await
                .map_err(err("deploy EAS"))?;
            (*schema_registry.address(), *eas.address())
        }
    };
    let token = VouchToken::deploy(p, me, cfg.token_supply)
        .await
        .map_err(err("deploy VouchToken"))?;
    // proposers and cancellers are granted below; anyone may execute; no admin
    let timelock = TimelockController::deploy(
        p,
        U256::from(cfg.timelock_delay),
        Vec::new(),
        vec![Address::ZERO],
        me,
    )
    .await
    .map_err(err("deploy TimelockController"))?;
    let governor = VouchGovernor::deploy(
        p,
        *token.address(),
        *timelock.address(),
        U48::from(cfg.voting_delay),
        cfg.voting_period,
    )
    .await
    .map_err(err("deploy VouchGovernor"))?;
    let registry = ModelRegistry::deploy(p, eas, me, cfg.freeze_threshold)
        .await
        .map_err(err("deploy ModelRegistry"))?;
    let staking = ProviderStaking::deploy(
        p,
        *token.address(),
        me,
        cfg.unbonding_delay,
        cfg.min_stake,
        cfg.max_faults,
    )
    .await
    .map_err(err("deploy ProviderStaking"))?;
    let randomness = match &cfg.randomness {
        RandomnessConfig::FutureBlock => *FutureBlockRandomness::deploy(p)
            .await
            .map_err(err("deploy FutureBlockRandomness"))?
            .address(),
        RandomnessConfig::ChainlinkVrf(v) => *ChainlinkVrfRandomness::deploy(
            p,
            v.coordinator,
            v.key_hash,
            v.subscription_id,
            v.confirmations,
            v.callback_gas,
            v.native_payment,
        )
        .await
        .map_err(err("deploy ChainlinkVrfRandomness"))?
        .address(),
    };
    let params = TaskManager::Params {
        challengeWindow: cfg.challenge_window,
        revealWindow: cfg.reveal_window,
        auditWindow: cfg.audit_window,
        maxCallbackGas: cfg.max_callback_gas,
        auditBps: cfg.audit_bps,
        auditFeeBps: cfg.audit_fee_bps,
        committeeSize: cfg.committee_size,
        challengerBond: U96::from(cfg.challenger_bond),
        auditReward: U96::from(cfg.audit_reward),
    };
    let fee_vault = FeeVault::deploy(p, *registry.address())
        .await
        .map_err(err("deploy FeeVault"))?;
    let task_manager = TaskManager::deploy(
        p,
        *token.address(),
        *registry.address(),
        *staking.address(),
        randomness,
        *fee_vault.address(),
        me,
        U96::from(cfg.provider_bond),
        U96::from(cfg.committee_bond),
        params,
    )
    .await
    .map_err(err("deploy TaskManager"))?;
    let evaluator = OneStepEvaluator::deploy(p)
        .await
        .map_err(err("deploy OneStepEvaluator"))?;
    let dispute_game = DisputeGame::deploy(
        p,
        *task_manager.address(),
        cfg.step_timeout,
        *evaluator.address(),
    )
    .await
    .map_err(err("deploy DisputeGame"))?;

    let receipts = ReceiptAttester::deploy(p, eas, *task_manager.address())
        .await
        .map_err(err("deploy ReceiptAttester"))?;

    // wiring
    client
        .send("FeeVault.bind", fee_vault.bind(*task_manager.address()))
        .await?;
    client
        .send(
            "TaskManager.setDisputeGame",
            task_manager.setDisputeGame(*dispute_game.address()),
        )
        .await?;
    client
        .send(
            "ProviderStaking.setSlasher",
            staking.setSlasher(*task_manager.address(), true),
        )
        .await?;
    client
        .send(
            "ModelRegistry.setReporter",
            registry.setReporter(*task_manager.address(), true),
        )
        .await?;
    if let RandomnessConfig::ChainlinkVrf(v) = &cfg.randomness {
        wire_vrf(client, v, randomness, *task_manager.address()).await?;
    }
    if let Some(g) = cfg.guardian {
        client
            .send("ModelRegistry.setGuardian", registry.setGuardian(g))
            .await?;
    }
    let proposer = client
        .call("TimelockController.PROPOSER_ROLE", timelock.PROPOSER_ROLE())
        .await?;
    let canceller = client
        .call(
            "TimelockController.CANCELLER_ROLE",
            timelock.CANCELLER_ROLE(),
        )
        .await?;
    let admin = client
        .call(
            "TimelockController.DEFAULT_ADMIN_ROLE",
            timelock.DEFAULT_ADMIN_ROLE(),
        )
        .await?;
    for role in [proposer, canceller] {
        client
            .send(
                "TimelockController.grantRole",
                timelock.grantRole(role, *governor.address()),
            )
            .await?;
    }
    client
        .send(
            "TimelockController.renounceRole",
            timelock.renounceRole(admin, me),
        )
        .await?;

    let governance = if cfg.hand_over_governance {
        let to = *timelock.address();
        client
            .send(
                "ModelRegistry.transferGovernance",
                registry.transferGovernance(to),
            )
            .await?;
        client
            .send(
                "ProviderStaking.transferGovernance",
                staking.transferGovernance(to),
            )
            .await?;
        client
            .send(
                "TaskManager.transferGovernance",
                task_manager.transferGovernance(to),
            )
            .await?;
        to
    } else {
        me
    };
    let block = p.get_block_number().await.map_err(|e| Error::Rpc {
        call: "eth_blockNumber".to_owned(),
        message: e.to_string(),
    })?;
    Ok(Deployment {
        chain_id: client.chain_id(),
        deployer: me,
        block,
        governance,
        contracts: Addresses {
            schema_registry,
            eas,
            token: *token.address(),
            timelock: *timelock.address(),
            governor: *governor.address(),
            registry: *registry.address(),
            staking: *staking.address(),
            randomness,
            task_manager: *task_manager.address(),
            dispute_game: *dispute_game.address(),
            receipts: *receipts.address(),
            fee_vault: *fee_vault.address(),
        },
    })
}

/// The schema registry of the EAS at `eas`, after checking that `eas` holds a contract that
/// answers `getSchemaRegistry()` with another contract.
pub async fn existing_schema_registry(client: &Client, eas: Address) -> Result<Address> {
    let p = client.provider();
    let has_code = |a: Address| async move {
        p.get_code_at(a)
            .await
            .map(|c| !c.is_empty())
            .map_err(|e| Error::Rpc {
                call: "eth_getCode".to_owned(),
                message: e.to_string(),
            })
    };
    if !has_code(eas).await? {
        return Err(Error::NoCode {
            address: eas.to_string(),
        });
    }
    let not_eas = |reason: String| Error::NotEas {
        address: eas.to_string(),
        reason,
    };
    let registry = client
        .call(
            "EAS.getSchemaRegistry",
            EAS::new(eas, p).getSchemaRegistry(),
        )
        .await
        .map_err(|e| not_eas(e.to_string()))?;
    if !has_code(registry).await? {
        return Err(not_eas(format!(
            "its schema registry {registry} holds no contract"
        )));
    }
    Ok(registry)
}

/// Lets the task manager (only) request VRF tickets, and adds the adapter as a consumer of the
/// subscription when the deployer owns it (otherwise the subscription's owner must add it:
/// [`vrf_consumer_added`] tells whether that happened).
async fn wire_vrf(
    client: &Client,
    v: &VrfConfig,
    adapter: Address,
    task_manager: Address,
) -> Result<()> {
    let p = client.provider();
    let me = client.sender("deploy")?;
    let a = ChainlinkVrfRandomness::new(adapter, p);
    client
        .send(
            "ChainlinkVrfRandomness.setConsumer",
            a.setConsumer(task_manager),
        )
        .await?;
    let coordinator = VRFCoordinatorV2_5Mock::new(v.coordinator, p);
    let sub = client
        .call(
            "VRFCoordinator.getSubscription",
            coordinator.getSubscription(v.subscription_id),
        )
        .await?;
    if sub.subOwner == me {
        client
            .send(
                "VRFCoordinator.addConsumer",
                coordinator.addConsumer(v.subscription_id, adapter),
            )
            .await?;
    }
    Ok(())
}

/// Whether `adapter` is a consumer of the subscription (VRF requests revert until it is).
pub async fn vrf_consumer_added(client: &Client, v: &VrfConfig, adapter: Address) -> Result<bool> {
    let coordinator = VRFCoordinatorV2_5Mock::new(v.coordinator, client.provider());
    let sub = client
        .call(
            "VRFCoordinator.getSubscription",
            coordinator.getSubscription(v.subscription_id),
        )
        .await?;
    Ok(sub.consumers.contains(&adapter))
}
