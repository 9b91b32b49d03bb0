#!/usr/bin/env bash
# Full fraud-proof disputes on the NudeNet detector (320n.onnx) on a fresh anvil (cancun): makes
# the calibration rows and the input as the production survey does, imports the model with the
# release `vouch` (16-bit), and runs crates/chain/examples/detector_dispute.rs, which prints the
# per-dispute receipts table. Writes under bench/out/dispute/ (git-ignored).
# Usage: bench/dispute/run.sh [--nodes output,mid-conv|all|3,17,...]
# (DISPUTE_NO_BUILD=1 skips the cargo builds; needs anvil and the repo venv)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out=bench/out/dispute
mkdir -p "$out"
model="$(find -L bench/out/production/models -name 320n.onnx 2>/dev/null | head -n1)"
if [[ -z "$model" ]]; then
  echo "dispute: 320n.onnx not found; fetch it with: bench/production/run.sh --only nudenet" >&2
  exit 1
fi
if [[ -z "${DISPUTE_NO_BUILD:-}" ]]; then
  echo "dispute: cargo build --release -p vouch and the detector_dispute example" >&2
  CARGO_INCREMENTAL=0 cargo build -q --release -p vouch
  CARGO_INCREMENTAL=0 cargo build -q --release -p vouch-chain --example detector_dispute
fi
if [[ ! -f "$out/input.json" || ! -f "$out/calibration.json" ]]; then
  py="$(scripts/pyenv.sh)"
  "$py" bench/dispute/inputs.py "$model" "$out"
fi
if [[ ! -f "$out/320n.vpkg" || "$out/320n.vpkg" -ot "$out/calibration.json" \
      || "$out/320n.vpkg" -ot target/release/vouch ]]; then
  target/release/vouch model import "$model" -c "$out/calibration.json" \
    --shape images=1x3x320x320 -o "$out/320n.vpkg" >&2
fi
start=$(date +%s)
export RUST_BACKTRACE=0 # an error prints its cause chain, not a backtrace
target/release/examples/detector_dispute --package "$out/320n.vpkg" \
  --input "$out/input.json" --work "$out" "$@" | tee "$out/table.md"
echo "dispute: wall time $(( $(date +%s) - start )) s (commit $(git rev-parse --short HEAD), $(date -u +%F))" >&2
