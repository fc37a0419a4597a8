"""NoisyLabelLoss and GradientDensity, in a plain PyTorch setting."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import noisyskl.functional as Fn
from noisyskl import GradientDensity, NoisyLabelLoss


def test_batch_loss_by_hand_with_soft_target_and_two_bins():
    p = [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.5, 0.5]]
    logits = torch.log(torch.tensor(p))
    target = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.3, 0.7], [0.0, 1.0]])
    crit = NoisyLabelLoss(bins=2, mu=0.2, weighting="both")
    loss = crit(logits, target)

    g = [0.1, 0.4, 0.1, 0.5]  # 1/2 sum |p - t|
    # B = 2: bins 0, 0, 0, 1 (g = 0.5 opens bin 1); N = 4
    alpha = [4 / (2 * 3)] * 3 + [4 / (2 * 1)]
    sigma = math.sqrt(sum((v - 0.2) ** 2 for v in g) / 3)
    beta = [math.exp(-((v - 0.2) ** 2) / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))
            for v in g]
    ce = [-math.log(0.9), -math.log(0.6), -(0.3 * math.log(0.2) + 0.7 * math.log(0.8)),
          -math.log(0.5)]
    expected = sum(a * b * c for a, b, c in zip(alpha, beta, ce)) / 4
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    assert crit.last_gradient_norm.tolist() == pytest.approx(g, abs=1e-6)
    assert float(crit.last_sigma) == pytest.approx(sigma, rel=1e-5)


def test_weights_are_constants_for_the_gradient():
    torch.manual_seed(0)
    z = torch.randn(5, 3, requires_grad=True)
    y = torch.tensor([0, 1, 2, 0, 1])
    crit = NoisyLabelLoss(bins=3, mu=0.3)
    crit(z, y).backward()
    w = crit.last_weight
    expected = (torch.softmax(z.detach(), 1) - torch.nn.functional.one_hot(y, 3)) * w[:, None] / 5
    assert torch.allclose(z.grad, expected, atol=1e-6)


def test_plain_pytorch_loop_learns():
    torch.manual_seed(0)
    X = torch.randn(256, 4)
    y = (X[:, 0] > 0).long()
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    crit = NoisyLabelLoss()
    for _ in range(50):
        opt.zero_grad()
        loss = crit(model(X), y)
        loss.backward()
        opt.step()
    assert (model(X).argmax(1) == y).float().mean() > 0.95


@pytest.mark.parametrize("weighting", ["both", "density", "gaussian", None])
def test_loss_finite_for_extreme_logits_and_equal_g(weighting):
    crit = NoisyLabelLoss(bins=10, mu=0.5, weighting=weighting)
    z = torch.tensor([[1e4, -1e4], [-1e4, 1e4], [1e4, 1e4]], requires_grad=True)
    loss = crit(z, torch.tensor([0, 0, 1]))
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(z.grad).all()
    # every g equal (and equal to mu): sigma at its floor, weights finite
    z = torch.zeros(4, 2, requires_grad=True)
    loss = crit(z, torch.tensor([0, 1, 0, 1]))
    assert torch.isfinite(loss) and float(crit.last_sigma) == pytest.approx(Fn.SIGMA_FLOOR)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_logits(dtype):
    crit = NoisyLabelLoss(weighting="both")
    z = torch.tensor([[60000.0, -60000.0], [1.0, 2.0]], dtype=dtype)
    assert torch.isfinite(crit(z, torch.tensor([1, 0])))


def test_whole_set_density_uses_store_and_eval_does_not_update():
    crit = NoisyLabelLoss(bins=4, n_samples=6)
    z = torch.log(torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.5, 0.5]]))
    crit(z, torch.tensor([0, 0, 1]), sample_index=torch.tensor([0, 2, 4]))
    d = crit.density
    assert int(d.n_seen) == 3 and d.counts.tolist() == [1, 1, 1, 0]
    before = d.g.clone()
    crit.eval()
    crit(z, torch.tensor([1, 1, 1]), sample_index=torch.tensor([1, 3, 5]))
    assert torch.equal(d.g, before)
    crit.train()
    crit(z, torch.tensor([1, 1, 1]), sample_index=torch.tensor([0, 2, 4]))
    # g: 0.9, 0.6, 0.5 -> bins 3, 2, 2 replace 0, 1, 2
    assert d.counts.tolist() == [0, 0, 2, 1] and int(d.n_seen) == 3


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 40),
    bins=st.integers(1, 12),
    mu=st.floats(0.0, 1.0),
    steps=st.lists(st.tuples(st.integers(0, 2**31 - 1), st.integers(1, 16)), min_size=1,
                   max_size=12),
    resync_after=st.integers(0, 12),
)
@pytest.mark.parametrize("track_counts", [True, False])
def test_incremental_density_equals_recomputed(track_counts, n, bins, mu, steps, resync_after):
    d = GradientDensity(n, bins, mu, track_counts=track_counts)
    for step, (seed, size) in enumerate(steps):
        gen = torch.Generator().manual_seed(seed)
        idx = torch.randperm(n, generator=gen)[: min(size, n)]
        g = torch.rand(len(idx), generator=gen)
        g[::3] = 1.0  # the last bin's edge
        d.update(idx, g)
        if step == resync_after:  # a resync midway changes nothing either
            d.resync()
    seen = d.g[d.g >= 0]
    assert d.counts.tolist() == Fn.bin_counts(seen, bins).tolist()
    assert int(d.n_seen) == seen.numel()
    assert float(d.sum_sq) == pytest.approx(float(((seen.double() - mu) ** 2).sum()), abs=1e-9)
    n_seen = max(seen.numel() - 1, 1)
    expected_sigma = max(math.sqrt(float(((seen.double() - mu) ** 2).sum()) / n_seen), 0.05)
    assert float(d.sigma(0.05)) == pytest.approx(expected_sigma, rel=1e-6)
    counts = d.counts.clone()
    d.resync()
    assert torch.equal(counts, d.counts)


def test_density_keeps_counts_only_when_the_weighting_reads_them():
    idx, z = torch.tensor([0, 2, 4]), torch.log(torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.5, 0.5]]))
    stores = {}
    for weighting in ("both", "density", "gaussian", None):
        crit = NoisyLabelLoss(bins=4, weighting=weighting, n_samples=6)
        assert crit.density.track_counts == (weighting in ("both", "density"))
        crit(z, torch.tensor([0, 0, 1]), sample_index=idx)
        stores[weighting] = crit.density
    # the untracked store's all_counts are stale, yet it reports the same counts
    assert not torch.equal(stores["gaussian"].all_counts, stores["both"].all_counts)
    for d in stores.values():
        assert d.counts.tolist() == [1, 1, 1, 0] and int(d.n_seen) == 3
        assert torch.equal(d.sigma(), stores["both"].sigma())


class _CountTorchCalls(torch.overrides.TorchFunctionMode):
    """Counts the torch functions and tensor methods called inside it."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        return func(*args, **(kwargs or {}))


