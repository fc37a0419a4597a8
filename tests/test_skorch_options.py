"""skorch's own options through the estimator: a dataset, sampler or
collate_fn of one's own, modules with several outputs, forward, compile=True."""

import numpy as np
import pytest
import torch
from skorch.dataset import Dataset as SkorchDataset

from .conftest import CountingDataset, TinyMLP, flip_labels, make_clf


@pytest.mark.parametrize("train_split", [None, "default"])
def test_a_dataset_of_ones_own_is_used_for_training(iris, train_split):
    # skorch's dataset= (e.g. augmentation) was once ignored in training
    X, y = iris
    kw = dict(max_epochs=3) if train_split == "default" else dict(max_epochs=3, train_split=None)
    CountingDataset.rows_read = 0
    own = make_clf(dataset=CountingDataset, **kw).fit(X, y)
    assert CountingDataset.rows_read == 3 * len(y)  # every row, every epoch (valid rows too)
    # the same rows as skorch's Dataset gives: the same fit, per-row state included
    default = make_clf(**kw).fit(X, y)
    np.testing.assert_array_equal(own.predict_proba(X), default.predict_proba(X))
    np.testing.assert_array_equal(own.refined_labels_, default.refined_labels_)
    np.testing.assert_array_equal(own.gradient_norms_, default.gradient_norms_)


def test_an_augmenting_dataset_changes_training(iris):
    X, y = iris

    class Jitter(SkorchDataset):
        def __getitem__(self, i):
            Xi, yi = super().__getitem__(i)
            noise = np.random.default_rng().standard_normal(Xi.shape).astype(Xi.dtype)
            return Xi + 0.5 * noise, yi

    kw = dict(max_epochs=4, train_split=None)
    jittered = make_clf(dataset=Jitter, **kw).fit(X, y)
    plain = make_clf(**kw).fit(X, y)
    # training saw the jittered rows (predict would jitter too, so compare training)
    assert not np.allclose(jittered.history[:, "train_loss"], plain.history[:, "train_loss"])
    assert jittered.history[-1, "n_refined"] >= 0 and np.isfinite(jittered.gradient_norms_).all()


def test_a_sampler_decides_the_order_despite_the_shuffle_default(iris):
    """The estimator's default iterator_train__shuffle=True is not passed on next
    to a sampler (torch's DataLoader refuses the two together)."""
    from torch.utils.data import BatchSampler, SequentialSampler

    X, y = iris
    clf = make_clf(max_epochs=2, train_split=None,
                   iterator_train__sampler=SequentialSampler(range(len(y)))).fit(X, y)
    assert clf.get_params()["iterator_train__shuffle"] is True  # the setting is kept
    in_order = make_clf(max_epochs=2, train_split=None, iterator_train__shuffle=False).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), in_order.predict_proba(X))
    batches = BatchSampler(SequentialSampler(range(len(y))), batch_size=128, drop_last=False)
    make_clf(max_epochs=1, train_split=None, iterator_train__batch_sampler=batches,
             iterator_train__batch_size=1).fit(X, y)  # DataLoader: batch_size 1 + a batch_sampler


def _stack_rows(rows):
    """A collate_fn as skorch users write them (e.g. to pad): rows are (Xi, yi),
    numpy rows of the arrays given (skorch's Dataset)."""
    xs, ys = zip(*rows)
    assert all(isinstance(x, np.ndarray) for x in xs)  # not the estimator's dict rows
    return torch.from_numpy(np.stack(xs)), torch.as_tensor(np.stack(ys))


@pytest.mark.parametrize("train_split", [None, "default"])
def test_a_collate_fn_of_ones_own_gets_the_rows_as_in_skorch(iris, train_split):
    # it used to get the estimator's internal {X, row number} dicts, and fail
    X, y = iris
    kw = dict(rounds=2, max_epochs=4, batch_size=32)
    if train_split is None:
        kw["train_split"] = None
    own = make_clf(iterator_train__collate_fn=_stack_rows, iterator_valid__collate_fn=_stack_rows,
                   **kw).fit(X, y)
    default = make_clf(**kw).fit(X, y)
    np.testing.assert_array_equal(own.predict_proba(X), default.predict_proba(X))
    np.testing.assert_array_equal(own.refined_labels_, default.refined_labels_)


def test_a_module_returning_a_tuple_trains_on_its_first_output(iris):
    # skorch's convention for modules with several outputs: the first is the prediction
    class WithExtra(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = TinyMLP()

        def forward(self, X):
            logits = self.inner(X)
            return logits, logits.abs().mean()

    X, y = iris
    torch.manual_seed(0)
    tuple_fit = make_clf(module=WithExtra, max_epochs=4).fit(X, y)
    plain_fit = make_clf(module=TinyMLP, max_epochs=4).fit(X, y)
    np.testing.assert_allclose(tuple_fit.predict_proba(X), plain_fit.predict_proba(X), rtol=1e-6)
    np.testing.assert_array_equal(tuple_fit.refined_labels_, plain_fit.refined_labels_)


def test_a_forward_pass_in_training_mode_keeps_the_order_of_X(iris):
    # forward(X, training=True) (e.g. MC dropout) used iterator_train, which
    # shuffles by default here: its outputs came back in another order
    X, y = iris
    X = X.astype(np.float32)  # forward, as skorch's, takes the module's dtype
    clf = make_clf(max_epochs=2, iterator_train__shuffle=True).fit(X, y)
    # no dropout: the same numbers in train mode
    np.testing.assert_allclose(clf.forward(X, training=True).detach().numpy(),
                               clf.forward(X, training=False).numpy(), rtol=1e-6)
    # a tensor gives the same batches as the array
    np.testing.assert_array_equal(clf.forward(torch.from_numpy(X)).numpy(),
                                  clf.forward(X).numpy())
    with_dropout = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Dropout(0.5),
                                       torch.nn.Linear(16, 3))
    clf = make_clf(module=with_dropout, max_epochs=2).fit(X, y)
    assert not torch.equal(clf.forward(X, training=True), clf.forward(X, training=True))


@pytest.mark.parametrize("rounds", [1, 2])
def test_skorch_compile_trains_as_eager(iris, rounds):
    """skorch's ``compile=True`` compiles the criterion too; its statistics
    (sigma, the weights, the refined targets) must stay those of eager mode,
    and the default refit averages the compiled module's weights."""
    X, y = iris
    noisy, _ = flip_labels(y, 0.3, 3, seed=0)
    torch._dynamo.reset()
    kw = dict(train_split=None, rounds=rounds)
    compiled = make_clf(compile=True, compile__backend="aot_eager", **kw).fit(X, noisy)
    eager = make_clf(**kw).fit(X, noisy)
    assert type(compiled.criterion_).__name__ == "OptimizedModule"
    first = {1: lambda clf: clf.history, 2: lambda clf: clf.first_round_history_}[rounds]
    np.testing.assert_allclose(first(compiled)[:, "sigma"], first(eager)[:, "sigma"], rtol=1e-5)
    np.testing.assert_allclose(compiled.refined_labels_, eager.refined_labels_, atol=1e-5)
    np.testing.assert_allclose(compiled.predict_proba(X), eager.predict_proba(X), atol=1e-5)


def test_device_none_trains_both_rounds_seeded(iris):
    # (skorch's device=None leaves the module and data where they are)
    X, y = iris
    a = make_clf(device=None, rounds=2, max_epochs=8).fit(X, y)
    b = make_clf(device=None, rounds=2, max_epochs=8).fit(X, y)
    assert a.refit_choice_ is not None
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
