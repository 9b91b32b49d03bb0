"""LeNet-5-sized CNN written with onnx.helper, on sklearn digits upsampled to 28x28.

input `input` [N,1,28,28] (dynamic batch N), pixels in [0, 1]
Conv(1->6, 5x5, pad 2) + Relu + MaxPool 2x2
Conv(6->16, 5x5) + Relu + MaxPool 2x2 + Flatten (400)
Gemm(400->120) + Relu + Gemm(120->84) + Relu + Gemm(84->10) -> `logits` [N,10]

No torch here: the convs and the first Gemm are fixed-seed He-initialized random features
(frozen); the last two Gemms are an sklearn MLPClassifier (hidden 84, relu) trained on the frozen
120-d features computed with onnxruntime. input.json holds the first 256 test rows (size limit).
Run: .venv/bin/python testdata/models/lenet/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

import common  # noqa: E402

N_INPUT = 256


def he(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def build(params, features_only=False):
    t = {k: numpy_helper.from_array(v.astype(np.float32), k) for k, v in params.items()}
    n = helper.make_node
    nodes = [
        n("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"], name="Conv_1",
          kernel_shape=[5, 5], pads=[2, 2, 2, 2]),
        n("Relu", ["c1"], ["r1"], name="Relu_1"),
        n("MaxPool", ["r1"], ["p1"], name="MaxPool_1", kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["p1", "conv2.weight", "conv2.bias"], ["c2"], name="Conv_2", kernel_shape=[5, 5]),
        n("Relu", ["c2"], ["r2"], name="Relu_2"),
        n("MaxPool", ["r2"], ["p2"], name="MaxPool_2", kernel_shape=[2, 2], strides=[2, 2]),
        n("Flatten", ["p2"], ["flat"], name="Flatten_1", axis=1),
        n("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["f1"], name="Gemm_1", transB=1),
        n("Relu", ["f1"], ["feat"], name="Relu_3"),
    ]
    used = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias"]
    if features_only:
        out = helper.make_tensor_value_info("feat", TensorProto.FLOAT, ["N", 120])
    else:
        nodes += [
            n("Gemm", ["feat", "fc2.weight", "fc2.bias"], ["f2"], name="Gemm_2", transB=1),
            n("Relu", ["f2"], ["r4"], name="Relu_4"),
            n("Gemm", ["r4", "fc3.weight", "fc3.bias"], ["logits"], name="Gemm_3", transB=1),
        ]
        used += ["fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]
        out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])
    graph = helper.make_graph(
        nodes,
        "lenet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [out],
        initializer=[t[k] for k in used],
    )
    return common.make_model(graph)


def main():
    xtr, xte, ytr, yte = common.digits_split()
    xtr = common.upsample28(xtr).reshape(-1, 1, 28, 28)
    xte = common.upsample28(xte).reshape(-1, 1, 28, 28)
    rng = np.random.default_rng(common.SEED)
    p = {
        "conv1.weight": he(rng, (6, 1, 5, 5), 25),
        "conv1.bias": np.zeros(6, np.float32),
        "conv2.weight": he(rng, (16, 6, 5, 5), 150),
        "conv2.bias": np.zeros(16, np.float32),
        "fc1.weight": he(rng, (120, 400), 400),
        "fc1.bias": np.zeros(120, np.float32),
    }
    feat_path = os.path.join(here, "features.onnx.tmp")
    common.save_model(build(p, features_only=True), feat_path)
    ftr = common.run(feat_path, {"input": xtr})["feat"]
    # Rescale the frozen fc1 so the features have unit mean std (Relu commutes with a positive
    # scale), which keeps the trained head well conditioned.
    s = np.float32(1.0 / ftr.std(axis=0).mean())
    p["fc1.weight"] = (p["fc1.weight"] * s).astype(np.float32)
    common.save_model(build(p, features_only=True), feat_path)
    ftr = common.run(feat_path, {"input": xtr})["feat"]
    os.remove(feat_path)

    clf = MLPClassifier(
        hidden_layer_sizes=(84,), activation="relu", alpha=1e-3, max_iter=2000,
        random_state=common.SEED,
    )
    clf.fit(ftr, ytr)
    p["fc2.weight"], p["fc2.bias"] = clf.coefs_[0].T, clf.intercepts_[0]
    p["fc3.weight"], p["fc3.bias"] = clf.coefs_[1].T, clf.intercepts_[1]
    path = os.path.join(here, "model.onnx")
    common.save_model(build(p), path)

    full = common.run(path, {"input": xte})["logits"]
    outs = common.write_fixture(
        here, path, "input", common.calibration_rows(xtr, 64), xte[:N_INPUT], labels=yte[:N_INPUT]
    )
    acc_full = common.accuracy(full.argmax(1), yte)
    acc_in = common.accuracy(outs["logits"].argmax(1), yte[:N_INPUT])
    common.report(
        here,
        f"test accuracy {acc_full:.4f} on {len(yte)} rows ({acc_in:.4f} on the {N_INPUT} in input.json)",
    )


if __name__ == "__main__":
    main()
