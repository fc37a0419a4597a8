"""Property tests (hypothesis): numerical edge cases of the loss and weights."""

import math

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import noisyskl.functional as Fn
from noisyskl import NoisyLabelLoss

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
logit_values = st.one_of(
    st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False),
    st.sampled_from([-1e4, 1e4, 0.0]),
)


@st.composite
def batches(draw):
    n = draw(st.integers(1, 12))
    c = draw(st.integers(2, 5))
    logits = draw(st.lists(st.lists(logit_values, min_size=c, max_size=c), min_size=n,
                           max_size=n))
    soft = draw(st.booleans())
    if soft:
        rows = draw(st.lists(st.lists(st.floats(0, 1), min_size=c, max_size=c), min_size=n,
                             max_size=n))
        t = torch.tensor(rows) + 1e-3
        target = t / t.sum(1, keepdim=True)
    else:
        target = torch.tensor(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    return torch.tensor(logits, dtype=torch.float64), target


@settings(max_examples=150, deadline=None)
@given(batch=batches(), dtype=st.sampled_from(DTYPES), bins=st.integers(1, 30),
       mu=st.floats(0, 1), weighting=st.sampled_from(["both", "density", "gaussian", None]),
       normalize=st.sampled_from([None, "mean"]))
def test_loss_and_weights_finite_and_non_negative(batch, dtype, bins, mu, weighting, normalize):
    logits, target = batch
    z = logits.to(dtype).requires_grad_(True)
    crit = NoisyLabelLoss(bins=bins, mu=mu, weighting=weighting, weight_normalization=normalize)
    loss = crit(z, target)
    assert torch.isfinite(loss) and float(loss.detach()) >= -1e-6
    w = crit.last_weight
    assert torch.isfinite(w).all() and (w >= 0).all()
    loss.backward()
    assert torch.isfinite(z.grad).all()


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 50), bins=st.integers(1, 30), mu=st.floats(0, 1),
       g_value=st.floats(0, 1))
def test_all_equal_g_is_one_bin_and_weights_match_formulas(n, bins, mu, g_value):
    g = torch.full((n,), g_value, dtype=torch.float64)
    counts = Fn.bin_counts(g, bins)
    assert int(counts.max()) == n  # all samples in one bin
    alpha = Fn.density_weight(g, counts, n)
    assert torch.allclose(alpha, torch.full((n,), 1.0 / bins, dtype=torch.float64))
    sigma = Fn.gaussian_sigma(((g - mu) ** 2).sum(), n)
    expected_sigma = max(math.sqrt(n * (g_value - mu) ** 2 / max(n - 1, 1)), Fn.SIGMA_FLOOR)
    assert float(sigma) == pytest.approx(expected_sigma, rel=1e-9)
    beta = Fn.gaussian_weight(g, mu, sigma)
    s = expected_sigma
    expected_beta = math.exp(-((g_value - mu) ** 2) / (2 * s * s)) / (s * math.sqrt(2 * math.pi))
    assert torch.allclose(beta, torch.full((n,), expected_beta, dtype=torch.float64), rtol=1e-9)
    assert (beta <= 1 / (Fn.SIGMA_FLOOR * math.sqrt(2 * math.pi)) + 1e-9).all()


@settings(max_examples=100, deadline=None)
@given(g=st.lists(st.floats(0, 1), min_size=1, max_size=40), bins=st.integers(1, 20))
def test_alpha_is_n_over_b_times_bin_count(g, bins):
    g = torch.tensor(g, dtype=torch.float64)
    counts = Fn.bin_counts(g, bins)
    alpha = Fn.density_weight(g, counts, len(g))
    for gi, ai in zip(g.tolist(), alpha.tolist()):
        b = min(int(gi * bins), bins - 1)
        r = sum(1 for v in g.tolist() if min(int(v * bins), bins - 1) == b)
        assert ai == pytest.approx(len(g) / (bins * r))
    # averaged over the samples, alpha = (number of non-empty bins) / B
    assert float(alpha.mean()) == pytest.approx(int((counts > 0).sum()) / bins)


def test_sigma_at_its_floor_keeps_loss_finite():
    crit = NoisyLabelLoss(mu=0.0, weighting="both")
    z = torch.tensor([[50.0, -50.0]] * 4, requires_grad=True)
    loss = crit(z, torch.tensor([0, 0, 0, 0]))  # g = 0 = mu for all
    assert float(crit.last_sigma) == pytest.approx(Fn.SIGMA_FLOOR)
    assert torch.isfinite(loss)


@settings(max_examples=50, deadline=None)
@given(batch=batches(), gamma=st.floats(0.05, 10))
def test_refined_targets_from_any_logits_are_probability_vectors(batch, gamma):
    logits, target = batch
    assume(target.dim() == 1)
    t = Fn.refine_targets(torch.softmax(logits, 1), target, gamma)
    assert (t >= 0).all() and torch.allclose(t.sum(1), torch.ones(len(t), dtype=t.dtype))
