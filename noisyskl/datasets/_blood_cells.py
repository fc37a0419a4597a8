"""Loader of the packaged blood-cell images."""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

DESCR = """Peripheral blood cell images (small subset)
===========================================

480 RGB images of single peripheral blood cells, 32 x 32 pixels, 60 for each
of 8 classes: basophil, eosinophil, erythroblast, ig (immature granulocyte),
lymphocyte, monocyte, neutrophil, platelet. Labels come from clinical
pathologists; classes that experts themselves confuse (monocyte, lymphocyte,
immature granulocyte) make it a realistic small test bed for label noise.

Source: Acevedo A., Merino A., Alferez S., Molina A., Boldu L., Rodellar J.,
"A dataset of microscopic peripheral blood cell images for development of
automatic recognition systems", Data in Brief 30 (2020) 105474; Mendeley
Data, doi:10.17632/snkd93bnjr.1. Licence: CC BY 4.0. Images from the
Hospital Clinic of Barcelona.

This copy: 60 images per class drawn at random (seed 2024) from a 300-per-class
subset resized to 64 x 64, then averaged over 2 x 2 blocks to 32 x 32.
Original file names are kept in ``filenames``.
"""


def load_blood_cells(*, return_X_y=False, as_frame=False):
    """Load 480 labelled blood-cell images (8 classes, 32 x 32 RGB).

    The images are from Acevedo et al. (2020), Data in Brief 30, 105474,
    doi:10.17632/snkd93bnjr.1, licence CC BY 4.0; see ``DESCR`` for the full
    attribution and how this subset was made.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Return ``data`` as a pandas DataFrame with one column per pixel value
        (``c{channel}_{row}_{col}``) and ``target`` as a Series. The Bunch's
        ``frame`` holds both.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the following attributes.

        data : ndarray of shape (480, 3, 32, 32), float32
            Pixel values in [0, 1], channels first (ready for a CNN); a
            DataFrame of shape (480, 3072) if ``as_frame``.
        target : ndarray of shape (480,), int64
            Class index into ``target_names`` (a Series if ``as_frame``).
        target_names : ndarray of shape (8,), str
            The class names.
        images : ndarray of shape (480, 32, 32, 3), uint8
            The same images, channels last, for display.
        filenames : ndarray of shape (480,), str
            File names in the original data set.
        frame : DataFrame of shape (480, 3073) or None
            Pixels and target together, if ``as_frame``.
        DESCR : str
            Description and attribution.
    (data, target) : tuple
        If ``return_X_y``.

    Examples
    --------
    >>> from noisyskl.datasets import load_blood_cells
    >>> cells = load_blood_cells()
    >>> cells.data.shape, cells.target_names[:3].tolist()
    ((480, 3, 32, 32), ['basophil', 'eosinophil', 'erythroblast'])
    """
    path = resources.files("noisyskl.datasets") / "data" / "blood_cells_32px.npz"
    with resources.as_file(path) as file, np.load(file) as archive:
        images = archive["images"]
        target = archive["target"]
        target_names = archive["target_names"]
        filenames = archive["filenames"]
    data = np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
    frame = None
    if as_frame:
        import pandas as pd

        columns = [f"c{c}_{i}_{j}" for c in range(3) for i in range(32) for j in range(32)]
        data = pd.DataFrame(data.reshape(len(data), -1), columns=columns)
        target = pd.Series(target, name="target")
        frame = pd.concat([data, target], axis=1)
    if return_X_y:
        return data, target
    return Bunch(data=data, target=target, target_names=target_names, images=images,
                 filenames=filenames, frame=frame, DESCR=DESCR)