def _ops_per_update(d, index, g):
    with _CountTorchCalls() as count:
        d.update(index, g)
    return count.calls


def test_resync_with_the_upcoming_rows_fixes_the_seen_count():
    idx, g = torch.tensor([0, 1, 2]), torch.tensor([0.1, 0.6, 0.9])
    d = GradientDensity(6, 4, 0.2, track_counts=False)
    d.update(idx, g)
    open_ops = _ops_per_update(d, idx, g)
    d.resync(rows=torch.tensor([0, 2]))  # rows 3-5 (e.g. held out) will not come
    # no newcomer can come, so updates stop counting them
    assert _ops_per_update(d, idx[:2], torch.tensor([0.3, 0.4])) < open_ops
    seen = d.g[d.g >= 0].double()
    assert int(d.n_seen) == 3
    assert float(d.sigma(0.05)) == pytest.approx(
        math.sqrt(float(((seen - 0.2) ** 2).sum()) / 2), rel=1e-6)


def test_resync_with_an_unseen_upcoming_row_keeps_counting_newcomers():
    d = GradientDensity(6, 4, 0.2, track_counts=False)
    d.update(torch.tensor([0, 1, 2]), torch.tensor([0.1, 0.6, 0.9]))
    d.resync(rows=torch.tensor([0, 3]))  # row 3 has not been seen yet
    d.update(torch.tensor([0, 3]), torch.tensor([0.5, 0.7]))
    seen = d.g[d.g >= 0].double()
    assert int(d.n_seen) == 4 and seen.numel() == 4
    assert float(d.sigma(0.05)) == pytest.approx(
        math.sqrt(float(((seen - 0.2) ** 2).sum()) / 3), rel=1e-6)


