"""ai.onnx.ml LabelEncoder fixture `linear_label_encoder_iris`: skl2onnx's StandardScaler +
LogisticRegression on iris (ZipMap off) with a LabelEncoder appended to its label, int64 keys
2, 0, 1 mapped to themselves (the identity on the classes, listed out of order).

Run: .venv/bin/python testdata/models/linear_label_encoder_iris/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import numpy as np  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402
from skl2onnx import to_onnx  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import common  # noqa: E402

if __name__ == "__main__":
    xtr, xte, ytr, yte = common.sklearn_split("iris")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(xtr, ytr)
    onx = to_onnx(
        model,
        xtr[:1],
        options={id(model[-1]): {"zipmap": False}},
        target_opset={"": common.OPSET, "ai.onnx.ml": common.ML_OPSET},
    )
    onx.graph.node.append(
        helper.make_node(
            "LabelEncoder", ["label"], ["encoded_label"], name="LabelEncoder", domain="ai.onnx.ml",
            keys_int64s=[2, 0, 1], values_int64s=[2, 0, 1],
        )
    )
    # keys_int64s / values_int64s are LabelEncoder-2 attributes
    for o in onx.opset_import:
        if o.domain == "ai.onnx.ml":
            o.version = max(o.version, 2)
    probs = next(o for o in onx.graph.output if o.name != "label")
    del onx.graph.output[:]
    onx.graph.output.extend(
        [helper.make_tensor_value_info("encoded_label", TensorProto.INT64, [None]), probs]
    )
    path = os.path.join(here, "model.onnx")
    common.save_model(onx, path)
    outs = common.write_fixture(here, path, "X", common.calibration_rows(xtr), xte, labels=yte.astype(np.int64))
    assert (outs["encoded_label"] == model.predict(xte)).all()
    acc = common.accuracy(outs["encoded_label"], yte)
    common.report(here, f"test accuracy {acc:.4f} on {len(yte)} rows, outputs {sorted(outs)}")
