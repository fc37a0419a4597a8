"""Plots of what the method did (needs matplotlib: ``pip install 'noisyskl[plots]'``).

matplotlib is imported only when a function here is called, so the package
imports without it. Every function takes a fitted
:class:`~noisyskl.NoisyNeuralNetClassifier` and returns matplotlib Axes (or a
Figure for the image grid); pass ``ax=`` to draw into your own figure.
"""

import numpy as np
import torch

from . import _functional as Fn
from ._report import HISTOGRAM_BINS

__all__ = [
    "plot_gradient_norm_history",
    "plot_gradient_norms",
    "plot_refinement_confusion",
    "plot_refinement_history",
    "plot_suspicious_samples",
]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised without matplotlib
        raise ImportError(
            "noisyskl's plotting functions need matplotlib. Install it with "
            "pip install 'noisyskl[plots]' (or pip install matplotlib)."
        ) from exc
    return plt


def _axes(ax):
    return _pyplot().subplots()[1] if ax is None else ax


def plot_gradient_norms(clf, ax=None, n_points=201):
    """The patent's Figure 2 for a fitted model: g and the weights over it.

    Histogram of the training rows' last gradient norm g and, on a second
    axis, the loss weight the run applied at each g (``clf.weighting``: the
    Gaussian weight beta, the density weight alpha, or their product, whose
    factors are drawn dashed), with the last epoch's rows for the density and
    sigma. Each curve is divided by its mean over the training rows, so 1 is
    an average row's weight and the curves share one scale (beta itself is a
    normal density, whose height depends on sigma). With ``weighting=None``
    every row weighs the same and only the histogram is drawn. The legend
    sits below the axes, clear of the histogram.

    Parameters
    ----------
    clf : fitted NoisyNeuralNetClassifier
    ax : matplotlib Axes or None
    n_points : int, default=201
        Resolution of the weight curves.

    Returns
    -------
    matplotlib Axes
        The histogram's axes; ``ax.right_ax`` holds the weight curves.
    """
    ax = _axes(ax)
    g = clf.gradient_norms_[clf.train_mask_]
    ax.hist(g, bins=HISTOGRAM_BINS, range=(0, 1), color="0.75", label="training rows")
    ax.set_xlabel("gradient norm g")
    ax.set_ylabel("number of training rows")
    grid = torch.linspace(0, 1, n_points)
    g_t = torch.as_tensor(g)
    counts = Fn.bin_counts(g_t, clf.bins)
    sigma = Fn.gaussian_sigma(Fn.squared_deviation(g_t, clf.mu).sum(), len(g)).float()
    empty = counts[Fn.bin_index(grid, clf.bins)] == 0  # alpha is undefined there

    def relative(weighting):
        """The weight over the grid, over its mean on the rows (1 = average)."""
        curve = Fn.sample_weights(grid, counts, len(g), clf.mu, sigma, weighting)
        on_rows = Fn.sample_weights(g_t, counts, len(g), clf.mu, sigma, weighting)
        curve = curve / on_rows.mean()
        if weighting in ("both", "density"):
            curve[empty] = float("nan")
        return curve

    names = {"gaussian": f"Gaussian weight β (μ={clf.mu})",
             "density": f"density weight α (B={clf.bins})", "both": "α · β (the patent's)"}
    right = ax.twinx()
    if clf.weighting is not None:
        right.plot(grid, relative(clf.weighting), color="tab:red", lw=2,
                   label=f"applied: {names[clf.weighting]}")
        if clf.weighting == "both":
            for factor, colour in (("density", "tab:blue"), ("gaussian", "tab:orange")):
                right.plot(grid, relative(factor), color=colour, ls="--",
                           label=f"factor: {names[factor]}")
        right.set_ylabel("weight / its mean over the rows")
        right.axhline(1.0, color="0.5", lw=0.8, ls=":")
    else:
        right.set_yticks([])
    lines = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper center",
              bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False, fontsize="small")
    ax.set_title("Gradient norms and loss weights (last epoch)"
                 + (" — weighting=None: every row weighs 1" if clf.weighting is None else ""))
    ax.right_ax = right
    return ax


