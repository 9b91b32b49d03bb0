"""skl2onnx linear model fixture `linear_linearsvc_bc` (see ../linear.py for the model and data).

Run: .venv/bin/python testdata/models/linear_linearsvc_bc/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import linear  # noqa: E402

if __name__ == "__main__":
    linear.generate(here, "linear_linearsvc_bc")
