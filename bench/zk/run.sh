#!/usr/bin/env bash
# Head-to-head: vouch zk vs EZKL on the same ONNX files (mlp_10_20_2, mlp_784_128_10, lenet,
# tree_gbdt_bc).
#
# tree_gbdt_bc (a 100-tree depth-6 GradientBoostingClassifier on breast cancer) is generated
# into bench/zk/out/models/ by bench/zk/tree_gbdt_bc.py with the repo's venv (scripts/pyenv.sh).
# EZKL reads no ai.onnx.ml op, so it gets the same trees as tensor ops (bench/zk/tree_gemm.py:
# hummingbird's GEMM strategy, checked equal to the ONNX-ML model under onnxruntime).
#
# Usage: bench/zk/run.sh [--gas-only] [models...]
#   --gas-only: re-measure only the EVM gas, from the artifacts an earlier run left in
#        bench/zk/out/ (vouch: <m>.vpkg, <m>.keys, <m>.proof; EZKL: ezkl_<m>/Verifier.sol and
#        calldata.bin): re-exports vouch's verifier with the current build, measures both
#        verifiers and vouch's submitZk (bench/zk/evm_gas.py, the zk_task_gas example), and
#        updates only the gas fields of bench/zk/results/<m>.{vouch,ezkl}.json (the times and
#        memory figures stay as measured). Takes a minute, where the whole run takes many.
#   env: EZKL_STEP_TIMEOUT (s, default 900: an EZKL step that runs longer is killed and reported
#        as ">N s, stopped"), CARGO_TARGET_DIR, POWER (ptau power, default 19),
#        TOOLS ("vouch ezkl" by default; "vouch" or "ezkl" measures one side and keeps the other's
#        results, so the two can run as separate jobs).
# Installs what it needs (release build of the CLI, foundry/solcjs via scripts/bootstrap-node.sh,
# a virtualenv with ezkl from PyPI), then per model runs vouch's and EZKL's full flows, each
# step under /usr/bin/time -v. Scratch in bench/zk/out/, raw results in bench/zk/results/,
# the table on stdout and in bench/zk/results/table.md.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$HERE/out"; RES="$HERE/results"; mkdir -p "$OUT" "$RES"
GAS_ONLY=0
if [ "${1:-}" = "--gas-only" ]; then GAS_ONLY=1; shift; fi
if [ $# -gt 0 ]; then MODELS=("$@"); else MODELS=(mlp_10_20_2 mlp_784_128_10 lenet tree_gbdt_bc); fi
EZKL_STEP_TIMEOUT="${EZKL_STEP_TIMEOUT:-900}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
log() { echo "[bench] $*" >&2; }

# The model directory of $1: testdata/models/$1, or one the bench generates.
model_dir() {
  local m=$1
  if [ -d "$ROOT/testdata/models/$m" ]; then echo "$ROOT/testdata/models/$m"; return; fi
  case "$m" in
    tree_gbdt_bc)
      if [ ! -f "$OUT/models/$m/model.onnx" ]; then
        "$("$ROOT/scripts/pyenv.sh")" "$HERE/tree_gbdt_bc.py" "$OUT/models/$m" >&2
      fi
      echo "$OUT/models/$m" ;;
    *) echo "bench/zk/run.sh: no model $m" >&2; return 1 ;;
  esac
}

# The model directory EZKL gets: the same, except for trees (tensor ops, bench/zk/tree_gemm.py).
ezkl_model_dir() {
  local m=$1 d
  d=$(model_dir "$m")
  case "$m" in
    tree_*)
      "$("$ROOT/scripts/pyenv.sh")" "$HERE/tree_gemm.py" "$d" "$OUT/models/${m}_gemm" >&2
      echo "$OUT/models/${m}_gemm" ;;
    *) echo "$d" ;;
  esac
}

TOOLS="${TOOLS:-vouch ezkl}"
POWER="${POWER:-19}"
PTAU="$OUT/p$POWER.ptau"
V="$OUT/vouch.bin"
ZKGAS="$OUT/zk_task_gas.bin"
if [[ $GAS_ONLY = 1 || " $TOOLS " == *" vouch "* || ! -f "$PTAU" ]]; then
  log "building vouch and the zk_task_gas example (release)"
  cargo build --release -q -p vouch --manifest-path "$ROOT/Cargo.toml"
  cargo build --release -q -p vouch-cli --example zk_task_gas --manifest-path "$ROOT/Cargo.toml"
  # Private copies, so a rebuild during the run cannot swap a binary between steps.
  cp "$CARGO_TARGET_DIR/release/vouch" "$V.tmp" && mv "$V.tmp" "$V"
  cp "$CARGO_TARGET_DIR/release/examples/zk_task_gas" "$ZKGAS.tmp" && mv "$ZKGAS.tmp" "$ZKGAS"
