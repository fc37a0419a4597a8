"""The review loop: ``export_review`` writes the page, ``read_review`` reads
its CSV back, and ``fit`` trains with the reviewed rows trusted.

The page in a real browser is tests/test_review_browser.py.
"""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score

from noisyskl import (
    NoisyNeuralNetClassifier,
    ReviewedLabels,
    StratifiedHoldout,
    functional,
    read_review,
)
from noisyskl.noise import symmetric_noise

from .image_files import ImageFiles, write_image_folder


def digits_clf(**kwargs):
    params = dict(max_epochs=10, lr=3e-3, optimizer=torch.optim.Adam, verbose=0,
                  random_state=0, warm_up=3)
    return NoisyNeuralNetClassifier(**{**params, **kwargs})


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X, y = (X[:600] / 16).astype(np.float32), y[:600]
    noisy, _ = symmetric_noise(y, 0.3, random_state=0)
    return X, y, noisy


@pytest.fixture(scope="module")
def first_fit(digits):
    X, _, noisy = digits
    return digits_clf().fit(X, noisy)


def write_review(path, rows, given, decision, label, paths=None):
    pd.DataFrame({"row": rows, "path": [""] * len(rows) if paths is None else paths,
                  "given_label": given, "decision": decision, "label": label}).to_csv(
        path, index=False)
    return path


def test_trusted_rows_are_never_refined_flagged_or_left_out(digits, first_fit, tmp_path):
    # review the flagged rows as "the given label is right" (even where it is
    # wrong): the reviewer's word holds against the model's
    X, _, noisy = digits
    report = first_fit.find_label_issues()
    rows = np.flatnonzero(report.is_label_issue)[:20]
    assert len(rows) == 20
    csv = write_review(tmp_path / "r.csv", rows, noisy[rows], "given", noisy[rows])
    reviewed = read_review(csv, noisy)
    assert isinstance(reviewed, ReviewedLabels) and reviewed.trusted.sum() == 20
    clf = digits_clf().fit(X, reviewed)
    after = clf.find_label_issues()
    assert after.trusted.to_numpy()[rows].all() and after.trusted.sum() == 20
    assert not after.is_label_issue.to_numpy()[rows].any()
    assert np.array_equal(clf.refined_labels_[rows], np.eye(10, dtype=np.float32)[noisy[rows]])
    # the first refinement's estimate counts no issue among them (training up
    # to it is the same: targets are the annotations until then)
    assert clf.estimated_label_issues_ < first_fit.estimated_label_issues_ - 10


def test_reviewed_labels_replace_the_given_ones(digits, first_fit, tmp_path):
    X, y, noisy = digits
    report = first_fit.find_label_issues()
    rows = np.flatnonzero(report.is_label_issue)[:30]
    wrong_before = int((noisy != y).sum())
    csv = write_review(tmp_path / "r.csv", rows, noisy[rows], "other", y[rows])
    reviewed = read_review(csv, noisy)
    assert (np.asarray(reviewed) != y).sum() == wrong_before - int((noisy[rows] != y[rows]).sum())
    assert np.array_equal(noisy, digits[2])  # the labels passed are not modified
    clf = digits_clf().fit(X, reviewed)
    after = clf.find_label_issues()
    assert np.array_equal(after.given_label.to_numpy()[rows], y[rows])


def test_unsure_rows_stay_as_they_were(digits, tmp_path):
    _, _, noisy = digits
    csv = write_review(tmp_path / "r.csv", [3, 4], noisy[[3, 4]], "unsure", ["", ""])
    reviewed = read_review(csv, noisy)
    assert not reviewed.trusted.any() and np.array_equal(np.asarray(reviewed), noisy)


def test_confident_joint_counts_no_issue_among_trusted_rows():
    proba = torch.tensor([[0.9, 0.1]] * 3 + [[0.1, 0.9]] * 3)
    annotation = torch.tensor([0, 0, 0, 1, 1, 0])
    assert functional.confident_joint_issue_count(proba, annotation) == 1
    trusted = torch.tensor([False] * 5 + [True])
    assert functional.confident_joint_issue_count(proba, annotation, trusted=trusted) == 0
    none = torch.zeros(6, dtype=torch.bool)
    assert functional.confident_joint_issue_count(proba, annotation, trusted=none) == 1


