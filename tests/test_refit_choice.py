"""``refit_rows="choose"`` (the default): two refits, one chosen on held-out rows."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from skorch.callbacks import Callback

from noisyskl import MLPModule, NoisyNeuralNetClassifier, RefitNet, StratifiedHoldout
from noisyskl.functional import (
    noise_corrected_accuracy,
    noise_corrected_recall,
    noise_transition,
)

from .conftest import TEST_DEVICE, make_clf


# ------------------------------------------------------------ the pure math
def test_noise_transition_counts_a_flagged_row_as_its_suggested_class():
    annotation = torch.tensor([0, 0, 0, 1, 1, 1, 2])
    suggested = torch.tensor([0, 0, 0, 0, 1, 1, 2])
    flagged = torch.tensor([False, False, False, True, False, False, False])
    T = noise_transition(annotation, suggested, flagged, 4)
    # class 0 holds four rows, one of them annotated 1; class 3 has none: identity
    expected = torch.tensor([[0.75, 0.25, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
                            dtype=torch.float64)
    assert torch.allclose(T, expected)
    no_flags = noise_transition(annotation, suggested, torch.zeros(7, dtype=torch.bool), 3)
    assert torch.equal(no_flags, torch.eye(3, dtype=torch.float64))


def test_corrected_accuracy_undoes_what_a_pair_flip_rewards():
    # 40% of each class annotated as the next one (pair-flip noise), known exactly
    rng = np.random.default_rng(0)
    n, k, rate = 4000, 4, 0.4
    true = rng.integers(0, k, n)
    flip = rng.random(n) < rate
    annotation = torch.as_tensor(np.where(flip, (true + 1) % k, true))
    T = torch.as_tensor((1 - rate) * np.eye(k) + rate * np.roll(np.eye(k), 1, axis=1))
    # a model right on 80% of the rows, its errors spread over the other classes
    wrong = rng.random(n) < 0.2
    spread = torch.as_tensor(np.where(wrong, (true + rng.integers(1, k, n)) % k, true))
    # a model right on 70% that learnt the flip: its errors are the next class
    flipper = torch.as_tensor(np.where(rng.random(n) < 0.3, (true + 1) % k, true))
    plain = [float((m == annotation).double().mean()) for m in (spread, flipper)]
    assert plain[1] > plain[0]  # the annotations reward the flip...
    corrected = [noise_corrected_accuracy(m, annotation, T) for m in (spread, flipper)]
    assert corrected[0] > corrected[1]  # ...the correction does not
    # and estimates each model's accuracy: sampling error only (4,000 rows, sd < 0.02)
    assert corrected == pytest.approx([0.8, 0.7], abs=0.05)
    # with no noise the plain accuracy, whatever the model
    assert noise_corrected_accuracy(spread, annotation, torch.eye(k)) == pytest.approx(plain[0])


def test_corrected_accuracy_falls_back_to_plain_accuracy_for_a_singular_transition():
    T = torch.tensor([[0.5, 0.5], [0.5, 0.5]], dtype=torch.float64)
    pred, annotation = torch.tensor([0, 1, 1, 0]), torch.tensor([0, 1, 0, 0])
    assert noise_corrected_accuracy(pred, annotation, T) == 0.75


def test_corrected_recall_sees_a_class_a_model_never_predicts_through_the_noise():
    # symmetric noise, 30% of each class annotated as one of the other two
    rng = np.random.default_rng(1)
    n, k, rate = 6000, 3, 0.3
    true = rng.integers(0, k, n)
    flip = rng.random(n) < rate
    annotation = torch.as_tensor(np.where(flip, (true + rng.integers(1, k, n)) % k, true))
    T = torch.as_tensor((1 - rate) * np.eye(k) + rate / (k - 1) * (1 - np.eye(k)))
    # a model right on every row of classes 0 and 1 that calls every 2 a 0
    erases = torch.as_tensor(np.where(true == 2, 0, true))
    recall = noise_corrected_recall(erases, annotation, T)
    # against the annotations class 0 looks 85% recalled (a 1 annotated 0 is
    # predicted 1), and class 2's loss is split with the noise
    noisy_recall = float((erases[annotation == 0] == 0).double().mean())
    assert noisy_recall < 0.9
    # sampling error only (2,000 rows a class, sd < 0.02)
    assert recall.tolist() == pytest.approx([1.0, 1.0, 0.0], abs=0.05)
    # the mean over classes is the accuracy where classes are balanced
    assert float(recall.mean()) == pytest.approx(noise_corrected_accuracy(erases, annotation, T),
                                                 abs=0.02)


def test_corrected_recall_without_noise_is_the_recall_and_nan_for_an_absent_class():
    pred, annotation = torch.tensor([0, 0, 1, 1, 0]), torch.tensor([0, 0, 1, 0, 0])
    recall = noise_corrected_recall(pred, annotation, torch.eye(3, dtype=torch.float64))
    assert recall[:2].tolist() == pytest.approx([0.75, 1.0])
    assert torch.isnan(recall[2])
    singular = torch.tensor([[0.5, 0.5], [0.5, 0.5]], dtype=torch.float64)
    assert noise_corrected_recall(pred, annotation, singular).tolist() == pytest.approx([0.75, 1.0])


# --------------------------------------------------------------- the estimator
def _two_rounds(**kwargs):
    params = dict(rounds=2, max_epochs=8, warm_up=2, train_split=StratifiedHoldout(0.2))
    params.update(kwargs)
    return make_clf(**params)


def test_choose_is_the_default_and_says_what_it_kept(iris):
    X, y = iris
    assert NoisyNeuralNetClassifier().refit_rows == "choose"
    clf = _two_rounds().fit(X, y)
    choice = clf.refit_choice_
    assert choice["refit_rows"] in ("every", "unflagged")
    assert choice["held_out_rows"] == (~clf.train_mask_).sum() == 30  # a fifth of 150
    assert choice["look_epoch"] == 3  # a third of 8 epochs
    if choice["look_score_unflagged"] >= choice["look_score_every"]:
        # the refit on every row does not lead at the look: it stopped there
        assert choice["refit_rows"] == "unflagged" and "score_every" not in choice
        assert choice["epochs_every"] == 3 and choice["epochs_unflagged"] == 8
    else:
        better = "unflagged" if choice["score_unflagged"] >= choice["score_every"] else "every"
        assert choice["refit_rows"] == better
    # the kept refit's history (validated on the held-out rows), the first round's kept
    assert len(clf.history_) == 8 and "valid_acc" in clf.history_[-1]
    assert len(clf.first_round_history_) == 8
    assert clf.predict(X).shape == (150,)


def test_both_refits_hold_out_exactly_the_first_rounds_held_out_rows(iris, monkeypatch):
    from noisyskl._refit import RefitNet

    X, y = iris
    seen = []
    original = RefitNet.get_split_datasets

    def spy(self, X, y=None, **fit_params):
        train, valid = original(self, X, y, **fit_params)
        seen.append(len(valid))
        return train, valid

    monkeypatch.setattr(RefitNet, "get_split_datasets", spy)
    clf = _two_rounds().fit(X, y)
    held = int((~clf.train_mask_).sum())
    # per refit: its training loop's split and the scoring's (none for one stopped
    # at the look)
    scored = 1 + ("score_every" in clf.refit_choice_)
    assert seen == [held] * (2 + scored)


@pytest.mark.parametrize("kept", ["every", "unflagged"])
def test_without_held_out_rows_it_holds_out_its_own_then_refits_on_every_row(
        iris, monkeypatch, kept):
    """train_split=None: the two candidates hold out a fifth of their own; then
    the kind kept trains on every row, as that one refit would alone."""
    X, y = iris
    _prefer(monkeypatch, kept)
    seen = []
    original = RefitNet.partial_fit

    def spy(self, X, y=None, **fit_params):
        seen.append((len(y), self.train_split))
        return original(self, X, y, **fit_params)

    monkeypatch.setattr(RefitNet, "partial_fit", spy)
    chosen = _two_rounds(train_split=None, flagged_rows="drop").fit(X, y)
    assert chosen.refit_choice_["refit_rows"] == kept
    assert chosen.refit_choice_["held_out_rows"] == 30
    flagged = chosen.find_label_issues()["is_label_issue"].to_numpy()
    assert flagged.any()
    # the candidates held out 30 rows (HeldOutRows); the last refit holds out none
    assert [type(split).__name__ for _, split in seen] == ["HeldOutRows"] * 2 + ["NoneType"]
    assert seen[-1][0] == (150 if kept == "every" else int((~flagged).sum()))
    # bit for bit the refit that kind of rows gets alone: refit_rows="unflagged"
    # (for "every": with no row flagged)
    monkeypatch.undo()
    if kept == "every":
        original_report = NoisyNeuralNetClassifier.find_label_issues

        def none_flagged(self, *args, **kwargs):
            report = original_report(self, *args, **kwargs)
            report["is_label_issue"] = False
            return report

        monkeypatch.setattr(NoisyNeuralNetClassifier, "find_label_issues", none_flagged)
    alone = _two_rounds(train_split=None, refit_rows="unflagged", flagged_rows="drop").fit(X, y)
    assert alone.refit_choice_ == {"refit_rows": "unflagged", "flagged_rows": "drop",
                                   "reason": "refit_rows='unflagged' (no choice made)"}
    assert torch.equal(torch.as_tensor(chosen.predict_proba(X)),
                       torch.as_tensor(alone.predict_proba(X)))


def test_the_choice_keeps_the_unflagged_refit_where_it_does_not_trail_at_the_look():
    from noisyskl._second_round import chosen_kind, look_epoch

    ended = {"every": 0.9, "unflagged": 0.8}
    assert chosen_kind({"every": 0.5, "unflagged": 0.5}, ended) == "unflagged"  # (a tie)
    assert chosen_kind({"every": 0.5, "unflagged": 0.6}, {"unflagged": 0.8}) == "unflagged"
    # leading at the look, the refit on every row is kept only if it also ends ahead
    assert chosen_kind({"every": 0.6, "unflagged": 0.5}, ended) == "every"
    assert chosen_kind({"every": 0.6, "unflagged": 0.5}, {**ended, "every": 0.7}) == "unflagged"
    # a look that scored nothing leaves the choice to the end
    assert chosen_kind({"every": None, "unflagged": 0.6}, ended) == "every"
    assert [look_epoch(n, 1 / 3) for n in (1, 2, 3, 8, 12, 60)] == [1, 1, 1, 3, 4, 20]
    assert look_epoch(60, None) is None and look_epoch(60, 1.0) == 60


class _Epochs(Callback):
    """How many epochs each training ran, in order."""

    def __init__(self):
        self.epochs = []

    def on_train_end(self, net, **kwargs):
        self.epochs.append((type(net).__name__, len(net.history)))


def _trailing_at_the_look(monkeypatch):
    """Make the refit on every row trail at its look (scored after the other's)."""
    from noisyskl import _second_round

    real = _second_round.Look.see

    def see(self, refit, dataset_valid):
        real(self, refit, dataset_valid)
        if self.rival is not None:  # (the one on every row, trained second)
            self.value, self.stop = self.rival - 0.1, True

    monkeypatch.setattr(_second_round.Look, "see", see)


def _counting_epochs(monkeypatch):
    """Record each refit's epochs as it ends (RefitNet's own on_train_end still runs)."""
    from noisyskl import _refit

    epochs = _Epochs()
    real = _refit.RefitNet.on_train_end

    def on_train_end(self, net, **kwargs):
        real(self, net, **kwargs)
        epochs.on_train_end(net)

    monkeypatch.setattr(_refit.RefitNet, "on_train_end", on_train_end)
    return epochs


def test_the_refit_on_every_row_stops_at_the_look_where_it_trails(iris, monkeypatch, capsys):
    X, y = iris
    _trailing_at_the_look(monkeypatch)
    epochs = _counting_epochs(monkeypatch)
    clf = _two_rounds(verbose=1).fit(X, y)
    choice = clf.refit_choice_
    assert choice["refit_rows"] == "unflagged"
    # the one without the flagged rows trained first, all 8 epochs; the other stopped
    assert epochs.epochs == [("RefitNet", 8), ("RefitNet", 3)]
    assert choice["epochs_unflagged"] == 8 and choice["epochs_every"] == 3
    assert "score_every" not in choice and "score_unflagged" in choice
    assert len(clf.history_) == 8  # the kept refit's
    out = capsys.readouterr().out
    every, unflagged = choice["look_score_every"], choice["look_score_unflagged"]
    assert ("round 2/2: stopped the refit on every training row after 3 of 8 epochs: it does "
            f"not lead there (held-out accuracy corrected for noise: every {every:.3f}, "
            f"unflagged {unflagged:.3f}).") in out
    assert (f"round 2/2: chose the refit on the unflagged training rows (held-out accuracy "
            f"corrected for noise: every {every:.3f} after 3 epochs, stopped, unflagged "
            f"{choice['score_unflagged']:.3f}).") in out
    assert out.index("refit on the unflagged training rows (") < out.index(
        "refit on every training row (")


def _unflagged_at_the_end(monkeypatch):
    from noisyskl import _second_round

    monkeypatch.setattr(_second_round, "chosen_kind", lambda looked, ended: "unflagged")


@pytest.mark.parametrize("module", ["class", "instance"])
@pytest.mark.parametrize("split", ["held out", "none"])
def test_the_look_and_the_order_leave_the_kept_refit_as_trained_alone(
        iris, monkeypatch, module, split):
    """The look (a prediction part-way, which draws from torch's RNG), the stop
    and the order of the candidates (with callbacks of one's own the one on
    every row trains first and never stops) do not change the kept refit, bit
    for bit: a module instance, which the stopped candidate trains last, ends
    with the kept one's weights; without held-out rows the kept kind trains
    again on every row as it does without the look."""
    from .conftest import TinyMLP

    X, y = iris

    def fit(**kwargs):
        if module == "instance":  # (the same initial weights each time)
            torch.manual_seed(0)
            kwargs["module"] = TinyMLP()
        if split == "none":
            kwargs["train_split"] = None
        return _two_rounds(**kwargs).fit(X, y)

    _trailing_at_the_look(monkeypatch)
    looked = fit()
    assert looked.refit_choice_["epochs_every"] == 3
    _unflagged_at_the_end(monkeypatch)
    with_callback = fit(callbacks=[_Epochs()])
    assert with_callback.refit_choice_["epochs_every"] == 8  # (trained first: no stop)
    unlooked = fit(refit_look=None)  # (chosen at the end: as to 2026-12-07)
    assert "look_epoch" not in unlooked.refit_choice_
    assert "score_every" in unlooked.refit_choice_
    for other in (with_callback, unlooked):
        assert other.refit_choice_["refit_rows"] == "unflagged"
        assert torch.equal(torch.as_tensor(looked.predict_proba(X)),
                           torch.as_tensor(other.predict_proba(X)))


def test_refit_look_none_trains_the_candidates_in_the_order_to_2026_12_07(iris, monkeypatch):
    epochs = _counting_epochs(monkeypatch)
    clf = _two_rounds(refit_look=None, verbose=0).fit(*iris)
    assert len(epochs.epochs) == 2 and "look_epoch" not in clf.refit_choice_
    assert list(clf.refit_choice_)[:6] == ["refit_rows", "reason", "held_out_rows",
                                           "score_every", "score_unflagged",
                                           "annotation_accuracy_every"]


def test_ctrl_c_in_the_second_candidate_keeps_the_one_that_finished(iris, monkeypatch):
    import os
    import signal

    from noisyskl import _refit

    real = _refit.RefitNet.on_epoch_end
    refits = []

    def on_epoch_end(self, net, **kwargs):
        real(self, net, **kwargs)
        if len(net.history) == 1 and net not in refits:
            refits.append(net)
        if len(refits) == 2 and net is refits[1] and len(net.history) == 2:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(_refit.RefitNet, "on_epoch_end", on_epoch_end)
    with pytest.warns(UserWarning, match=r"interrupted \(Ctrl-C\) in the rounds=2 refit"):
        clf = _two_rounds(refit_look=0.9).fit(*iris)  # (the look after the 7th of 8: no stop)
    assert clf.interrupted_
    assert clf.refit_choice_["refit_rows"] == "unflagged"  # (trained first, finished)
    assert clf.refit_choice_["reason"] == ("interrupted (Ctrl-C) while choosing; the candidate "
                                           "that had finished kept")
    assert len(clf.first_round_history_) == 8 and len(clf.history) == 8


def test_refit_choice_is_none_with_one_round_and_reset_by_a_new_fit(iris):
    X, y = iris
    clf = _two_rounds().fit(X, y)
    assert clf.refit_choice_ is not None
    clf.set_params(rounds=1).fit(X, y)
    assert clf.refit_choice_ is None


def test_an_unknown_refit_rows_is_a_value_error_naming_the_choices(iris):
    X, y = iris
    with pytest.raises(ValueError, match="refit_rows must be 'choose' or 'unflagged'"):
        _two_rounds(refit_rows="all").fit(X, y)


@pytest.mark.slow
def test_on_clean_labels_a_weak_model_does_not_overrule_them():
    """Embedding-like features the network cannot fit: the first round flags
    about a fifth of the (correct) rows. Dropping them costs accuracy; the
    choice keeps every row and wins by a margin (7 points here; baseline: the
    same fit with refit_rows="unflagged")."""
    X, y = make_classification(n_samples=2000, n_features=20, n_informative=10, n_classes=4,
                               class_sep=1.2, random_state=0)
    X = X.astype(np.float32)
    Xtr, ytr, Xte, yte = X[:1400], y[:1400], X[1400:], y[1400:]
    acc = {}
    for rows in ("unflagged", "choose"):
        clf = NoisyNeuralNetClassifier(
            MLPModule, module__n_features=20, module__n_classes=4, max_epochs=25, lr=1e-3,
            optimizer=torch.optim.Adam, batch_size=64, verbose=0, random_state=0,
            refit_rows=rows, flagged_rows="drop", device=TEST_DEVICE).fit(Xtr, ytr)
        acc[rows] = (clf.predict(Xte) == yte).mean()
        assert clf.find_label_issues()["is_label_issue"].mean() > 0.1  # correct rows flagged
    assert clf.refit_choice_["refit_rows"] == "every"
    assert acc["choose"] > acc["unflagged"] + 0.03, acc


class _RefitEnds(Callback):
    """Each training's final weights (a copy), in the order they trained
    (kept outside ``initialize``, which every training calls)."""

    def __init__(self):
        self.ends = []

    def on_train_end(self, net, **kwargs):
        self.ends.append((type(net).__name__,
                          {k: v.clone() for k, v in net.module_.state_dict().items()}))


def _prefer(monkeypatch, kept):
    """Make the choice keep ``kept``, both candidates trained every epoch."""
    from noisyskl import _second_round

    monkeypatch.setattr(_second_round, "look_epoch", lambda max_epochs, share: None)  # (no stop)
    monkeypatch.setattr(_second_round, "chosen_kind", lambda looked, ended: kept)


def test_a_module_instance_ends_with_the_kept_candidates_weights(iris, monkeypatch):
    # every refit trains the one module instance in turn: the kept one's weights
    # must be what the estimator predicts with, not the last candidate's
    from .conftest import TinyMLP

    X, y = iris
    _prefer(monkeypatch, "every")
    ends = _RefitEnds()
    torch.manual_seed(0)
    clf = _two_rounds(module=TinyMLP(), callbacks=[ends], random_state=None).fit(X, y)
    assert clf.refit_choice_["refit_rows"] == "every" and "note" in clf.refit_choice_
    assert [name for name, _ in ends.ends] == ["NoisyNeuralNetClassifier", "RefitNet",
                                               "RefitNet"]
    kept = ends.ends[1][1]  # the "every" candidate's, trained first
    assert all(torch.equal(v, kept[k]) for k, v in clf.module_.state_dict().items())
    assert not all(torch.equal(v, ends.ends[2][1][k]) for k, v in kept.items())


def test_a_failing_second_candidate_leaves_the_first_rounds_model(iris, monkeypatch):
    from .conftest import TinyMLP

    class FailInTheSecondRefit(Callback):
        def __init__(self):
            self.refits = 0

        def on_train_begin(self, net, **kwargs):
            self.refits += isinstance(net, RefitNet)

        def on_epoch_end(self, net, **kwargs):
            if isinstance(net, RefitNet) and self.refits == 2 and len(net.history) == 2:
                raise OSError("disk full")

    X, y = iris
    ends = _RefitEnds()
    clf = _two_rounds(module=TinyMLP(), callbacks=[ends, FailInTheSecondRefit()])
    with pytest.raises(RuntimeError, match=r"the refit \(round 2, on the unflagged training "
                       r"rows, a candidate \(\d+ rows\)\) failed after 2 epoch\(s\) with "
                       r"OSError: disk full The estimator keeps the first round's model"):
        clf.fit(X, y)
    first = ends.ends[0][1]
    assert all(torch.equal(v, first[k]) for k, v in clf.module_.state_dict().items())
    assert clf.predict(X).shape == (150,)


def test_a_module_instance_is_copied_to_the_cpu_once_for_its_first_round(iris, monkeypatch):
    # the first round's weights are kept once, for every candidate to put back
    # on failure, not again by each refit (a copy of a large backbone each)
    from noisyskl import _refit, _second_round

    from .conftest import TinyMLP

    copies = []
    real = _refit.module_weights

    def counted(est):
        copies.append(type(est).__name__)
        return real(est)

    monkeypatch.setattr(_refit, "module_weights", counted)
    monkeypatch.setattr(_second_round, "module_weights", counted)
    _prefer(monkeypatch, "every")
    _two_rounds(module=TinyMLP()).fit(*iris)
    # the first round's, once; then each candidate's, to give the kept one back
    assert copies == ["NoisyNeuralNetClassifier", "RefitNet", "RefitNet"]


def test_ctrl_c_in_a_candidate_keeps_it_and_says_so(iris):
    import os
    import signal

    class CtrlC(Callback):
        def on_batch_end(self, net, **kwargs):
            if (isinstance(net, RefitNet) and len(net.history) == 3
                    and len(net.history[-1]["batches"]) == 1):
                os.kill(os.getpid(), signal.SIGINT)

    X, y = iris
    ends = _RefitEnds()
    with pytest.warns(UserWarning, match=r"interrupted \(Ctrl-C\) in the rounds=2 refit"):
        clf = _two_rounds(batch_size=32, callbacks=[CtrlC(), ends]).fit(X, y)
    assert clf.interrupted_ and len(clf.history) == 3
    assert clf.refit_choice_ == {"refit_rows": "every", "flagged_rows": "unlabelled",
                                 "reason": "interrupted (Ctrl-C) while choosing"}
    assert [name for name, _ in ends.ends] == ["NoisyNeuralNetClassifier", "RefitNet"]


class _Jittered(torch.utils.data.Dataset):
    """Iris rows with Gaussian noise drawn from torch's RNG at every read (an
    augmentation without eval_transform: the held-out rows are jittered too)."""

    def __init__(self, X, y):
        self.X, self.targets = torch.as_tensor(X, dtype=torch.float32), list(y)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return self.X[i] + 0.8 * torch.randn(self.X.shape[1]), self.targets[i]


def test_the_choice_on_a_randomly_drawing_dataset_repeats_whatever_was_drawn_before(iris):
    # the held-out scoring passes are seeded from random_state, alike for both
    # candidates: the choice depends neither on the RNG before fit nor on the
    # candidates' order, and the global RNG is left as it was
    class Noop(Callback):
        pass

    X, y = iris
    noisy = np.where(np.arange(150) % 4 == 0, (y + 1) % 3, y)
    fits = []
    for before, settings in [(1, {}), (2, {}), (3, dict(refit_look=None)),
                             (4, dict(callbacks=[Noop()]))]:  # (every first, both to the end)
        torch.manual_seed(before)
        state = torch.get_rng_state()
        fits.append(make_clf(max_epochs=12, rounds=2, **settings).fit(_Jittered(X, noisy)))
        assert torch.equal(torch.get_rng_state(), state)
    first, second, at_end, both = (f.refit_choice_ for f in fits)
    assert first == second
    assert first["score_unflagged"] == at_end["score_unflagged"] == both["score_unflagged"]
    assert at_end["score_every"] == both["score_every"]
    assert {k: v for k, v in first.items() if k.startswith("look_score")} == {
        k: v for k, v in both.items() if k.startswith("look_score")}
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))
