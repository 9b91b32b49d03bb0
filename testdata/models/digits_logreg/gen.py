"""skl2onnx LogisticRegression on sklearn digits (64 features, 10 classes).

Outputs `label` [N] int64 and `probabilities` [N,10]; ZipMap off. The sibling
digits_logreg_zipmap/gen.py writes the same classifier with ZipMap on.
Run: .venv/bin/python testdata/models/digits_logreg/gen.py
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
from skl2onnx import to_onnx  # noqa: E402
from skl2onnx.common.data_types import FloatTensorType  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

import common  # noqa: E402


def generate(here, zipmap, linear_classifier_op=False):
    xtr, xte, ytr, yte = common.digits_split()
    clf = LogisticRegression(max_iter=5000, random_state=common.SEED)
    clf.fit(xtr, ytr)
    onx = to_onnx(
        clf,
        initial_types=[("input", FloatTensorType([None, 64]))],
        options={id(clf): {"zipmap": zipmap}},
        target_opset={"": common.OPSET, "ai.onnx.ml": common.ML_OPSET},
        # By default skl2onnx writes the whole model as one ai.onnx.ml LinearClassifier; with it
        # black-listed it writes MatMul + Add + Softmax + ArgMax (standard domain).
        black_op=None if linear_classifier_op else {"LinearClassifier"},
    )
    path = os.path.join(here, "model.onnx")
    common.save_model(onx, path)
    outs = common.write_fixture(
        here, path, "input", common.calibration_rows(xtr), xte, labels=yte
    )
    label_name = "label" if "label" in outs else "output_label"
    acc = common.accuracy(outs[label_name], yte)
    sk_acc = clf.score(xte, yte)
    assert np.array_equal(outs[label_name], clf.predict(xte)), "onnx labels differ from sklearn"
    common.report(
        here, f"test accuracy {acc:.4f} on {len(yte)} rows (sklearn {sk_acc:.4f}), outputs {sorted(outs)}"
    )


if __name__ == "__main__":
    generate(os.path.dirname(os.path.abspath(__file__)), zipmap=False)
