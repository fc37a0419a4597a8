"""Ctrl-C and other stops: the estimator stays usable, says it was
interrupted, and skips the refit only for the user's Ctrl-C."""

import numpy as np
import pytest
from skorch.callbacks import Callback, EarlyStopping

from noisyskl import RefitNet

from .conftest import make_clf


def test_keyboard_interrupt_leaves_a_usable_estimator(iris):
    from skorch.callbacks import Callback

    class Interrupt(Callback):  # Ctrl-C in the middle of epoch 5
        def on_batch_end(self, net, **kwargs):
            if len(net.history) == 5 and len(net.history[-1]["batches"]) == 2:
                raise KeyboardInterrupt

    X, y = iris
    clf = make_clf(max_epochs=10, batch_size=32, callbacks=[Interrupt()],
                   train_split=None).fit(X, y)
    assert len(clf.history) == 5
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0, atol=1e-5)
    refined = clf.refined_labels_
    # the refined labels are those of the end of epoch 4, the last completed one
    assert clf.history[3, "n_refined"] == int((refined.argmax(1) != y).sum())
    assert (refined.max(1) < 1).any()


def _ctrl_c_at(epoch, in_refit=False):
    """A callback that sends this process a SIGINT (as Ctrl-C does) in the
    middle of the given epoch of the first training (or of the refit)."""
    import os
    import signal

    class CtrlC(Callback):
        def on_batch_end(self, net, **kwargs):
            if (isinstance(net, RefitNet) == in_refit and len(net.history) == epoch
                    and len(net.history[-1]["batches"]) == 1):
                os.kill(os.getpid(), signal.SIGINT)

    return CtrlC()


def test_ctrl_c_in_the_first_round_skips_the_refit(iris):
    # Ctrl-C means stop: skorch ends the first round cleanly, and fit used to
    # go on to train the whole refit regardless
    import signal

    X, y = iris
    before = signal.getsignal(signal.SIGINT)
    with pytest.warns(UserWarning, match="interrupted.*refit was skipped") as record:
        clf = make_clf(rounds=2, max_epochs=8, batch_size=32, train_split=None,
                       callbacks=[_ctrl_c_at(4)]).fit(X, y)
    assert record[0].filename == __file__  # points at the user's call
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back
    assert len(clf.history) == 4  # the first round's, interrupted in epoch 4
    assert clf.history[-2, "n_refined"] >= 0  # the method's history, not a refit's
    assert not hasattr(clf, "first_round_history_")
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0, atol=1e-5)
    assert clf.find_label_issues().shape[0] == len(y)
    assert clf.interrupted_ and clf.history[-1, "interrupted"]


@pytest.mark.parametrize("rounds, in_refit, expected", [
    (1, False, "interrupted \\(Ctrl-C\\) in epoch 4: the model, refined_labels_"),
    (2, True, "interrupted \\(Ctrl-C\\) in the rounds=2 refit, in its epoch 3")])
def test_ctrl_c_is_said_and_kept_in_either_round(iris, rounds, in_refit, expected):
    # skorch ends training cleanly on Ctrl-C and fit returns as if done: a
    # script that saves the model next must be able to tell
    X, y = iris
    with pytest.warns(UserWarning, match=expected) as record:
        clf = make_clf(rounds=rounds, max_epochs=8, batch_size=32, train_split=None,
                       callbacks=[_ctrl_c_at(4 if not in_refit else 3, in_refit)]).fit(X, y)
    assert [w.filename for w in record if "interrupted" in str(w.message)] == [__file__]
    assert clf.interrupted_ is True and clf.history[-1, "interrupted"] is True
    assert len(clf.history) == (3 if in_refit else 4)
    if in_refit:
        assert len(clf.first_round_history_) == 8  # the first round ran to its end
    again = make_clf(rounds=rounds, max_epochs=8, batch_size=32, train_split=None).fit(X, y)
    assert again.interrupted_ is False and "interrupted" not in again.history[-1]


def test_early_stopping_in_the_first_round_still_refits(iris):
    # EarlyStopping stops skorch's loop with a KeyboardInterrupt too; that is
    # not the user's Ctrl-C, so the refit follows
    X, y = iris
    clf = make_clf(rounds=2, max_epochs=30, callbacks=[
        EarlyStopping(patience=3, threshold=10.0)]).fit(X, y)  # stops after 3 refinements
    assert len(clf.first_round_history_) < 30
    assert "n_refined" not in clf.history[-1]  # the refit's history


def test_fit_works_outside_the_main_thread(iris):
    # the Ctrl-C watch installs a signal handler only in the main thread
    # (signal.signal raises ValueError elsewhere)
    from concurrent.futures import ThreadPoolExecutor

    X, y = iris
    with ThreadPoolExecutor(1) as pool:
        clf = pool.submit(make_clf(rounds=2, max_epochs=4).fit, X, y).result()
    assert len(clf.first_round_history_) == 4
