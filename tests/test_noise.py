import numpy as np
import pytest

from noisyskl.noise import (
    instance_dependent_noise,
    pair_flip_noise,
    symmetric_noise,
    symmetric_transition_matrix,
    transition_matrix_noise,
)

Y = np.repeat(np.array(["a", "b", "c", "d"]), 2500)


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.6, 1.0])
def test_symmetric_rate_mask_and_input_untouched(rate):
    y = Y.copy()
    noisy, flipped = symmetric_noise(y, rate, random_state=0)
    np.testing.assert_array_equal(y, Y)
    np.testing.assert_array_equal(flipped, noisy != Y)
    assert abs(flipped.mean() - rate) < 0.02
    assert set(noisy) <= set(Y) and noisy.dtype == Y.dtype
    # the wrong class is uniform over the other three
    if rate > 0:
        for c in "abcd":
            wrong = noisy[flipped & (Y == c)]
            counts = np.array([(wrong == o).sum() for o in "abcd" if o != c])
            assert counts.min() > 0.8 * counts.mean()


def test_seeded_and_reproducible():
    a = symmetric_noise(Y, 0.3, random_state=1)[0]
    b = symmetric_noise(Y, 0.3, random_state=1)[0]
    c = symmetric_noise(Y, 0.3, random_state=2)[0]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_pair_flip_goes_to_next_class():
    y = np.repeat([3, 7, 9], 3000)
    noisy, flipped = pair_flip_noise(y, 0.4, random_state=0)
    nxt = {3: 7, 7: 9, 9: 3}
    assert all(nxt[t] == n for t, n in zip(y[flipped], noisy[flipped]))
    assert abs(flipped.mean() - 0.4) < 0.02
    with pytest.raises(ValueError, match="0.5"):
        pair_flip_noise(y, 0.5)


def test_transition_matrix_noise_follows_matrix_and_validates():
    y = np.repeat([0, 1], 20000)
    T = [[0.9, 0.1], [0.3, 0.7]]
    noisy, _ = transition_matrix_noise(y, T, random_state=0)
    assert abs((noisy[y == 0] == 1).mean() - 0.1) < 0.01
    assert abs((noisy[y == 1] == 0).mean() - 0.3) < 0.01
    with pytest.raises(ValueError, match="probability vector"):
        transition_matrix_noise(y, [[0.9, 0.2], [0.3, 0.7]])
    with pytest.raises(ValueError, match="shape"):
        transition_matrix_noise(y, np.eye(3))
    np.testing.assert_allclose(symmetric_transition_matrix(4, 0.3).sum(1), 1.0)


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_impossible_rates_rejected(bad):
    with pytest.raises(ValueError, match="rate"):
        symmetric_noise(Y, bad)
    with pytest.raises(TypeError, match="rate"):
        symmetric_noise(Y, "0.2")


def test_instance_dependent_prefers_ambiguous_samples():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 6000)
    confidence = rng.uniform(0.34, 1.0, 6000)
    proba = np.full((6000, 3), 0.0)
    proba[np.arange(6000), y] = confidence
    proba[np.arange(6000), (y + 1) % 3] = 1 - confidence
    y0 = y.copy()
    noisy, flipped = instance_dependent_noise(y, proba, 0.4, random_state=0)
    np.testing.assert_array_equal(y, y0)
    assert abs(flipped.mean() - 0.4) < 0.02
    assert confidence[flipped].mean() < confidence[~flipped].mean() - 0.1
    # a flipped sample takes the most probable other class
    assert np.all(noisy[flipped] == (y[flipped] + 1) % 3)
    with pytest.raises(ValueError, match="cannot be reached"):
        sure = np.eye(3)[y]
        instance_dependent_noise(y, sure, 0.2)


@pytest.mark.parametrize("y, classes, match", [
    (np.zeros((4, 2)), None, "1-D"),
    (np.array([]), None, "empty"),
    (np.array(["a", "a"]), None, "at least two classes"),
    (np.array(["a", "b", "z"]), ["a", "b"], "not in `classes`"),
])
def test_bad_labels_are_refused(y, classes, match):
    with pytest.raises(ValueError, match=match):
        symmetric_noise(y, 0.2, random_state=0, classes=classes)


def test_an_annotator_panel_has_each_annotators_accuracy_share_and_confusions():
    from noisyskl.noise import annotator_panel, lenient_transition_matrix

    y = np.repeat(np.array(["abnormal", "blast", "normal"]), 2000)
    y_before = y.copy()
    panel = {"good": 0.95, "half": {"accuracy": 0.7, "share": 0.5},
             "lenient": {"transition_matrix": lenient_transition_matrix(3, 0.5, towards=2),
                         "share": 0.3}}
    labels, accuracy = annotator_panel(y, panel, random_state=0)
    np.testing.assert_array_equal(y, y_before)
    assert list(labels.columns) == ["good", "half", "lenient"] and len(labels) == len(y)
    assert labels.notna().any(axis=1).all()  # every row labelled at least once
    share = labels.notna().mean()
    assert share["good"] == 1.0 and abs(share["half"] - 0.5) < 0.03
    assert abs(share["lenient"] - 0.3) < 0.03
    for name, asked in (("good", 0.95), ("half", 0.7)):
        seen = labels[name].notna()
        realised = (labels[name][seen] == y[seen.to_numpy()]).mean()
        assert realised == pytest.approx(accuracy[name]) and abs(realised - asked) < 0.03
    # the lenient one errs only towards "normal", on half the other rows it labels
    seen = labels["lenient"].notna().to_numpy()
    wrong = seen & (labels["lenient"].to_numpy() != y)
    assert set(labels["lenient"][wrong]) == {"normal"}
    assert abs(wrong[y != "normal"].sum() / seen[y != "normal"].sum() - 0.5) < 0.05
    again, _ = annotator_panel(y, panel, random_state=0)
    assert again.equals(labels)


@pytest.mark.parametrize("panel, match", [
    ({}, "non-empty dict"),
    ({"a": {"accuracy": 0.9, "transition_matrix": np.eye(2)}}, "exactly one of"),
    ({"a": 1.5}, "accuracy must lie in"),
    ({"a": {"accuracy": 0.9, "share": 0}}, "would label no row"),
    ({"a": {"transition_matrix": np.ones((2, 2))}}, "probability vector"),
])
def test_an_annotator_panel_refuses_bad_specs(panel, match):
    from noisyskl.noise import annotator_panel

    with pytest.raises((ValueError, TypeError), match=match):
        annotator_panel(np.array([0, 1] * 10), panel, random_state=0)
