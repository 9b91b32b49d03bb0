#!/usr/bin/env bash
# Inference throughput: vouch (integer engine) vs tract (f32) vs onnxruntime (f32), MLP
# 784-128-10, LeNet and three tree ensembles (XGBoost, LightGBM, CatBoost) at batch 1 and 64, measured in one run, with ratios; plus the import
# time of a 1M-parameter model. Usage: bench/run.sh   (BENCH_MS=window per measurement;
# BENCH_MODELS=tree_xgb_bc,tree_cb_bc measures only those models and skips the import time)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mkdir -p bench/out
echo "building the benchmark (release; tract is built here only)..." >&2
CARGO_TARGET_DIR="$root/target" cargo build -q --release --manifest-path bench/engine/Cargo.toml
py="$(scripts/pyenv.sh)"
out=bench/out/engine.jsonl
"$root/target/release/vouch-bench-engine" > "$out"
"$py" bench/peers/ort_bench.py ${BENCH_MODELS:+--models "$BENCH_MODELS"} >> "$out"
"$py" - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
imp = [r for r in rows if "import_seconds" in r]
rows = [r for r in rows if "peer" in r]
def get(peer, model, batch, threads=None):
    c = [r for r in rows if r["peer"] == peer and r["model"] == model and r["batch"] == batch
         and (threads is None or r.get("threads") == threads)]
    return max((r["inferences_per_sec"] for r in c), default=None)
print(f"{'model':<16}{'batch':>6}{'vouch 1t':>11}{'vouch 2t':>11}{'+quant 2t':>11}{'tract 1t':>11}{'ort 2t':>11}{'vouch/tract':>12}{'vouch/ort':>10}")
for model in ["mlp_784_128_10", "lenet", "tree_xgb_bc", "tree_lgb_iris", "tree_cb_bc"]:
    for batch in [1, 64]:
        if get("vouch", model, batch) is None:
            continue
        v1, v2 = get("vouch", model, batch, 1), get("vouch", model, batch, 2)
        vq = get("vouch+quantize", model, batch, 2)
        t, o = get("tract", model, batch), get("onnxruntime", model, batch)
        v = max(x for x in [v1, v2] if x)
        f = lambda x: f"{x:,.0f}" if x else "-"
        print(f"{model:<16}{batch:>6}{f(v1):>11}{f(v2):>11}{f(vq):>11}{f(t):>11}{f(o):>11}{(f'{v/t:.2f}' if t else '-'):>12}{(f'{v/o:.2f}' if o else '-'):>10}")
print("inferences per second, higher is better. vouch: the integer engine on quantized inputs (what a")
print("provider runs); +quant: including the client's f32 -> integer input quantization. Ratios use")
print("vouch's best thread count; tract runs single-threaded (its default), onnxruntime on 2 threads;")
print("'-': the peer cannot load the model (tract has no TreeEnsembleClassifier for these exports).")
for r in imp:
    print(f"import + calibration of a {r['parameters']:,}-parameter MLP on {r['calibration_rows']} rows: {r['import_seconds']:.2f} s")
PY
