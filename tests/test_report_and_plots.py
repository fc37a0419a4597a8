import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from skorch.callbacks import Callback

from .conftest import flip_labels, make_clf


@pytest.fixture(scope="module")
def noisy_fit():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    noisy, flipped = flip_labels(y, 0.25, 3, seed=0)
    names = np.array(["setosa", "versicolor", "virginica"])
    df = pd.DataFrame(X, columns=list("abcd"), index=[f"row{i}" for i in range(150)])
    clf = make_clf(max_epochs=25, train_split=None).fit(df, names[noisy])
    return clf, df, names[noisy], names[y], flipped


def test_report_columns_index_and_meaning(noisy_fit):
    clf, df, given, _truth, flipped = noisy_fit
    report = clf.find_label_issues()
    assert list(report.index) == list(df.index)
    assert list(report.columns) == ["given_label", "predicted_label", "label_quality",
                                    "flagged_fraction", "is_label_issue", "gradient_norm",
                                    "weight", "in_training"]
    np.testing.assert_array_equal(report["given_label"], given)
    refined = clf.classes_[clf.refined_labels_.argmax(1)]
    np.testing.assert_array_equal(report["predicted_label"], refined)
    # flagged by the vote, at most as many as the confident joint counts wrong,
    # the lowest-quality ones
    voted = report["flagged_fraction"] >= 0.1
    issues = report["is_label_issue"]
    assert (issues <= voted).all() and issues.sum() == min(voted.sum(), clf.estimated_label_issues_)
    assert report.label_quality[issues].max() <= report.label_quality[voted & ~issues].min()
    uncapped = clf.set_params(flag_limit=None).find_label_issues()
    np.testing.assert_array_equal(uncapped["is_label_issue"], voted)
    clf.set_params(flag_limit="confident_joint")
    q = report["label_quality"]
    assert ((q >= 0) & (q <= 1)).all()
    # most suspicious first: the lowest-quality rows are mostly the flipped ones
    top = report.sort_values("label_quality").index[: flipped.sum()]
    precision = np.isin(top, df.index[flipped]).mean()
    assert precision > 2 * flipped.mean()


class _RecordTargets(Callback):
    """Keeps a copy of the refined targets at the end of every epoch."""

    def initialize(self):
        self.targets = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.targets.append(net.refined_labels_.copy())


def test_report_judges_by_the_whole_refinement_history(iris):
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=1)
    rec = _RecordTargets()
    clf = make_clf(max_epochs=12, warm_up=4, train_split=None,
                   callbacks=[("rec", rec)]).fit(X, noisy)
    refined = np.stack(rec.targets[3:])  # the refinements: end of epochs 4..12
    assert len(refined) == 9
    rows = np.arange(len(noisy))
    fraction = (refined.argmax(2) != noisy).mean(0)
    quality = refined[:, rows, noisy].mean(0)
    report = clf.find_label_issues()
    np.testing.assert_allclose(report["flagged_fraction"], fraction, atol=1e-6)
    np.testing.assert_allclose(report["label_quality"], quality, atol=1e-5)
    # rows flagged in some epochs but not in the last one are still issues
    last = refined[-1].argmax(1) != noisy
    assert (report["is_label_issue"] & ~last).any()
    counts = [clf.find_label_issues(m)["is_label_issue"].sum() for m in (0.05, 0.5, 1.0)]
    assert counts[0] >= counts[1] >= counts[2]
    np.testing.assert_array_equal(clf.find_label_issues(1.0)["is_label_issue"], fraction == 1)


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-0.1, ValueError), (1.5, ValueError),
                                        (float("nan"), ValueError), ("0.1", TypeError),
                                        (True, TypeError)])
def test_report_rejects_bad_min_flagged_fraction(iris, bad, error):
    # (the same error types as the estimator's parameter: docs/errors.md row 35)
    X, y = iris
    clf = make_clf(max_epochs=2, warm_up=1).fit(X, y)
    with pytest.raises(error, match="min_flagged_fraction"):
        clf.find_label_issues(bad)


def test_report_without_refinement_flags_nothing(iris):
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=1)
    report = make_clf(max_epochs=6, refinement=None).fit(X, noisy).find_label_issues()
    assert not report["is_label_issue"].any()
    assert (report["label_quality"] == 1).all() and (report["flagged_fraction"] == 0).all()


def test_report_for_array_input_uses_range_index(iris):
    X, y = iris
    report = make_clf().fit(X, y).find_label_issues()
    assert list(report.index) == list(range(150))
    assert report["in_training"].sum() == 120


