"""MLP 10-20-2 on sklearn breast_cancer (first 10 features, standardized with train statistics).

An sklearn MLPClassifier (hidden 20, relu) is trained, then written with onnx.helper as
Gemm(10->20) + Relu + Gemm(20->2). sklearn's binary MLP has one logistic output unit z; it is
written as two logits [0, z] so argmax(logits) is the predicted class. Input `input` [N,10]
(dynamic batch N), output `logits` [N,2].
Run: .venv/bin/python testdata/models/mlp_10_20_2/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import numpy as np  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

import common  # noqa: E402


def main():
    xtr, xte, ytr, yte = common.breast_cancer10_split()
    clf = MLPClassifier(
        hidden_layer_sizes=(20,), activation="relu", max_iter=2000, random_state=common.SEED
    )
    clf.fit(xtr, ytr)
    (w1, w2), (b1, b2) = clf.coefs_, clf.intercepts_
    # Binary: one output unit z, P(class 1) = sigmoid(z). Logits [0, z] have the same argmax.
    w2 = np.concatenate([np.zeros_like(w2), w2], axis=1)
    b2 = np.concatenate([np.zeros_like(b2), b2])
    model = common.gemm_mlp_model([(w1, b1), (w2, b2)], 10, "mlp_10_20_2")
    path = os.path.join(here, "model.onnx")
    common.save_model(model, path)
    outs = common.write_fixture(here, path, "input", common.calibration_rows(xtr), xte, labels=yte)
    pred = outs["logits"].argmax(1)
    assert np.array_equal(pred, clf.predict(xte)), "onnx argmax differs from sklearn"
    common.report(here, f"test accuracy {common.accuracy(pred, yte):.4f} on {len(yte)} rows")


if __name__ == "__main__":
    main()