def test_a_label_matrix_row_takes_the_reviewers_label_as_its_consensus(tmp_path):
    X, y = load_digits(return_X_y=True)
    X, y = (X[:400] / 16).astype(np.float32), y[:400]
    rng = np.random.default_rng(0)
    labels = pd.DataFrame({f"dr_{a}": np.where(rng.random(400) < 0.7, y,
                                               rng.integers(0, 10, 400)) for a in "abc"})
    rows = np.arange(10)
    given = labels.to_numpy()[rows, 0]
    truth = (given + 1) % 10  # a class no doctor chose, on some rows
    csv = write_review(tmp_path / "r.csv", rows, given, "other", truth)
    reviewed = read_review(csv, labels)
    assert reviewed.shape == labels.shape and reviewed.trusted.sum() == 10
    clf = digits_clf(max_epochs=8).fit(X, reviewed)
    report = clf.find_label_issues()
    assert np.array_equal(report.consensus_label.to_numpy()[rows], truth)
    assert (report.consensus_quality_score.to_numpy()[rows] == 1).all()
    assert not report.is_label_issue.to_numpy()[rows].any()
    assert list(clf.annotator_report().index.sort_values()) == ["dr_a", "dr_b", "dr_c"]
    # the given label of a label-matrix row must be one of its annotations
    absent = next(c for c in range(10) if c not in labels.iloc[0].to_numpy())
    bad = write_review(tmp_path / "bad.csv", [0], [absent], "given", [absent])
    with pytest.raises(ValueError, match="line 2: row 0's given label"):
        read_review(bad, labels)


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    return ImageFiles(write_image_folder(tmp_path_factory.mktemp("files"), n_per_class=20))


def test_a_dataset_round_trip(image_files, tmp_path):
    clf = NoisyNeuralNetClassifier(max_epochs=6, warm_up=2, verbose=0, random_state=0,
                                   lr=0.01)
    clf.fit(image_files)
    report = clf.find_label_issues()
    rows = np.argsort(report.label_quality.to_numpy(), kind="stable")[:4]
    csv = write_review(tmp_path / "r.csv", rows, report.given_label.to_numpy()[rows],
                       "suggested", report.predicted_label.to_numpy()[rows],
                       paths=report.path.to_numpy()[rows])
    reviewed = read_review(csv, image_files)
    clf.fit(image_files, reviewed)
    after = clf.find_label_issues()
    assert after.trusted.to_numpy()[rows].all() and after.trusted.sum() == 4
    assert np.array_equal(after.given_label.to_numpy()[rows],
                          report.predicted_label.to_numpy()[rows])
    # a review of other files is refused, naming the row
    other = write_review(tmp_path / "o.csv", rows[:1], report.given_label.to_numpy()[rows[:1]],
                         "given", report.given_label.to_numpy()[rows[:1]],
                         paths=["elsewhere/x.png"])
    with pytest.raises(ValueError, match=f"row {rows[0]} is the file 'elsewhere/x.png'"):
        read_review(other, image_files)


@pytest.mark.parametrize("change, message", [
    (lambda f: f.drop(columns="decision"), "lacks the columns \\['decision'\\]"),
    (lambda f: f.assign(row=[0, 700]), "line 3: row 700 is not a row of y"),
    (lambda f: f.assign(row=[4, 4]), "line 3: row 4 is reviewed twice \\(also on line 2\\)"),
    (lambda f: f.assign(label=["1", "eleven"]), "line 3: row 2's label 'eleven' is not a class"),
    (lambda f: f.assign(given_label=["1", "9"]), "line 3: row 2's given label is '9'"),
    (lambda f: f.assign(decision=["given", "maybe"]), "line 3: row 2's decision 'maybe'"),
    (lambda f: f.assign(decision=["given", "given"], label=["1", "2"]),
     "line 3: row 2 is decided 'given' but labelled '2'"),
    (lambda f: f.assign(row=["0", "x"]), "line 3: row 'x' is not a row number"),
])
def test_bad_reviews_name_the_row(tmp_path, change, message):
    y = np.array([1, 2, 1, 2, 1, 2] * 100)
    frame = pd.DataFrame({"row": [0, 2], "path": ["", ""], "given_label": ["1", "1"],
                          "decision": ["given", "other"], "label": ["1", "2"]})
    path = tmp_path / "bad.csv"
    change(frame).to_csv(path, index=False)
    with pytest.raises(ValueError, match=message):
        read_review(path, y)


