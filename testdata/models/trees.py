"""Shared generator of the tree-ensemble fixtures testdata/models/tree_*/ (skl2onnx defaults).

Each fixture's gen.py calls generate(here, name). The models are fitted on scikit-learn's
bundled data (breast cancer: 30 features, 2 classes; iris: 4 features, 3 classes; diabetes:
10 features, regression), stratified 75/25 split with the shared seed, features as float32.
skl2onnx converts them with its default options (ZipMap off so the probabilities are a tensor),
onnxruntime's outputs on the held-out rows are recorded in expected.json.

The boosters of the other libraries are converted the way their users do: XGBoost and
LightGBM through onnxmltools (target opset 15, its highest), CatBoost by its own
`save_model(format="onnx")` (ZipMap on, as CatBoost writes it; expected.json records the maps
as the probabilities tensor vouch keeps in the ZipMap's place).

HistGradientBoostingClassifier (`tree_hgb_bc`) needs a workaround: skl2onnx 1.20 writes
`nodes_missing_value_tracks_true` as a mix of Python `False` (its leaves) and numpy integers
(the branches' `missing_go_to_left`), which `onnx.helper.make_attribute` refuses ("Expected an
int, got a boolean"); `convert` wraps skl2onnx's `add_node` so the flag is an `int`, as a user
would, and the output passes `onnx.checker` and matches scikit-learn's probabilities.
"""

import os

import numpy as np
import onnx
from skl2onnx import to_onnx
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
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
    # SimpleImputer + GradientBoosting on data with 5% missing values (ai.onnx.ml Imputer)
    "tree_imputer_gb_bc": (
        "bc_nan",
        lambda: make_pipeline(
            SimpleImputer(strategy="median"),
            GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=S),
        ),
    ),
    "tree_xgb_bc": ("bc", lambda: _xgb(n_estimators=100, max_depth=6)),
    "tree_xgb_iris": ("iris", lambda: _xgb(n_estimators=100, max_depth=6)),
    "tree_lgb_bc": ("bc", lambda: _lgb(n_estimators=100, max_depth=6)),
    "tree_lgb_iris": ("iris", lambda: _lgb(n_estimators=100, max_depth=6)),
    # a categorical feature (LightGBM's own categorical splits, which onnxmltools writes as
    # chains of BRANCH_EQ tests sharing their true child)
    "tree_lgb_cat_bc": ("bc_cat", lambda: _lgb(n_estimators=40, max_depth=4, min_data_per_group=5, cat_smooth=1.0)),
    "tree_hgb_bc": ("bc", lambda: HistGradientBoostingClassifier(max_iter=40, max_depth=4, random_state=S)),
    # the same on data with 5% missing values, which HistGradientBoosting routes itself
    # (nodes_missing_value_tracks_true)
    "tree_hgb_nan_bc": ("bc_nan", lambda: HistGradientBoostingClassifier(max_iter=40, max_depth=4, random_state=S)),
    "tree_cb_bc": ("bc", lambda: _cb(iterations=100, depth=6)),
    "tree_cb_iris": ("iris", lambda: _cb(iterations=100, depth=6)),
}


def _xgb(**kw):
    import xgboost

    return xgboost.XGBClassifier(random_state=S, n_jobs=1, **kw)


def _lgb(**kw):
    import lightgbm

    return lightgbm.LGBMClassifier(random_state=S, n_jobs=1, verbose=-1, deterministic=True, **kw)


def _cb(**kw):
    import catboost

    return catboost.CatBoostClassifier(random_seed=S, thread_count=1, verbose=0, allow_writing_files=False, **kw)


def _int_missing_flags():
    """skl2onnx 1.20's HistGradientBoosting converter passes each node's missing-value flag as
    a bool or a numpy integer, which onnx refuses in an ints attribute: cast it to int."""
    import skl2onnx.common.tree_ensemble as te

    if getattr(te.add_node, "vouch_int_flags", False):
        return
    add_node = te.add_node

    def patched(*args, nodes_missing_value_tracks_true=0, **kw):
        return add_node(*args, nodes_missing_value_tracks_true=int(nodes_missing_value_tracks_true), **kw)

    patched.vouch_int_flags = True
    te.add_node = patched


