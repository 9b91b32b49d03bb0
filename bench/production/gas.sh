#!/usr/bin/env bash
# Largest one-step dispute gas of every imported production-survey package (issue 15): per
# model, full optimistic disputes on a fresh anvil (crates/chain/examples/detector_dispute.rs,
# `--nodes heaviest:K`), every figure a receipt's gasUsed with status 1 and the liar losing.
# Writes bench/out/production/gas/{gas.md,<model>/gas.json,<model>/disputes.md}; prints gas.md.
# Usage: bench/production/gas.sh [--survey DIR] [--only SUBSTR,...] [--per-op K] [--timeout S]
#        [--table-only]
# (see bench/production/README.md; GAS_NO_BUILD=1 skips the cargo build; needs anvil, the repo
# venv and a survey's packages: bench/production/run.sh)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
if [[ -z "${GAS_NO_BUILD:-}" ]]; then
  echo "gas: cargo build --release -p vouch-chain --example detector_dispute" >&2
  CARGO_INCREMENTAL=0 cargo build -q --release -p vouch-chain --example detector_dispute
fi
py="$(scripts/pyenv.sh)"
export RUST_BACKTRACE=0 # an error prints its cause chain, not a backtrace
exec "$py" bench/production/gas.py --root "$root" "$@"
