#!/usr/bin/env bash
# Regenerates the committed contract artifacts that crates/bindings compiles with alloy's
# `sol!` (ABI + creation bytecode, trimmed from the Foundry artifacts in contracts/out).
#
#   scripts/gen-bindings.sh             rewrite crates/bindings/artifacts/ from contracts/out
#   scripts/gen-bindings.sh --out DIR   write them to DIR instead
#
# Run `cd contracts && ../node_modules/.bin/forge build` first (scripts/check-bindings.sh
# does both and fails when the committed copies are stale).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/crates/bindings/artifacts"
if [[ "${1:-}" == "--out" ]]; then out="$2"; fi
mkdir -p "$out"

# <source file>:<contract>, one per binding (keep in sync with crates/bindings/src/lib.rs).
contracts=(
  VouchToken.sol:VouchToken
  ModelRegistry.sol:ModelRegistry
  ProviderStaking.sol:ProviderStaking
  RandomnessSource.sol:FutureBlockRandomness
  ChainlinkVrfRandomness.sol:ChainlinkVrfRandomness
  VRFCoordinatorV2_5Mock.sol:VRFCoordinatorV2_5Mock
  TaskManager.sol:TaskManager
  FeeVault.sol:FeeVault
  DisputeGame.sol:DisputeGame
  OneStepEvaluator.sol:OneStepEvaluator
  VouchGovernor.sol:VouchGovernor
  TimelockController.sol:TimelockController
  EAS.sol:EAS
  SchemaRegistry.sol:SchemaRegistry
  ReceiptAttester.sol:ReceiptAttester
  LendingRiskGate.sol:LendingRiskGate
  AgentVault.sol:AgentVault
  PermitToken.sol:PermitToken
)

for entry in "${contracts[@]}"; do
  file="${entry%%:*}"
  name="${entry##*:}"
  src="$root/contracts/out/$file/$name.json"
  if [[ ! -f "$src" ]]; then
    echo "missing $src (run forge build in contracts/)" >&2
    exit 1
  fi
  jq --sort-keys '{abi: .abi, bytecode: {object: .bytecode.object}}' "$src" >"$out/$name.json"
done
