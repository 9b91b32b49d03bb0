"""skl2onnx kernel SVM fixture `svm_rbf_proba_bc` (see ../svm.py for the model and data).

Run: .venv/bin/python testdata/models/svm_rbf_proba_bc/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import svm  # noqa: E402

if __name__ == "__main__":
    svm.generate(here, "svm_rbf_proba_bc")
