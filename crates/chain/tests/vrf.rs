//! Committee draws with Chainlink VRF v2.5 on a real anvil: Chainlink's own
//! `VRFCoordinatorV2_5Mock` (npm `@chainlink/contracts` 1.5.0) with a subscription the deployer
//! creates and funds, `vouch_chain::deploy` with the VRF adapter (which adds itself as a
//! consumer), a committee request whose VRF request goes out inside `TaskManager.request`, the
//! fulfilment as a real transaction, and the draw the first commit makes: the committee the
//! snapshot and the delivered word give.

#![allow(clippy::print_stdout)] // prints the measured gas (`cargo test -- --nocapture`)

use vouch_chain::alloy::primitives::aliases::{U88, U96};
use vouch_chain::alloy::primitives::{Address, B256, Bytes, I256, U256, keccak256};
use vouch_chain::alloy::sol_types::SolValue;
use vouch_chain::bindings::model_registry::ModelRegistry;
use vouch_chain::bindings::task_manager::TaskManager;
use vouch_chain::bindings::vrf_coordinator_mock::VRFCoordinatorV2_5Mock;
use vouch_chain::bindings::vrf_randomness::ChainlinkVrfRandomness;
use vouch_chain::system::event;
use vouch_chain::{
    Client, DeployConfig, Devnet, DevnetConfig, RandomnessConfig, System, TOKEN, VrfConfig,
};

