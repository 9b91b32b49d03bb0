"""A row of a computed tensor picked by the ArgMax of another head (one row per execution).

input `x` [1,8] float (axis 0 fixed at 1: the engine runs rows one by one)
Gemm(8->12) + Relu, Reshape                  h [1,4,3]   four candidate rows
Gemm(8->4)                                   `scores` [1,4]
ArgMax(scores, axis 1, keepdims 0)           [1] int64
Gather(h, argmax, axis 1)                    `picked` [1,1,3]: the computed row the ArgMax names
Run: .venv/bin/python testdata/models/gather_argmax/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import common  # noqa: E402


def main():
    rng = np.random.default_rng(common.SEED)
    w1 = (rng.standard_normal((12, 8)) * 0.5).astype(np.float32)
    b1 = rng.uniform(-0.2, 0.2, 12).astype(np.float32)
    w2 = (rng.standard_normal((4, 8)) * 0.5).astype(np.float32)
    b2 = rng.uniform(-0.2, 0.2, 4).astype(np.float32)
    n = helper.make_node
    nodes = [
        n("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h1"], name="fc1", transB=1),
        n("Relu", ["h1"], ["r1"], name="relu1"),
        n("Reshape", ["r1", "shape"], ["h"], name="rows"),
        n("Gemm", ["x", "fc2.weight", "fc2.bias"], ["scores"], name="fc2", transB=1),
        n("ArgMax", ["scores"], ["best"], name="argmax", axis=1, keepdims=0),
        n("Gather", ["h", "best"], ["picked"], name="pick", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "gather_argmax",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 4]),
            helper.make_tensor_value_info("picked", TensorProto.FLOAT, [1, 1, 3]),
        ],
        initializer=[
            numpy_helper.from_array(w1, "fc1.weight"),
            numpy_helper.from_array(b1, "fc1.bias"),
            numpy_helper.from_array(w2, "fc2.weight"),
            numpy_helper.from_array(b2, "fc2.bias"),
            numpy_helper.from_array(np.array([1, 4, 3], np.int64), "shape"),
        ],
    )
    path = os.path.join(here, "model.onnx")
    common.save_model(common.make_model(graph), path)

    cal = rng.uniform(-1.0, 1.0, (64, 8)).astype(np.float32)
    x = rng.uniform(-1.0, 1.0, (1, 8)).astype(np.float32)
    common.tensors_json(os.path.join(here, "calibration.json"), {"x": cal})
    common.tensors_json(os.path.join(here, "input.json"), {"x": x})
    outs = common.run(path, {"x": x})
    common.tensors_json(os.path.join(here, "expected.json"), outs)
    common.report(here, f"1 input row, ArgMax {int(outs['scores'].argmax())}, picked "
                        f"{np.round(outs['picked'].ravel(), 3).tolist()}")


if __name__ == "__main__":
    main()
