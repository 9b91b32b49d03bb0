// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

// Chainlink's own VRF v2.5 coordinator mock (npm @chainlink/contracts), compiled here so the
// tests and the Rust anvil tests (crates/bindings) deploy the real thing: it checks
// subscriptions and consumers, charges the subscription and calls `rawFulfillRandomWords`.
import {VRFCoordinatorV2_5Mock} from "@chainlink/contracts/src/v0.8/vrf/mocks/VRFCoordinatorV2_5Mock.sol";
