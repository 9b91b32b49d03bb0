"""A CNN whose image size is symbolic (height, width): vouch binds it at import.

input `image` [N,3,height,width]: sklearn digits (0..16 / 16) as three channels (the image,
its transpose, its complement), 8x8
Conv(3->4, 3x3, pad 1) + Relu, GlobalAveragePool, Flatten      [N,4]
Gemm(4->3, transB) -> `logits`                                 [N,3]
Run: .venv/bin/python testdata/models/symbolic_size_cnn/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import common  # noqa: E402


def images(x64):
    img = (x64 / 16.0).reshape(-1, 8, 8)
    return np.stack([img, img.transpose(0, 2, 1), 1.0 - img], axis=1).astype(np.float32)


def main():
    rng = np.random.default_rng(common.SEED)
    consts = {
        "conv.weight": (rng.standard_normal((4, 3, 3, 3)) * np.sqrt(2.0 / 27)).astype(np.float32),
        "conv.bias": rng.uniform(-0.1, 0.1, 4).astype(np.float32),
        "fc.weight": (rng.standard_normal((3, 4)) * 0.5).astype(np.float32),
        "fc.bias": rng.uniform(-0.1, 0.1, 3).astype(np.float32),
    }
    n = helper.make_node
    nodes = [
        n("Conv", ["image", "conv.weight", "conv.bias"], ["c"], name="conv",
          kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        n("Relu", ["c"], ["r"], name="relu"),
        n("GlobalAveragePool", ["r"], ["g"], name="gap"),
        n("Flatten", ["g"], ["f"], name="flatten", axis=1),
        n("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "symbolic_size_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "height", "width"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])],
        initializer=[numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    path = os.path.join(here, "model.onnx")
    common.save_model(common.make_model(graph), path)

    xtr, xte, _, _ = common.digits_split()
    x_cal = images(common.calibration_rows(xtr, 48))
    x_in = images(xte[:16])
    outs = common.write_fixture(here, path, "image", x_cal, x_in)
    lg = outs["logits"]
    common.report(here, f"{len(x_in)} input rows of 8x8, logits in [{lg.min():.3f}, {lg.max():.3f}]")


if __name__ == "__main__":
    main()
