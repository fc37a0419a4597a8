"""Several annotators per row: label matrices, soft labels, the consensus,
the per-annotator report and the sklearn contract with 2-D y."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch.utils.data import Dataset

from noisyskl import NoisyNeuralNetClassifier, SoftLabels, majority_vote
from noisyskl import functional as F
from noisyskl._annotators import consensus_accuracy
from noisyskl.noise import annotator_panel

from .conftest import make_clf

REPORT_COLUMNS = ["consensus_label", "consensus_quality_score", "annotator_agreement",
                  "num_annotations"]
ANNOTATOR_COLUMNS = ["annotator_quality", "num_examples_labeled", "agreement_with_consensus",
                     "worst_class"]


def iris_names(iris):
    X, y = iris
    return X, np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]


def string_matrix(y_names, seed=0):
    """Three doctors, string labels, None where one did not label the row."""
    labels, _ = annotator_panel(y_names, {"dr_a": 0.95, "dr_b": {"accuracy": 0.8, "share": 0.6},
                                          "dr_c": {"accuracy": 0.6, "share": 0.6}},
                                random_state=seed)
    return labels.astype(object).where(labels.notna(), None)


class Rows(Dataset):
    """A Dataset whose items are x alone: the labels come from a label matrix."""

    def __init__(self, X):
        self.X = torch.as_tensor(X, dtype=torch.float32)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i]


def fingerprint(clf):
    return (clf.refined_labels_, clf.predict_proba(clf._fit_X),
            clf.find_label_issues()[["label_quality", "flagged_fraction", "is_label_issue"]])


def fit(clf, X, y):
    clf.fit(X, y)
    clf._fit_X = X
    return clf


# ------------------------------------------------------------- the math
def test_vote_distribution_shares_and_weights_by_hand():
    votes = torch.tensor([[0, 0, 1], [2, -1, -1], [1, 2, -1]])
    assert torch.allclose(F.vote_distribution(votes, 3), torch.tensor(
        [[2 / 3, 1 / 3, 0], [0, 0, 1], [0, 0.5, 0.5]]))
    weighted = F.vote_distribution(votes, 3, torch.tensor([1.0, 3.0, 1.0]))
    assert torch.allclose(weighted[0], torch.tensor([0.8, 0.2, 0.0]))
    assert torch.allclose(weighted[2], torch.tensor([0.0, 0.25, 0.75]))


def test_top_vote_mass_and_disagreement_with_a_tie():
    dist = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    target = torch.tensor([[0.3, 0.4, 0.3], [0.6, 0.0, 0.4]])
    mass, disagrees = F.top_vote_mass(target, dist)
    assert torch.allclose(mass, torch.tensor([0.7, 0.4]))
    assert disagrees.tolist() == [False, True]


def test_annotator_quality_and_reliability_weights_by_hand():
    proba = torch.tensor([[0.8, 0.2], [0.4, 0.6]])
    votes = torch.tensor([[0, 1], [1, -1]])
    quality, counts = F.annotator_quality(proba, votes)
    assert torch.allclose(quality, torch.tensor([0.7, 0.2])) and counts.tolist() == [2, 1]
    w = F.reliability_weights(torch.tensor([0.75, 0.5, 0.1, float("nan")]), 3)
    assert torch.allclose(w, torch.tensor([np.log(6.0), np.log(2.0), 0.05, 1.0]).float())


def test_consensus_accuracy_shares_ties():
    dist = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    assert consensus_accuracy(np.array([1, 0, 2]), dist) == pytest.approx((0.5 + 1 + 1 / 3) / 3)
    assert consensus_accuracy(np.array([2, 1, 0]), dist) == pytest.approx((0 + 0 + 1 / 3) / 3)


# ------------------------------------------------------- the input forms
def test_the_issues_snippet_with_string_labels_and_none(iris):
    X, y_names = iris_names(iris)
    labels = string_matrix(y_names)
    before = labels.copy()
    clf = make_clf(max_epochs=8).fit(X, labels)
    pd.testing.assert_frame_equal(labels, before)  # not modified
    report = clf.find_label_issues()
    assert list(report.columns[-4:]) == REPORT_COLUMNS
    assert report["num_annotations"].tolist() == labels.notna().sum(axis=1).tolist()
    assert set(report["consensus_label"]) <= set(clf.classes_)
    assert report["annotator_agreement"].between(0, 1).all()
    stats = clf.annotator_report()
    assert list(stats.columns) == ANNOTATOR_COLUMNS
    assert sorted(stats.index) == ["dr_a", "dr_b", "dr_c"]
    assert stats["num_examples_labeled"].to_dict() == labels.notna().sum().to_dict()
    assert clf.predict(X[:3]).dtype.kind in "OU" and set(clf.predict(X)) <= set(clf.classes_)
    assert list(clf.annotators_) == ["dr_a", "dr_b", "dr_c"]


def test_integer_labels_with_nan_gaps_stay_integers(iris):
    X, y = iris
    labels = np.column_stack([y, np.where(np.arange(150) % 2, y, np.nan)])
    clf = make_clf(max_epochs=3).fit(X, labels)
    assert clf.classes_.dtype.kind == "i" and clf.classes_.tolist() == [0, 1, 2]
    assert list(clf.annotators_) == [0, 1]


def test_one_annotator_column_and_unanimous_columns_are_the_1d_fit_bit_for_bit(iris):
    X, y = iris
    noisy = y.copy()
    noisy[::7] = (noisy[::7] + 1) % 3
    ref = fingerprint(fit(make_clf(max_epochs=8), X, noisy))
    for labels in (noisy[:, None], np.column_stack([noisy, noisy, noisy]),
                   pd.DataFrame({"a": noisy, "b": noisy})):
        got = fingerprint(fit(make_clf(max_epochs=8), X, labels))
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])
        pd.testing.assert_frame_equal(got[2], ref[2])


def test_soft_labels_train_and_report(iris):
    X, y = iris
    shares = np.eye(3)[y] * 0.7 + 0.1
    shares[:10] = [0.5, 0.5, 0.0]
    soft = SoftLabels(pd.DataFrame(shares, columns=["a", "b", "c"]))
    assert isinstance(soft[:5], SoftLabels) and soft[:5].classes.tolist() == ["a", "b", "c"]
    assert pickle.loads(pickle.dumps(soft)).classes.tolist() == ["a", "b", "c"]
    clf = make_clf(max_epochs=6).fit(X, soft)
    assert clf.classes_.tolist() == ["a", "b", "c"]
    report = clf.find_label_issues()
    assert report["num_annotations"].isna().all()
    np.testing.assert_allclose(report["annotator_agreement"].iloc[10:20],
                               0.8 * np.ones(10), rtol=1e-6)  # shares on the consensus
    assert clf.score(X, soft) == pytest.approx(consensus_accuracy(
        clf.predict_proba(X).argmax(1), shares))
    with pytest.raises(ValueError, match="soft labels, which name no annotators"):
        clf.annotator_report()


def test_soft_labels_columns_follow_their_classes(iris):
    X, y = iris
    # columns given as c, a, b: column 0 is class "c"
    soft = SoftLabels(np.eye(3)[y], classes=["c", "a", "b"])
    clf = make_clf(max_epochs=4).fit(X, soft)
    assert clf.classes_.tolist() == ["a", "b", "c"]
    report = clf.find_label_issues()
    assert (report["given_label"].to_numpy() == np.array(["c", "a", "b"])[y]).all()


def test_a_torch_dataset_with_a_label_matrix(iris):
    X, y_names = iris_names(iris)
    labels = string_matrix(y_names)
    data = Rows(X)
    ref = fit(make_clf(max_epochs=5), X.astype(np.float32), labels)
    clf = make_clf(max_epochs=5).fit(data, labels)
    np.testing.assert_array_equal(clf.refined_labels_, ref.refined_labels_)
    pd.testing.assert_frame_equal(clf.annotator_report(), ref.annotator_report())


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize("labels, match", [
    (np.array([[0, 1], [None, None], [1, 0]], dtype=object), r"Rows \[1\] .* no annotation"),
    (pd.DataFrame({"a": [0, 1, 0], "b": [None, None, None]}), r"columns \['b'\] have no label"),
    (np.array([[0.0, 0.5], [1.0, 1.0], [0.0, 1.0]]), "SoftLabels"),
    (np.array([["a", 1], ["b", "a"], ["a", "b"]], dtype=object), "mixes labels of kinds"),
])
def test_bad_label_matrices_name_rows_columns_and_the_fix(labels, match):
    X = np.random.default_rng(0).normal(size=(3, 4))
    with pytest.raises(ValueError, match=match):
        make_clf(max_epochs=1).fit(X, labels)


def test_a_label_outside_classes_names_label_row_and_column(iris):
    X, y = iris
    labels = pd.DataFrame({"a": y, "b": y.astype(float)})
    labels.loc[7, "b"] = 5
    with pytest.raises(ValueError, match=r"\[5\], in rows \[7\] \(columns \['b'\]\)"):
        make_clf(max_epochs=1, classes=[0, 1, 2]).fit(X, labels)


@pytest.mark.parametrize("rows, match", [
    ([[0.5, 0.6], [1.0, 0.0]], r"sum to one; rows \[0\]"),
    ([[1.5, -0.5], [1.0, 0.0]], r"non-negative; rows \[0\]"),
    ([[np.nan, 1.0], [1.0, 0.0]], r"finite; rows \[0\]"),
])
def test_bad_soft_labels_name_the_rows(rows, match):
    X = np.zeros((2, 4))
    with pytest.raises(ValueError, match=match):
        make_clf(max_epochs=1).fit(X, SoftLabels(rows))


def test_soft_labels_of_other_classes_and_wrong_lengths_are_refused(iris):
    X, y = iris
    with pytest.raises(ValueError, match="differ from classes="):
        make_clf(max_epochs=1, classes=[0, 1, 2]).fit(X, SoftLabels(np.eye(3)[y], ["x", "y", "z"]))
    with pytest.raises(ValueError, match="150 rows in X, 149 rows"):
        make_clf(max_epochs=1).fit(X, np.column_stack([y, y])[:149])
    with pytest.raises(ValueError, match="one class per column"):
        SoftLabels(np.eye(3), classes=[0, 1])


def test_a_failed_fit_leaves_the_fitted_estimator_as_it_was(iris):
    X, y_names = iris_names(iris)
    clf = make_clf(max_epochs=3).fit(X, string_matrix(y_names))
    before = clf.annotator_report()
    bad = string_matrix(y_names)
    bad.iloc[3] = None
    with pytest.raises(ValueError, match=r"Rows \[3\]"):
        clf.fit(X, bad)
    pd.testing.assert_frame_equal(clf.annotator_report(), before)
    assert len(clf.find_label_issues()) == 150


def test_annotator_report_after_a_1d_fit_says_what_it_needs(iris):
    X, y = iris
    with pytest.raises(ValueError, match="needs a fit on a label matrix"):
        make_clf(max_epochs=2).fit(X, y).annotator_report()


def test_unknown_annotator_weighting_or_target_is_refused(iris):
    with pytest.raises(ValueError, match="annotator_weighting must be one of"):
        make_clf(annotator_weighting="votes").fit(*iris)
    with pytest.raises(ValueError, match="annotation_target must be one of"):
        make_clf(annotation_target="soft").fit(*iris)


def test_targets_start_at_the_top_vote_or_at_the_vote_shares(iris):
    X, y = iris
    labels = np.column_stack([y, y, (y + 1) % 3])  # two of three agree on every row
    first = make_clf(max_epochs=1, warm_up=5).fit(X, labels)  # (no refinement yet)
    np.testing.assert_array_equal(first.refined_labels_, np.eye(3)[y])
    shares = make_clf(max_epochs=1, warm_up=5, annotation_target="vote_shares").fit(X, labels)
    expected = np.eye(3)[y] * 2 / 3 + np.eye(3)[(y + 1) % 3] / 3
    np.testing.assert_allclose(shares.refined_labels_, expected, rtol=1e-6)


def test_a_tie_goes_to_the_class_the_model_predicts(iris):
    from noisyskl._state import RefinementState

    _, y = iris
    other = (y + 1) % 3
    labels = np.column_stack([y, other])  # every row a tie between its class and the next
    state = RefinementState(y, 3)
    state.set_annotations(votes=labels)
    state.proba = torch.as_tensor(np.eye(3)[y] * 0.8 + 0.1 / 1.5 * (1 - np.eye(3)[y]),
                                  dtype=torch.float32)
    assert (state.top_voted_index().numpy() == y).all()
    state.proba = torch.as_tensor(np.eye(3)[other], dtype=torch.float32)
    assert (state.top_voted_index().numpy() == other).all()
    state.refine(1.0, "convex")
    assert (state.targets.argmax(1).numpy() == other).all()  # the anchor followed the model
    assert not state._disagrees().any()  # siding with a tied class is no label issue


# ------------------------------------------------------- sklearn contract
def test_clone_pipeline_grid_search_and_cross_val_score_with_a_label_matrix(iris):
    X, y_names = iris_names(iris)
    labels = string_matrix(y_names)
    clf = make_clf(max_epochs=4)
    assert clone(clf).get_params()["annotator_weighting"] is None
    pipe = make_pipeline(StandardScaler(), clone(clf)).fit(X, labels)
    assert pipe.score(X, labels) > 0.5
    cv = KFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(clone(clf), X, labels, cv=cv)
    # the documented scoring, computed by hand on each held-out fold
    for (train, test), score in zip(cv.split(X), scores):
        fitted = clone(clf).fit(X[train], labels.iloc[train])
        dist = np.stack([(labels.iloc[test].to_numpy() == c).sum(1) for c in fitted.classes_], 1)
        assert score == pytest.approx(consensus_accuracy(
            fitted.predict_proba(X[test]).argmax(1), dist / dist.sum(1, keepdims=True)))
    search = GridSearchCV(clone(clf), {"annotator_weighting": [None, "reliability"]},
                          cv=cv).fit(X, labels)
    assert search.best_estimator_.annotator_report().shape == (3, 4)


def test_a_stratified_splitter_takes_the_majority_vote(iris):
    X, y_names = iris_names(iris)
    labels = string_matrix(y_names)
    vote = majority_vote(labels)
    assert vote.shape == (150,) and set(vote) <= set(y_names)
    cv = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, vote))
    scores = cross_val_score(make_clf(max_epochs=3), X, labels, cv=cv)
    assert scores.shape == (3,) and np.isfinite(scores).all()


def test_majority_vote_breaks_ties_by_class_order():
    labels = pd.DataFrame({"a": ["x", "y", None], "b": ["y", "y", "z"]})
    assert majority_vote(labels).tolist() == ["x", "y", "z"]


# ------------------------------------------------- persistence, continuing
def test_pickle_save_load_and_partial_fit_keep_the_annotators(iris, tmp_path):
    X, y_names = iris_names(iris)
    labels = string_matrix(y_names)
    clf = make_clf(max_epochs=4).fit(X, labels)
    again = pickle.loads(pickle.dumps(clf))
    pd.testing.assert_frame_equal(again.annotator_report(), clf.annotator_report())
    clf.save_params(f_params=tmp_path / "p.pt", f_refinement_state=tmp_path / "s.pt")
    loaded = make_clf(max_epochs=4).initialize()
    loaded.load_params(f_params=tmp_path / "p.pt", f_refinement_state=tmp_path / "s.pt")
    pd.testing.assert_frame_equal(loaded.annotator_report(), clf.annotator_report())
    n = int(clf.refinement_state_.n_refinements)
    clf.partial_fit(X, labels)  # the same annotations: refinement continues
    assert int(clf.refinement_state_.n_refinements) == n + 4
    clf.partial_fit(X, labels.iloc[:, :2])  # other annotations: a fresh state
    assert int(clf.refinement_state_.n_refinements) == 4  # (past the warm-up: every epoch)
    assert clf.annotator_report().shape[0] == 2


# ----------------------------------------------------------------- learning
@pytest.mark.slow
def test_all_annotations_beat_the_majority_vote_and_rank_the_doctors():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    panel = {"good": {"accuracy": 0.9, "share": 0.6}, "fair": {"accuracy": 0.65, "share": 0.6},
             "poor": {"accuracy": 0.4, "share": 0.6}}
    labels, accuracy = annotator_panel(y, panel, random_state=0)
    settings = dict(max_epochs=40, lr=1e-3, optimizer=torch.optim.Adam, verbose=0,
                    random_state=0)
    vote = majority_vote(labels)
    on_vote = NoisyNeuralNetClassifier(**settings).fit(X, vote)
    on_all = NoisyNeuralNetClassifier(**settings).fit(X, labels)
    acc_vote = (on_vote.find_label_issues()["predicted_label"].to_numpy() == y).mean()
    acc_all = (on_all.find_label_issues()["consensus_label"].to_numpy() == y).mean()
    # far ahead of the vote itself; at least level with the method on the vote
    assert acc_all > (vote == y).mean() + 0.1, (acc_all, (vote == y).mean())
    assert acc_all >= acc_vote - 0.01, (acc_all, acc_vote)
    quality = on_all.annotator_report()["annotator_quality"]
    assert list(quality.sort_values().index) == list(accuracy.sort_values().index)


# ------------------------------------------------------ review findings
def test_pandas_nullable_and_categorical_columns(iris):
    X, y = iris
    ints = pd.DataFrame({"a": pd.array(y, dtype="Int64"),
                         "b": pd.array(np.where(np.arange(150) % 3, y, -1), dtype="Int64")})
    ints.loc[ints.b == -1, "b"] = pd.NA
    clf = make_clf(max_epochs=2).fit(X, ints)
    assert clf.classes_.tolist() == [0, 1, 2]
    names = np.array(["setosa", "versicolor", "virginica"])
    strings = pd.DataFrame({"a": pd.array(names[y], dtype="string"),
                            "b": pd.Categorical(np.where(np.arange(150) % 2, names[y], None))})
    assert (majority_vote(strings) == names[y]).all()
    assert make_clf(max_epochs=2).fit(X, strings).score(X, strings) > 0


def test_numpy_and_python_scalars_of_one_kind_mix():
    names = np.array(["x", "y", "x"])
    labels = pd.DataFrame({"a": ["x", "y", "x"], "b": [names[0], None, names[2]]})
    assert majority_vote(labels).tolist() == ["x", "y", "x"]


def test_a_one_hot_matrix_and_nan_text_are_refused_with_the_fix(iris):
    X, y = iris
    with pytest.raises(ValueError, match=r"looks one-hot .* y.argmax\(1\)"):
        make_clf(max_epochs=1).fit(X, np.eye(3, dtype=np.float32)[y])
    text = np.array([["x", "y"]] * 149 + [["x", np.nan]])
    with pytest.raises(ValueError, match="'nan' entries"):
        make_clf(max_epochs=1).fit(X, text)


def test_score_and_majority_vote_take_an_annotator_without_labels_there(iris):
    X, y = iris
    labels = pd.DataFrame({"a": y * 1.0, "b": y * 1.0, "c": np.nan})
    labels.loc[:4, "c"] = y[:5]
    clf = make_clf(max_epochs=2).fit(X, labels)
    assert 0 <= clf.score(X[50:], labels.iloc[50:]) <= 1
    assert (majority_vote(labels.iloc[50:]) == y[50:]).all()
    with pytest.raises(ValueError, match="rows in X"):
        clf.score(X[:10], labels)


def test_what_is_taken_from_soft_labels_is_a_plain_array(iris):
    X, y = iris
    soft = SoftLabels(np.eye(3)[y])
    for derived in (soft.argmax(1), soft[:, 0], soft[:, [0, 1]], soft.sum(1)):
        assert type(derived) is np.ndarray
    clf = make_clf(max_epochs=2).fit(X, soft.argmax(1))  # 1-D: one label a row
    assert not clf.refinement_state_.has_votes
    with pytest.raises(ValueError, match="one distinct class per column"):
        make_clf(max_epochs=1).fit(X, SoftLabels(np.eye(3)[y], classes=["a", "a", "b"]))


def test_a_list_of_lists_is_a_label_matrix(iris):
    X, y = iris
    clf = make_clf(max_epochs=2).fit(X, [[int(v), int(v)] for v in y])
    assert clf.annotator_report().shape == (2, 4)


def test_a_failed_fit_hands_its_label_matrix_to_no_later_fit(iris):

    class Triples(Dataset):  # items of three: refused after the labels are read
        def __len__(self):
            return 150

        def __getitem__(self, i):
            return torch.zeros(4), 0, 0

    X, y = iris
    names = np.array(["a", "b", "c"], dtype=object)[y]
    clf = make_clf(max_epochs=2).fit(X, names)
    with pytest.raises(TypeError):
        clf.fit(Triples(), pd.DataFrame({"u": y, "v": y, "w": y}))
    assert clf.classes_.tolist() == ["a", "b", "c"] and not hasattr(clf, "annotators_")
    bad = make_clf(max_epochs=2, module__hidden="bad")
    with pytest.raises(TypeError):
        bad.fit(X, np.column_stack([(y + 1) % 3, (y + 1) % 3]))
    bad.set_params(module__hidden=16).fit(X, y)
    assert not bad.refinement_state_.has_votes
    assert "consensus_label" not in bad.find_label_issues()


def test_the_dataset_refit_trains_on_the_top_vote_ties_by_the_model(iris):
    from skorch.callbacks import Callback

    from noisyskl import RefitNet

    X, y = iris
    labels = np.column_stack([y, (y + 1) % 3])  # every row a tie
    refits = []

    class Spy(Callback):  # what each refit is given: its labels, and its items' own
        def on_train_begin(self, net, X=None, y=None, **kwargs):
            if isinstance(net, RefitNet):
                refits.append(dict(y=np.asarray(y), kept=np.asarray(X.indices),
                                   items=np.asarray(X.dataset.targets)[X.indices]))

    clf = make_clf(max_epochs=8, rounds=2, callbacks=[Spy()]).fit(Rows(X), labels)
    top = clf.refinement_state_.top_voted_index().numpy()
    # (refit_rows="choose": on every row, then without the flagged ones, maybe every again)
    assert any(0 < len(seen["kept"]) < len(top) for seen in refits) and len(refits) >= 2
    for seen in refits:
        np.testing.assert_array_equal(seen["y"], top[seen["kept"]])
        np.testing.assert_array_equal(seen["items"], top[seen["kept"]])  # what its items carry
    assert (top == np.where(labels[:, 0] < labels[:, 1], labels[:, 0], labels[:, 1])).mean() < 1


def test_a_torch_tensor_label_matrix_with_nan_gaps(iris):
    X, y = iris
    labels = torch.tensor(np.column_stack([y, np.where(np.arange(150) % 2, y, np.nan)]))
    clf = make_clf(max_epochs=2).fit(X, labels)
    assert clf.classes_.tolist() == [0, 1, 2]
    assert clf.find_label_issues()["num_annotations"].tolist() == [1, 2] * 75


def test_vote_stratified_kfold_duplicate_names_index_and_unfitted_reports(iris):
    from noisyskl import VoteStratifiedKFold

    X, y_names = iris_names(iris)
    labels = string_matrix(y_names)
    cv = VoteStratifiedKFold(3, shuffle=True, random_state=0)
    vote = majority_vote(labels)
    for _train, test in cv.split(X, labels):  # each fold holds a third of each voted class
        assert all(abs((vote[test] == c).sum() - (vote == c).sum() / 3) <= 1 for c in set(vote))
    assert cross_val_score(make_clf(max_epochs=2), X, labels, cv=cv).shape == (3,)
    assert (majority_vote(y_names) == y_names).all()  # a 1-D y as it is
    named = labels.set_axis([f"img_{i:03d}" for i in range(150)])
    assert list(make_clf(max_epochs=2).fit(X, named).find_label_issues().index[:2]) == [
        "img_000", "img_001"]
    with pytest.raises(ValueError, match=r"repeats annotator columns \['dr_a'\]"):
        make_clf(max_epochs=1).fit(X, labels.set_axis(["dr_a", "dr_a", "dr_c"], axis=1))
    for report in ("find_label_issues", "annotator_report"):
        with pytest.raises(AttributeError, match="call fit first"):
            getattr(make_clf(), report)()


def _panel_fit(n, accuracy, epochs, seed):
    """Digits rows labelled by three simulated doctors of equal ``accuracy``."""
    from sklearn.datasets import load_digits

    from noisyskl.noise import annotator_panel

    X, y = load_digits(return_X_y=True)
    rows = np.random.default_rng(seed).permutation(len(y))[:n]
    X, y = (X[rows] / 16).astype(np.float32), y[rows]
    labels, true_accuracy = annotator_panel(
        y, {"dr_a": accuracy, "dr_b": accuracy, "dr_c": accuracy}, random_state=seed)
    clf = NoisyNeuralNetClassifier(max_epochs=epochs, lr=1e-3, optimizer=torch.optim.Adam,
                                   random_state=seed, verbose=0).fit(X, labels)
    vote = clf.classes_[clf.refinement_state_.top_voted_index().numpy()]  # ties: the model
    consensus = clf.find_label_issues()["consensus_label"].to_numpy()
    return clf, y, vote, consensus, true_accuracy


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_the_consensus_is_not_worse_than_the_vote_with_a_weak_model(seed):
    # doctors right 82% of the time, a network right about half the time on
    # held-out rows (400 rows, 12 epochs): the doctors' agreement must win
    # (the refined labels, the consensus before, fell 13 points below the vote)
    clf, y, vote, consensus, true_accuracy = _panel_fit(400, 0.82, 12, seed)
    held_out = ~clf.train_mask_
    assert (consensus == y).mean() >= (vote == y).mean() - 0.005  # 2 rows of 400
    quality = clf.annotator_report()["annotator_quality"].reindex(true_accuracy.index)
    # an accuracy: within 0.05 of each doctor's realised one (binomial SE ~0.02)
    assert np.abs(quality - true_accuracy).max() < 0.05
    assert held_out.sum() > 50


@pytest.mark.slow
def test_the_model_decides_where_it_is_better_than_the_doctors():
    # doctors right 60% of the time, a network trained 40 epochs on 1,797 rows
    clf, y, vote, consensus, true_accuracy = _panel_fit(1797, 0.6, 40, 0)
    assert (consensus == y).mean() >= (vote == y).mean() + 0.03  # (measured: +5.6 points)
    quality = clf.annotator_report()["annotator_quality"].reindex(true_accuracy.index)
    assert np.abs(quality - true_accuracy).max() < 0.05


def test_one_coin_accuracy_recovers_simulated_annotators():
    from noisyskl.functional import one_coin_accuracy, pairwise_agreement

    rng = np.random.default_rng(0)
    n, c, accuracy = 5000, 8, np.array([0.9, 0.7, 0.5, 0.3])
    truth = rng.integers(0, c, n)
    right = rng.random((n, 4)) < accuracy
    votes = np.where(right, truth[:, None], (truth[:, None] + rng.integers(1, c, (n, 4))) % c)
    votes[rng.random((n, 4)) < 0.3] = -1  # each labels 70% of the rows
    estimate, known = one_coin_accuracy(*pairwise_agreement(torch.tensor(votes)), c)
    assert known.all()
    # binomial standard error of an agreement over ~2,450 shared rows is ~0.01;
    # the triplet estimate compounds three of them
    np.testing.assert_allclose(estimate.numpy(), accuracy, atol=0.04)


def test_weighted_consensus_lets_agreeing_better_doctors_win():
    from noisyskl.functional import weighted_consensus

    votes = torch.tensor([[1, 1, 2], [3, 4, 5], [1, -1, -1], [1, 1, -1]])
    proba = torch.full((4, 6), 0.02)
    proba[:, 2] = 0.9  # the model says class 2 everywhere
    doctors = torch.tensor([0.8, 0.8, 0.8], dtype=torch.float64)
    weak, _ = weighted_consensus(votes, doctors, 0.5, proba, 6)
    # two agreeing better doctors win; a split vote goes to the model's
    # favourite among the doctors' labels; a lone better doctor stands
    assert weak.tolist() == [1, 3, 1, 1]
    strong, posterior = weighted_consensus(votes, doctors, 0.97, proba, 6)
    # a model better than every doctor overrules two of them, and a lone one
    assert strong.tolist() == [2, 2, 2, 1]  # (two doctors at 0.8 still outweigh it)
    assert ((posterior > 0) & (posterior <= 1)).all()


def test_one_coin_accuracy_takes_a_label_flipper_for_chance():
    # two classes: the squared skills cannot tell a flipper (10% right) from a
    # good annotator; the sign of its agreements can
    from noisyskl.functional import one_coin_accuracy, pairwise_agreement

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 3000)
    right = rng.random((3000, 3)) < np.array([0.8, 0.75, 0.1])
    votes = np.where(right, truth[:, None], 1 - truth[:, None])
    estimate, known = one_coin_accuracy(*pairwise_agreement(torch.tensor(votes)), 2)
    assert known.all() and estimate[2] == 0.5  # (chance: its votes weigh nothing)
    assert (estimate[:2] > 0.6).all()


def test_soft_labels_columns_are_ordered_by_name_not_renamed():
    # classes= in another order than a DataFrame's named columns renamed them
    import pandas as pd

    from noisyskl import SoftLabels

    shares = pd.DataFrame({"benign": [0.8, 0.1], "dysplasia": [0.1, 0.1],
                           "tumour": [0.1, 0.8]})
    soft = SoftLabels(shares, classes=["tumour", "benign", "dysplasia"])
    assert soft.classes.tolist() == ["tumour", "benign", "dysplasia"]
    np.testing.assert_array_equal(np.asarray(soft)[:, 0], [0.1, 0.8])  # tumour's column
    assert list(shares.columns) == ["benign", "dysplasia", "tumour"]  # (not modified)
    with pytest.raises(ValueError, match="are not the classes"):
        SoftLabels(shares, classes=["a", "b", "c"])
    unnamed = SoftLabels(pd.DataFrame(shares.to_numpy()), classes=["x", "y", "z"])
    assert unnamed.classes.tolist() == ["x", "y", "z"]


def test_an_annotator_of_unknown_quality_is_listed_first():
    from noisyskl._annotator_reports import annotator_frame

    votes = np.array([[0, 1, -1], [1, 1, -1], [0, 0, 0], [1, 0, -1]])
    frame = annotator_frame(["a", "b", "few"], votes, np.array([0, 1, 0, 1]),
                            [0.9, 0.6, np.nan], np.array([0, 1]))
    assert list(frame.index) == ["few", "b", "a"]  # (NaN was listed last, as "most reliable")
