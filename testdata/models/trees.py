"""Shared generator of the tree-ensemble fixtures testdata/models/tree_*/ (skl2onnx defaults).

Each fixture's gen.py calls generate(here, name). The models are fitted on scikit-learn's
bundled data (breast cancer: 30 features, 2 classes; iris: 4 features, 3 classes; diabetes:
10 features, regression), stratified 75/25 split with the shared seed, features as float32.
skl2onnx converts them with its default options (ZipMap off so the probabilities are a tensor),
onnxruntime's outputs on the held-out rows are recorded in expected.json.

HistGradientBoostingClassifier is not among them: skl2onnx 1.20 fails to convert it
(numpy integer attribute values it cannot write).
"""

import os

import numpy as np
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import common

S = common.SEED

MODELS = {
    "tree_dt_bc": ("bc", lambda: DecisionTreeClassifier(max_depth=6, random_state=S)),
    "tree_rf_bc": ("bc", lambda: RandomForestClassifier(n_estimators=25, max_depth=6, random_state=S)),
    "tree_gb_bc": ("bc", lambda: GradientBoostingClassifier(n_estimators=60, max_depth=3, random_state=S)),
    "tree_gb_iris": ("iris", lambda: GradientBoostingClassifier(n_estimators=40, max_depth=2, random_state=S)),
    "tree_rf_iris": ("iris", lambda: RandomForestClassifier(n_estimators=15, max_depth=4, random_state=S)),
    "tree_gbr_diabetes": ("diabetes", lambda: GradientBoostingRegressor(n_estimators=80, max_depth=3, random_state=S)),
    "tree_scaler_gb_bc": (
        "bc",
        lambda: make_pipeline(
            StandardScaler(), GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=S)
        ),
    ),
}


def split(data):
    if data == "bc":
        x, y = load_breast_cancer(return_X_y=True)
        strat = y
    elif data == "iris":
        x, y = load_iris(return_X_y=True)
        strat = y
    else:
        x, y = load_diabetes(return_X_y=True)
        strat = None
    x = x.astype(np.float32)
    return train_test_split(x, y, test_size=0.25, random_state=S, stratify=strat)


def generate(here, name):
    data, make = MODELS[name]
    xtr, xte, ytr, yte = split(data)
    model = make()
    model.fit(xtr, ytr)
    classifier = data != "diabetes"
    options = {id(model): {"zipmap": False}} if classifier else None
    onx = to_onnx(model, xtr[:1], options=options, target_opset={"": common.OPSET, "ai.onnx.ml": common.ML_OPSET})
    path = os.path.join(here, "model.onnx")
    common.save_model(onx, path)
    input_name = onx.graph.input[0].name
    labels = yte.astype(np.int64) if classifier else None
    outs = common.write_fixture(here, path, input_name, common.calibration_rows(xtr), xte, labels=labels)
    if classifier:
        acc = common.accuracy(outs["label"], yte)
        what = f"test accuracy {acc:.4f} on {len(yte)} rows (sklearn {model.score(xte, yte):.4f}), outputs {sorted(outs)}"
    else:
        pred = outs["variable"].ravel()
        err = float(np.max(np.abs(pred - model.predict(xte))))
        what = f"R^2 {model.score(xte, yte):.4f} on {len(yte)} rows, max |onnx - sklearn| {err:.2e}, outputs {sorted(outs)}"
    common.report(here, what)
