"""A CRNN-like text-line recognizer whose per-step output is a softmax over 1,200 classes on the last axis.

input `image` [N,1,8,16]: two sklearn digits side by side (a two-character text line) in [0, 1]
Conv(1->8, 3x3, stride 2, pad 1) + Relu                                           [N,8,4,8]
Reshape to [N,32,8] (channels x height as features), Transpose to [N,8,32]     8 time steps
MatMul by W [32,1200], Add b -> `logits`                                           [N,8,1200]
Softmax(axis=-1) -> `probs`                                                        [N,8,1200]
As a recognizer's (PP-OCR's 6,625 character classes), each step's distribution is peaked or
flat: ten "character" classes read the features with weights six times the others', so the
sum of exp(logit - max) over a step (the softmax's denominator) ranges from near 1 to hundreds.
Run: .venv/bin/python testdata/models/crnn_softmax/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import common  # noqa: E402

CLASSES = 1200


def lines(x64, rng, n):
    """n two-digit lines [n,1,8,16] from random pairs of the rows of x64 (0..16), in [0, 1]."""
    idx = rng.choice(x64.shape[0], size=(n, 2))
    img = x64.reshape(-1, 8, 8) / 16.0
    return np.concatenate([img[idx[:, 0]], img[idx[:, 1]]], axis=2)[:, None].astype(np.float32)


def main():
    rng = np.random.default_rng(common.SEED)
    w1 = rng.standard_normal((8, 1, 3, 3)) * np.sqrt(2.0 / 9)
    b1 = rng.uniform(-0.1, 0.1, 8)
    w2 = rng.standard_normal((32, CLASSES)) * 0.6
    w2[:, :10] *= 6.0
    b2 = rng.uniform(-0.5, 0.5, CLASSES)
    consts = {
        "conv.weight": w1, "conv.bias": b1, "fc.weight": w2, "fc.bias": b2,
        "feat_shape": np.array([0, 32, 8], dtype=np.int64),
    }
    consts = {k: v if v.dtype == np.int64 else v.astype(np.float32) for k, v in consts.items()}
    n = helper.make_node
    nodes = [
        n("Conv", ["image", "conv.weight", "conv.bias"], ["c"], name="/conv/Conv",
          kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
        n("Relu", ["c"], ["r"], name="/relu/Relu"),
        n("Reshape", ["r", "feat_shape"], ["f"], name="/Reshape"),
        n("Transpose", ["f"], ["seq"], name="/Transpose", perm=[0, 2, 1]),
        n("MatMul", ["seq", "fc.weight"], ["mm"], name="/fc/MatMul"),
        n("Add", ["mm", "fc.bias"], ["logits"], name="/fc/Add"),
        n("Softmax", ["logits"], ["probs"], name="/Softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "crnn_softmax",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 8, 16])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 8, CLASSES])],
        initializer=[numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    path = os.path.join(here, "model.onnx")
    common.save_model(common.make_model(graph), path)

    xtr, xte, _, _ = common.digits_split()
    x_cal = lines(xtr, rng, 48)
    x_in = lines(xte, rng, 4)
    outs = common.write_fixture(here, path, "image", x_cal, x_in)
    p = outs["probs"]
    # the softmax denominators, from the logits (a second session on the model's MatMul + Add)
    seq = np.maximum(0, _conv(x_in, w1, b1)).reshape(len(x_in), 32, 8).transpose(0, 2, 1)
    z = seq @ w2.astype(np.float32) + b2.astype(np.float32)
    den = np.exp(z - z.max(axis=-1, keepdims=True)).sum(axis=-1)
    common.report(
        here,
        f"{len(x_in)} input rows x 8 steps, largest probability per step in "
        f"[{p.max(axis=-1).min():.3f}, {p.max():.3f}], softmax denominators in "
        f"[{den.min():.2f}, {den.max():.1f}]",
    )


def _conv(x, w, b):
    """Conv(3x3, stride 2, pad 1) in numpy, for the denominators reported (not the fixture)."""
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    h, wd = x.shape[2] // 2, x.shape[3] // 2
    out = np.zeros((x.shape[0], w.shape[0], h, wd), dtype=np.float64)
    for i in range(h):
        for j in range(wd):
            patch = xp[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w) + b
    return out


if __name__ == "__main__":
    main()
