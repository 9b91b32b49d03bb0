#!/usr/bin/env bash
# Installs the pinned Solidity toolchain (forge, anvil, cast, solcjs 0.8.29) and contract
# libraries (OpenZeppelin, EAS) from the npm registry into ./node_modules, exactly as
# package-lock.json pins them. Idempotent: does nothing when node_modules matches the lock.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

command -v npm >/dev/null || { echo "bootstrap-node: npm is required (Node.js 18+)" >&2; exit 1; }

stamp="node_modules/.vouch-lock.sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" || ! -x node_modules/.bin/forge ]]; then
    echo "bootstrap-node: installing the pinned toolchain from package-lock.json" >&2
    # Not `npm ci`: the foundry packages list optional per-platform packages of which some were
    # never published, which `npm ci` reports as a lock mismatch. `npm install --no-save`
    # installs exactly the locked versions and never rewrites package.json or the lock.
    npm install --no-save --no-audit --no-fund --loglevel=error
    echo "$want" >"$stamp"
fi

chmod +x scripts/solc/solc-0.8.29
# The foundry npm shims resolve their platform binary at run time; fail early if it is missing.
node_modules/.bin/forge --version >/dev/null
