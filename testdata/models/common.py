"""Shared helpers for the fixture generators in testdata/models/<name>/gen.py.

Every generator is deterministic (fixed seeds, single-threaded onnxruntime) and writes, beside
itself: model.onnx, calibration.json, input.json, expected.json and (for classifiers) labels.json.

JSON formats (read by the Rust side):
  calibration.json / input.json  {graph input name: nested array, first axis = batch rows}
  expected.json                  {graph output name: nested array}, onnxruntime float outputs for
                                 input.json; non-tensor outputs (ZipMap sequences) are omitted
  labels.json                    [true class label per row of input.json]

Floats are written with the shortest repr that round-trips through float32, so parsing them as
f32 gives back exactly the values onnxruntime saw.
"""

import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split

SEED = 0
# Opset and IR version used for graphs written with onnx.helper (and asked of skl2onnx).
OPSET = 17
ML_OPSET = 3
IR_VERSION = 8


def digits_split():
    """sklearn digits (1797 x 64, pixel values 0..16), stratified 75/25 split, fixed seed."""
    d = load_digits()
    x = d.data.astype(np.float32)
    y = d.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)


def upsample28(x64):
    """[N, 64] digits (0..16) -> [N, 784] bilinear upsample of the 8x8 image to 28x28 in [0, 1].

    Pixel centres are aligned (align_corners=False convention), values are rounded to 3 decimals
    so the JSON fixtures stay small; the rounded float32 values are what the models see.
    """
    n = x64.shape[0]
    img = x64.reshape(n, 8, 8).astype(np.float64) / 16.0
    src = (np.arange(28) + 0.5) * (8.0 / 28.0) - 0.5
    src = np.clip(src, 0.0, 7.0)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, 7)
    w = src - i0
    rows = img[:, i0, :] * (1 - w)[None, :, None] + img[:, i1, :] * w[None, :, None]
    out = rows[:, :, i0] * (1 - w)[None, None, :] + rows[:, :, i1] * w[None, None, :]
    out = np.round(out, 3)
    return out.reshape(n, 784).astype(np.float32)


def breast_cancer10_split():
    """breast_cancer first 10 features, standardized on the train split, 75/25 split."""
    d = load_breast_cancer()
    x = d.data[:, :10]
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)
    mu = xtr.mean(axis=0)
    sd = xtr.std(axis=0)
    xtr = np.round((xtr - mu) / sd, 4).astype(np.float32)
    xte = np.round((xte - mu) / sd, 4).astype(np.float32)
    return xtr, xte, ytr, yte


def sklearn_split(data):
    """A bundled scikit-learn data set as float32 features, stratified 75/25 split, fixed seed:
    "bc" breast cancer (30 raw features, 2 classes), "bc_nan" the same with 5% of the values
    missing (NaN, fixed seed), "iris" (4 features, 3 classes), "diabetes" (10, regression)."""
    from sklearn.datasets import load_diabetes, load_iris

    if data in ("bc", "bc_nan"):
        x, y = load_breast_cancer(return_X_y=True)
        strat = y
    elif data == "iris":
        x, y = load_iris(return_X_y=True)
        strat = y
    else:
        x, y = load_diabetes(return_X_y=True)
        strat = None
    x = x.astype(np.float32)
    if data == "bc_nan":
        x[np.random.default_rng(SEED).random(x.shape) < 0.05] = np.nan
    return train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=strat)


def calibration_rows(x, n=128, seed=SEED):
    """A fixed-seed sample of n rows of the training split."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(x.shape[0], size=min(n, x.shape[0]), replace=False))
    return x[idx]


def _tolist(a):
    a = np.asarray(a)
    if a.dtype.kind == "f":
        # str(np.float32) is the shortest repr that round-trips through float32; a missing
        # value (NaN) is JSON null.
        flat = [None if np.isnan(v) else float(str(v)) for v in a.astype(np.float32).ravel()]
        return np.array(flat, dtype=object).reshape(a.shape).tolist()
    if a.dtype.kind in "iub":
        return a.astype(np.int64).tolist()
    raise TypeError(f"unsupported dtype {a.dtype}")


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


def tensors_json(path, named):
    write_json(path, {k: _tolist(v) for k, v in named.items()})


def session(model_path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])


def maps_to_tensor(rows):
    """A ZipMap output (one {label: probability} map per row, labels 0..n-1) as the [N, n]
    tensor vouch keeps in its place (column c is label c)."""
    n = len(rows[0])
    assert all(sorted(r) == list(range(n)) for r in rows), "ZipMap labels are not 0..n-1"
    return np.array([[r[c] for c in range(n)] for r in rows], dtype=np.float32)


def run(model_path, feeds, maps=False):
    """onnxruntime outputs as {name: ndarray}: tensor outputs only (sequences/maps dropped), or
    with maps=True a ZipMap's sequence of maps as its probabilities tensor."""
    sess = session(model_path)
    names = [o.name for o in sess.get_outputs()]
    outs = sess.run(None, feeds)
    if maps:
        outs = [maps_to_tensor(o) if isinstance(o, list) else o for o in outs]
    return {n: o for n, o in zip(names, outs) if isinstance(o, np.ndarray)}


