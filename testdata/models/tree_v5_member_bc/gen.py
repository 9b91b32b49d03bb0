"""Opset-5 TreeEnsemble fixture `tree_v5_member_bc` (see ../tree_v5.py for the model and data).

Run: .venv/bin/python testdata/models/tree_v5_member_bc/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import tree_v5  # noqa: E402

if __name__ == "__main__":
    tree_v5.generate(here, "tree_v5_member_bc")
