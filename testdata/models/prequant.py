"""Shared by the pq_*/gen.py fixtures: small float models taken through onnxruntime's own
quantization tools, so that vouch imports models quantized by their exporter.

  pq_lenet_qdq         lenet, quantize_static, QDQ format (QuantizeLinear/DequantizeLinear
                       pairs), int8 activations, int8 weights per output channel
  pq_lenet_qdq_sym     lenet, quantize_static, QDQ format, symmetric int8 activations (zero
                       point 0, so each quantized tensor fits act8), per-channel int8 weights
  pq_lenet_qop         lenet, quantize_static, QOperator format, uint8 activations
                       (QLinearConv, com.microsoft QGemm, MaxPool on uint8)
  pq_lenet_qop_matmul  lenet with its Gemms written as MatMul + Add, QOperator format, only
                       Conv and MatMul quantized (QLinearConv, QLinearMatMul, then
                       DequantizeLinear before each float Add)
  pq_lenet_dyn         lenet, quantize_dynamic (DynamicQuantizeLinear, ConvInteger,
                       MatMulInteger, Cast, Mul by the scales)
  pq_vad_lstm_dyn      vad_lstm's weights in its layout-0 twin, quantize_dynamic
                       (com.microsoft DynamicQuantizeLSTM, MatMulInteger)

Each directory gets model.onnx (the quantized model), calibration.json (the rows vouch
calibrates on; onnxruntime's static calibration reads the same rows), input.json (held-out
rows) and expected.json: onnxruntime's output of the *quantized* model on input.json, which is
what vouch is compared with. Deterministic: onnxruntime single-threaded, fixed data.
pq_grids.py adds grids.json to the QOperator fixtures: onnxruntime's integers of each
quantized tensor on the first rows, which vouch's pinned tensors are compared with.
"""

import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)

import common  # noqa: E402
import rnn_vad  # noqa: E402

N_CAL = 32
N_INPUT = 32


class Rows(CalibrationDataReader):
    """One calibration row at a time, as onnxruntime's calibrators read them."""

    def __init__(self, name, x):
        self.rows = iter([{name: x[i : i + 1]} for i in range(len(x))])

    def get_next(self):
        return next(self.rows, None)


def lenet_data():
    xtr, xte, _, yte = common.digits_split()
    xtr = common.upsample28(xtr).reshape(-1, 1, 28, 28)
    xte = common.upsample28(xte).reshape(-1, 1, 28, 28)
    return common.calibration_rows(xtr, N_CAL), xte[:N_INPUT], yte[:N_INPUT]


def gemm_as_matmul(model):
    """The model with each Gemm (transB = 1, constant B and C) as MatMul by Bᵀ plus Add of C."""
    inits = {t.name: t for t in model.graph.initializer}
    nodes = []
    for n in model.graph.node:
        if n.op_type != "Gemm":
            nodes.append(n)
            continue
        a, b, c = n.input
        w = numpy_helper.to_array(inits[b]).T.copy()
        inits[b] = numpy_helper.from_array(w, b)
        mm = n.output[0] + "_mm"
        nodes.append(helper.make_node("MatMul", [a, b], [mm], name=n.name + "_matmul"))
        nodes.append(helper.make_node("Add", [mm, c], list(n.output), name=n.name + "_add"))
    g = helper.make_graph(nodes, model.graph.name, model.graph.input, model.graph.output,
                          initializer=list(inits.values()))
    return common.make_model(g)


def finish(out_dir, quantized, name, x_cal, x_in, note):
    model = onnx.load(quantized)
    path = os.path.join(out_dir, "model.onnx")
    onnx.checker.check_model(model)
    onnx.save(model, path)
    outs = common.write_fixture(out_dir, path, name, x_cal, x_in)
    ops = sorted({(n.domain + "." if n.domain else "") + n.op_type for n in model.graph.node})
    fixture = os.path.basename(out_dir)
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(f"`{fixture}`: {note}; expected.json is onnxruntime's output of this quantized "
                f"model on the {len(x_in)} rows of input.json; ops {', '.join(ops)}. "
                "Regenerate with `gen.py` (shared code: ../prequant.py).\n")
    size = common.dir_size(out_dir)
    assert size < 2 * 1024 * 1024, f"{out_dir} is {size} bytes (limit 2 MiB)"
    print(f"{fixture}: {note} ({size / 1024:.0f} KiB); ops {', '.join(ops)}")
    return outs


def build(out_dir, kind):
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "float.onnx")
        q = os.path.join(tmp, "quantized.onnx")
        if kind == "vad_lstm_dyn":
            float_model = onnx.load(os.path.join(here, "vad_lstm", "model.onnx"))
            consts = {t.name: numpy_helper.to_array(t) for t in float_model.graph.initializer}
            common.save_model(rnn_vad.graph("LSTM", consts, 20, 10, 16, 1, layout=0), src)
            rng = np.random.default_rng(common.SEED)
            x_tr, _ = rnn_vad.make_data(rng, 128, 20, 10)
            x_te, _ = rnn_vad.make_data(rng, N_INPUT, 20, 10)
            quantize_dynamic(src, q, weight_type=QuantType.QInt8)
            note = "vad_lstm (layout-0 twin) through quantize_dynamic (int8 weights)"
            return finish(out_dir, q, "frames", common.calibration_rows(x_tr, N_CAL), x_te, note)
        x_cal, x_in, _ = lenet_data()
        model = onnx.load(os.path.join(here, "lenet", "model.onnx"))
        if kind == "lenet_qop_matmul":
            model = gemm_as_matmul(model)
        common.save_model(model, src)
        if kind == "lenet_qdq":
            quantize_static(src, q, Rows("input", x_cal), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                            per_channel=True)
            note = "lenet through quantize_static, QDQ, int8 activations, per-channel int8 weights"
        elif kind == "lenet_qdq_sym":
            quantize_static(src, q, Rows("input", x_cal), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                            per_channel=True, extra_options={"ActivationSymmetric": True})
            note = ("lenet through quantize_static, QDQ, symmetric int8 activations (zero point "
                    "0), per-channel int8 weights")
        elif kind == "lenet_qop":
            quantize_static(src, q, Rows("input", x_cal), quant_format=QuantFormat.QOperator,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
            note = "lenet through quantize_static, QOperator, uint8 activations, int8 weights"
        elif kind == "lenet_qop_matmul":
            quantize_static(src, q, Rows("input", x_cal), quant_format=QuantFormat.QOperator,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QUInt8,
                            op_types_to_quantize=["Conv", "MatMul"])
            note = ("lenet (Gemm as MatMul + Add) through quantize_static, QOperator, Conv and "
                    "MatMul only, uint8 activations and weights")
        elif kind == "lenet_dyn":
            quantize_dynamic(src, q, weight_type=QuantType.QUInt8)
            note = "lenet through quantize_dynamic (uint8 weights)"
        else:
            raise ValueError(kind)
        return finish(out_dir, q, "input", x_cal, x_in, note)