def test_reviewed_labels_travel_through_sklearn(digits, tmp_path):
    X, _, noisy = digits
    rows = np.arange(0, 600, 7)
    csv = write_review(tmp_path / "r.csv", rows, noisy[rows], "given", noisy[rows])
    reviewed = read_review(csv, noisy)
    half = reviewed[::2]
    assert isinstance(half, ReviewedLabels)
    assert np.array_equal(half.trusted, reviewed.trusted[::2])
    assert np.array_equal(reviewed[np.arange(10), ...].trusted, reviewed.trusted[:10])
    assert not isinstance(reviewed[3], ReviewedLabels)
    assert np.array_equal(pickle.loads(pickle.dumps(reviewed)).trusted, reviewed.trusted)
    scores = cross_val_score(digits_clf(max_epochs=4, rounds=1), X, reviewed, cv=2)
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_the_page_is_self_contained_and_worst_first(digits, first_fit, tmp_path):
    X, _, noisy = digits
    page = first_fit.export_review(tmp_path / "review.html", X).read_text()
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert "<script src" not in page and "@import" not in page
    data = page.split('<script id="review-data" type="application/json">')[1].split("</script>")[0]
    import json

    rows = json.loads(data)["rows"]
    report = first_fit.find_label_issues()
    assert [r["row"] for r in rows] == list(
        report[report.is_label_issue].sort_values("label_quality", kind="stable").index)
    quality = [r["quality"] for r in rows]
    assert quality == sorted(quality)
    assert rows[0]["features"] and rows[0]["image"] is None  # tabular rows: the features
    assert rows[0]["given"] == str(noisy[rows[0]["row"]])
    few = first_fit.export_review(tmp_path / "few.html", X, max_rows=7).read_text()
    assert few.count('"row": ') == 7


def test_the_page_shows_images_files_and_votes(image_files, tmp_path):
    clf = NoisyNeuralNetClassifier(max_epochs=4, warm_up=1, verbose=0, random_state=0, lr=0.01)
    clf.fit(image_files)
    page = clf.export_review(tmp_path / "p.html", max_rows=5).read_text()  # the fit's files
    worst = clf.find_label_issues().sort_values("label_quality", kind="stable").path[:5]
    assert page.count("data:image/png;base64,") == 5
    assert all(f'"path": "{path}"' in page for path in worst)
    images = np.stack([image_files[i][0].numpy() for i in range(len(image_files))])
    votes = pd.DataFrame({"dr_a": image_files.targets, "dr_b": image_files.targets})
    clf.fit(images, votes)
    page = clf.export_review(tmp_path / "v.html", images, max_rows=3).read_text()
    assert page.count("data:image/png;base64,") == 3 and '["dr_a", ' in page
    with pytest.raises(ValueError, match="X has 5 rows but the fit had 60"):
        clf.export_review(tmp_path / "x.html", images[:5])
    with pytest.raises(ValueError, match="max_rows must be a positive int"):
        clf.export_review(tmp_path / "x.html", images, max_rows=0)


