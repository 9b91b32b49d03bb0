"""SOFTMAX_ZERO post-transform fixture `linear_softmax_zero_bc` (see ../softmax_zero.py for the model and data).

Run: .venv/bin/python testdata/models/linear_softmax_zero_bc/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import softmax_zero  # noqa: E402

if __name__ == "__main__":
    softmax_zero.generate(here, "linear_softmax_zero_bc")
