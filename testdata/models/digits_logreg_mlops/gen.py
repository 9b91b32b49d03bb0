"""The digits_logreg classifier as skl2onnx writes it by default: ai.onnx.ml LinearClassifier.

ZipMap off. The whole model is one ai.onnx.ml LinearClassifier (post_transform SOFTMAX) followed
by an ai.onnx.ml Normalizer (L1).

Outputs `label` [N] int64 and `probabilities` [N,10]. A real-world graph whose core is not in
the standard domain: an engine either implements LinearClassifier or rejects it clearly.
Run: .venv/bin/python testdata/models/digits_logreg_mlops/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "digits_logreg"))

from gen import generate  # noqa: E402

if __name__ == "__main__":
    generate(here, zipmap=False, linear_classifier_op=True)
