#!/usr/bin/env bash
# Drift check for sdk/ts/src/abi: rebuilds the contracts with the pinned toolchain, regenerates
# the TypeScript ABIs (sdk/ts/scripts/gen-abi.mjs) and fails when they differ from the
# committed files. Fix a failure with `node sdk/ts/scripts/gen-abi.mjs` and commit the result.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
forge="$root/node_modules/.bin/forge"
if [[ ! -x "$forge" ]]; then
  echo "forge not found: run scripts/bootstrap-node.sh first" >&2
  exit 1
fi
(cd "$root/contracts" && "$forge" build --quiet)
node "$root/sdk/ts/scripts/gen-abi.mjs" >/dev/null
# untracked files count as drift too (a contract added to the generator but not committed)
if ! git -C "$root" diff --exit-code -- sdk/ts/src/abi || [[ -n "$(git -C "$root" ls-files --others --exclude-standard -- sdk/ts/src/abi)" ]]; then
  echo "sdk/ts/src/abi is stale: run node sdk/ts/scripts/gen-abi.mjs and commit" >&2
  exit 1
fi
echo "TypeScript ABIs are up to date"
