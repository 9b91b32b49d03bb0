#!/usr/bin/env bash
# The on-chain flow from the vouch CLI on a fresh local devnet: keys, deploy, publish the digits
# MLP, two providers stake, an honest task is paid, a lie is challenged and its provider is
# slashed, the devnet restarts with its state. Everything lives in a scratch data directory.
#
#   scripts/chain-demo.sh [PORT]        (default port 18645; needs scripts/bootstrap-node.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
port="${1:-18645}"
work="$(mktemp -d)"
export VOUCH_DATA_DIR="$work/data" VOUCH_RPC_URL="http://127.0.0.1:$port"
export VOUCH_PASSWORD_FILE="$work/pw"
echo "demo password" >"$VOUCH_PASSWORD_FILE"
# anvil's first dev account (a public test key): it deploys and holds the token supply
echo 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$work/anvil0.key"
cargo build -q -p vouch
v="$root/target/debug/vouch"
[ -n "${CARGO_TARGET_DIR:-}" ] && v="$CARGO_TARGET_DIR/debug/vouch"
m=testdata/models/digits_mlp
pkg="$work/digits.vpkg"
run() { printf '\n$ vouch %s\n' "$*"; "$v" "$@"; }
trap '"$v" devnet down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

run devnet up --port "$port"
run key import deployer --private-key-file "$work/anvil0.key" --password-file "$work/pw"
for k in alice bob carol; do run key new "$k" --password-file "$work/pw"; done
run key list
run deploy -k deployer --challenge-window 120 --step-timeout 60
for k in alice bob carol; do run devnet fund "$k" --tokens 5000; done
run model import $m/model.onnx -c $m/calibration.json --outputs probabilities -o "$pkg"
run model publish "$pkg" -k deployer
run provider join -m 1 --stake 1500 -k alice
run provider join -m 1 --stake 1500 -k bob

# an honest result: re-execution agrees, the window passes, the provider is paid
run task request -m 1 -p "$pkg" -i $m/input.json --fee 1 -k carol
run task submit 1 -p "$pkg" -i $m/input.json -k alice
run task challenge 1 -p "$pkg" -i $m/input.json -k carol
run task finalize 1 -k carol || true # TooEarly(): the challenge window is still open
run devnet warp 121
run task finalize 1 -k carol
run task status 1
run task receipt 1 -k carol
run task receipt --batch -k carol

# a lie: carol re-executes, challenges and plays; bob never answers and is slashed
run task request -m 1 -p "$pkg" -i $m/input.json --fee 1 -k carol
run task submit 2 -p "$pkg" -i $m/input.json --lie -k bob
run task challenge 2 -p "$pkg" -i $m/input.json -k carol
run devnet warp 61
run task dispute 2 -p "$pkg" -i $m/input.json -k carol
run task status 2
run provider status bob
run provider status alice
run task withdraw -k carol

# the devnet keeps its state across restarts
run devnet down
run devnet up --port "$port"
run devnet status
run task status 2
