"""`make demo`: both motivating examples, end to end."""

import runpy
from pathlib import Path

here = Path(__file__).parent
for script in ["tree_random_search.py", "epochs_grid_search.py"]:
    print(f"== examples/{script}")
    runpy.run_path(str(here / script), run_name="__main__")
