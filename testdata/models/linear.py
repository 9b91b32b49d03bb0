"""Shared generator of the linear-model fixtures testdata/models/linear_*/ (skl2onnx defaults).

Each fixture's gen.py calls generate(here, name). The models are fitted on scikit-learn's
bundled data (breast cancer: 30 raw features whose magnitudes span 1e-3 to 4e3, 2 classes;
iris: 4 features, 3 classes; diabetes: 10 features, regression), stratified 75/25 split with
the shared seed, features as float32, and converted by skl2onnx with its default options
(ZipMap on for classifiers with probabilities: expected.json records the maps as the
probabilities tensor vouch keeps in the ZipMap's place). onnxruntime's outputs on the held-out
rows are recorded in expected.json.
"""

import os

import numpy as np
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Binarizer, Normalizer, StandardScaler
from sklearn.svm import SVC, SVR, LinearSVC

import common

S = common.SEED

MODELS = {
    # StandardScaler + LogisticRegression: the pipeline a DeFi risk model starts as
    "linear_logreg_bc": ("bc", lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))),
    # the same without the scaler: raw features straight into the linear model
    "linear_logreg_raw_bc": ("bc", lambda: LogisticRegression(max_iter=20000)),
    # a linear SVM (hinge loss) after a StandardScaler; LinearSVC inside a Pipeline fails to
    # convert in skl2onnx 1.20 (the pipeline's parser asks LinearSVC for a `zipmap` option it
    # does not have), so this one is an SGDClassifier with the hinge loss
    "linear_svc_bc": ("bc", lambda: make_pipeline(StandardScaler(), SGDClassifier(loss="hinge", random_state=S))),
    # LinearSVC on its own converts with default options (LinearClassifier, then an
    # ArrayFeatureExtractor of the labels; no ZipMap, as LinearSVC has no probabilities)
    "linear_linearsvc_bc": ("bc", lambda: LinearSVC(random_state=S, max_iter=20000)),
    # SimpleImputer + StandardScaler + LogisticRegression on data with 5% missing values
    "linear_imputer_logreg_bc": (
        "bc_nan",
        lambda: make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=1000)),
    ),
    "linear_logreg_iris": ("iris", lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))),
    "linear_ridge_diabetes": ("diabetes", lambda: Ridge(alpha=0.1)),
    # support vector machines with the linear kernel (ai.onnx.ml SVMClassifier, SVMRegressor)
    "linear_svm_kernel_bc": ("bc", lambda: make_pipeline(StandardScaler(), SVC(kernel="linear"))),
    "linear_svr_diabetes": ("diabetes", lambda: make_pipeline(StandardScaler(), SVR(kernel="linear", C=100.0))),
    # ai.onnx.ml Normalizer: scikit-learn's default (l2) on the raw features, whose row norms
    # span more than an order of magnitude; l1 after a StandardScaler (mixed signs); max on
    # the raw features (non-negative, where onnxruntime's MAX, the largest value, and
    # scikit-learn's, the largest magnitude, agree)
    "linear_normalizer_logreg_bc": ("bc", lambda: make_pipeline(Normalizer(), LogisticRegression(max_iter=1000))),
    "linear_scaler_l1_logreg_bc": (
        "bc",
        lambda: make_pipeline(StandardScaler(), Normalizer(norm="l1"), LogisticRegression(max_iter=1000)),
    ),
    "linear_normalizer_max_logreg_bc": (
        "bc",
        lambda: make_pipeline(Normalizer(norm="max"), LogisticRegression(max_iter=1000)),
    ),
    # ai.onnx.ml Binarizer (threshold 0) after a StandardScaler: each feature above its mean
    "linear_binarizer_logreg_bc": (
        "bc",
        lambda: make_pipeline(StandardScaler(), Binarizer(), LogisticRegression(max_iter=1000)),
    ),
}

FULL_CALIBRATION = ("linear_normalizer_logreg_bc", "linear_normalizer_max_logreg_bc")


def generate(here, name, models=None):
    """Fits, converts and records fixture `name` of `models` (this module's MODELS by default)."""
    data, make = (models or MODELS)[name]
    xtr, xte, ytr, yte = common.sklearn_split(data)
    model = make()
    model.fit(xtr, ytr)
    onx = to_onnx(model, xtr[:1], target_opset={"": common.OPSET, "ai.onnx.ml": common.ML_OPSET})
    path = os.path.join(here, "model.onnx")
    common.save_model(onx, path)
    input_name = onx.graph.input[0].name
    classifier = data != "diabetes"
    labels = yte.astype(np.int64) if classifier else None
    # a Normalizer reads its input at one scale (its readers cannot fold per-feature scales)
    # and a graph input's scale has no headroom: calibrated on the whole training split, so the
    # held-out rows are not clipped at the largest value 128 rows show
    cal = xtr if name in FULL_CALIBRATION else common.calibration_rows(xtr)
    outs = common.write_fixture(here, path, input_name, cal, xte, labels=labels, maps=True)
    names = sorted(outs)
    if classifier:
        label = next(n for n in names if "label" in n)
        acc = common.accuracy(outs[label], yte)
        what = f"test accuracy {acc:.4f} on {len(yte)} rows (sklearn {model.score(xte, yte):.4f}), outputs {names}"
    else:
        pred = outs[names[0]].ravel()
        err = float(np.max(np.abs(pred - model.predict(xte))))
        what = f"R^2 {model.score(xte, yte):.4f} on {len(yte)} rows, max |onnx - sklearn| {err:.2e}, outputs {names}"
    common.report(here, what)
