"""Sphinx configuration. Build offline with warnings as errors:

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import os

import noisyskl

os.environ.setdefault("MPLBACKEND", "Agg")

project = "noisyskl"
author = "the noisyskl developers"
copyright = "2026, the noisyskl developers"
version = release = noisyskl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5"]
myst_heading_anchors = 3
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
autodoc_default_options = {"member-order": "bysource"}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
}

html_theme = "alabaster"
html_static_path = []
# No intersphinx: the build must work offline.
