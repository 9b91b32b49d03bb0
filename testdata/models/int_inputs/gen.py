"""Integer and boolean graph inputs, and an input bound to a constant at import.

input `pixels` [N,64] int64: sklearn digits' pixel counts (integers 0..16), read exactly
input `inverted` [N,1] bool: whether the row's pixels are complemented (16 - p)
input `sr` int64 scalar: a sample rate, bound at import (`--const sr=16000`), as silero-vad
    reads its `sr`; If(sr == 16000) picks the gain 1/16, else 1/8 (both branches constants)
Cast(pixels) -> float, Cast(inverted) -> float, Concat   [N,65]
Gemm(65->10, transB) * gain -> `logits`                  [N,10]
calibration.json / input.json hold `pixels` and `inverted` only; expected.json is
onnxruntime's output with sr = 16000.
Run: .venv/bin/python testdata/models/int_inputs/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import common  # noqa: E402


def gain_branch(name, value):
    t = numpy_helper.from_array(np.array(value, np.float32), name + "_value")
    node = helper.make_node("Constant", [], [name], name=name, value=t)
    out = helper.make_tensor_value_info(name, TensorProto.FLOAT, [])
    return helper.make_graph([node], name, [], [out])


def rows(x64, rng):
    pixels = x64.astype(np.int64)
    inverted = rng.random((len(pixels), 1)) < 0.3
    pixels = np.where(inverted, 16 - pixels, pixels)
    return pixels, inverted


def main():
    rng = np.random.default_rng(common.SEED)
    w = (rng.standard_normal((10, 65)) * 0.25).astype(np.float32)
    b = rng.uniform(-0.5, 0.5, 10).astype(np.float32)
    n = helper.make_node
    nodes = [
        n("Cast", ["pixels"], ["x"], name="cast_pixels", to=TensorProto.FLOAT),
        n("Cast", ["inverted"], ["f"], name="cast_inverted", to=TensorProto.FLOAT),
        n("Concat", ["x", "f"], ["h"], name="concat", axis=1),
        n("Gemm", ["h", "fc.weight", "fc.bias"], ["z"], name="fc", transB=1),
        n("Equal", ["sr", "rate16k"], ["is16k"], name="is16k"),
        n("If", ["is16k"], ["gain"], name="gain",
          then_branch=gain_branch("gain16k", 1.0 / 16), else_branch=gain_branch("gain8k", 1.0 / 8)),
        n("Mul", ["z", "gain"], ["logits"], name="scale"),
    ]
    graph = helper.make_graph(
        nodes,
        "int_inputs",
        [
            helper.make_tensor_value_info("pixels", TensorProto.INT64, ["N", 64]),
            helper.make_tensor_value_info("inverted", TensorProto.BOOL, ["N", 1]),
            helper.make_tensor_value_info("sr", TensorProto.INT64, []),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        initializer=[
            numpy_helper.from_array(w, "fc.weight"),
            numpy_helper.from_array(b, "fc.bias"),
            numpy_helper.from_array(np.array(16000, np.int64), "rate16k"),
        ],
    )
    path = os.path.join(here, "model.onnx")
    common.save_model(common.make_model(graph), path)

    xtr, xte, _, _ = common.digits_split()
    cal_pixels, cal_inverted = rows(common.calibration_rows(xtr, 64), rng)
    in_pixels, in_inverted = rows(xte[:16], rng)
    common.tensors_json(os.path.join(here, "calibration.json"),
                        {"pixels": cal_pixels, "inverted": cal_inverted})
    common.tensors_json(os.path.join(here, "input.json"),
                        {"pixels": in_pixels, "inverted": in_inverted})
    outs = common.run(path, {"pixels": in_pixels, "inverted": in_inverted,
                             "sr": np.array(16000, np.int64)})
    common.tensors_json(os.path.join(here, "expected.json"), outs)
    lg = outs["logits"]
    common.report(here, f"{len(in_pixels)} input rows, logits in [{lg.min():.3f}, {lg.max():.3f}]")


if __name__ == "__main__":
    main()