def test_plots(noisy_fit):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from noisyskl import plotting

    clf, _df, *_ = noisy_fit
    ax = plotting.plot_gradient_norms(clf)
    assert ax.get_xlabel() == "gradient norm g"
    # the weight the run applied (the default: beta alone), on a scale where an
    # average training row weighs 1, and a legend below the axes
    weight_curve = ax.right_ax.lines[0]
    assert "β" in weight_curve.get_label() and "α" not in weight_curve.get_label()
    assert len(ax.right_ax.lines) == 2  # the curve and the line at 1
    g = clf.gradient_norms_[clf.train_mask_]
    mean_on_rows = np.interp(g, weight_curve.get_xdata(), weight_curve.get_ydata()).mean()
    assert abs(mean_on_rows - 1) < 0.02
    assert ax.get_legend().get_bbox_to_anchor().y1 < ax.get_window_extent().y0 + 1
    ax = plotting.plot_gradient_norm_history(clf, epochs=[1, 10, 25])
    assert len(ax.lines) == 3
    with pytest.raises(ValueError, match="epochs"):
        plotting.plot_gradient_norm_history(clf, epochs=[99])
    ax = plotting.plot_refinement_history(clf)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), clf.history[:, "n_refined"])
    ax = plotting.plot_refinement_confusion(clf)
    table = ax.images[0].get_array()
    assert table.sum() == 150
    images = np.random.default_rng(0).random((150, 8, 8, 3))
    fig = plotting.plot_suspicious_samples(clf, images, n=8, ncols=4)
    assert sum(bool(a.images) for a in fig.axes) == 8
    # each row's two-line titles clear the images of the row above
    fig.canvas.draw()
    rows = np.array(fig.axes).reshape(2, 4)
    above = min(a.get_window_extent().y0 for a in rows[0])
    assert max(a.title.get_window_extent().y1 for a in rows[1]) <= above
    with pytest.raises(ValueError, match="rows"):
        plotting.plot_suspicious_samples(clf, images[:10])
    # tabular X (as iris here) is not images: matplotlib's "Invalid shape (4,)" before
    with pytest.raises(ValueError, match=r"draws images.*\(150, 4\).*find_label_issues"):
        plotting.plot_suspicious_samples(clf, np.zeros((150, 4)))
    for bad in (dict(n=0), dict(ncols=0), dict(n=2.5)):
        with pytest.raises(ValueError, match="must be a positive integer"):
            plotting.plot_suspicious_samples(clf, images, **bad)
    # images as the estimator takes them: bytes, 16-bit, masks, channels first
    rgb16 = (images * 4000).astype(np.uint16)
    for kind in (images * 255).astype(np.uint8), rgb16, rgb16.transpose(0, 3, 1, 2), images > 0.5:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. matplotlib's "Clipping input data"
            fig = plotting.plot_suspicious_samples(clf, kind, n=4, ncols=4)
        shown = [a.images[0].get_array() for a in fig.axes if a.images]
        assert len(shown) == 4 and all(0 <= a.min() and a.max() <= 255 for a in shown)
        assert all(a.max() <= 1 for a in shown) or kind.dtype == np.uint8
    plt.close("all")


def test_package_imports_without_matplotlib():
    import subprocess
    import sys

    code = ("import sys; sys.modules['matplotlib'] = None; import noisyskl, noisyskl.plotting\n"
            "try:\n    noisyskl.plotting.plot_refinement_history(None)\nexcept ImportError as e:\n"
            "    assert 'noisyskl[plots]' in str(e); print('hint ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "hint ok" in out.stdout, out.stderr


def test_blood_cells_loader():
    from noisyskl.datasets import load_blood_cells

    cells = load_blood_cells()
    assert cells.data.shape == (480, 3, 32, 32) and cells.data.dtype == np.float32
    assert 0.0 <= cells.data.min() and cells.data.max() <= 1.0
    assert cells.images.shape == (480, 32, 32, 3) and cells.images.dtype == np.uint8
    assert np.bincount(cells.target).tolist() == [60] * 8
    assert len(cells.target_names) == 8 and "CC BY 4.0" in cells.DESCR
    np.testing.assert_allclose(cells.data[5], cells.images[5].transpose(2, 0, 1) / 255.0,
                               atol=1e-6)
    X, y = load_blood_cells(return_X_y=True)
    assert X.shape == (480, 3, 32, 32) and y.shape == (480,)
    X, y = load_blood_cells(return_X_y=True, as_frame=True)
    assert isinstance(X, pd.DataFrame) and X.shape == (480, 3072) and isinstance(y, pd.Series)
    assert load_blood_cells(as_frame=True).frame.shape == (480, 3073)


@pytest.mark.parametrize("weighting, n_lines", [("both", 4), ("density", 2), (None, 0)])
def test_plot_gradient_norms_draws_the_weights_the_run_used(iris, weighting, n_lines):
    pytest.importorskip("matplotlib")
    from noisyskl import plotting

    clf = make_clf(max_epochs=4, train_split=None, weighting=weighting).fit(*iris)
    ax = plotting.plot_gradient_norms(clf)
    assert len(ax.right_ax.lines) == n_lines  # applied (+ factors) and the line at 1
    if weighting == "both":
        assert [line.get_label().split(":")[0] for line in ax.right_ax.lines[:3]] == [
            "applied", "factor", "factor"]


def test_suspicious_samples_from_a_dataset_with_names_and_telling_panels_apart(iris):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from noisyskl import plotting

    X, y = iris
    noisy, _ = flip_labels(y, 0.25, 3, seed=0)
    clf = make_clf(max_epochs=25, train_split=None).fit(X, noisy)  # class indices 0, 1, 2
    read = []

    class Images(torch.utils.data.Dataset):  # (x, label) items, as files would give
        classes = ("setosa", "versicolor", "virginica")

        def __len__(self):
            return len(y)

        def __getitem__(self, i):
            read.append(i)
            return torch.rand(3, 8, 8), 0

    fig = plotting.plot_suspicious_samples(clf, Images(), n=6, ncols=3)
    titles = [a.get_title() for a in fig.axes if a.images]
    assert len(titles) == 6 and len(read) == 6  # only the rows shown were read
    assert all(" → " in t and t.split(" → ")[0] in Images.classes for t in titles)
    assert all("flagged" in t and "p=" in t for t in titles)
    assert len(set(titles)) == 6  # (was "q=0.00" on every panel)
    fig = plotting.plot_suspicious_samples(clf, Images(), n=6, class_names={0: "zero"})
    shown = [a.get_title().split(" → ")[0] for a in fig.axes if a.images]
    assert set(shown) <= {"zero", "1", "2"}
    plt.close("all")
