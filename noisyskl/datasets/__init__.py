"""Small real data sets shipped with noisyskl (see :func:`load_blood_cells`)."""

from ._blood_cells import load_blood_cells

__all__ = ["load_blood_cells"]
