"""PROBIT post-transform fixture `linear_probit_iris` (see ../post_transforms.py for the model and data).

Run: .venv/bin/python testdata/models/linear_probit_iris/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import post_transforms  # noqa: E402

if __name__ == "__main__":
    post_transforms.generate(here, "linear_probit_iris")
