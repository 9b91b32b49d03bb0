"""Shared generator of the `SOFTMAX_ZERO` post-transform fixtures (testdata/models/*_softmax_zero_*/).

No converter writes `post_transform` SOFTMAX_ZERO for a scikit-learn model, so each generator
takes skl2onnx's output (default options, ZipMap off) and sets the attribute with `onnx`:

  tree_softmax_zero_rf_iris    RandomForestClassifier on iris (TreeEnsembleClassifier, 3
                               classes): a class no tree's leaf weighs scores exactly 0, which
                               SOFTMAX_ZERO leaves out (many rows have one or two such classes)
  linear_softmax_zero_iris     StandardScaler + LogisticRegression on iris (LinearClassifier)
                               with a fourth class whose coefficients and intercept are 0 (its
                               score is always 0, so SOFTMAX_ZERO leaves it at probability 0
                               where SOFTMAX would not); skl2onnx's Normalizer after the
                               classifier is dropped
  linear_softmax_zero_bc       StandardScaler + LogisticRegression on breast cancer
                               (LinearClassifier with skl2onnx's two rows of coefficients,
                               the scores [-s, s]): onnxruntime applies the same
                               ComputeSoftmaxZero to two scores as to more

Before writing, each generator checks that onnxruntime's outputs equal numpy's SOFTMAX_ZERO
(onnxruntime's ComputeSoftmaxZero) of the same model's scores without the post-transform, so
the fixture records what SOFTMAX_ZERO means to onnxruntime.
"""

import os

import numpy as np
import onnx
from skl2onnx import to_onnx
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import common
from post_transforms import attr, set_attr

S = common.SEED


def softmax_zero(v):
    """onnxruntime's ComputeSoftmaxZero in float32 over the last axis."""
    f = np.float32
    v = v.astype(f)
    m = v.max(axis=-1, keepdims=True)
    nz = np.abs(v) > f(1e-7)
    e = np.where(nz, np.exp(v - m), v * np.exp(-m))
    s = np.where(nz, e, f(0)).sum(axis=-1, keepdims=True)
    return e / s


def build(name, xtr, ytr):
    """The fitted model, its skl2onnx graph with SOFTMAX_ZERO set, the same graph without a
    post-transform, and the name of the probabilities output."""
    opts = {"": common.OPSET, "ai.onnx.ml": common.ML_OPSET}
    if name == "tree_softmax_zero_rf_iris":
        model = RandomForestClassifier(n_estimators=15, max_depth=4, random_state=S).fit(xtr, ytr)
        onx = to_onnx(model, xtr[:1], options={id(model): {"zipmap": False}}, target_opset=opts)
        node = next(n for n in onx.graph.node if n.op_type == "TreeEnsembleClassifier")
        out = "probabilities"
    elif name == "linear_softmax_zero_bc":
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(xtr, ytr)
        onx = to_onnx(model, xtr[:1], options={id(model[-1]): {"zipmap": False}}, target_opset=opts)
        node = next(n for n in onx.graph.node if n.op_type == "LinearClassifier")
        assert len(attr(node, "coefficients")) == 2 * xtr.shape[1], "two rows of coefficients"
        out = node.output[1]
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(xtr, ytr)
        onx = to_onnx(model, xtr[:1], options={id(model[-1]): {"zipmap": False}}, target_opset=opts)
        node = next(n for n in onx.graph.node if n.op_type == "LinearClassifier")
        k = len(attr(node, "coefficients")) // 3
        set_attr(node, "coefficients", list(attr(node, "coefficients")) + [0.0] * k)
        set_attr(node, "intercepts", list(attr(node, "intercepts")) + [0.0])
        set_attr(node, "classlabels_ints", [0, 1, 2, 3])
        # the label lookup after the classifier reads the class list: a fourth entry
        for init in onx.graph.initializer:
            if init.data_type == onnx.TensorProto.INT64 and list(init.dims) == [3]:
                vals = onnx.numpy_helper.to_array(init)
                if list(vals) == [0, 1, 2]:
                    init.CopyFrom(onnx.numpy_helper.from_array(np.arange(4, dtype=np.int64), init.name))
        # drop the Normalizer: the classifier's scores are the output
        norm = next(n for n in onx.graph.node if n.op_type == "Normalizer")
        onx.graph.node.remove(norm)
        node.output[1] = norm.output[0]
        out = norm.output[0]
        for v in list(onx.graph.output) + list(onx.graph.value_info):
            if v.name == out:
                v.type.tensor_type.shape.dim[1].dim_value = 4
    set_attr(node, "post_transform", "NONE")
    plain = onnx.ModelProto()
    plain.CopyFrom(onx)
    set_attr(node, "post_transform", "SOFTMAX_ZERO")
    return model, onx, plain, out


def generate(here, name):
    xtr, xte, ytr, yte = common.sklearn_split("bc" if name.endswith("_bc") else "iris")
    model, onx, plain, out = build(name, xtr, ytr)
    path = os.path.join(here, "model.onnx")
    common.save_model(onx, path)
    input_name = onx.graph.input[0].name
    labels = yte.astype(np.int64)
    outs = common.write_fixture(here, path, input_name, common.calibration_rows(xtr), xte, labels=labels)
    scores = common.run_model(plain, {input_name: xte})[out]
    want = softmax_zero(scores)
    err = float(np.max(np.abs(outs[out] - want)))
    assert err <= 1e-6, err
    zeros = int((np.abs(scores) <= 1e-7).sum())
    what = (
        f"outputs {sorted(outs)}, SOFTMAX_ZERO of scores with {zeros} zero scores over "
        f"{scores.shape[0]} rows, equal to numpy's within {err:.1e}, test accuracy "
        f"{common.accuracy(outs['label'], yte):.4f} on {len(yte)} rows"
    )
    common.report(here, what)