def test_untracked_density_state_loads_into_a_tracked_store():
    d = GradientDensity(5, 4, 0.2, track_counts=False)
    d.update(torch.tensor([0, 1, 2]), torch.tensor([0.1, 0.6, 0.9]))
    tracked = GradientDensity(0, 4, 0.2)
    tracked.load_state_dict(d.state_dict())
    assert tracked.track_counts and tracked.counts.tolist() == [1, 0, 1, 1]
    tracked.update(torch.tensor([3]), torch.tensor([0.3]))  # counts stay right from there
    assert tracked.counts.tolist() == [1, 1, 1, 1] and int(tracked.n_seen) == 4


@pytest.mark.parametrize("weighting", ["gaussian", "both"])
def test_compiled_criterion_keeps_the_same_statistics(weighting):
    """torch.compile (skorch's ``compile=True`` compiles the criterion) once lost
    the store's in-place update of sum_sq (a 0-dim float64 buffer), leaving
    sigma at its floor and every Gaussian weight wrong. ``aot_eager`` shows it
    without a C++ compiler."""
    torch._dynamo.reset()
    n, n_classes = 200, 4
    eager = NoisyLabelLoss(n_samples=n, weighting=weighting)
    compiled_module = NoisyLabelLoss(n_samples=n, weighting=weighting)
    compiled = torch.compile(compiled_module, backend="aot_eager")
    gen = torch.Generator().manual_seed(0)
    for _ in range(2):  # epochs, with the estimator's resync between them
        for index in torch.randperm(n, generator=gen).split(64):
            logits = torch.randn(len(index), n_classes, generator=gen)
            target = torch.softmax(torch.randn(len(index), n_classes, generator=gen), -1)
            want = eager(logits, target, sample_index=index)
            got = compiled(logits, target, sample_index=index)
            torch.testing.assert_close(got, want)
            torch.testing.assert_close(compiled_module.last_weight, eager.last_weight)
            torch.testing.assert_close(compiled_module.last_sigma, eager.last_sigma)
            torch.testing.assert_close(compiled_module.density.sum_sq, eager.density.sum_sq)
        for crit in (eager, compiled_module):
            crit.density.resync(rows=torch.arange(n))
    assert float(eager.last_sigma) > Fn.SIGMA_FLOOR  # sigma is not at its floor


def test_sample_index_without_a_store_and_wrong_shapes_are_refused():
    # a sample_index used to be ignored silently without a store (batch density)
    z, t = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    with pytest.raises(ValueError, match="no whole-set store.*n_samples=N"):
        NoisyLabelLoss()(z, t, sample_index=torch.arange(4))
    crit = NoisyLabelLoss(n_samples=10)
    with pytest.raises(ValueError, match=r"sample_index must have shape \(4,\)"):
        crit(z, t, sample_index=torch.arange(3))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\)"):
        crit(z, t, sample_index=torch.arange(4), sample_weight=torch.ones(4, 1))
    assert torch.isfinite(crit(z, t, sample_index=torch.arange(4), sample_weight=torch.ones(4)))
