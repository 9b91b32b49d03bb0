"""A CNN whose output channels' weight ranges differ by 1000x, as folding batch norms into convolutions makes them.

input `input` [N,1,8,8]: sklearn digits scaled to [0, 1]
Conv(1->8, 3x3, pad 1) + Relu; channel c's weights scaled by 10^(-3c/7)        [N,8,8,8]
Conv(8->8, 3x3, stride 2, pad 1) + Relu; the same spread                        [N,8,4,4]
Flatten                                                                        [N,128]
Gemm(128->16, transB) + Relu; row r's weights scaled by 10^(-3r/15)             [N,16]
Gemm(16->10, transB) -> `logits`, Softmax -> `probs`                            [N,10]
Each scaled channel's bias is scaled with it (a folded batch norm's nearly dead channels): per-
tensor weight scales would keep the smallest channels' weights to a few steps (docs/semantics.md
section 5, per-channel weights). The Gemm's fan-in, 128, is over the 64 a Linear's plain one-step
check takes, so a dispute on it plays the partial-sum game (section 8.4).
Run: .venv/bin/python testdata/models/per_channel_cnn/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import common  # noqa: E402


def spread(n, decades=3.0):
    """Per-channel factors from 1 down to 10^-decades."""
    return (10.0 ** (-decades * np.arange(n) / (n - 1))).astype(np.float32)


def main():
    rng = np.random.default_rng(common.SEED)
    s8, s16 = spread(8), spread(16)
    w1 = rng.standard_normal((8, 1, 3, 3)) * np.sqrt(2.0 / 9) * s8[:, None, None, None]
    b1 = rng.uniform(-0.1, 0.1, 8) * s8
    w2 = rng.standard_normal((8, 8, 3, 3)) * np.sqrt(2.0 / 72) * s8[:, None, None, None]
    b2 = rng.uniform(-0.1, 0.1, 8) * s8
    w3 = rng.standard_normal((16, 128)) * np.sqrt(2.0 / 128) * s16[:, None]
    b3 = rng.uniform(-0.1, 0.1, 16) * s16
    w4 = rng.standard_normal((10, 16)) * np.sqrt(1.0 / 16) * 400.0
    b4 = rng.uniform(-0.1, 0.1, 10)
    consts = {
        "conv1.weight": w1, "conv1.bias": b1, "conv2.weight": w2, "conv2.bias": b2,
        "fc1.weight": w3, "fc1.bias": b3, "fc2.weight": w4, "fc2.bias": b4,
    }
    consts = {k: v.astype(np.float32) for k, v in consts.items()}
    n = helper.make_node
    nodes = [
        n("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"], name="/conv1/Conv",
          kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        n("Relu", ["c1"], ["r1"], name="/relu1/Relu"),
        n("Conv", ["r1", "conv2.weight", "conv2.bias"], ["c2"], name="/conv2/Conv",
          kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
        n("Relu", ["c2"], ["r2"], name="/relu2/Relu"),
        n("Flatten", ["r2"], ["f"], name="/Flatten"),
        n("Gemm", ["f", "fc1.weight", "fc1.bias"], ["h"], name="/fc1/Gemm", transB=1),
        n("Relu", ["h"], ["hr"], name="/relu3/Relu"),
        n("Gemm", ["hr", "fc2.weight", "fc2.bias"], ["logits"], name="/fc2/Gemm", transB=1),
        n("Softmax", ["logits"], ["probs"], name="/Softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "per_channel_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10]),
            helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 10]),
        ],
        initializer=[numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    path = os.path.join(here, "model.onnx")
    common.save_model(common.make_model(graph), path)

    xtr, xte, _, _ = common.digits_split()
    x_cal = (common.calibration_rows(xtr, 64) / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    x_in = (xte[:16] / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    common.write_fixture(here, path, "input", x_cal, x_in)
    p = common.run(path, {"input": x_in})["probs"]
    common.report(here, f"{len(x_in)} input rows, probs in [{p.min():.3f}, {p.max():.3f}]")


if __name__ == "__main__":
    main()
