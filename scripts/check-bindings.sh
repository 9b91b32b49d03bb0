#!/usr/bin/env bash
# Drift check for crates/bindings: rebuilds the contracts with the pinned toolchain, regenerates
# the trimmed artifacts into a scratch folder and fails when they differ from the committed
# copies. Fix a failure with `scripts/gen-bindings.sh` and commit the result.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
forge="$root/node_modules/.bin/forge"
if [[ ! -x "$forge" ]]; then
  echo "forge not found: run scripts/bootstrap-node.sh first" >&2
  exit 1
fi
(cd "$root/contracts" && "$forge" build --quiet)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$root/scripts/gen-bindings.sh" --out "$tmp"
if ! diff -r -q "$root/crates/bindings/artifacts" "$tmp"; then
  echo "crates/bindings/artifacts is stale: run scripts/gen-bindings.sh and commit" >&2
  exit 1
fi
echo "bindings are up to date"
