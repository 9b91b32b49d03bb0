"""An embedding lookup of int64 token ids, a small MLP, and a row picked by its ArgMax.

input `ids` [N,6] int64: token ids in 0..19 (an exact integer input)
Gather(embedding [20,8], ids)                 [N,6,8]   computed index into a constant table
Flatten, Gemm(48->16) + Relu, Gemm(16->4)     `scores` [N,4]
ArgMax(scores, axis 1)                        [N] int64
Gather(prototypes [4,3], argmax)              `proto` [N,3]: the row the ArgMax picks
Run: .venv/bin/python testdata/models/gather_embed/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import common  # noqa: E402

VOCAB, SEQ, DIM, HIDDEN, CLASSES = 20, 6, 8, 16, 4


def main():
    rng = np.random.default_rng(common.SEED)
    emb = rng.standard_normal((VOCAB, DIM)).astype(np.float32)
    w1 = (rng.standard_normal((HIDDEN, SEQ * DIM)) * 0.2).astype(np.float32)
    b1 = rng.uniform(-0.2, 0.2, HIDDEN).astype(np.float32)
    w2 = (rng.standard_normal((CLASSES, HIDDEN)) * 0.4).astype(np.float32)
    b2 = rng.uniform(-0.2, 0.2, CLASSES).astype(np.float32)
    proto = rng.uniform(-1.0, 1.0, (CLASSES, 3)).astype(np.float32)
    n = helper.make_node
    nodes = [
        n("Gather", ["embedding", "ids"], ["e"], name="embed", axis=0),
        n("Flatten", ["e"], ["h0"], name="flatten", axis=1),
        n("Gemm", ["h0", "fc1.weight", "fc1.bias"], ["h1"], name="fc1", transB=1),
        n("Relu", ["h1"], ["r1"], name="relu1"),
        n("Gemm", ["r1", "fc2.weight", "fc2.bias"], ["scores"], name="fc2", transB=1),
        n("ArgMax", ["scores"], ["cls"], name="argmax", axis=1, keepdims=0),
        n("Gather", ["prototypes", "cls"], ["proto"], name="pick", axis=0),
    ]
    graph = helper.make_graph(
        nodes,
        "gather_embed",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", SEQ])],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", CLASSES]),
            helper.make_tensor_value_info("proto", TensorProto.FLOAT, ["N", 3]),
        ],
        initializer=[
            numpy_helper.from_array(emb, "embedding"),
            numpy_helper.from_array(w1, "fc1.weight"),
            numpy_helper.from_array(b1, "fc1.bias"),
            numpy_helper.from_array(w2, "fc2.weight"),
            numpy_helper.from_array(b2, "fc2.bias"),
            numpy_helper.from_array(proto, "prototypes"),
        ],
    )
    path = os.path.join(here, "model.onnx")
    common.save_model(common.make_model(graph), path)

    cal = rng.integers(0, VOCAB, (128, SEQ)).astype(np.int64)
    cal[0, :] = VOCAB - 1  # the calibration reaches the largest id
    ids = rng.integers(0, VOCAB, (16, SEQ)).astype(np.int64)
    common.tensors_json(os.path.join(here, "calibration.json"), {"ids": cal})
    common.tensors_json(os.path.join(here, "input.json"), {"ids": ids})
    outs = common.run(path, {"ids": ids})
    common.tensors_json(os.path.join(here, "expected.json"), outs)
    sc = outs["scores"]
    classes = np.bincount(sc.argmax(axis=1), minlength=CLASSES).tolist()
    common.report(here, f"{len(ids)} input rows, scores in [{sc.min():.3f}, {sc.max():.3f}], "
                        f"classes picked {classes}")


if __name__ == "__main__":
    main()
