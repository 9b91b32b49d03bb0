"""Tiny conv autoencoder written with onnx.helper: ConvTranspose and Resize decoders, random fixed-seed weights.

input `input` [N,1,8,8] (dynamic batch N): sklearn digits scaled to [0, 1]
encoder  Conv(1->8, 3x3, stride 2, pad 1) + Relu                              e1 [N,8,4,4]
         Conv(8->16, 3x3, stride 2, pad 1) + Relu                             e2 [N,16,2,2]
decoder  ConvTranspose(16->8, 2x2, stride 2) + Relu                           d1 [N,8,4,4]
  a: Resize nearest x2 (asymmetric, floor: nn.Upsample(scale_factor=2))        [N,8,8,8]
  b: ConvTranspose(8->8, 3x3, stride 2, pad 1, output_padding 1, group 2)      [N,8,8,8]
  c: Resize linear of e1 to sizes 8x8 (pytorch_half_pixel: bilinear,
     align_corners=False)                                                      [N,8,8,8]
Add(a, b, c) + Relu + Conv(8->1, 1x1) -> `recon` [N,1,8,8]
Run: .venv/bin/python testdata/models/upsample_net/gen.py
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
        "enc1.weight": he((8, 1, 3, 3), 9),
        "enc1.bias": uni(8, -0.1, 0.1),
        "enc2.weight": he((16, 8, 3, 3), 72),
        "enc2.bias": uni(16, -0.1, 0.1),
        # ConvTranspose weights are [C_in, C_out / group, kH, kW]
        "dec1.weight": he((16, 8, 2, 2), 16),
        "dec1.bias": uni(8, -0.1, 0.1),
        "dec2.weight": he((8, 4, 3, 3), 36),
        "dec2.bias": uni(8, -0.1, 0.1),
        "head.weight": he((1, 8, 1, 1), 8),
        "head.bias": uni(1, -0.1, 0.1),
        "up.scales": np.array([1, 1, 2, 2], np.float32),
        "skip.sizes": np.array([8, 8, 8], np.int64),
    }
    n = helper.make_node
    nodes = [
        n("Conv", ["input", "enc1.weight", "enc1.bias"], ["c1"], name="enc1",
          kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        n("Relu", ["c1"], ["e1"], name="enc1_relu"),
        n("Conv", ["e1", "enc2.weight", "enc2.bias"], ["c2"], name="enc2",
          kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        n("Relu", ["c2"], ["e2"], name="enc2_relu"),
        n("ConvTranspose", ["e2", "dec1.weight", "dec1.bias"], ["t1"], name="dec1",
          kernel_shape=[2, 2], strides=[2, 2]),
        n("Relu", ["t1"], ["d1"], name="dec1_relu"),
        n("Resize", ["d1", "", "up.scales"], ["a"], name="up_nearest", mode="nearest",
          coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        n("ConvTranspose", ["d1", "dec2.weight", "dec2.bias"], ["b"], name="dec2",
          kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1],
          group=2),
        n("Shape", ["e1"], ["e1_shape"], name="skip_shape", start=0, end=1),
        # the batch size read from the tensor, as PyTorch's exporter writes an output size
        n("Concat", ["e1_shape", "skip.sizes"], ["sizes"], name="skip_sizes", axis=0),
        n("Resize", ["e1", "", "", "sizes"], ["c"], name="up_bilinear", mode="linear",
          coordinate_transformation_mode="pytorch_half_pixel"),
        n("Sum", ["a", "b", "c"], ["s"], name="merge"),
        n("Relu", ["s"], ["r"], name="merge_relu"),
        n("Conv", ["r", "head.weight", "head.bias"], ["recon"], name="head", kernel_shape=[1, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "upsample_net",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("recon", TensorProto.FLOAT, ["N", 1, 8, 8])],
        initializer=[numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    path = os.path.join(here, "model.onnx")
    common.save_model(common.make_model(graph), path)

    xtr, xte, _, _ = common.digits_split()
    x_cal = (common.calibration_rows(xtr, 64) / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    x_in = (xte[:32] / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    outs = common.write_fixture(here, path, "input", x_cal, x_in)
    r = outs["recon"]
    common.report(here, f"{len(x_in)} input rows, recon in [{r.min():.3f}, {r.max():.3f}]")


if __name__ == "__main__":
    main()