def test_the_page_names_the_classes_and_the_csv_keeps_the_labels(image_files, tmp_path):
    # an ImageFolder-like Dataset: targets are indices into its classes list
    clf = NoisyNeuralNetClassifier(max_epochs=4, warm_up=1, verbose=0, random_state=0, lr=0.01)
    clf.fit(image_files)
    data = page_rows(clf.export_review(tmp_path / "n.html", image_files, max_rows=4))
    assert data["classes"] == ["0", "1", "2"]
    assert data["names"] == {"0": "blue", "1": "green", "2": "red"}
    csv = decide_as_the_page(tmp_path / "n.csv", data["rows"], "other", "2")
    reviewed = read_review(csv, image_files)
    assert (np.asarray(reviewed)[[r["row"] for r in data["rows"]]] == 2).all()
    # names given: a dict (labels it lacks show as they are) or one per class
    data = page_rows(clf.export_review(tmp_path / "d.html", max_rows=2, class_names={0: "B"}))
    assert data["names"] == {"0": "B", "1": "1", "2": "2"}
    data = page_rows(clf.export_review(tmp_path / "s.html", max_rows=2,
                                       class_names=["x", "y", "z"]))
    assert data["names"] == {"0": "x", "1": "y", "2": "z"}
    assert "names" not in page_rows(clf.export_review(tmp_path / "p.html", max_rows=2))
    with pytest.raises(ValueError, match="class_names has 2 names but the fit has 3 classes"):
        clf.export_review(tmp_path / "x.html", class_names=["a", "b"])
    with pytest.raises(TypeError, match="class_names must be a sequence"):
        clf.export_review(tmp_path / "x.html", class_names="abc")
    # the Dataset's names only where the fit's classes are its indices, all of them
    binary = (np.asarray(image_files.targets) == 2).astype(int)
    clf2 = NoisyNeuralNetClassifier(max_epochs=2, warm_up=1, verbose=0, random_state=0)
    clf2.fit(image_files, binary)
    assert "names" not in page_rows(clf2.export_review(tmp_path / "b.html", image_files,
                                                       max_rows=2))
    # a classes attribute that is not a list of names (a count) is no name list
    counted = copy.copy(image_files)
    counted.classes = 3
    assert "names" not in page_rows(clf.export_review(tmp_path / "c.html", counted,
                                                      max_rows=2))


def test_an_empty_page_warns(digits, tmp_path):
    X, y, _ = digits
    clf = digits_clf(max_epochs=2, rounds=1).fit(X, y)  # no refinement yet: no issue
    with pytest.warns(UserWarning, match="review page is empty; pass max_rows"):
        clf.export_review(tmp_path / "e.html", X)


def test_a_review_of_other_rows_is_refused_at_fit(digits, tmp_path):
    X, _, noisy = digits
    csv = write_review(tmp_path / "r.csv", [1], noisy[[1]], "given", noisy[[1]])
    reviewed = read_review(csv, noisy)
    with pytest.raises(ValueError, match="X and y have different lengths: 300 rows in X, 250"):
        digits_clf().fit(X[:300], reviewed[:250])


def page_rows(path):
    """The rows an exported page shows, as its script reads them."""
    import json

    data = path.read_text().split('<script id="review-data" type="application/json">')[1]
    return json.loads(data.split("</script>")[0])


def decide_as_the_page(path, rows, decision, label=None):
    """The CSV the page downloads, for ``decision`` on each of ``rows``."""
    chosen = {"given": lambda r: r["given"], "suggested": lambda r: r["suggested"]}
    label_of = chosen.get(decision, lambda r: label)
    pd.DataFrame({"row": [r["row"] for r in rows], "path": [r["path"] for r in rows],
                  "given_label": [r["given"] for r in rows], "decision": decision,
                  "label": [label_of(r) for r in rows]}).to_csv(path, index=False)
    return path


def test_a_page_of_a_label_matrix_with_gaps_reads_back(tmp_path):
    # (the doctors' usual matrix: NaN where one did not look; fit reads 1.0 as 1)
    X, y = load_digits(return_X_y=True)
    X, y = (X[:300] / 16).astype(np.float32), y[:300]
    rng = np.random.default_rng(1)
    labels = pd.DataFrame({f"dr_{a}": np.where(rng.random(300) < 0.8, y, rng.integers(0, 10, 300))
                           .astype(float) for a in "ab"}, index=np.arange(300) + 1000)
    labels.iloc[::3, 0] = np.nan
    clf = digits_clf(max_epochs=6).fit(X, labels)
    page = page_rows(clf.export_review(tmp_path / "p.html", X, max_rows=12))
    assert page["rows"][0]["given"] in {str(c) for c in clf.classes_}
    csv = decide_as_the_page(tmp_path / "r.csv", page["rows"], "suggested")
    reviewed = read_review(csv, labels)
    assert reviewed.trusted.sum() == 12
    report = digits_clf(max_epochs=6).fit(X, reviewed).find_label_issues()
    assert list(report.index[:2]) == [1000, 1001]  # (the labels' index is kept)
    assert report.trusted.sum() == 12


