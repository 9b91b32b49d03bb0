#!/usr/bin/env bash
# Formats-check, builds (with EIP-170 size check) and tests the Foundry project in contracts/.
# Extra arguments go to `forge test` (e.g. --match-contract Dispute -vv).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/bootstrap-node.sh"
forge="$root/node_modules/.bin/forge"
cd "$root/contracts"
"$forge" fmt --check
"$forge" build --sizes
"$forge" test "$@"