use vouch_testkit::signer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committee_is_drawn_with_chainlink_vrf_on_anvil() {
    let devnet = Devnet::spawn(&DevnetConfig::default()).await.unwrap();
    let url = devnet.url();
    let c0 = Client::connect(&url, Some(signer(0))).await.unwrap();
    let p = c0.provider();

    // Chainlink's coordinator mock: 0.1 LINK base fee, 1 gwei gas price, 0.004 ETH per LINK
    let coordinator = VRFCoordinatorV2_5Mock::deploy(
        p,
        U96::from(100_000_000_000_000_000u128),
        U96::from(1_000_000_000u64),
        I256::try_from(4_000_000_000_000_000i64).unwrap(),
    )
    .await
    .unwrap();
    let rc = c0
        .send(
            "VRFCoordinator.createSubscription",
            coordinator.createSubscription(),
        )
        .await
        .unwrap();
    let created: VRFCoordinatorV2_5Mock::SubscriptionCreated =
        event(&rc, "createSubscription", "SubscriptionCreated").unwrap();
    let sub = created.subId;
    c0.send(
        "VRFCoordinator.fundSubscription",
        coordinator.fundSubscription(sub, U256::from(100 * TOKEN)),
    )
    .await
    .unwrap();

    let vrf = VrfConfig::new(*coordinator.address(), sub, B256::repeat_byte(0x11));
    let cfg = DeployConfig {
        randomness: RandomnessConfig::ChainlinkVrf(vrf.clone()),
        committee_size: 3,
        audit_bps: 0,
        ..DeployConfig::default()
    };
    let dep = vouch_chain::deploy(&c0, &cfg).await.unwrap();
    let adapter_addr = dep.contracts.randomness;
    assert!(
        vouch_chain::deploy::vrf_consumer_added(&c0, &vrf, adapter_addr)
            .await
            .unwrap(),
        "the deployer owns the subscription, so deploy added the adapter as a consumer"
    );
    let adapter = ChainlinkVrfRandomness::new(adapter_addr, p);
    assert_eq!(
        c0.call("consumer", adapter.consumer()).await.unwrap(),
        dep.contracts.task_manager,
        "only the task manager may request"
    );
    let sys0 = System::new(c0.clone(), dep.clone()).unwrap();

    // a model and three staked providers
    let rc = c0
        .send(
            "ModelRegistry.register",
            sys0.registry().register(ModelRegistry::VersionInput {
                packageCid: "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy".into(),
                packageHash: B256::repeat_byte(1),
                weightsRoot: B256::repeat_byte(2),
                graphRoot: B256::repeat_byte(3),
                semanticsVersion: 2,
                metadataUri: String::new(),
                zkVerifier: Address::ZERO,
                outputs: Vec::new(),
                customFee: false,
                feeToken: Address::ZERO,
            }),
        )
        .await
        .unwrap();
    let reg: ModelRegistry::VersionRegistered =
        event(&rc, "register", "VersionRegistered").unwrap();
    let model = reg.modelId;
    for i in 1..4 {
        sys0.transfer(signer(i).address(), U256::from(5_000 * TOKEN))
            .await
            .unwrap();
        let c = Client::connect(&url, Some(signer(i))).await.unwrap();
        System::new(c, dep.clone())
            .unwrap()
            .join(model, 1_500 * TOKEN)
            .await
            .unwrap();
    }

    // a committee request: its VRF request goes out in the same transaction
    let tm = sys0.task_manager();
    c0.send(
        "VouchToken.approve",
        sys0.token()
            .approve(dep.contracts.task_manager, U256::from(TOKEN)),
    )
    .await
    .unwrap();
    let now = sys0.latest_timestamp().await.unwrap();
    let rc = c0
        .send(
            "TaskManager.request",
            tm.request(TaskManager::RequestInput {
                modelId: model,
                version: 1,
                mode: 1,
                fee: U88::from(TOKEN),
                deadline: u32::try_from(now + 3600).unwrap(),
                inputCommitment: B256::repeat_byte(7),
                rows: 1,
                inputCid: "bafkreiinput".into(),
                inlineInput: Bytes::new(),
                callback: Address::ZERO,
                callbackGas: 0,
            }),
        )
        .await
        .unwrap();
    let req: TaskManager::TaskRequested = event(&rc, "request", "TaskRequested").unwrap();
    let requested: ChainlinkVrfRandomness::TicketRequested =
        event(&rc, "request", "TicketRequested").unwrap();
    println!(
        "committee request with a Chainlink VRF ticket: {} gas",
        rc.gas_used
    );
    let task = req.taskId;
    let c = c0.call("committees", tm.committees(task)).await.unwrap();
    let ticket = U256::from(c.ticket.to::<u64>());
    assert_eq!(
        ticket, requested.ticket,
        "the task holds the adapter's ticket"
    );
    assert_eq!(
        c0.call("requestOf", adapter.requestOf(ticket))
            .await
            .unwrap(),
        requested.requestId
    );
    assert!(!c0.call("isReady", adapter.isReady(ticket)).await.unwrap());

    // nobody can draw before the coordinator delivers
    let me1 = Client::connect(&url, Some(signer(1))).await.unwrap();
    let tm1 = TaskManager::new(dep.contracts.task_manager, me1.provider());
    let early = me1
        .send(
            "TaskManager.commit",
            tm1.commit(task, U256::ZERO, B256::repeat_byte(9), Vec::new()),
        )
        .await
        .unwrap_err();
    assert!(
        early.to_string().contains("NotReady"),
        "a commit before the VRF fulfilment: {early}"
    );

    // the coordinator fulfils (a real transaction calling the adapter back)
    let before = c0
        .call("getSubscription", coordinator.getSubscription(sub))
        .await
        .unwrap();
    let rc = c0
        .send(
            "VRFCoordinator.fulfillRandomWords",
            coordinator.fulfillRandomWords(requested.requestId, adapter_addr),
        )
        .await
        .unwrap();
    let done: VRFCoordinatorV2_5Mock::RandomWordsFulfilled =
        event(&rc, "fulfillRandomWords", "RandomWordsFulfilled").unwrap();
    assert!(done.success, "the adapter's callback succeeded");
    let fulfilled: ChainlinkVrfRandomness::TicketFulfilled =
        event(&rc, "fulfillRandomWords", "TicketFulfilled").unwrap();
    assert_eq!(fulfilled.ticket, ticket);
    println!(
        "VRF fulfilment (coordinator mock + adapter callback): {} gas",
        rc.gas_used
    );
    let after = c0
        .call("getSubscription", coordinator.getSubscription(sub))
        .await
        .unwrap();
    assert!(after.balance < before.balance, "the subscription paid");
    assert!(c0.call("isReady", adapter.isReady(ticket)).await.unwrap());

    // the draw: the snapshot's committee under the delivered word, as the node computes it
    let value = c0
        .call("randomness", adapter.randomness(ticket))
        .await
        .unwrap();
    assert_eq!(value, fulfilled.value);
    let seed = keccak256((value, task).abi_encode());
    let staking = sys0.staking();
    let m = c0
        .call(
            "sample",
            staking.sample(
                model,
                seed,
                U256::from(3),
                U256::from(cfg.committee_bond),
                c.snapshot,
            ),
        )
        .await
        .unwrap();
    assert_eq!(m.len(), 3, "three members drawn");
    let first = (1..4)
        .find(|&i| signer(i).address() == m[0])
        .expect("a staked provider");
    let cm = Client::connect(&url, Some(signer(first))).await.unwrap();
    let tmm = TaskManager::new(dep.contracts.task_manager, cm.provider());
    let rc = cm
        .send(
            "TaskManager.commit",
            tmm.commit(task, U256::ZERO, B256::repeat_byte(9), Vec::new()),
        )
        .await
        .unwrap();
    let drawn: TaskManager::CommitteeDrawn = event(&rc, "commit", "CommitteeDrawn").unwrap();
    assert_eq!(drawn.members, m, "the on-chain draw is the predicted one");
    let c = c0.call("committees", tm.committees(task)).await.unwrap();
    assert!(c.drawn);
    assert_eq!(c.commitMask, 1);
}
