#!/usr/bin/env bash
# Large-model throughput and memory (issue 15): vouch's integer engine (16-bit packages) vs tract
# and onnxruntime (f32) on ResNet-50, a YOLOv8n detector and a keyword-spotting LSTM, at
# batch 1 and 8, each peer in its own process so its peak memory is its own. One run, one table.
# Usage: bench/large/run.sh   (BENCH_MS=window per measurement, default 2000;
# BENCH_LARGE_MODELS=resnet50,yolov8n,lstm_kws picks models; models are written by
# bench/large/gen.py into bench/out/large on first use; yolov8n needs the production survey's
# download cache: bench/production/run.sh --only nudenet)
# BENCH_LARGE_IMPORT=vgg19 (comma separated; default none) measures instead the peak memory and
# wall time of `vouch model import` of those models (release build; see bench/large/README.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
py="$(scripts/pyenv.sh)"
# writes a missing model (the testdata ones are committed)
ensure() {
  [[ -f "bench/out/large/$1/model.onnx" || -d "testdata/models/$1" ]] || "$py" bench/large/gen.py "$1" || true
}
if [[ -n "${BENCH_LARGE_IMPORT:-}" ]]; then
  echo "building vouch (release)..." >&2
  cargo build -q --release -p vouch
  IFS=, read -r -a models <<< "$BENCH_LARGE_IMPORT"
  printf '%-10s%12s%14s%12s\n' model "peak MiB" "wall seconds" parameters
  for model in "${models[@]}"; do
    ensure "$model"
    d="bench/out/large/$model"
    log="$(mktemp)"
    /usr/bin/time -v target/release/vouch model import "$d/model.onnx" -c "$d/calibration.json" \
      -o "$d/model.vpkg" --json > "$d/import.json" 2> "$log" || { cat "$log" >&2; exit 1; }
    kib="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")"
    wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" \
      | awk -F: '{s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s}')"
    params="$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["parameters"])' "$d/import.json")"
    printf '%-10s%12d%14.1f%12s\n' "$model" "$((kib / 1024))" "$wall" "$params"
    rm -f "$log"
  done
  exit 0
fi
echo "building the benchmark (release)..." >&2
CARGO_TARGET_DIR="$root/target" cargo build -q --release --manifest-path bench/engine/Cargo.toml
out=bench/out/large.jsonl
: > "$out"
export BENCH_MS="${BENCH_MS:-2000}"
IFS=, read -r -a models <<< "${BENCH_LARGE_MODELS:-resnet50,yolov8n,lstm_kws}"
for model in "${models[@]}"; do
  ensure "$model"
  if [[ ! -f "bench/out/large/$model/model.onnx" && ! -d "testdata/models/$model" ]]; then
    echo "skipping $model: bench/out/large/$model is missing (see bench/large/gen.py)" >&2
    continue
  fi
  for peer in vouch tract; do
    echo "measuring $model with $peer..." >&2
    BENCH_LARGE="$model" BENCH_PEER="$peer" "$root/target/release/vouch-bench-engine" >> "$out" \
      || echo "$peer failed on $model" >&2
  done
  echo "measuring $model with onnxruntime..." >&2
  "$py" bench/peers/ort_bench.py --models "$model" --batches 1,8 --peak \
    --seconds "$(awk "BEGIN{print ${BENCH_MS}/1000}")" >> "$out" || echo "onnxruntime failed on $model" >&2
done
"$py" - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def get(peer, model, batch, threads=None):
    c = [r for r in rows if r["peer"] == peer and r["model"] == model and r.get("batch") == batch
         and (threads is None or r.get("threads") == threads)]
    return max((r["inferences_per_sec"] for r in c), default=None)
def peak(peer, model):
    return next((r["peak_rss_mib"] for r in rows if r["peer"] == peer and r["model"] == model
                 and "peak_rss_mib" in r), None)
f = lambda x, d=1: "-" if x is None else f"{x:,.{d}f}"
print(f"{'model':<10}{'batch':>6}{'vouch 1t':>10}{'vouch 2t':>10}{'tract 1t':>10}{'ort 2t':>10}{'vouch/ort':>11}"
      f"{'MiB vouch':>11}{'MiB tract':>11}{'MiB ort':>9}")
for model in dict.fromkeys(r["model"] for r in rows):
    for batch in (1, 8):
        v1, v2 = get("vouch", model, batch, 1), get("vouch", model, batch, 2)
        t, o = get("tract", model, batch), get("onnxruntime", model, batch)
        best = max((x for x in (v1, v2) if x), default=None)
        ratio = f"{best / o:.2f}" if best and o else "-"
        print(f"{model:<10}{batch:>6}{f(v1):>10}{f(v2):>10}{f(t):>10}{f(o):>10}{ratio:>11}"
              f"{f(peak('vouch', model), 0):>11}{f(peak('tract', model), 0):>11}{f(peak('onnxruntime', model), 0):>9}")
print("inferences per second (higher is better); vouch runs 16-bit packages on integer inputs, tract")
print("(1 thread) and onnxruntime (2 threads) f32; vouch/ort uses vouch's best thread count; MiB is")
print("each peer's peak resident memory over its whole process (import included for vouch).")
PY
