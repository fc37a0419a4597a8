"""The review page: the rows to review as one self-contained HTML file.

Everything is inline (the rows as JSON, thumbnails as data URIs, the style
and the script from ``_review_template.html``): the page opens from
``file://`` with no network. Its decisions are kept in the browser's
``localStorage`` and download as the CSV ``read_review`` reads. This module
only assembles the page from plain values; the estimator chooses the rows
(``ResultsMixin.export_review``).
"""

import base64
import hashlib
import html
import io
import json
import re
from importlib import resources

import numpy as np

__all__ = ["PAGE_SIZE", "choose_rows", "feature_lines", "page_id", "review_html", "row_views",
           "thumbnail"]

#: Rows a page of the review shows at once (the page stays quick at 5,000 rows).
PAGE_SIZE = 25


def page_id(given, classes, paths=None):
    """An id of the reviewed data set (its given labels, classes and files):
    the browser keeps each data set's decisions apart."""
    digest = hashlib.sha256()
    digest.update(json.dumps([str(c) for c in classes]).encode())
    digest.update(np.asarray(given, dtype=np.int64).tobytes())
    if paths is not None:
        digest.update(json.dumps([str(p) for p in paths]).encode())
    return digest.hexdigest()[:16]


def _as_image(x):
    """An image row as an (H, W) or (H, W, 3) uint8 array, or None when
    ``x`` is not one ((C, H, W) with 1 or 3 channels, or (H, W))."""
    x = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x)
    if x.ndim == 3 and x.shape[0] in (1, 3):
        x = x[0] if x.shape[0] == 1 else np.moveaxis(x, 0, -1)
    elif x.ndim == 3 and x.shape[-1] in (1, 3):  # (H, W, C), as PIL gives it
        x = x[..., 0] if x.shape[-1] == 1 else x
    if x.ndim not in (2, 3) or min(x.shape[:2]) < 2:
        return None
    if x.dtype != np.uint8:  # any range, stretched per image
        x = x.astype(np.float64)
        low, high = np.nanmin(x), np.nanmax(x)
        x = np.zeros_like(x) if not high > low else (x - low) / (high - low) * 255
        x = np.nan_to_num(x).round().astype(np.uint8)
    return x


def thumbnail(image, size):
    """A data URI of ``image`` (a PIL image, an image row as an array or
    tensor, or a file path) at most ``size`` pixels on a side; None when it
    is not an image."""
    from PIL import Image

    if isinstance(image, str):
        with Image.open(image) as opened:
            image = opened.convert("RGB")
    elif not isinstance(image, Image.Image):
        array = _as_image(image)
        if array is None:
            return None
        image = Image.fromarray(array)
    small = max(image.size) <= 32  # (drawn large and pixelated by the page: lossless)
    if not small:
        image = image.copy()
        image.thumbnail((size, size))
    out = io.BytesIO()
    if small:
        image.save(out, format="PNG")
    else:
        image.convert("RGB").save(out, format="JPEG", quality=85)
    kind = "png" if small else "jpeg"
    return f"data:image/{kind};base64," + base64.b64encode(out.getvalue()).decode()


def feature_lines(X, rows, names=None, at_most=6):
    """A compact view of tabular rows: per row, its ``at_most`` features
    furthest from the column means (in standard deviations), as text."""
    values = X.to_numpy() if hasattr(X, "to_numpy") else np.asarray(
        X.detach().cpu() if hasattr(X, "detach") else X)
    values = values.reshape(len(values), -1).astype(np.float64)
    names = (np.asarray(names, dtype=object) if names is not None else
             np.array([f"x{j}" for j in range(values.shape[1])], dtype=object))
    mean = np.nanmean(values, 0)
    std = np.nanstd(values, 0)
    std[~(std > 0)] = 1.0
    lines = []
    for i in rows:
        z = (values[i] - mean) / std
        order = np.argsort(-np.abs(np.nan_to_num(z)), kind="stable")[:at_most]
        lines.append([f"{names[j]} = {values[i, j]:.4g} ({z[j]:+.1f} sd)" for j in order])
    return lines


def review_html(rows, classes, given, title, filename, paths=None, names=None):
    """The page: ``rows`` (dicts with ``row``, ``path``, ``given``,
    ``suggested``, ``p``, ``quality``, ``votes``, ``image``, ``features``),
    worst first; ``given`` the whole set's given labels (class indices) and
    ``paths`` its files, for the page's id; ``names`` (or None) the name to
    show for each class, in ``classes``' order (the CSV keeps the classes)."""
    data = {"id": page_id(given, classes, paths), "classes": [str(c) for c in classes],
            "rows": rows, "page_size": PAGE_SIZE, "filename": filename}
    if names is not None:
        data["names"] = {str(c): str(n) for c, n in zip(classes, names)}
    # "<" escaped inside the JSON's strings: no label or path can close the script
    payload = json.dumps(data, allow_nan=False).replace("<", "\\u003c")
    template = resources.files("noisyskl").joinpath("_review_template.html").read_text("utf-8")
    fill = {"__TITLE__": html.escape(title), "__DATA__": payload}
    return re.sub("__TITLE__|__DATA__", lambda m: fill[m.group(0)], template)


def choose_rows(report, max_rows=None):
    """The rows to review, worst (lowest label quality) first: the label
    issues, or the ``max_rows`` rows of lowest label quality; never a row a
    reviewer already decided (``trusted``)."""
    quality = report["label_quality"].to_numpy()
    open_rows = ~report["trusted"].to_numpy() if "trusted" in report else np.ones(len(report),
                                                                                 bool)
    if max_rows is None:
        chosen = np.flatnonzero(report["is_label_issue"].to_numpy() & open_rows)
        return chosen[np.argsort(quality[chosen], kind="stable")]
    chosen = np.flatnonzero(open_rows)
    return chosen[np.argsort(quality[chosen], kind="stable")][:max_rows]


def row_views(X, rows, paths, image_rows, feature_names, size):
    """Per row of ``rows``: ``(image, features)``: a thumbnail's data URI
    (from the row's file where ``paths`` names one, else from an image row
    of ``X``) or None, and a tabular row's feature lines or None."""
    if X is not None and not hasattr(X, "shape") and not hasattr(X, "iloc") and (
            paths is None or not all(paths[i] for i in rows)):  # a Dataset's items
        return [(_safe_thumbnail(_item_x(X, i), size), None) for i in rows]
    if paths is not None and all(paths[i] for i in rows):
        # the file; where it does not open as an image, the Dataset's item
        return [(_safe_thumbnail(str(paths[i]), size)
                 or (_safe_thumbnail(_item_x(X, i), size) if X is not None else None), None)
                for i in rows]
    if X is None:
        return [(None, None)] * len(rows)
    if image_rows:
        return [(_safe_thumbnail(X[int(i)], size), None) for i in rows]
    return [(None, lines) for lines in feature_lines(X, rows, feature_names)]


def _item_x(dataset, i):
    """Row ``i``'s x of a Dataset of ``(x, label)`` items or of x; None where
    it does not read."""
    try:
        item = dataset[int(i)]
    except Exception:
        return None
    return item[0] if isinstance(item, (tuple, list)) else item


def _safe_thumbnail(image, size):
    """:func:`thumbnail`, or None where ``image`` is missing or does not
    decode (the page shows the row without a picture)."""
    if image is None:
        return None
    try:
        return thumbnail(image, size)
    except (OSError, ValueError, TypeError):
        return None
