#!/usr/bin/env bash
# Head-to-head: vouch zk vs EZKL on the same ONNX files (mlp_10_20_2, mlp_784_128_10, lenet).
# Usage: bench/zk/run.sh [models...]   (results in bench/zk/out/, table on stdout)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$HERE/out"; mkdir -p "$OUT"
MODELS=("${@:-mlp_10_20_2 mlp_784_128_10 lenet}")
MODELS=(${MODELS[@]})
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --release -p vouch --manifest-path "$ROOT/Cargo.toml"
V="$CARGO_TARGET_DIR/release/vouch"

# EZKL in its own venv.
if [ ! -x "$HERE/.venv/bin/python" ]; then
  python3 -m venv "$HERE/.venv"
  "$HERE/.venv/bin/pip" install -q ezkl==23.0.5 onnx onnxruntime numpy
fi
# solc 0.8.20 for ezkl's EVM verifier: a solcjs wrapper under a scratch HOME.
SCRATCH="$OUT/home"; mkdir -p "$SCRATCH/.svm/0.8.20"
if [ ! -x "$SCRATCH/.svm/0.8.20/solc-0.8.20" ] && [ -x "$ROOT/scripts/solc/solc-0.8.29" ]; then
  ln -sf "$ROOT/scripts/solc/solc-0.8.29" "$SCRATCH/.svm/0.8.20/solc-0.8.20"
fi

POWER=19
[ -f "$OUT/p$POWER.ptau" ] || "$V" zk ptau new --power $POWER -o "$OUT/p$POWER.ptau"

tm() { /usr/bin/time -f "%e %M" -o "$OUT/.t" "$@"; }
for m in "${MODELS[@]}"; do
  d="$ROOT/testdata/models/$m"
  "$V" model import "$d/model.onnx" -c "$d/calibration.json" -o "$OUT/$m.vpkg" > /dev/null
  tm "$V" zk setup -m "$OUT/$m.vpkg" --ptau "$OUT/p$POWER.ptau" -o "$OUT/$m.keys" > "$OUT/$m.setup.json"
  read -r setup_s setup_kb < "$OUT/.t"
  tm "$V" zk prove -m "$OUT/$m.vpkg" --keys "$OUT/$m.keys" -i "$d/input.json" -o "$OUT/$m.proof" > "$OUT/$m.prove.json"
  read -r prove_s prove_kb < "$OUT/.t"
  tm "$V" zk verify --keys "$OUT/$m.keys" --proof "$OUT/$m.proof" > "$OUT/$m.verify.json"
  read -r verify_s _ < "$OUT/.t"
  echo "{\"model\":\"$m\",\"setup_s\":$setup_s,\"setup_peak_mb\":$((setup_kb/1024)),\"prove_s\":$prove_s,\"prove_peak_mb\":$((prove_kb/1024)),\"verify_s\":$verify_s,\"proof_bytes\":256}" > "$OUT/$m.vouch.json"
  HOME="$SCRATCH" /usr/bin/time -f "%e %M" -o "$OUT/.e" "$HERE/.venv/bin/python" "$HERE/ezkl_flow.py" "$d" "$OUT/ezkl_$m" > "$OUT/$m.ezkl.json" || echo "{\"model\":\"$m\",\"error\":\"ezkl failed\"}" > "$OUT/$m.ezkl.json"
  read -r _ ezkl_kb < "$OUT/.e"; echo "$ezkl_kb" > "$OUT/$m.ezkl.peakkb"
done
python3 "$HERE/table.py" "$OUT" "${MODELS[@]}"