fi

log "foundry + solcjs (scripts/bootstrap-node.sh)"
"$ROOT/scripts/bootstrap-node.sh" >&2

PY="$HERE/.venv/bin/python"
if ! "$PY" -c "import ezkl, onnx, onnxruntime, numpy" 2>/dev/null; then
  log "virtualenv with ezkl 23.0.5 from PyPI"
  python3 -m venv "$HERE/.venv"
  "$HERE/.venv/bin/pip" install -q ezkl==23.0.5 onnx onnxruntime numpy
fi
# ezkl's create_evm_verifier compiles with solc 0.8.20 from ~/.svm (and tries to download it
# when absent, which fails offline): point a scratch HOME at the repo's solcjs wrapper.
SCRATCH="$OUT/home"; mkdir -p "$SCRATCH/.svm/0.8.20"
ln -sf "$ROOT/scripts/solc/solc-0.8.29" "$SCRATCH/.svm/0.8.20/solc-0.8.20"

# Runs "$@" under /usr/bin/time -v; sets T_S (wall seconds), T_CPU (user + system seconds: less
# sensitive to other load on a shared machine) and T_MB (peak RSS MiB).
timed() {
  local tf="$OUT/.time"
  /usr/bin/time -v -o "$tf" "$@"
  T_S=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tf")
  T_CPU=$(awk -F': ' '/User time|System time/ {s+=$2} END {printf "%.2f", s}' "$tf")
  T_MB=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$tf")
}

# vouch's gas: the verifier's verifyProof as a transaction, and a whole zk task's submitZk.
vouch_gas() {
  local m=$1 d
  d=$(model_dir "$1")
  "$V" zk export-verifier --keys "$OUT/$m.keys" -m "$OUT/$m.vpkg" -o "$OUT/$m.Verifier.sol" > /dev/null
  "$V" zk calldata --proof "$OUT/$m.proof" > "$OUT/$m.calldata.json"
  "$PY" "$HERE/evm_gas.py" vouch "$OUT/$m.Verifier.sol" "$OUT/$m.calldata.json" > "$OUT/$m.vouch.gas.json"
  "$ZKGAS" "$OUT/$m.vpkg" "$OUT/$m.keys" "$d/input.json" > "$OUT/$m.submitzk.gas.json"
}

# EZKL's gas: its verifier's verifyProof as a transaction.
ezkl_gas() {
  local m=$1
  if [ -f "$OUT/ezkl_$m/Verifier.sol" ] && [ -f "$OUT/ezkl_$m/calldata.bin" ]; then
    "$PY" "$HERE/evm_gas.py" ezkl "$OUT/ezkl_$m/Verifier.sol" "$OUT/ezkl_$m/calldata.bin" > "$OUT/$m.ezkl.gas.json" \
      || echo '{"error":"evm gas measurement failed"}' > "$OUT/$m.ezkl.gas.json"
  else
    echo '{"error":"no EZKL verifier/calldata"}' > "$OUT/$m.ezkl.gas.json"
  fi
}

# Writes the gas measurements of $1 into the result JSON $2 (vouch or ezkl).
merge_gas() {
  "$PY" - "$OUT" "$RES" "$1" "$2" <<'PYEOF'
import json, sys
out, res, m, tool = sys.argv[1:5]
dst = f"{res}/{m}.{tool}.json"
r = json.load(open(dst))
g = json.load(open(f"{out}/{m}.{tool}.gas.json"))
r["evm"] = g
r.pop("evm_gas", None)
r.pop("evm_ok", None)
if "gas" in g:
    r["evm_gas"], r["evm_ok"] = g["gas"], g["ok"]
if tool == "vouch":
    r["submit_zk"] = json.load(open(f"{out}/{m}.submitzk.gas.json"))
    r["submit_zk_gas"] = r["submit_zk"]["submit_zk_gas"]
json.dump(r, open(dst, "w"), indent=1)
PYEOF
}

