#!/usr/bin/env bash
# The main job: installs the pinned chain toolchain (anvil, solc) from npm if needed, builds
# vouch, and runs the end-to-end demo on a local network (`vouch demo`). Extra arguments go to
# `vouch demo` (e.g. `--offline` for the model pipeline alone, `--no-zk`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/bootstrap-node.sh
exec cargo run --release --quiet -- demo "$@"
