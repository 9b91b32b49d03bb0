"""Writes grids.json beside the QOperator fixtures (pq_lenet_qop, pq_lenet_qop_matmul):
onnxruntime's integers of every quantized tensor the model computes (each QuantizeLinear,
QLinearConv, QLinearMatMul, QGemm output and the MaxPool/Flatten of one), on the first rows of
input.json, with its zero point, so that vouch's pinned tensors can be compared with them
element by element (crates/quant/tests/prequant.rs). Reads the committed model.onnx and
input.json; changes neither.

Only QOperator models: their quantized tensors are tensors of the model as onnxruntime runs it.
In a QDQ model onnxruntime fuses each DequantizeLinear -> op -> QuantizeLinear group into one
kernel, and asking for a QuantizeLinear output as a graph output can keep the group from
fusing, so its intermediates are not observable as it runs them.
Run: .venv/bin/python testdata/models/pq_grids.py
"""

import json
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)

import common  # noqa: E402

ROWS = 8
FIXTURES = ["pq_lenet_qop", "pq_lenet_qop_matmul"]
# output index -> input index of its zero point
ZERO_POINT = {"QuantizeLinear": 2, "QLinearConv": 7, "QLinearMatMul": 7, "QGemm": 8}
MOVES = {"MaxPool", "Flatten", "Reshape", "Transpose"}


def quantized_tensors(model):
    """[(name, zero point, alias)] of every quantized tensor a node computes, in node order;
    alias: the graph output a DequantizeLinear of it is (vouch names the tensor so), else None."""
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    zp = {}
    out = []
    for n in model.graph.node:
        if n.op_type in ZERO_POINT:
            i = ZERO_POINT[n.op_type]
            z = int(inits[n.input[i]]) if len(n.input) > i and n.input[i] else 0
        elif n.op_type in MOVES and n.input[0] in zp:
            z = zp[n.input[0]]
        else:
            continue
        zp[n.output[0]] = z
        out.append((n.output[0], z))
    outputs = {o.name for o in model.graph.output}
    alias = {
        n.input[0]: n.output[0]
        for n in model.graph.node
        if n.op_type == "DequantizeLinear" and n.output[0] in outputs
    }
    return [(name, z, alias.get(name)) for name, z in out]


def main():
    for fixture in FIXTURES:
        d = os.path.join(here, fixture)
        model = onnx.load(os.path.join(d, "model.onnx"))
        tensors = quantized_tensors(model)
        declared = [o.name for o in model.graph.output]
        for name, _, _ in tensors:
            model.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.UINT8, None))
        with open(os.path.join(d, "input.json")) as f:
            inputs = json.load(f)
        feeds = {k: np.asarray(v, dtype=np.float32)[:ROWS] for k, v in inputs.items()}
        outs = common.run_model(model, feeds)
        with open(os.path.join(d, "expected.json")) as f:
            expected = json.load(f)
        for name in declared:
            # the extra outputs must not change what onnxruntime computes
            assert np.array_equal(outs[name], np.asarray(expected[name], dtype=np.float32)[:ROWS]), name
        grids = {}
        for name, z, alias in tensors:
            grids[name] = {"zero_point": z, "data": outs[name].astype(np.int64).tolist()}
            if alias:
                grids[name]["graph_output"] = alias
        common.write_json(os.path.join(d, "grids.json"), {"rows": ROWS, "tensors": grids})
        print(f"{fixture}: {len(grids)} quantized tensors on {ROWS} rows")


if __name__ == "__main__":
    main()