if [ $GAS_ONLY = 1 ]; then
  for m in "${MODELS[@]}"; do
    for f in "$OUT/$m.vpkg" "$OUT/$m.keys" "$OUT/$m.proof" "$RES/$m.vouch.json" "$RES/$m.ezkl.json"; do
      [ -f "$f" ] || { echo "bench/zk/run.sh --gas-only: $f is missing: run bench/zk/run.sh $m first" >&2; exit 1; }
    done
    log "$m: gas (vouch verifyProof, submitZk; EZKL verifyProof)"
    vouch_gas "$m"
    ezkl_gas "$m"
    merge_gas "$m" vouch
    merge_gas "$m" ezkl
  done
  "$PY" "$HERE/table.py" "$RES" "${MODELS[@]}" | tee "$RES/table.md"
  exit 0
fi

if [ ! -f "$PTAU" ]; then
  log "local INSECURE ptau 2^$POWER (phase 1 stand-in; cached)"
  "$V" zk ptau new --power "$POWER" -o "$PTAU" >&2
fi

for m in "${MODELS[@]}"; do
  d=$(model_dir "$m")
  if [[ " $TOOLS " == *" vouch "* ]]; then
  log "$m: vouch"
  "$V" model import "$d/model.onnx" -c "$d/calibration.json" -o "$OUT/$m.vpkg" > /dev/null
  "$V" zk info -m "$OUT/$m.vpkg" > "$OUT/$m.info.txt"
  timed "$V" zk setup -m "$OUT/$m.vpkg" --ptau "$PTAU" -o "$OUT/$m.keys" > "$OUT/$m.setup.json"
  setup_s=$T_S setup_mb=$T_MB setup_cpu=$T_CPU
  timed "$V" zk prove -m "$OUT/$m.vpkg" --keys "$OUT/$m.keys" -i "$d/input.json" -o "$OUT/$m.proof" > "$OUT/$m.prove.json"
  prove_s=$T_S prove_mb=$T_MB prove_cpu=$T_CPU
  timed "$V" zk verify --keys "$OUT/$m.keys" --proof "$OUT/$m.proof" > "$OUT/$m.verify.json"
  verify_s=$T_S
  vouch_gas "$m"
  "$V" infer -m "$OUT/$m.vpkg" -i "$d/input.json" > "$OUT/$m.infer.json"
  "$PY" "$HERE/accuracy.py" "$d" "$OUT/$m.infer.json" > "$OUT/$m.vouch.acc.json"
  "$PY" - "$m" "$OUT" "$RES/$m.vouch.json" <<PYEOF
import json, sys
m, out, dst = sys.argv[1:4]
j = lambda f: json.load(open(f"{out}/{m}.{f}.json"))
prove, gas, acc = j("prove"), j("vouch.gas"), j("vouch.acc")
r = {"model": m, "tool": "vouch", "setup_s": $setup_s, "setup_cpu_s": $setup_cpu, "setup_peak_mb": $setup_mb,
     "prove_s": $prove_s, "prove_cpu_s": $prove_cpu,
     "prove_peak_mb": $prove_mb, "verify_s": $verify_s, "verified": j("verify").get("valid"),
     "verify_core_s": j("verify").get("seconds"), "proof_bytes": prove["proof_bytes"],
     "proof_file_bytes": prove["file_bytes"], "constraints": prove["constraints"], "domain": prove["domain"],
     "prove_phases_s": prove["seconds"], "setup": j("setup"), **acc}
json.dump(r, open(dst, "w"), indent=1)
PYEOF
  merge_gas "$m" vouch
  fi

  [[ " $TOOLS " == *" ezkl "* ]] || continue
  log "$m: ezkl (step limit ${EZKL_STEP_TIMEOUT}s)"
  HOME="$SCRATCH" "$PY" "$HERE/ezkl_flow.py" "$(ezkl_model_dir "$m")" "$OUT/ezkl_$m" --timeout "$EZKL_STEP_TIMEOUT" > "$OUT/$m.ezkl.json" \
    || echo "{\"model\":\"$m\",\"error\":\"ezkl driver failed\"}" > "$OUT/$m.ezkl.json"
  ezkl_gas "$m"
  "$PY" - "$OUT/$m.ezkl.json" "$RES/$m.ezkl.json" <<'PYEOF'
import json, sys
e = json.load(open(sys.argv[1]))
e["tool"] = "ezkl"
json.dump(e, open(sys.argv[2], "w"), indent=1)
PYEOF
  merge_gas "$m" ezkl
done
"$PY" "$HERE/table.py" "$RES" "${MODELS[@]}" | tee "$RES/table.md"
