"""Shared generator of the opset-5 `TreeEnsemble` fixtures testdata/models/tree_v5_*/.

No converter on the registries writes ai.onnx.ml opset 5 yet (skl2onnx 1.20 still writes
`TreeEnsembleClassifier`/`Regressor` when asked for it), so the generator converts
skl2onnx's `TreeEnsembleRegressor` output attribute by attribute into the opset-5 form
(branch nodes indexed from `tree_roots`, leaves in their own arrays, modes as uint8, splits and
weights as tensors) and checks under onnxruntime that both give the same outputs before
writing the fixture. The models have no base value (opset 5 has none): a RandomForest
regressor (its mean as a SUM of leaves divided by the tree count, as skl2onnx writes it) on diabetes and a zero-init GradientBoosting classifier's raw score on breast
cancer, and the latter's form with set-membership roots (`BRANCH_MEMBER`, on a categorical
column). All with `post_transform` NONE: onnxruntime 1.31 and the ONNX reference implementation
ignore an opset-5 post-transform, so vouch refuses any other rather than pick a meaning.
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor

import common

S = common.SEED
MODES = {b"BRANCH_LEQ": 0, b"BRANCH_LT": 1, b"BRANCH_GTE": 2, b"BRANCH_GT": 3, b"BRANCH_EQ": 4, b"BRANCH_NEQ": 5}

MODELS = {
    "tree_v5_rf_diabetes": ("diabetes", lambda: RandomForestRegressor(n_estimators=10, max_depth=5, random_state=S), 1, 0),
    "tree_v5_gb_bc": ("bc", lambda: GradientBoostingClassifier(n_estimators=30, max_depth=3, init="zero", random_state=S), 1, 0),
    # set-membership splits: each tree of a zero-init GradientBoosting classifier on breast
    # cancer with a categorical column (trees.categorical_split) under a new root that tests
    # the category against a set (BRANCH_MEMBER; false: a leaf of weight 0)
    "tree_v5_member_bc": ("bc_cat", lambda: GradientBoostingClassifier(n_estimators=20, max_depth=3, init="zero", random_state=S), 1, 0),
}

# the set of tree t's new root, by t mod 3 (a single member, two, three)
MEMBER_SETS = [[1.0, 3.0, 4.0], [0.0, 2.0], [5.0]]
CATEGORY = 8


def with_member_roots(node):
    """`node` (an opset-5 TreeEnsemble) with each tree under a new BRANCH_MEMBER root on the
    category column: true to the old root, false to a new leaf of weight 0."""
    a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
    arr = {k: list(numpy_helper.to_array(a[k])) for k in ("nodes_modes", "nodes_splits", "leaf_weights")}
    ints = {k: list(a[k]) for k in ("nodes_featureids", "nodes_truenodeids", "nodes_trueleafs",
                                    "nodes_falsenodeids", "nodes_falseleafs", "leaf_targetids")}
    roots, members = [], []
    for t, root in enumerate(a["tree_roots"]):
        leaf = len(arr["leaf_weights"])
        arr["leaf_weights"].append(0.0)
        ints["leaf_targetids"].append(0)
        roots.append(len(arr["nodes_modes"]))
        arr["nodes_modes"].append(6)
        arr["nodes_splits"].append(0.0)
        for k, v in (("nodes_featureids", CATEGORY), ("nodes_truenodeids", root), ("nodes_trueleafs", 0),
                     ("nodes_falsenodeids", leaf), ("nodes_falseleafs", 1)):
            ints[k].append(v)
    # sets in node order (the new roots come last, in tree order), separated by NaN
    for t in range(len(roots)):
        members += MEMBER_SETS[t % 3] + [float("nan")]
    return helper.make_node(
        "TreeEnsemble", ["X"], ["Y"], domain="ai.onnx.ml",
        n_targets=1, aggregate_function=1, post_transform=0, tree_roots=roots,
        nodes_featureids=ints["nodes_featureids"],
        nodes_modes=numpy_helper.from_array(np.array(arr["nodes_modes"], dtype=np.uint8)),
        nodes_splits=numpy_helper.from_array(np.array(arr["nodes_splits"], dtype=np.float32)),
        nodes_truenodeids=ints["nodes_truenodeids"], nodes_trueleafs=ints["nodes_trueleafs"],
        nodes_falsenodeids=ints["nodes_falsenodeids"], nodes_falseleafs=ints["nodes_falseleafs"],
        leaf_targetids=ints["leaf_targetids"],
        leaf_weights=numpy_helper.from_array(np.array(arr["leaf_weights"], dtype=np.float32)),
        membership_values=numpy_helper.from_array(np.array(members[:-1], dtype=np.float32)),
    )


def to_v5(legacy, prefix, aggregate, post):
    """The opset-5 TreeEnsemble of a TreeEnsembleRegressor (`prefix` "target") or one-score
    binary TreeEnsembleClassifier ("class") node's attributes."""
    a = {x.name: helper.get_attribute_value(x) for x in legacy.attribute}
    assert not any(a.get("base_values", [])), "opset 5 has no base values"
    tids, nids, modes = a["nodes_treeids"], a["nodes_nodeids"], a["nodes_modes"]
    index = {(t, n): i for i, (t, n) in enumerate(zip(tids, nids))}
    weights = {(t, n): w for t, n, w in zip(a[f"{prefix}_treeids"], a[f"{prefix}_nodeids"], a[f"{prefix}_weights"])}
    branch, leaf = {}, {}
    for i, m in enumerate(modes):
        key = (tids[i], nids[i])
        (leaf if m == b"LEAF" else branch)[key] = len(leaf if m == b"LEAF" else branch)
    n_b = len(branch)
    nodes = {k: [] for k in ("feat", "mode", "split", "t", "f", "tl", "fl")}
    order = sorted(branch, key=branch.get)
    for key in order:
        i = index[key]
        t = key[0]
        nodes["feat"].append(a["nodes_featureids"][i])
        nodes["mode"].append(MODES[modes[i]])
        nodes["split"].append(a["nodes_values"][i])
        for side, child in (("t", a["nodes_truenodeids"][i]), ("f", a["nodes_falsenodeids"][i])):
            ck = (t, child)
            is_leaf = ck in leaf
            nodes[side].append(leaf[ck] if is_leaf else branch[ck])
            nodes[side + "l"].append(int(is_leaf))
    roots = []
    for t in sorted(set(tids)):
        children = {(t, c) for i, tt in enumerate(tids) if tt == t and modes[i] != b"LEAF"
                    for c in (a["nodes_truenodeids"][i], a["nodes_falsenodeids"][i])}
        root = [k for k in branch if k[0] == t and k not in children]
        roots.append(branch[root[0]])
    leaves = sorted(leaf, key=leaf.get)
    return helper.make_node(
        "TreeEnsemble", ["X"], ["Y"], domain="ai.onnx.ml",
        n_targets=1, aggregate_function=aggregate, post_transform=post,
        tree_roots=roots,
        nodes_featureids=nodes["feat"],
        nodes_modes=numpy_helper.from_array(np.array(nodes["mode"], dtype=np.uint8)),
        nodes_splits=numpy_helper.from_array(np.array(nodes["split"], dtype=np.float32)),
        nodes_truenodeids=nodes["t"], nodes_trueleafs=nodes["tl"],
        nodes_falsenodeids=nodes["f"], nodes_falseleafs=nodes["fl"],
        leaf_targetids=[0] * len(leaves),
        leaf_weights=numpy_helper.from_array(np.array([weights[k] for k in leaves], dtype=np.float32)),
    ), n_b


