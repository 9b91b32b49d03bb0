"""A CNN as torch.onnx.export writes it without dynamic_axes: batch fixed at 1, Reshape to a literal batch, a batch-1 constant concatenated.

input `input` [1,1,8,8] (batch fixed at 1): sklearn digits scaled to [0, 1]
Conv(1->4, 3x3, pad 1) + Relu                                 [1,4,8,8]
Reshape to [1, 4, 64] then [1, 4, 8, 8] (x.view(1, 4, -1), x.view(1, 4, 8, 8))
MaxPool 2x2                                                   [1,4,4,4]
Reshape to [1, -1] (x.view(1, -1))                            [1,64]
Concat(a constant [1,6] (a learned token), it; axis 1)        [1,70]
Gemm(70->10, transB) -> `logits`, Softmax -> `probs`          [1,10]
onnxruntime runs it one row at a time (it refuses any other batch); calibration.json and
input.json hold many rows, expected.json the rows' outputs end to end.
Run: .venv/bin/python testdata/models/fixed_batch_cnn/gen.py
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
    consts = {
        "conv.weight": (rng.standard_normal((4, 1, 3, 3)) * np.sqrt(2.0 / 9)).astype(np.float32),
        "conv.bias": rng.uniform(-0.1, 0.1, 4).astype(np.float32),
        "fc.weight": (rng.standard_normal((10, 70)) * np.sqrt(1.0 / 70)).astype(np.float32),
        "fc.bias": rng.uniform(-0.1, 0.1, 10).astype(np.float32),
        "shape1": np.array([1, 4, 64], np.int64),
        "shape2": np.array([1, 4, 8, 8], np.int64),
        "shape3": np.array([1, -1], np.int64),
        "token": rng.uniform(-1.0, 1.0, (1, 6)).astype(np.float32),
    }
    n = helper.make_node
    nodes = [
        n("Conv", ["input", "conv.weight", "conv.bias"], ["c"], name="/conv/Conv",
          kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        n("Relu", ["c"], ["r"], name="/relu/Relu"),
        n("Reshape", ["r", "shape1"], ["v1"], name="/Reshape"),
        n("Reshape", ["v1", "shape2"], ["v2"], name="/Reshape_1"),
        n("MaxPool", ["v2"], ["p"], name="/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        n("Reshape", ["p", "shape3"], ["f"], name="/Reshape_2"),
        n("Concat", ["token", "f"], ["t"], name="/Concat", axis=1),
        n("Gemm", ["t", "fc.weight", "fc.bias"], ["logits"], name="/fc/Gemm", transB=1),
        n("Softmax", ["logits"], ["probs"], name="/Softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "fixed_batch_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10]),
            helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10]),
        ],
        initializer=[numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    path = os.path.join(here, "model.onnx")
    common.save_model(common.make_model(graph), path)

    xtr, xte, _, yte = common.digits_split()
    x_cal = (common.calibration_rows(xtr, 32) / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    x_in = (xte[:16] / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    common.tensors_json(os.path.join(here, "calibration.json"), {"input": x_cal})
    common.tensors_json(os.path.join(here, "input.json"), {"input": x_in})
    rows = [common.run(path, {"input": x_in[i : i + 1]}) for i in range(len(x_in))]
    outs = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
    common.tensors_json(os.path.join(here, "expected.json"), outs)
    p = outs["probs"]
    common.report(here, f"{len(x_in)} input rows run one by one, probs in [{p.min():.3f}, {p.max():.3f}]")


if __name__ == "__main__":
    main()