def convert(model, xtr, classifier, path):
    """Writes `model` as ONNX to `path` with its library's converter; returns the input name and
    whether the probabilities output is a ZipMap."""
    kind = type(model).__module__.split(".")[0]
    if kind in ("xgboost", "lightgbm"):
        from onnxmltools import convert_lightgbm, convert_xgboost
        from onnxmltools.convert.common.data_types import FloatTensorType

        types = [("input", FloatTensorType([None, xtr.shape[1]]))]
        if kind == "xgboost":
            onx = convert_xgboost(model, initial_types=types, target_opset=15)
        else:
            onx = convert_lightgbm(model, initial_types=types, target_opset=15, zipmap=False)
        onx.graph.name = kind  # onnxmltools names the graph with a random uuid
        common.save_model(onx, path)
        return "input", False
    if kind == "catboost":
        model.save_model(path, format="onnx")
        onx = onnx.load(path)
        # the training time and a random guid: dropped so a rerun writes the same bytes
        keep = [p for p in onx.metadata_props if p.key not in ("train_finish_time", "model_guid")]
        del onx.metadata_props[:]
        onx.metadata_props.extend(keep)
        common.save_model(onx, path)
        return onx.graph.input[0].name, True
    if kind == "sklearn" and type(model).__name__.startswith("HistGradientBoosting"):
        _int_missing_flags()
    options = {id(model): {"zipmap": False}} if classifier else None
    onx = to_onnx(model, xtr[:1], options=options, target_opset={"": common.OPSET, "ai.onnx.ml": common.ML_OPSET})
    common.save_model(onx, path)
    return onx.graph.input[0].name, False


def categorical_split():
    """Breast cancer's first 8 features and a categorical column: a category 0..5 per row
    (fixed seed) that flips the label of categories 1, 3 and 4, so only a split on the set
    {1, 3, 4} of that column separates the classes."""
    xtr, xte, ytr, yte = common.sklearn_split("bc")
    rng = np.random.default_rng(S)

    def add(x, y):
        c = rng.integers(0, 6, size=len(x)).astype(np.float32)
        y = np.where(np.isin(c, [1, 3, 4]), 1 - y, y)
        return np.column_stack([x[:, :8], c]).astype(np.float32), y

    (xtr, ytr), (xte, yte) = add(xtr, ytr), add(xte, yte)
    return xtr, xte, ytr, yte


def generate(here, name):
    data, make = MODELS[name]
    if data == "bc_cat":
        xtr, xte, ytr, yte = categorical_split()
    else:
        xtr, xte, ytr, yte = common.sklearn_split(data)
    model = make()
    if data == "bc_cat":
        model.fit(xtr, ytr, categorical_feature=[8])
    else:
        model.fit(xtr, ytr)
    classifier = data != "diabetes"
    path = os.path.join(here, "model.onnx")
    input_name, maps = convert(model, xtr, classifier, path)
    labels = yte.astype(np.int64) if classifier else None
    outs = common.write_fixture(here, path, input_name, common.calibration_rows(xtr), xte, labels=labels, maps=maps)
    if classifier:
        acc = common.accuracy(outs["label"], yte)
        what = f"test accuracy {acc:.4f} on {len(yte)} rows (in the library {model.score(xte, yte):.4f}), outputs {sorted(outs)}"
    else:
        pred = outs["variable"].ravel()
        err = float(np.max(np.abs(pred - model.predict(xte))))
        what = f"R^2 {model.score(xte, yte):.4f} on {len(yte)} rows, max |onnx - sklearn| {err:.2e}, outputs {sorted(outs)}"
    common.report(here, what)
