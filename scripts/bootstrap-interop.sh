#!/usr/bin/env bash
# Installs the ecosystem tools the interop tests check vouch against (snarkjs, circomlibjs,
# ipfs-car) from the npm registry into ./interop/node_modules, exactly as
# interop/package-lock.json pins them. Idempotent: does nothing when node_modules matches the
# lock. Prints the folder.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/interop"

command -v npm >/dev/null || { echo "bootstrap-interop: npm is required (Node.js 18+)" >&2; exit 1; }

stamp="node_modules/.vouch-lock.sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "bootstrap-interop: installing snarkjs, circomlibjs and ipfs-car from interop/package-lock.json" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
    echo "$want" >"$stamp"
fi
echo "$root/interop/node_modules"