def plot_gradient_norm_history(clf, epochs=None, ax=None):
    """How the distribution of g moved over the epochs.

    Parameters
    ----------
    clf : fitted NoisyNeuralNetClassifier
    epochs : list of int or None
        1-based epochs to draw; by default up to six spread over training.
    ax : matplotlib Axes or None

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax)
    hist = clf.gradient_histograms_
    n_epochs = len(hist)
    if epochs is None:
        epochs = sorted(set(np.linspace(1, n_epochs, min(6, n_epochs)).round().astype(int)))
    edges = np.linspace(0, 1, hist.shape[1] + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    cmap = _pyplot().get_cmap("viridis")
    for k, epoch in enumerate(epochs):
        if not 1 <= epoch <= n_epochs:
            raise ValueError(f"epochs must lie in 1..{n_epochs}; got {epoch}.")
        ax.plot(centres, hist[epoch - 1], drawstyle="steps-mid",
                color=cmap(k / max(len(epochs) - 1, 1)), label=f"epoch {epoch}")
    ax.set_xlabel("gradient norm g")
    ax.set_ylabel("number of training rows")
    ax.set_title("Distribution of g over training")
    ax.legend()
    return ax


def plot_refinement_history(clf, ax=None):
    """Number of rows whose refined label differs from the annotation, per epoch.

    With ``rounds=2`` this is the first round, where the refinement happens.

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax)
    # with rounds=2 the refinement happened in the first round
    history = getattr(clf, "first_round_history_", None) or clf.history
    epochs = history[:, "epoch"]
    ax.plot(epochs, history[:, "n_refined"], marker="o", label="training rows")
    if all("n_refined_valid" in row for row in history):
        ax.plot(epochs, history[:, "n_refined_valid"], marker="s", label="held-out rows")
    warm_up = max(clf.warm_up, 1)
    ax.axvline(warm_up, color="0.6", linestyle="--", label=f"first refinement (epoch {warm_up})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("refined label ≠ annotation")
    ax.set_title("Labels refined per epoch")
    ax.legend()
    return ax


def plot_refinement_confusion(clf, ax=None, normalize=False):
    """Confusion table of given (rows) vs refined (columns) labels.

    Parameters
    ----------
    clf : fitted NoisyNeuralNetClassifier
    ax : matplotlib Axes or None
    normalize : bool, default=False
        Divide each row by its total (share of each given label).

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax)
    report = clf.find_label_issues()
    classes = list(clf.classes_)
    given = report["given_label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    refined = report["predicted_label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    table = np.zeros((len(classes), len(classes)))
    np.add.at(table, (given, refined), 1)
    if normalize:
        table = table / np.maximum(table.sum(1, keepdims=True), 1)
    image = ax.imshow(table, cmap="Blues")
    for (i, j), value in np.ndenumerate(table):
        text = f"{value:.2f}" if normalize else f"{int(value)}"
        ax.text(j, i, text, ha="center", va="center",
                color="white" if value > table.max() / 2 else "black", fontsize=8)
    ax.set_xticks(range(len(classes)), [str(c) for c in classes], rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), [str(c) for c in classes])
    ax.set_xlabel("refined label")
    ax.set_ylabel("given label")
    ax.set_title("Given vs refined labels")
    ax.figure.colorbar(image, ax=ax)
    return ax


def plot_suspicious_samples(clf, images, n=16, ncols=8, figsize=None, class_names=None):
    """A grid of the most suspicious training images, given → refined label.

    Each panel's title gives the given and the refined label, in how many
    of the refinements the row was flagged, and the model's latest
    probability of the given label (``p``), which tells apart rows whose
    ``label_quality`` is 0 alike; the panels are ordered by ``label_quality``,
    then by ``p``.

    Parameters
    ----------
    clf : fitted NoisyNeuralNetClassifier
    images : array-like of shape (n_samples, ...), or a torch Dataset
        The images, of shape (n_samples, H, W), (n_samples, H, W, 3) or
        (n_samples, 3, H, W), in the row order of the X given to ``fit``; or a map-style
        Dataset of them (its items ``x`` or ``(x, label)``, ``x`` an array,
        tensor or PIL image), of which only the rows shown are read.
    n : int, default=16
        How many to show, lowest ``label_quality`` first.
    ncols : int, default=8
    figsize : tuple or None
    class_names : sequence, dict or None, default=None
        Names to show for the labels: a dict label -> name, or a sequence
        indexed by integer labels. None: a Dataset's own ``classes`` list
        where the labels are indices into it, else the labels.

    Returns
    -------
    matplotlib Figure
    """
    for name, value in (("n", n), ("ncols", ncols)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    plt = _pyplot()
    dataset = isinstance(images, torch.utils.data.Dataset)
    if not dataset:
        images = np.asarray(images)
    if not dataset and images.ndim not in (3, 4):
        raise ValueError(
            f"plot_suspicious_samples draws images: images must have shape (n_samples, H, W), "
            f"(n_samples, H, W, channels) or (n_samples, channels, H, W); got "
            f"{images.shape}. For tabular X, read the rows of "
            "clf.find_label_issues().sort_values('label_quality') instead.")
    report = clf.find_label_issues()
    if len(images) != len(report):
        raise ValueError(f"images has {len(images)} rows but the estimator was fitted on "
                         f"{len(report)}; pass the images in the order of X.")
    given = clf.refinement_state_.top_voted_index().cpu().numpy()
    p_given = clf.refinement_state_.proba.float().cpu().numpy()[np.arange(len(given)), given]
    order = np.lexsort((p_given, report["label_quality"].to_numpy()))[:n]
    name = _namer(class_names, images if dataset else None)
    nrows = int(np.ceil(len(order) / ncols))
    # (constrained: two-line titles clear the row above; tight_layout let them overlap)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize or (1.6 * ncols, 1.9 * nrows),
                             squeeze=False, layout="constrained")
    for ax in axes.ravel():
        ax.axis("off")
    for ax, row in zip(axes.ravel(), order):
        img = _image_of(images[int(row)]) if dataset else images[row]
        if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3):
            img = np.moveaxis(img, 0, -1)
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        if img.dtype != np.uint8:  # imshow takes uint8 as 0-255; the rest is scaled to [0, 1]
            img = img.astype(np.float32)
            lo, hi = float(img.min()), float(img.max())
            img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
        entry = report.iloc[row]
        ax.set_title(f"{name(entry['given_label'])} → {name(entry['predicted_label'])}\n"
                     f"flagged {entry['flagged_fraction']:.0%}, p={p_given[row]:.2g}",
                     fontsize=8)
    fig.suptitle("Most suspicious annotations (given → refined)")
    return fig


def _image_of(item):
    """A Dataset item's image (``x``, or the first of ``(x, label)``) as an array."""
    x = item[0] if isinstance(item, (tuple, list)) else item
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _namer(class_names, dataset):
    """label -> the name to show (see ``plot_suspicious_samples``)."""
    if class_names is None and dataset is not None:
        names = getattr(dataset, "classes", None)
        class_names = list(names) if names is not None else None
    if class_names is None:
        return str
    if isinstance(class_names, dict):
        return lambda label: str(class_names.get(label, label))
    names = list(class_names)

    def name(label):
        if isinstance(label, (int, np.integer)) and 0 <= label < len(names):
            return str(names[label])
        return str(label)

    return name
