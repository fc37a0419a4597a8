"""``device='cuda'``: skipped without a CUDA device (as in CI).

To check the whole suite on a GPU, also run it with ``NOISYSKL_TEST_DEVICE=cuda``
(every test built on ``make_clf`` then trains there).
"""

import pickle

import numpy as np
import pytest
import torch

from noisyskl import NoisyLabelLoss, NoisyNeuralNetClassifier, SmallCNN

from .conftest import flip_labels, make_clf

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_state_and_outputs_live_on_cuda(iris):
    X, y = iris
    clf = make_clf(device="cuda").fit(X, y)
    state = clf.refinement_state_
    assert all(buf.is_cuda for buf in state.buffers())
    assert all(p.is_cuda for p in clf.module_.parameters())
    assert clf.predict(X).shape == (150,)
    proba = clf.predict_proba(X)
    assert isinstance(proba, np.ndarray)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    assert isinstance(clf.refined_labels_, np.ndarray)
    assert clf.find_label_issues().shape[0] == 150
    clf2 = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clf2.refined_labels_, clf.refined_labels_)


def test_cuda_matches_cpu_on_the_first_epoch(iris):
    """Same seed, same data order: the first epoch's loss agrees across devices
    (float32 kernels differ in the last bits, so not exactly)."""
    X, y = iris
    losses = {}
    for device in ("cpu", "cuda"):
        clf = make_clf(device=device, max_epochs=1).fit(X, y)
        losses[device] = clf.history[-1, "train_loss"]
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-4)


def test_criterion_gives_the_same_loss_on_both_devices():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 5, generator=gen)
    target = torch.softmax(torch.randn(64, 5, generator=gen), -1)
    index = torch.arange(64)
    out = {}
    for device in ("cpu", "cuda"):
        crit = NoisyLabelLoss(n_samples=64).to(device)
        out[device] = crit(logits.to(device), target.to(device), index.to(device)).item()
    assert out["cuda"] == pytest.approx(out["cpu"], rel=1e-5)


def test_default_two_rounds_cnn_on_cuda():
    """The default fit, with a batch-norm CNN and a refit long enough to average
    two epochs (torch's multi-tensor CUDA average once failed on the integer
    batch-norm counter)."""
    rng = np.random.default_rng(0)
    y = np.arange(80) % 2
    X = rng.normal(size=(80, 1, 8, 8)).astype(np.float32) + y[:, None, None, None]
    y_noisy, _ = flip_labels(y, 0.2, 2, seed=0)
    clf = NoisyNeuralNetClassifier(max_epochs=6, warm_up=1, device="cuda",
                                   random_state=0, verbose=0).fit(X, y_noisy)
    assert clf.rounds == 2 and hasattr(clf, "first_round_history_")
    assert isinstance(clf.module_, SmallCNN) and clf.refinement_state_.targets.is_cuda
    assert clf.predict(X).shape == (80,)


def test_saved_on_cuda_loads_on_cpu(iris, tmp_path):
    X, y = iris
    clf = make_clf(device="cuda").fit(X, y)
    files = dict(f_params=tmp_path / "p.pt", f_refinement_state=tmp_path / "s.pt")
    clf.save_params(**files)
    cpu = make_clf(device="cpu").initialize()
    cpu.load_params(**files)
    assert not cpu.refinement_state_.targets.is_cuda
    np.testing.assert_array_equal(cpu.refined_labels_, clf.refined_labels_)
    np.testing.assert_allclose(cpu.predict_proba(X), clf.predict_proba(X), atol=1e-5)


def _host_syncs_per_training_get_loss(cls, net, X, y, monkeypatch):
    """Host synchronisations (CUDA sync debug mode) made inside each training
    batch's ``get_loss`` during one more epoch of ``net``."""
    import warnings

    counts, original = [], cls.get_loss

    def counting(self, *args, training=False, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loss = original(self, *args, training=training, **kwargs)
        if training:
            counts.append(sum("synchroniz" in str(w.message) for w in caught))
        return loss

    with monkeypatch.context() as m:
        m.setattr(cls, "get_loss", counting)
        torch.cuda.set_sync_debug_mode("warn")
        try:
            net.partial_fit(X, y)
        finally:
            torch.cuda.set_sync_debug_mode(0)
    return counts


def test_training_batches_sync_no_more_than_plain_skorch(iris, monkeypatch):
    """The row index is copied to the GPU without waiting for the forward pass
    (a blocking copy from pageable memory synchronises the stream), so a
    training batch's get_loss syncs no more often than plain skorch's (whose
    copy of y syncs)."""
    from skorch import NeuralNetClassifier

    X, y = iris[0].astype(np.float32), iris[1]  # plain skorch takes float32 only
    kw = dict(device="cuda", max_epochs=1, train_split=None)
    ours = make_clf(**kw).fit(X, y)
    plain = NeuralNetClassifier(ours.module, module__n_classes=3,
                                criterion=torch.nn.CrossEntropyLoss,
                                batch_size=ours.batch_size, verbose=0, **kw).fit(X, y)
    ours_syncs = _host_syncs_per_training_get_loss(type(ours), ours, X, y, monkeypatch)
    plain_syncs = _host_syncs_per_training_get_loss(NeuralNetClassifier, plain, X, y, monkeypatch)
    assert ours_syncs and plain_syncs
    assert max(plain_syncs) >= 1, "sync debug mode reported nothing: the check cannot work here"
    assert max(ours_syncs) <= max(plain_syncs)


def test_a_label_matrix_trains_and_reports_on_cuda(iris):
    X, y = iris
    labels = np.column_stack([y, np.where(np.arange(150) % 2, (y + 1) % 3, np.nan)])
    clf = make_clf(device="cuda", annotator_weighting="reliability").fit(X, labels)
    assert all(buf.is_cuda for buf in clf.refinement_state_.buffers())
    assert clf.annotator_report().shape == (2, 4)
    assert clf.find_label_issues()["num_annotations"].tolist() == [1, 2] * 75
    cpu = make_clf(annotator_weighting="reliability").fit(X, labels)
    np.testing.assert_allclose(clf.annotator_report()["annotator_quality"],
                               cpu.annotator_report()["annotator_quality"], atol=0.05)
