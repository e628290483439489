"""Sphinx configuration: the API reference, built from the numpydoc docstrings.

Built by ``make docs`` with warnings as errors (``-W``); CI runs it.
"""

from __future__ import annotations

import hpsearch

project = "hpsearch"
author = "The hpsearch developers"
copyright = "the hpsearch developers"
version = release = hpsearch.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "numpydoc",
]
# architecture.md is for contributors and is read on its own.
exclude_patterns = ["_build", "architecture.md"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"

# Inherited scikit-learn methods are documented by scikit-learn; list only what
# each page names.
autodoc_inherit_docstrings = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc sections say the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_title = f"hpsearch {release}"
html_static_path: list[str] = []
