#!/usr/bin/env bash
# Runs every test of vouch: format and lint gates, the Rust workspace tests (engine, importer,
# quantizer, fixture models, ONNX backend node tests, vectors, CLI), the contracts (forge), the
# generated-file drift checks and the TypeScript SDK (sdk/ts, against real networks). Installs
# what it needs (Python venv from PyPI, Foundry and solc from npm, sdk/ts from npm) on first use.
# Usage: scripts/test.sh [--quick]   (--quick: Rust tests only)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

# A clean run (as CI's) gains nothing from incremental caches but their disk: gigabytes of them.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\n==> %s\n' "$*"; }
start=$(date +%s)

step "rustfmt"
cargo fmt --all -- --check

step "clippy (warnings denied)"
cargo clippy --workspace --all-targets -- -D warnings

if [ "$quick" = 0 ]; then
  step "python fixtures venv and ONNX backend node cases"
  python3 testdata/onnx-node/export.py
fi

step "node toolchain (anvil for the chain tests in crates/chain/tests)"
scripts/bootstrap-node.sh

step "interop tools (snarkjs from interop/package-lock.json, for crates/cli/tests/snarkjs_interop.rs)"
scripts/bootstrap-interop.sh >/dev/null

step "cargo test (workspace)"
cargo test --workspace 2>&1 | tee target/cargo-test.log
# The summary the CI reads: total passed and failed over every test binary.
awk '/^test result:/ { p += $4; f += $6 } END { printf "rust: %d passed, %d failed\n", p, f }' target/cargo-test.log

step "test vectors are current"
cargo run -q -p vouch-engine --example write_vectors >/dev/null
git diff --exit-code -- testdata/vectors

if [ "$quick" = 0 ]; then
  step "contracts (forge fmt, build --sizes, test)"
  scripts/test-contracts.sh
  if [ -x scripts/check-bindings.sh ]; then
    step "contract bindings are current"
    scripts/check-bindings.sh
  fi
  step "TypeScript SDK (sdk/ts: ABI drift, npm ci, typecheck, node --test against real networks)"
  scripts/check-ts-abi.sh
  # both SDK suites start `target/debug/vouch up`: the cargo test step above built that binary
  # (`cargo build -p vouch` would rebuild the tree: its feature set differs from the workspace's)
  (cd sdk/ts && npm ci --no-audit --no-fund && npm run -s typecheck && npm test)
  step "python client (sdk/python: its ABIs are current, pytest against a real vouch up)"
  py="$(scripts/pyenv.sh)"
  "$py" -m pip install --quiet --disable-pip-version-check --no-deps -e sdk/python
  "$py" -m pytest -q sdk/python/tests
fi

step "done in $(( $(date +%s) - start )) s"
