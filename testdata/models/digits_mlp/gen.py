"""skl2onnx MLPClassifier (hidden 64, relu) on sklearn digits (64 features, 10 classes), ZipMap off.

Outputs `label` [N] int64 and `probabilities` [N,10].
Run: .venv/bin/python testdata/models/digits_mlp/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import numpy as np  # noqa: E402
from skl2onnx import to_onnx  # noqa: E402
from skl2onnx.common.data_types import FloatTensorType  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

import common  # noqa: E402


def main():
    xtr, xte, ytr, yte = common.digits_split()
    clf = MLPClassifier(
        hidden_layer_sizes=(64,), activation="relu", max_iter=1000, random_state=common.SEED
    )
    clf.fit(xtr, ytr)
    onx = to_onnx(
        clf,
        initial_types=[("input", FloatTensorType([None, 64]))],
        options={id(clf): {"zipmap": False}},
        target_opset={"": common.OPSET, "ai.onnx.ml": common.ML_OPSET},
    )
    path = os.path.join(here, "model.onnx")
    common.save_model(onx, path)
    outs = common.write_fixture(here, path, "input", common.calibration_rows(xtr), xte, labels=yte)
    acc = common.accuracy(outs["label"], yte)
    assert np.array_equal(outs["label"], clf.predict(xte)), "onnx labels differ from sklearn"
    common.report(here, f"test accuracy {acc:.4f} on {len(yte)} rows, outputs {sorted(outs)}")


if __name__ == "__main__":
    main()
