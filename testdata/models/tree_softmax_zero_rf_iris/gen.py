"""SOFTMAX_ZERO post-transform fixture `tree_softmax_zero_rf_iris` (see ../softmax_zero.py for the model and data).

Run: .venv/bin/python testdata/models/tree_softmax_zero_rf_iris/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import softmax_zero  # noqa: E402

if __name__ == "__main__":
    softmax_zero.generate(here, "tree_softmax_zero_rf_iris")
