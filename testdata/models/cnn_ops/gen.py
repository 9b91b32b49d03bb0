"""Small CNN written with onnx.helper exercising many ops, random fixed-seed weights.

input `input` [N,3,12,12] (dynamic batch N), standard-normal fixed-seed rows
Conv(3->8, 3x3, pad 1) + BatchNormalization + LeakyRelu(0.1)
  a: Conv(8->8, 3x3, group 4, dilation 2, pad 2) + Sigmoid + AveragePool 2x2   [N,8,6,6]
  b: Conv(8->8, 3x3, stride 2, pad 1) + Tanh                                   [N,8,6,6]
Concat(a, b) [N,16,6,6]; Sub(c) Mul(c) Add(c) Div(scalar c) elementwise with constants
  g: GlobalAveragePool + Squeeze(2,3) + Unsqueeze(1)                            [N,1,16]
  t: Transpose(0,2,3,1) + Reshape(0,36,16)                                     [N,36,16]
Add(t, g) + MatMul(16->4) + Identity + Dropout(inference) + Flatten            [N,144]
Gemm(144->10) + Clip(-6, 6) -> `logits`; Softmax -> `probs`; ArgMax(axis 1) -> `label` (int64)
Run: .venv/bin/python testdata/models/cnn_ops/gen.py
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

    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    def uni(shape, lo, hi):
        return rng.uniform(lo, hi, shape).astype(np.float32)

    consts = {
        "conv1.weight": he((8, 3, 3, 3), 27),
        "conv1.bias": uni(8, -0.1, 0.1),
        "bn.scale": uni(8, 0.5, 1.5),
        "bn.bias": uni(8, -0.2, 0.2),
        "bn.mean": uni(8, -0.3, 0.3),
        "bn.var": uni(8, 0.5, 2.0),
        "conv_g.weight": he((8, 2, 3, 3), 18),
        "conv_g.bias": uni(8, -0.1, 0.1),
        "conv_s.weight": he((8, 8, 3, 3), 72),
        "conv_s.bias": uni(8, -0.1, 0.1),
        "sub.c": uni((1, 16, 1, 1), -0.2, 0.2),
        "mul.c": uni((1, 16, 1, 1), 0.5, 2.0),
        "add.c": uni((16, 6, 6), -0.1, 0.1),
        "div.c": np.array(0.75, np.float32),
        "proj.weight": he((16, 4), 16),
        "fc.weight": he((10, 144), 144),
        "fc.bias": uni(10, -0.1, 0.1),
        "clip.min": np.array(-6.0, np.float32),
        "clip.max": np.array(6.0, np.float32),
        "squeeze.axes": np.array([2, 3], np.int64),
        "unsqueeze.axes": np.array([1], np.int64),
        "reshape.shape": np.array([0, 36, 16], np.int64),
    }
    n = helper.make_node
    nodes = [
        n("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"], name="conv1",
          kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        n("BatchNormalization", ["c1", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["bn1"],
          name="bn1", epsilon=1e-5),
        n("LeakyRelu", ["bn1"], ["l1"], name="leaky1", alpha=0.1),
        n("Conv", ["l1", "conv_g.weight", "conv_g.bias"], ["cg"], name="conv_grouped_dilated",
          kernel_shape=[3, 3], pads=[2, 2, 2, 2], dilations=[2, 2], group=4),
        n("Sigmoid", ["cg"], ["sg"], name="sigmoid1"),
        n("AveragePool", ["sg"], ["ap"], name="avgpool1", kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["l1", "conv_s.weight", "conv_s.bias"], ["cs"], name="conv_strided",
          kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
        n("Tanh", ["cs"], ["th"], name="tanh1"),
        n("Concat", ["ap", "th"], ["cat"], name="concat1", axis=1),
        n("Sub", ["cat", "sub.c"], ["e1"], name="sub1"),
        n("Mul", ["e1", "mul.c"], ["e2"], name="mul1"),
        n("Add", ["e2", "add.c"], ["e3"], name="add1"),
        n("Div", ["e3", "div.c"], ["e4"], name="div1"),
        n("GlobalAveragePool", ["e4"], ["gap"], name="gap1"),
        n("Squeeze", ["gap", "squeeze.axes"], ["sq"], name="squeeze1"),
        n("Unsqueeze", ["sq", "unsqueeze.axes"], ["usq"], name="unsqueeze1"),
        n("Transpose", ["e4"], ["tr"], name="transpose1", perm=[0, 2, 3, 1]),
        n("Reshape", ["tr", "reshape.shape"], ["rs"], name="reshape1"),
        n("Add", ["rs", "usq"], ["rsg"], name="add_broadcast"),
        n("MatMul", ["rsg", "proj.weight"], ["mm"], name="matmul1"),
        n("Identity", ["mm"], ["id1"], name="identity1"),
        n("Dropout", ["id1"], ["dr"], name="dropout1"),
        n("Flatten", ["dr"], ["fl"], name="flatten1", axis=1),
        n("Gemm", ["fl", "fc.weight", "fc.bias"], ["fc"], name="fc", transB=1),
        n("Clip", ["fc", "clip.min", "clip.max"], ["logits"], name="clip1"),
        n("Softmax", ["logits"], ["probs"], name="softmax1", axis=-1),
        n("ArgMax", ["logits"], ["label"], name="argmax1", axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn_ops",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 12, 12])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10]),
            helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 10]),
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
        ],
        initializer=[numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    path = os.path.join(here, "model.onnx")
    common.save_model(common.make_model(graph), path)

    x_cal = np.round(rng.standard_normal((64, 3, 12, 12)), 3).astype(np.float32)
    x_in = np.round(rng.standard_normal((32, 3, 12, 12)), 3).astype(np.float32)
    outs = common.write_fixture(here, path, "input", x_cal, x_in)
    lg = outs["logits"]
    common.report(
        here,
        f"{len(x_in)} input rows, logits in [{lg.min():.2f}, {lg.max():.2f}], "
        f"{len(np.unique(outs['label']))} distinct labels",
    )


if __name__ == "__main__":
    main()