def save_model(model, path):
    # skl2onnx emits opset_import in set order (varies with hash randomization) and sometimes
    # twice for one domain: canonicalize to one entry per domain, sorted, so output is stable.
    versions = {}
    for o in model.opset_import:
        versions[o.domain] = max(versions.get(o.domain, 0), o.version)
    del model.opset_import[:]
    for domain in sorted(versions):
        model.opset_import.add(domain=domain, version=versions[domain])
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def write_fixture(here, model_path, input_name, x_cal, x_in, labels=None, extra_feeds=None, maps=False):
    """Writes calibration.json, input.json, expected.json (and labels.json); returns outputs.
    maps=True records a ZipMap output as its probabilities tensor (see `run`)."""
    tensors_json(os.path.join(here, "calibration.json"), {input_name: x_cal})
    tensors_json(os.path.join(here, "input.json"), {input_name: x_in})
    outs = run(model_path, {input_name: x_in}, maps=maps)
    tensors_json(os.path.join(here, "expected.json"), outs)
    if labels is not None:
        write_json(os.path.join(here, "labels.json"), _tolist(labels))
    return outs


def accuracy(pred, labels):
    return float(np.mean(np.asarray(pred).ravel() == np.asarray(labels).ravel()))


def dir_size(here):
    return sum(os.path.getsize(os.path.join(here, f)) for f in os.listdir(here))


def report(here, what):
    """Writes README.md (the generator's first docstring line + what was measured), checks the
    directory's size and prints the line."""
    import __main__

    name = os.path.basename(here)
    doc = (__main__.__doc__ or "").strip().splitlines()[0].rstrip(".")
    with open(os.path.join(here, "README.md"), "w") as f:
        f.write(f"`{name}`: {doc}; float (onnxruntime) {what}. Regenerate with `gen.py`.\n")
    size = dir_size(here)
    assert size < 2 * 1024 * 1024, f"{here} is {size} bytes (limit 2 MiB)"
    print(f"{name}: {what} ({size / 1024:.0f} KiB)")


def gemm_mlp_model(layers, input_dim, graph_name):
    """Gemm/Relu chain written with onnx.helper, the way PyTorch exports nn.Linear (transB=1).

    layers: list of (W [in, out], b [out]) as sklearn stores them. Input `input` [N, input_dim]
    (dynamic batch `N`), output `logits` [N, out]; Relu between layers, none after the last.
    """
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    cur = "input"
    for i, (w, b) in enumerate(layers):
        wn, bn = f"fc{i + 1}.weight", f"fc{i + 1}.bias"
        inits.append(numpy_helper.from_array(np.ascontiguousarray(w.T).astype(np.float32), wn))
        inits.append(numpy_helper.from_array(np.asarray(b).astype(np.float32), bn))
        last = i == len(layers) - 1
        out = "logits" if last else f"fc{i + 1}"
        nodes.append(helper.make_node("Gemm", [cur, wn, bn], [out], name=f"Gemm_{i + 1}", transB=1))
        cur = out
        if not last:
            nodes.append(helper.make_node("Relu", [cur], [f"relu{i + 1}"], name=f"Relu_{i + 1}"))
            cur = f"relu{i + 1}"
    n_out = layers[-1][0].shape[1]
    graph = helper.make_graph(
        nodes,
        graph_name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", input_dim])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", n_out])],
        initializer=inits,
    )
    return make_model(graph)


def make_model(graph):
    from onnx import helper

    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="vouch-testdata",
        ir_version=IR_VERSION,
    )
    return model


def run_model(model, feeds):
    """onnxruntime's tensor outputs of an in-memory model."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return {n: o for n, o in zip(names, sess.run(None, feeds)) if isinstance(o, np.ndarray)}