def test_a_class_only_the_fit_knows_can_be_chosen(digits, tmp_path):
    X, _, noisy = digits
    y = np.where(noisy == 9, 8, noisy)  # no row is a 9, but classes= names it
    clf = digits_clf(max_epochs=6, rounds=1, classes=list(range(10))).fit(X, y)
    page = page_rows(clf.export_review(tmp_path / "p.html", X, max_rows=3))
    assert "9" in page["classes"]
    csv = decide_as_the_page(tmp_path / "r.csv", page["rows"], "other", "9")
    with pytest.raises(ValueError, match="label '9' is not a class of y"):
        read_review(csv, y)
    reviewed = read_review(csv, y, classes=clf.classes_)
    assert (np.asarray(reviewed)[reviewed.trusted] == 9).all()


def test_a_second_review_adds_to_the_first(digits, tmp_path):
    _, _, noisy = digits
    first = read_review(write_review(tmp_path / "1.csv", [0, 1], noisy[[0, 1]], "given",
                                     noisy[[0, 1]]), noisy)
    other = (noisy[2] + 1) % 10
    second = read_review(write_review(tmp_path / "2.csv", [2, 1], noisy[[2, 1]],
                                      ["other", "unsure"], [other, ""]), first)
    assert list(np.flatnonzero(second.trusted)) == [0, 1, 2]
    assert np.asarray(second)[2] == other


def test_rows_moved_by_other_operations_are_refused(digits, tmp_path):
    X, _, noisy = digits
    reviewed = read_review(write_review(tmp_path / "r.csv", [0], noisy[[0]], "given",
                                        noisy[[0]]), noisy)
    moved = np.take(reviewed, np.arange(len(reviewed))[::-1])
    with pytest.raises(ValueError, match="no longer know which rows were reviewed"):
        digits_clf(max_epochs=1).fit(X, moved)
    assert reviewed.copy().trusted[0]
    # copies keep the review (they were refused as "rows may have moved")
    for copied in (copy.copy(reviewed), copy.deepcopy(reviewed)):
        assert isinstance(copied, ReviewedLabels) and copied.trusted[0]
        assert not copied.trusted[1:].any()
        np.testing.assert_array_equal(copied, reviewed)
    deep = copy.deepcopy(reviewed)
    deep.reviewed_label[0] = None  # (its own, not the original's)
    assert reviewed.trusted[0]


def test_reviewed_rows_are_never_held_out(digits, tmp_path):
    # the default split holds out a fifth: never a reviewed row, in either round
    X, _, noisy = digits
    rows = np.arange(0, 600, 3)
    reviewed = read_review(write_review(tmp_path / "r.csv", rows, noisy[rows], "given",
                                        noisy[rows]), noisy)
    clf = digits_clf(train_split=StratifiedHoldout(0.2))
    report = clf.fit(X, reviewed).find_label_issues()
    assert report.in_training.to_numpy()[rows].all() and not report.in_training.all()
    assert len(clf.history_) == 10  # (the refit ran)


def test_labels_and_titles_cannot_break_the_page(tmp_path):
    X, y = load_digits(return_X_y=True)
    names = np.array(["</script><b>x", "-1", "=SUM(A1)", "a,b"] + [f"c{i}" for i in range(6)])
    clf = digits_clf(max_epochs=5).fit((X[:300] / 16).astype(np.float32), names[y[:300]])
    path = clf.export_review(tmp_path / "p.html", max_rows=20, title="__DATA__ <i>")
    text = path.read_text()
    assert "</script><b>" not in text and "<h1>__DATA__ &lt;i&gt;</h1>" in text
    page = page_rows(path)
    assert set(page["classes"]) == set(names)
    # what the page's CSV writes for a formula-like label reads back as it was
    rows = page["rows"][:2]
    pd.DataFrame({"row": [r["row"] for r in rows], "path": "",
                  "given_label": [r["given"] for r in rows], "decision": "other",
                  "label": ["'=SUM(A1)", "'-1"]}).to_csv(tmp_path / "r.csv", index=False)
    reviewed = read_review(tmp_path / "r.csv", names[y[:300]])
    assert np.asarray(reviewed)[[r["row"] for r in rows]].tolist() == ["=SUM(A1)", "-1"]


