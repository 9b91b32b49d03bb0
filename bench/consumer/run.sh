#!/usr/bin/env bash
# The gas of a verified decision consumed by a contract (request with a callback, submit,
# finalize with the values, the example LendingRiskGate acting), as receipts on a real anvil,
# optimistic (digits MLP) and zk (the 784-128-10 MLP with its committed verifier and proof).
# The forge harness's per-transaction figures for optimistic and zk are
# `cd contracts && ../node_modules/.bin/forge test --match-contract ConsumerGas -vv` (the hashed task
# layout, two- and one-transaction zk; docs/architecture.md, "Consumer decision gas").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
cargo run -q -p vouch-chain --example consumer_gas
