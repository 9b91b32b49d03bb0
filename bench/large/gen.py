"""Writes the large models of the engine benchmark to bench/out/large/<name>/ in the layout of
testdata/models/<name>/ (model.onnx, calibration.json, input.json):

  resnet50   torchvision's ResNet-50 (v1.5: stride on the 3x3 convolutions) built node by node
             with onnx.helper, 25.6M parameters, He-initialized seeded random weights with
             BatchNormalization nodes as exported (the importer folds them), input [N, 3, 224, 224]
  vgg19      torchvision's VGG-19 layout built the same way: 16 3x3 convolutions with ReLU, 5 max
             pools, the 25088-4096-4096-1000 classifier (ReLU between), 143.7M parameters (575 MB
             of f32), He-initialized seeded random weights, input [N, 3, 224, 224]; it measures
             the importer's peak memory (issue 15: under 4 GiB)
  lstm_kws   a keyword-spotting-sized LSTM (layout 0 as onnxruntime requires: 50 frames of 40
             features, hidden 64, forward, a Gemm head over the last state and a Sigmoid),
             seeded random weights, input [N, 50, 40] (transposed to the sequence-first layout)
  yolov8n    the YOLOv8n detector NudeNet ships (nudenet 320n.onnx, 3.0M parameters, input
             [N, 3, 320, 320]: its symbolic height and width bound to 320), copied from the
             production survey's download cache when present (bench/production/run.sh fetches it)

Weights are random (no trained weights can be fetched here), which leaves the throughput and
memory measured unchanged. Calibration: 4 seeded random images; input: 2 more.

Usage (any python3; re-runs itself under the repo's venv): python3 bench/large/gen.py [NAME...]
(every model when no name is given)
"""

import glob
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
if os.path.realpath(sys.prefix) != os.path.realpath(os.path.join(ROOT, ".venv")):
    py = subprocess.check_output([os.path.join(ROOT, "scripts", "pyenv.sh")], text=True).strip()
    os.execv(py, [py, os.path.abspath(__file__), *sys.argv[1:]])

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

OUT = os.path.join(ROOT, "bench", "out", "large")


