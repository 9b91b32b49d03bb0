"""onnxruntime (f32, CPU, intra_op threads = 2) throughput peer for the vouch benchmark.

For each model in testdata/models/ and batch size, prints one JSON line to stdout:
  {"peer":"onnxruntime","model":...,"batch":...,"inferences_per_sec":...}
inferences/second counts rows (batch 64 = 64 inferences per run) of the fixture's input.json. Each measurement warms up,
then times whole runs until ~`--seconds` have passed (the best of `--repeats` such windows).

A model generated into bench/out/large/<model>/ (bench/large/gen.py) is read from there.
With --peak, a last line gives the process's peak resident memory:
  {"peer":"onnxruntime","model":...,"peak_rss_mib":...}   (run one model per process for it)

Usage (any python3; re-runs itself under the repo's venv from scripts/pyenv.sh):
  python3 bench/peers/ort_bench.py [--models mlp_784_128_10,lenet] [--batches 1,64] [--peak]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

if os.path.realpath(sys.prefix) != os.path.realpath(os.path.join(ROOT, ".venv")):
    py = subprocess.check_output([os.path.join(ROOT, "scripts", "pyenv.sh")], text=True).strip()
    os.execv(py, [py, os.path.abspath(__file__), *sys.argv[1:]])

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

THREADS = 2


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = THREADS
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def measure(sess, feeds, seconds, repeats):
    run = sess.run
    # Warm up: at least 10 runs and 0.2 s.
    t0 = time.perf_counter()
    n = 0
    while n < 10 or time.perf_counter() - t0 < 0.2:
        run(None, feeds)
        n += 1
    per_run = (time.perf_counter() - t0) / n
    iters = max(1, int(seconds / per_run))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(iters):
            run(None, feeds)
        best = min(best, (time.perf_counter() - t0) / iters)
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="mlp_784_128_10,lenet,tree_xgb_bc,tree_lgb_iris,tree_cb_bc")
    p.add_argument("--batches", default="1,64")
    p.add_argument("--seconds", type=float, default=1.0, help="timed window per measurement")
    p.add_argument("--repeats", type=int, default=3, help="windows per measurement (best kept)")
    p.add_argument("--peak", action="store_true", help="end with the peak resident memory")
    args = p.parse_args()
    for model in args.models.split(","):
        here = os.path.join(ROOT, "bench", "out", "large", model)
        if not os.path.isdir(here):
            here = os.path.join(ROOT, "testdata", "models", model)
        sess = session(os.path.join(here, "model.onnx"))
        inp = sess.get_inputs()[0]
        with open(os.path.join(here, "input.json")) as f:
            rows = np.asarray(json.load(f)[inp.name], dtype=np.float32)
        for batch in (int(b) for b in args.batches.split(",")):
            # the fixture's held-out rows, cycled: the same rows vouch's engine runs
            x = rows[np.arange(batch) % rows.shape[0]]
            secs = measure(sess, {inp.name: x}, args.seconds, args.repeats)
            line = {
                "peer": "onnxruntime",
                "model": model,
                "batch": batch,
                "inferences_per_sec": round(batch / secs, 1),
            }
            print(json.dumps(line, separators=(",", ":")), flush=True)
        if args.peak:
            mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(json.dumps({"peer": "onnxruntime", "model": model, "peak_rss_mib": round(mib)},
                             separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
