"""Shared generator of the kernel-SVM fixtures testdata/models/svm_*/ (skl2onnx defaults).

Each fixture's gen.py calls generate(here, name). Models, data, split and recorded outputs are
those of ../linear.py (scikit-learn's bundled breast cancer, iris and diabetes, stratified
75/25 split with the shared seed, skl2onnx default options, onnxruntime's outputs on the
held-out rows in expected.json). Every model standardizes its features first (kernels on raw
breast-cancer features are dominated by the largest one), and keeps scikit-learn's default
kernel parameters (`gamma="scale"`: 1 / (features * variance), so 1/30 on breast cancer).

The iris classifier is one-vs-one (3 pairwise decisions); skl2onnx turns its votes and scores
into scikit-learn's `decision_function_shape="ovr"` values after the SVMClassifier (Less, Neg,
ArrayFeatureExtractor, Sum, Abs, Div, ...), recorded as the ZipMap's probabilities tensor.
`svm_rbf_proba_bc` is SVC(probability=True): the SVMClassifier carries Platt's prob_a/prob_b
and outputs onnxruntime's probabilities of the two classes instead of the decision scores.
The SVR's C is raised to 100 (diabetes targets are in the hundreds; with the default C=1 the
model barely moves from the mean).
"""

from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR

import linear

MODELS = {
    # SVC() with its default RBF kernel on breast cancer (binary: one decision)
    "svm_rbf_bc": ("bc", lambda: make_pipeline(StandardScaler(), SVC())),
    # SVC() on iris: one-vs-one over 3 classes
    "svm_rbf_iris": ("iris", lambda: make_pipeline(StandardScaler(), SVC())),
    # SVR() with the RBF kernel on diabetes
    "svm_rbf_diabetes": ("diabetes", lambda: make_pipeline(StandardScaler(), SVR(C=100.0))),
    # the polynomial kernel (degree 3, coef0 0)
    "svm_poly_bc": ("bc", lambda: make_pipeline(StandardScaler(), SVC(kernel="poly"))),
    # the sigmoid kernel, tanh(gamma x.v + coef0), coef0 0
    "svm_sigmoid_bc": ("bc", lambda: make_pipeline(StandardScaler(), SVC(kernel="sigmoid"))),
    # SVC(probability=True): Platt's prob_a/prob_b on the binary decision (onnxruntime's
    # probabilities are those of libsvm's pairwise coupling of the two classes)
    "svm_rbf_proba_bc": ("bc", lambda: make_pipeline(StandardScaler(), SVC(probability=True, random_state=linear.S))),
}


def generate(here, name):
    linear.generate(here, name, MODELS)
