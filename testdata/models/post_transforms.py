"""Shared generator of the `PROBIT` post-transform fixtures (testdata/models/*_probit_*/).

No converter writes `post_transform` PROBIT for a scikit-learn model, so each generator takes
skl2onnx's output (default options, ZipMap off) and sets the attribute with `onnx`, after
moving the scores into (0, 1), where onnxruntime's probit is finite (it is NaN outside and
infinite at 0 and 1):

  tree_probit_rf_bc     RandomForestRegressor fitted on the breast-cancer labels squeezed
                        into [0.05, 0.95] (TreeEnsembleRegressor: each score a mean of leaf
                        means, so inside that interval), PROBIT
  tree_probit_rf_iris   RandomForestClassifier on iris (TreeEnsembleClassifier, 3 classes):
                        leaf weights times 0.9 and base values 0.05, so each class score is
                        0.05 + 0.9 p, PROBIT (the label, the largest score, is unchanged)
  linear_probit_iris    StandardScaler + LogisticRegression on iris (LinearClassifier): the
                        coefficients and intercepts scaled so every training score is within
                        0.5 +- 0.4, intercepts shifted by 0.5, PROBIT; skl2onnx's Normalizer
                        after the classifier is dropped

Before writing, each generator checks that onnxruntime's outputs equal numpy's probit
(onnxruntime's approximation of erfinv) of the same model's scores without the
post-transform, so the fixture records what PROBIT means to onnxruntime.
"""

import os

import numpy as np
import onnx
from onnx import helper
from skl2onnx import to_onnx
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import common

S = common.SEED


def probit(v):
    """onnxruntime's ComputeProbit in float32: sqrt(2) * ErfInv(2v - 1), Winitzki's erfinv."""
    f = np.float32
    x = f(2) * v.astype(f) - f(1)
    sgn = np.where(x < 0, f(-1), f(1))
    w = (f(1) - x) * (f(1) + x)
    log = np.log(w)
    a = f(2) / (f(3.14159) * f(0.147)) + f(0.5) * log
    b = f(1) / f(0.147) * log
    v3 = -a + np.sqrt(a * a - b)
    return f(1.41421356) * (sgn * np.sqrt(v3))


def set_attr(node, name, value):
    keep = [a for a in node.attribute if a.name != name]
    del node.attribute[:]
    node.attribute.extend(keep)
    node.attribute.append(helper.make_attribute(name, value))


def attr(node, name):
    return next(helper.get_attribute_value(a) for a in node.attribute if a.name == name)


def build(name, xtr, ytr):
    """The fitted model, its skl2onnx graph with PROBIT set, the same graph without a
    post-transform, and the name of the probit output."""
    opts = {"": common.OPSET, "ai.onnx.ml": common.ML_OPSET}
    if name == "tree_probit_rf_bc":
        model = RandomForestRegressor(n_estimators=10, max_depth=5, random_state=S)
        model.fit(xtr, 0.05 + 0.9 * ytr)
        onx = to_onnx(model, xtr[:1], target_opset=opts)
        node = next(n for n in onx.graph.node if n.op_type == "TreeEnsembleRegressor")
        out = "variable"
    elif name == "tree_probit_rf_iris":
        model = RandomForestClassifier(n_estimators=15, max_depth=4, random_state=S).fit(xtr, ytr)
        onx = to_onnx(model, xtr[:1], options={id(model): {"zipmap": False}}, target_opset=opts)
        node = next(n for n in onx.graph.node if n.op_type == "TreeEnsembleClassifier")
        set_attr(node, "class_weights", [0.9 * w for w in attr(node, "class_weights")])
        set_attr(node, "base_values", [0.05] * 3)
        out = "probabilities"
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(xtr, ytr)
        onx = to_onnx(model, xtr[:1], options={id(model[-1]): {"zipmap": False}}, target_opset=opts)
        node = next(n for n in onx.graph.node if n.op_type == "LinearClassifier")
        raw = model.decision_function(xtr)
        k = 0.4 / float(np.max(np.abs(raw)))
        set_attr(node, "coefficients", [k * c for c in attr(node, "coefficients")])
        set_attr(node, "intercepts", [0.5 + k * b for b in attr(node, "intercepts")])
        # drop the Normalizer: the classifier's scores are the output
        norm = next(n for n in onx.graph.node if n.op_type == "Normalizer")
        onx.graph.node.remove(norm)
        node.output[1] = norm.output[0]
        out = norm.output[0]
    set_attr(node, "post_transform", "NONE")
    plain = onnx.ModelProto()
    plain.CopyFrom(onx)
    set_attr(node, "post_transform", "PROBIT")
    return model, onx, plain, out


def generate(here, name):
    data = "bc" if name.endswith("_bc") else "iris"
    xtr, xte, ytr, yte = common.sklearn_split(data)
    model, onx, plain, out = build(name, xtr, ytr)
    path = os.path.join(here, "model.onnx")
    common.save_model(onx, path)
    input_name = onx.graph.input[0].name
    classifier = "rf_bc" not in name
    labels = yte.astype(np.int64) if classifier else None
    outs = common.write_fixture(here, path, input_name, common.calibration_rows(xtr), xte, labels=labels)
    scores = common.run_model(plain, {input_name: xte})[out]
    assert 0.0 < scores.min() and scores.max() < 1.0, (scores.min(), scores.max())
    want = probit(scores)
    err = float(np.max(np.abs(outs[out] - want)))
    assert err <= 1e-5, err
    what = f"outputs {sorted(outs)}, PROBIT of scores in [{scores.min():.3f}, {scores.max():.3f}] equal to numpy's within {err:.1e}"
    if classifier:
        what += f", test accuracy {common.accuracy(outs['label'], yte):.4f} on {len(yte)} rows"
    common.report(here, what)
