"""Shared by vad_lstm/gen.py, vad_bigru/gen.py and vad_lstm_seq/gen.py: a synthetic
voice-activity task, a fixed random recurrent layer (ONNX LSTM or GRU) whose logistic head is
trained on its last state (vad_lstm_seq: on every step's state) (an echo-state readout: the
recurrent weights are fixed-seed random, the head is fitted), and the ONNX export.

Data: sequences of T frames of F log band energies. Background frames are noise with a slow
random spectral tilt; a "speech" sequence holds a voiced stretch (6 frames or more) whose
energy sits in a few formant bands and pulses at a syllable rate; a background sequence may
hold a broadband click of one or two frames instead. Label 1 = speech present.

The model reads `frames` [N, T, F] batch first (ONNX layout = 1, so every tensor keeps its rows
first), and writes `speech` [N, 1], the probability of speech. onnxruntime runs only layout 0
recurrences, so expected.json is onnxruntime's output for the same weights in a layout-0 twin
(Transpose, the layout-0 recurrence, Transpose); onnx's reference evaluator checks that the
layout-1 model gives the same numbers.
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import common


def make_data(rng, n, t, f):
    """n sequences [n, t, f] float32 (rounded to 3 decimals) and labels [n]."""
    x = np.empty((n, t, f), np.float64)
    y = np.zeros(n, np.int64)
    bands = np.arange(f)
    for k in range(n):
        tilt = rng.normal(0, 0.3) * (bands - f / 2) / f
        base = rng.normal(-1.0, 0.25, (t, f)) + tilt
        if k % 2 == 0:
            y[k] = 1
            length = rng.integers(6, t + 1)
            start = rng.integers(0, t - length + 1)
            formants = rng.choice(np.arange(1, f - 1), size=3, replace=False)
            rate = rng.uniform(0.5, 1.2)
            phase = rng.uniform(0, 2 * np.pi)
            for j in range(start, start + length):
                env = 0.9 + 0.7 * np.sin(rate * j + phase)
                for b in formants:
                    base[j, b] += 1.2 * env + rng.normal(0, 0.1)
                    base[j, b - 1] += 0.4 * env
                    base[j, b + 1] += 0.4 * env
        elif rng.random() < 0.5:
            j = rng.integers(0, t - 1)
            base[j : j + rng.integers(1, 3), :] += rng.uniform(0.8, 1.6)
        x[k] = base
    return np.round(x, 3).astype(np.float32), y


def sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def lstm_states(x, w, r, b):
    """ONNX LSTM (gates i, o, f, c) over x [N, T, F], forward: every hidden state [N, T, H]."""
    h4 = w.shape[0]
    hid = h4 // 4
    h = np.zeros((x.shape[0], hid))
    c = np.zeros_like(h)
    hs = []
    for t in range(x.shape[1]):
        g = x[:, t] @ w.T + h @ r.T + b[:h4] + b[h4:]
        i, o, f, cc = (g[:, k * hid : (k + 1) * hid] for k in range(4))
        c = sig(f) * c + sig(i) * np.tanh(cc)
        h = sig(o) * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1)


def lstm_last(x, w, r, b):
    """ONNX LSTM (gates i, o, f, c) over x [N, T, F], forward: the last hidden state [N, H]."""
    return lstm_states(x, w, r, b)[:, -1]


def gru_last(x, w, r, b, reverse=False):
    """ONNX GRU (gates z, r, h), linear_before_reset = 1: the last hidden state [N, H]."""
    h3 = w.shape[0]
    hid = h3 // 3
    h = np.zeros((x.shape[0], hid))
    steps = range(x.shape[1] - 1, -1, -1) if reverse else range(x.shape[1])
    for t in steps:
        xw = x[:, t] @ w.T + b[:h3]
        hr = h @ r.T + b[h3:]
        z = sig(xw[:, :hid] + hr[:, :hid])
        rr = sig(xw[:, hid : 2 * hid] + hr[:, hid : 2 * hid])
        cand = np.tanh(xw[:, 2 * hid :] + rr * hr[:, 2 * hid :])
        h = (1 - z) * cand + z * h
    return h


def fit_head(feat, y, steps=3000, lr=0.5, l2=1e-3):
    """Logistic regression on standardized-free features by gradient descent: (w [D], b)."""
    w = np.zeros(feat.shape[1])
    b = 0.0
    for _ in range(steps):
        p = sig(feat @ w + b)
        g = p - y
        w -= lr * (feat.T @ g / len(y) + l2 * w)
        b -= lr * g.mean()
    return w, b


def graph(cell, consts, t, f, hid, dirs, layout, states=False):
    """The model: `frames` [N, T, F] -> recurrence -> Y_h -> Flatten -> Gemm -> Sigmoid, or with
    `states` (forward only) the head on every step's state: Y [N, T, 1, H] -> Flatten -> Gemm.

    layout 1 reads `frames` directly; layout 0 is the onnxruntime twin (Transposes around)."""
    n = helper.make_node
    rec_in = "frames"
    nodes = []
    if layout == 0:
        nodes.append(n("Transpose", ["frames"], ["tnf"], name="to_time_major", perm=[1, 0, 2]))
        rec_in = "tnf"
    attrs = dict(hidden_size=hid, layout=layout)
    if dirs == 2:
        attrs["direction"] = "bidirectional"
    if cell == "GRU":
        attrs["linear_before_reset"] = 1
    out, perm = ("Y", [2, 0, 1, 3]) if states else ("Y_h", [1, 0, 2])
    outs = [out, ""] if states else ["", out]
    nodes.append(n(cell, [rec_in, "W", "R", "B"], outs, name="rec", **attrs))
    last = out
    if layout == 0:
        nodes.append(n("Transpose", [out], [f"{out}_nd"], name="to_batch_major", perm=perm))
        last = f"{out}_nd"
    nodes += [
        n("Flatten", [last], ["state"], name="flatten", axis=1),
        n("Gemm", ["state", "head.weight", "head.bias"], ["logit"], name="head", transB=1),
        n("Sigmoid", ["logit"], ["speech"], name="prob"),
    ]
    g = helper.make_graph(
        nodes,
        f"vad_{cell.lower()}" + ("_seq" if states else ""),
        [helper.make_tensor_value_info("frames", TensorProto.FLOAT, ["N", t, f])],
        [helper.make_tensor_value_info("speech", TensorProto.FLOAT, ["N", 1])],
        initializer=[numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    return common.make_model(g)


def build(here, cell, t, f, hid, dirs, scale_w, scale_r, states=False):
    """Writes the fixture beside `here`: the head on the last state, or on every step's state
    (`states`, a forward LSTM: the importer concatenates its `t` steps' states)."""
    rng = np.random.default_rng(common.SEED)
    gates = 4 if cell == "LSTM" else 3
    w = (rng.standard_normal((dirs, gates * hid, f)) * scale_w / np.sqrt(f)).astype(np.float32)
    r = (rng.standard_normal((dirs, gates * hid, hid)) * scale_r / np.sqrt(hid)).astype(np.float32)
    b = (rng.standard_normal((dirs, 2 * gates * hid)) * 0.1).astype(np.float32)
    if cell == "LSTM":
        b[:, 2 * hid : 3 * hid] += 1.0  # forget gate bias 1 (remember by default)
    x_tr, y_tr = make_data(rng, 512, t, f)
    x_te, y_te = make_data(rng, 64, t, f)

    def features(x):
        xs = x.astype(np.float64)
        if cell == "LSTM" and states:
            return lstm_states(xs, w[0], r[0], b[0]).reshape(len(xs), -1)
        if cell == "LSTM":
            return lstm_last(xs, w[0], r[0], b[0])
        parts = [gru_last(xs, w[0], r[0], b[0])]
        if dirs == 2:
            parts.append(gru_last(xs, w[1], r[1], b[1], reverse=True))
        return np.concatenate(parts, axis=1)

    hw, hb = fit_head(features(x_tr), y_tr)
    consts = {
        "W": w,
        "R": r,
        "B": b,
        "head.weight": hw.reshape(1, -1).astype(np.float32),
        "head.bias": np.array([hb], np.float32),
    }
    path = os.path.join(here, "model.onnx")
    model = graph(cell, consts, t, f, hid, dirs, layout=1, states=states)
    common.save_model(model, path)
    twin = os.path.join(here, "twin.onnx")
    common.save_model(graph(cell, consts, t, f, hid, dirs, layout=0, states=states), twin)
    try:
        x_cal = common.calibration_rows(x_tr, 128)
        outs = common.write_fixture(here, twin, "frames", x_cal, x_te, labels=y_te)
    finally:
        os.remove(twin)
    # the layout-1 model itself, by onnx's reference evaluator, gives the same numbers
    (ref,) = ReferenceEvaluator(onnx.load(path)).run(None, {"frames": x_te})
    assert np.abs(ref - outs["speech"]).max() < 1e-5, np.abs(ref - outs["speech"]).max()
    # and so does the numpy recurrence the head was trained on
    p = sig(features(x_te) @ hw + hb)
    assert np.abs(p - outs["speech"].ravel()).max() < 1e-4
    acc = common.accuracy(outs["speech"].ravel() > 0.5, y_te)
    train_acc = common.accuracy(sig(features(x_tr) @ hw + hb) > 0.5, y_tr)
    sp = outs["speech"]
    common.report(
        here,
        f"accuracy {acc:.3f} on {len(y_te)} held-out sequences (train {train_acc:.3f}), "
        f"speech in [{sp.min():.3f}, {sp.max():.3f}]",
    )
