"""Tree ensemble fixture `tree_lgb_cat_bc` (see ../trees.py for the model and data).

Run: .venv/bin/python testdata/models/tree_lgb_cat_bc/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import trees  # noqa: E402

if __name__ == "__main__":
    trees.generate(here, "tree_lgb_cat_bc")