def test_continuing_a_reviewed_fit_without_the_review_warns(digits, tmp_path):
    X, _, noisy = digits
    reviewed = read_review(write_review(tmp_path / "r.csv", [0], noisy[[0]], "given",
                                        noisy[[0]]), noisy)
    clf = digits_clf(max_epochs=2, warm_up=1, rounds=1).fit(X, reviewed)
    clf.partial_fit(X, reviewed)  # the same review: no warning
    with pytest.warns(UserWarning, match="trusted 1 reviewed rows, but these labels carry no"):
        clf.partial_fit(X, noisy)
    assert "trusted" not in clf.find_label_issues()


def test_a_dataframes_index_is_shown_checked_and_read_back(digits, tmp_path):
    # a pandas user's rows have IDs: the page shows them beside the row number,
    # an X in another order is refused (each card would show another row's
    # features beside this row's labels), and read_review checks the IDs
    import json

    X, _, noisy = digits
    ids = [f"patient-{i}" for i in range(len(X))]
    frame = pd.DataFrame(X, index=ids, columns=[f"px{i}" for i in range(X.shape[1])])
    labels = pd.Series(noisy, index=ids)
    clf = digits_clf(max_epochs=4, rounds=1).fit(frame, labels)
    page = clf.export_review(tmp_path / "r.html", frame, max_rows=5).read_text()
    rows = json.loads(page.split('type="application/json">')[1].split("</script>")[0])["rows"]
    assert [r["index"] for r in rows] == [ids[r["row"]] for r in rows]
    with pytest.raises(ValueError, match="X's index is not the fit's .*row 0 is 'patient-"):
        clf.export_review(tmp_path / "x.html", frame.sample(frac=1, random_state=0))
    # (an array X, or an X with the fit's index, is taken as before)
    clf.export_review(tmp_path / "a.html", X, max_rows=2)
    # the page's CSV carries the ID as a last column, which read_review accepts
    r = rows[0]["row"]
    ok = tmp_path / "ok.csv"
    pd.DataFrame({"row": [r], "path": [""], "given_label": [str(noisy[r])],
                  "decision": ["given"], "label": [str(noisy[r])],
                  "index": [ids[r]]}).to_csv(ok, index=False)
    assert read_review(ok, labels).trusted.sum() == 1
    # an X indexed by timestamps, saved and loaded (the index comes back as its
    # strings) is the same rows; a moved row with a NaN label is named right
    stamps = pd.date_range("2026-01-01", periods=len(X))
    timed = frame.set_axis(stamps)
    clf = digits_clf(max_epochs=2, rounds=1).fit(timed, noisy)
    saved = {f: str(tmp_path / f"{f}.pt") for f in ("f_params", "f_refinement_state")}
    clf.save_params(**saved)
    loaded = digits_clf(max_epochs=2, rounds=1, module=copy.deepcopy(clf.module_))
    loaded.initialize().load_params(**saved)
    loaded.export_review(tmp_path / "t.html", timed, max_rows=2)
    nan_ids = [np.nan, *range(1, len(X))]
    swapped = [*nan_ids[:3], nan_ids[4], nan_ids[3], *nan_ids[5:]]
    clf = digits_clf(max_epochs=2, rounds=1).fit(frame.set_axis(nan_ids), noisy)
    with pytest.raises(ValueError, match=r"\(row 3 is 4.0 in X, 3.0 at fit\)"):
        clf.export_review(tmp_path / "n.html", frame.set_axis(swapped))


def test_a_spreadsheets_numbers_read_as_the_labels_they_are(tmp_path):
    # float labels (a CSV column with gaps) saved by a spreadsheet as 1 and row 3.0:
    # refused as "the review of another data set" before
    y = np.array([0.0, 1.0, 2.0, 1.0] * 5)
    csv = tmp_path / "r.csv"
    csv.write_text("row,path,given_label,decision,label\n"
                   "3.0,,1,other,2\n0,,0,given,0\n")
    reviewed = read_review(csv, y)
    assert reviewed.trusted.sum() == 2 and reviewed[3] == 2.0
    csv.write_text("row,path,given_label,decision,label\n3,,1.5,given,1.5\n")
    with pytest.raises(ValueError, match="given label is '1.5' in the review but '1.0'"):
        read_review(csv, y)
    csv.write_text("row,path,given_label,decision,label\n2.5,,2,given,2\n")
    with pytest.raises(ValueError, match="row '2.5' is not a row number"):
        read_review(csv, y)