def generate(here, name):
    data, make, aggregate, post = MODELS[name]
    if data == "bc_cat":
        import trees

        xtr, xte, ytr, yte = trees.categorical_split()
    else:
        xtr, xte, ytr, yte = common.sklearn_split(data)
    model = make().fit(xtr, ytr)
    classifier = data != "diabetes"
    options = {id(model): {"zipmap": False}} if classifier else None
    legacy = to_onnx(model, xtr[:1], options=options, target_opset={"": common.OPSET, "ai.onnx.ml": 3})
    op, prefix = ("TreeEnsembleClassifier", "class") if classifier else ("TreeEnsembleRegressor", "target")
    node, _ = to_v5(next(n for n in legacy.graph.node if n.op_type == op), prefix, aggregate, post)
    if data == "bc_cat":
        node = with_member_roots(node)
    f = xtr.shape[1]
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", f])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 1])],
    )
    model5 = helper.make_model(
        graph, producer_name="vouch-testdata", ir_version=10,
        opset_imports=[helper.make_opsetid("", common.OPSET), helper.make_opsetid("ai.onnx.ml", 5)],
    )
    path = os.path.join(here, "model.onnx")
    common.save_model(model5, path)
    outs = common.write_fixture(here, path, "X", common.calibration_rows(xtr), xte)
    # the same trees as skl2onnx wrote them agree with the opset-5 form
    ref = common.run_model(legacy, {legacy.graph.input[0].name: xte})
    # the regressor's values, or the classifier's raw score (with member roots: the trees
    # whose set holds the row's category)
    want = model.decision_function(xte) if classifier else ref[sorted(ref)[0]].reshape(-1)
    if data == "bc_cat":
        lr = model.learning_rate
        want = sum(
            np.isin(xte[:, CATEGORY], MEMBER_SETS[t % 3]) * lr * est[0].predict(xte)
            for t, est in enumerate(model.estimators_)
        )
    got = outs["Y"].reshape(-1)
    assert np.allclose(got, want, rtol=1e-5, atol=1e-6), float(np.max(np.abs(got - want)))
    common.report(here, f"outputs {sorted(outs)}, equal to the legacy form's (or the classifier's own) scores within 1e-5")

