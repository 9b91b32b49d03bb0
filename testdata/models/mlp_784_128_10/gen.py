"""MLP 784-128-10 on sklearn digits upsampled (bilinear) to 28x28, pixels in [0, 1].

An sklearn MLPClassifier (hidden 128, relu) is trained, then its weights are written with
onnx.helper as Gemm(784->128) + Relu + Gemm(128->10). Input `input` [N,784] (dynamic batch N),
output `logits` [N,10]. input.json holds the first 256 rows of the test split (size limit).
Run: .venv/bin/python testdata/models/mlp_784_128_10/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import numpy as np  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

import common  # noqa: E402

N_INPUT = 256


def main():
    xtr, xte, ytr, yte = common.digits_split()
    xtr, xte = common.upsample28(xtr), common.upsample28(xte)
    clf = MLPClassifier(
        hidden_layer_sizes=(128,), activation="relu", max_iter=500, random_state=common.SEED
    )
    clf.fit(xtr, ytr)
    layers = list(zip(clf.coefs_, clf.intercepts_))
    model = common.gemm_mlp_model(layers, 784, "mlp_784_128_10")
    path = os.path.join(here, "model.onnx")
    common.save_model(model, path)
    full = common.run(path, {"input": xte})["logits"]
    assert np.array_equal(full.argmax(1), clf.predict(xte)), "onnx argmax differs from sklearn"
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