class Builder:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, kind):
        self.n += 1
        return f"{kind}{self.n}"

    def const(self, kind, arr):
        n = self.name(kind)
        self.inits.append(numpy_helper.from_array(arr.astype(np.float32), n))
        return n

    def conv_bn(self, x, c_in, c_out, k, stride, relu=True):
        fan_in = c_in * k * k
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (c_out, c_in, k, k))
        y = self.name("conv")
        self.nodes.append(helper.make_node(
            "Conv", [x, self.const("w", w)], [y], name=y, kernel_shape=[k, k],
            strides=[stride, stride], pads=[k // 2] * 4))
        bn = self.name("bn")
        scale = self.rng.uniform(0.5, 1.0, c_out)
        bias = self.rng.normal(0, 0.05, c_out)
        mean = self.rng.normal(0, 0.05, c_out)
        var = self.rng.uniform(0.8, 1.2, c_out)
        self.nodes.append(helper.make_node(
            "BatchNormalization",
            [y, self.const("g", scale), self.const("b", bias), self.const("m", mean),
             self.const("v", var)], [bn], name=bn, epsilon=1e-5))
        if not relu:
            return bn
        r = self.name("relu")
        self.nodes.append(helper.make_node("Relu", [bn], [r], name=r))
        return r

    def bottleneck(self, x, c_in, width, stride):
        c_out = width * 4
        y = self.conv_bn(x, c_in, width, 1, 1)
        y = self.conv_bn(y, width, width, 3, stride)
        y = self.conv_bn(y, width, c_out, 1, 1, relu=False)
        short = x if (stride == 1 and c_in == c_out) else self.conv_bn(x, c_in, c_out, 1, stride, relu=False)
        s = self.name("add")
        self.nodes.append(helper.make_node("Add", [y, short], [s], name=s))
        r = self.name("relu")
        self.nodes.append(helper.make_node("Relu", [s], [r], name=r))
        return r


def resnet50():
    b = Builder(50)
    x = b.conv_bn("input", 3, 64, 7, 2)
    p = b.name("pool")
    b.nodes.append(helper.make_node("MaxPool", [x], [p], name=p, kernel_shape=[3, 3],
                                    strides=[2, 2], pads=[1, 1, 1, 1]))
    x, c = p, 64
    for width, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        for i in range(blocks):
            x = b.bottleneck(x, c, width, stride if i == 0 else 1)
            c = width * 4
    g = b.name("gap")
    b.nodes.append(helper.make_node("GlobalAveragePool", [x], [g], name=g))
    f = b.name("flatten")
    b.nodes.append(helper.make_node("Flatten", [g], [f], name=f, axis=1))
    w = b.rng.normal(0, np.sqrt(1.0 / 2048), (1000, 2048))
    b.nodes.append(helper.make_node("Gemm", [f, b.const("fc_w", w), b.const("fc_b", np.zeros(1000))],
                                    ["logits"], name="fc", transB=1))
    graph = helper.make_graph(
        b.nodes, "resnet50",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])],
        b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def vgg19():
    b = Builder(19)
    x, c = "input", 3
    for stage in [[64] * 2, [128] * 2, [256] * 4, [512] * 4, [512] * 4]:
        for c_out in stage:
            w = b.rng.normal(0, np.sqrt(2.0 / (c * 9)), (c_out, c, 3, 3))
            y = b.name("conv")
            b.nodes.append(helper.make_node(
                "Conv", [x, b.const("w", w), b.const("b", np.zeros(c_out))], [y], name=y,
                kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
            x = b.name("relu")
            b.nodes.append(helper.make_node("Relu", [y], [x], name=x))
            c = c_out
        p = b.name("pool")
        b.nodes.append(helper.make_node("MaxPool", [x], [p], name=p, kernel_shape=[2, 2],
                                        strides=[2, 2]))
        x = p
    f = b.name("flatten")
    b.nodes.append(helper.make_node("Flatten", [x], [f], name=f, axis=1))
    x = f
    dims = [c * 7 * 7, 4096, 4096, 1000]
    for i, (d_in, d_out) in enumerate(zip(dims, dims[1:])):
        last = i == len(dims) - 2
        w = b.rng.normal(0, np.sqrt(2.0 / d_in), (d_out, d_in))
        y = "logits" if last else b.name("fc")
        b.nodes.append(helper.make_node(
            "Gemm", [x, b.const("fc_w", w), b.const("fc_b", np.zeros(d_out))], [y], name=f"fc{i}",
            transB=1))
        if not last:
            x = b.name("relu")
            b.nodes.append(helper.make_node("Relu", [y], [x], name=x))
    graph = helper.make_graph(
        b.nodes, "vgg19",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])],
        b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def lstm_kws(frames=50, feats=40, hidden=64):
    rng = np.random.default_rng(64)
    a = 1 / np.sqrt(hidden)
    inits = [numpy_helper.from_array(x.astype(np.float32), n) for n, x in [
        ("W", rng.uniform(-a, a, (1, 4 * hidden, feats))),
        ("R", rng.uniform(-a, a, (1, 4 * hidden, hidden))),
        ("B", rng.uniform(-a, a, (1, 8 * hidden))),
        ("head_w", rng.uniform(-a, a, (1, hidden))),
        ("head_b", np.zeros(1)),
    ]]
    nodes = [
        helper.make_node("Transpose", ["frames"], ["seq"], name="to_seq", perm=[1, 0, 2]),
        helper.make_node("LSTM", ["seq", "W", "R", "B"], ["", "Y_h"], name="lstm",
                         hidden_size=hidden),
        helper.make_node("Transpose", ["Y_h"], ["h_b"], name="to_batch", perm=[1, 0, 2]),
        helper.make_node("Flatten", ["h_b"], ["state"], name="flatten", axis=1),
        helper.make_node("Gemm", ["state", "head_w", "head_b"], ["logit"], name="head", transB=1),
        helper.make_node("Sigmoid", ["logit"], ["keyword"], name="prob"),
    ]
    graph = helper.make_graph(
        nodes, "lstm_kws",
        [helper.make_tensor_value_info("frames", TensorProto.FLOAT, ["N", frames, feats])],
        [helper.make_tensor_value_info("keyword", TensorProto.FLOAT, ["N", 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def features(seed, n, shape):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, (n, *shape)).astype(np.float32).round(3)


def images(seed, n, shape):
    rng = np.random.default_rng(seed)
    # ImageNet-normalized pixels of smooth random images (a noise image per channel, blurred)
    x = rng.uniform(0, 1, (n, *shape)).astype(np.float32)
    x = (x + np.roll(x, 1, -1) + np.roll(x, 1, -2) + np.roll(x, (1, 1), (-1, -2))) / 4
    return ((x - 0.45) / 0.225).round(3)


def write(name, model_bytes, input_name, shape, data=None):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(model_bytes)
    for file, seed, n in [("calibration.json", 1, 4), ("input.json", 2, 2)]:
        with open(os.path.join(d, file), "w") as f:
            json.dump({input_name: (data or images)(seed, n, shape).tolist()}, f)
    print(f"{name}: {os.path.join(d, 'model.onnx')}")


def main(names):
    makers = {
        "resnet50": lambda: write("resnet50", resnet50().SerializeToString(), "input", (3, 224, 224)),
        "vgg19": lambda: write("vgg19", vgg19().SerializeToString(), "input", (3, 224, 224)),
        "lstm_kws": lambda: write("lstm_kws", lstm_kws().SerializeToString(), "frames", (50, 40),
                                  features),
        "yolov8n": yolov8n,
    }
    unknown = [n for n in names if n not in makers]
    if unknown:
        sys.exit(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(makers)}")
    for name in names or makers:
        makers[name]()


def yolov8n():
    cached = glob.glob(os.path.join(ROOT, "bench", "out", "production", "models", "nudenet", "**",
                                    "320n.onnx"), recursive=True)
    if cached:
        m = onnx.load(cached[0])
        # the export leaves height and width symbolic; bind them to the 320x320 it was trained
        # at (the importer sizes symbolic axes other than the batch from --shape or the rows)
        for dim, size in zip(m.graph.input[0].type.tensor_type.shape.dim[2:], (320, 320)):
            if dim.HasField("dim_param"):
                dim.dim_value = size
        write("yolov8n", m.SerializeToString(), m.graph.input[0].name, (3, 320, 320))
    else:
        print("yolov8n: not in bench/out/production (run bench/production/run.sh --only nudenet)")


if __name__ == "__main__":
    main(sys.argv[1:])
