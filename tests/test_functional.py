"""The formulas against numbers computed by hand, and their invariants."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import noisyskl.functional as Fn


def logits_of(p):
    return torch.log(torch.tensor(p, dtype=torch.float32))


def test_soft_cross_entropy_by_hand():
    z = logits_of([[0.5, 0.5], [0.25, 0.75]])
    hard = Fn.soft_cross_entropy(z, torch.tensor([0, 1]))
    # float32: log, exp and a 2-term sum, each within an ulp or two of 2^-24
    # relative, a few roundings in all: rel=1e-5 (~170 ulps) cannot fail by rounding
    assert hard.tolist() == pytest.approx([math.log(2), -math.log(0.75)], rel=1e-5)
    soft = Fn.soft_cross_entropy(z, torch.tensor([[1.0, 0.0], [0.25, 0.75]]))
    entropy = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert soft.tolist() == pytest.approx([math.log(2), entropy], rel=1e-5)


def test_soft_cross_entropy_finite_for_extreme_logits():
    z = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], requires_grad=True)
    loss = Fn.soft_cross_entropy(z, torch.tensor([1, 0]))
    assert torch.isfinite(loss).all() and float(loss[0]) == pytest.approx(2e4)
    loss.sum().backward()
    assert torch.isfinite(z.grad).all()


def test_gradient_norm_by_hand():
    p = torch.tensor([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1]])
    assert Fn.gradient_norm(p, torch.tensor([0, 2])).tolist() == pytest.approx([0.3, 0.9])
    soft = torch.tensor([[0.5, 0.5, 0.0], [0.7, 0.2, 0.1]])
    # 1/2 (|0.7-0.5| + |0.2-0.5| + |0.1-0|) = 0.3 ; identical rows give 0
    assert Fn.gradient_norm(p, soft).tolist() == pytest.approx([0.3, 0.0], abs=1e-7)


def test_bins_and_density_weight_several_bins():
    g = torch.tensor([0.1, 0.2, 0.3, 0.6, 0.99, 1.0])
    # B = 4: floor(4 g) = 0, 0, 1, 2, 3, 4 -> the last clipped into bin 3
    assert Fn.bin_index(g, 4).tolist() == [0, 0, 1, 2, 3, 3]
    counts = Fn.bin_counts(g, 4)
    assert counts.tolist() == [2, 1, 1, 2]
    # alpha = N / (B R) with N = 6
    alpha = Fn.density_weight(g, counts, 6)
    assert alpha.tolist() == pytest.approx([0.75, 0.75, 1.5, 1.5, 0.75, 0.75])


def test_gaussian_sigma_and_weight_by_hand():
    g = torch.tensor([0.1, 0.3, 0.5])
    mu = 0.1
    sum_sq = ((g - mu) ** 2).sum()  # 0 + 0.04 + 0.16
    sigma = Fn.gaussian_sigma(sum_sq, 3)
    assert float(sigma) == pytest.approx(math.sqrt(0.2 / 2), rel=1e-6)
    beta = Fn.gaussian_weight(g, mu, sigma)
    s = math.sqrt(0.1)
    expected = [math.exp(-((v - mu) ** 2) / (2 * s * s)) / (s * math.sqrt(2 * math.pi))
                for v in (0.1, 0.3, 0.5)]
    assert beta.tolist() == pytest.approx(expected, rel=1e-5)


def test_sigma_is_spread_around_mu_not_the_mean():
    g = torch.full((10,), 0.9)  # all equal: spread around the mean is 0
    sigma = Fn.gaussian_sigma(((g - 0.1) ** 2).sum(), 10)
    assert float(sigma) == pytest.approx(math.sqrt(10 * 0.64 / 9), rel=1e-5)


def test_sigma_floor():
    assert float(Fn.gaussian_sigma(torch.tensor(0.0), 10)) == pytest.approx(Fn.SIGMA_FLOOR)
    assert float(Fn.gaussian_sigma(torch.tensor(0.0), 1, floor=0.2)) == pytest.approx(0.2)


def test_refine_targets_by_hand():
    p = torch.tensor([[0.6, 0.4]])
    e = torch.tensor([1])
    # h = 1 - 0.4 = 0.6, gamma = 2 -> r = 0.36
    convex = Fn.refine_targets(p, e, gamma=2.0)
    assert convex[0].tolist() == pytest.approx([0.36 * 0.6, 0.64 + 0.36 * 0.4])
    printed = Fn.refine_targets(p, e, gamma=2.0, form="printed")
    assert printed[0].tolist() == pytest.approx([0.36 * 0.6, 0.64 + 0.36 * (0.4 - 1.0)])


def test_printed_formula_goes_negative_as_spec_says():
    # SPEC: g = 0.9, gamma = 1 gives -0.71 on the annotated entry
    p = torch.tensor([[0.1, 0.9]])
    t = Fn.refine_targets(p, torch.tensor([0]), gamma=1.0, form="printed")
    assert float(t[0, 0]) == pytest.approx(-0.71)
    assert float(t.sum()) == pytest.approx(1 - 0.9)


def test_refine_keeps_label_when_model_agrees():
    p = torch.tensor([[1.0, 0.0, 0.0]])
    assert Fn.refine_targets(p, torch.tensor([0]), 1.0).tolist() == [[1.0, 0.0, 0.0]]


def test_refine_rejects_unknown_form():
    with pytest.raises(ValueError, match="form"):
        Fn.refine_targets(torch.tensor([[0.5, 0.5]]), torch.tensor([0]), 1.0, form="bogus")


def test_sample_weights_options():
    g = torch.tensor([0.1, 0.2, 0.9])
    counts = Fn.bin_counts(g, 2)
    sigma = torch.tensor(0.3)
    alpha = Fn.density_weight(g, counts, 3)
    beta = Fn.gaussian_weight(g, 0.1, sigma)
    assert torch.allclose(Fn.sample_weights(g, counts, 3, 0.1, sigma, "both"), alpha * beta)
    assert torch.allclose(Fn.sample_weights(g, counts, 3, 0.1, sigma, "density"), alpha)
    assert torch.allclose(Fn.sample_weights(g, counts, 3, 0.1, sigma, "gaussian"), beta)
    assert Fn.sample_weights(g, counts, 3, 0.1, sigma, None).tolist() == [1.0, 1.0, 1.0]
    w = Fn.sample_weights(g, counts, 3, 0.1, sigma, "both", normalize="mean")
    assert float(w.mean()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="weighting"):
        Fn.sample_weights(g, counts, 3, 0.1, sigma, "alpha")


def test_float_targets_must_be_2d():
    with pytest.raises(TypeError, match="class indices"):
        Fn.as_soft_targets(torch.tensor([0.0, 1.0]), 2)


# ---------------------------------------------------------------- properties
probs = st.integers(min_value=2, max_value=6).flatmap(
    lambda c: st.lists(
        st.lists(st.floats(0.0, 1.0), min_size=c, max_size=c).filter(lambda r: sum(r) > 1e-3),
        min_size=1, max_size=8,
    )
)


@settings(max_examples=60, deadline=None)
@given(rows=probs, gamma=st.floats(0.1, 5.0), data=st.data())
def test_convex_refinement_gives_probability_vectors(rows, gamma, data):
    p = torch.tensor(rows)
    p = p / p.sum(dim=1, keepdim=True)
    labels = torch.tensor(data.draw(st.lists(st.integers(0, p.shape[1] - 1),
                                             min_size=len(rows), max_size=len(rows))))
    t = Fn.refine_targets(p, labels, gamma)
    assert (t >= 0).all()
    assert torch.allclose(t.sum(dim=1), torch.ones(len(rows)), atol=1e-5)
    g = Fn.gradient_norm(p, labels)
    assert ((g >= 0) & (g <= 1)).all()
    assert torch.allclose(g, 1 - p[torch.arange(len(rows)), labels], atol=1e-5)


def test_confident_joint_count_is_cleanlabs_calibrated_off_diagonal():
    cleanlab_count = pytest.importorskip("cleanlab.count")
    rng = np.random.default_rng(0)
    for _ in range(5):
        logits = rng.normal(size=(400, 4)) * 2
        proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        y = np.where(rng.random(400) < 0.7, proba.argmax(1), rng.integers(0, 4, 400))
        ours = Fn.confident_joint_issue_count(torch.tensor(proba, dtype=torch.float32),
                                             torch.tensor(y))
        theirs = cleanlab_count.num_label_issues(
            y, proba, estimation_method="off_diagonal_calibrated")
        assert abs(ours - theirs) <= 1  # (float32 here, float64 there)


def test_confident_joint_count_of_agreeing_predictions_is_zero():
    proba = torch.eye(3)[torch.tensor([0, 1, 2, 0, 1, 2])] * 0.8 + 0.2 / 3
    assert Fn.confident_joint_issue_count(proba, torch.tensor([0, 1, 2, 0, 1, 2])) == 0
    # the last row, predicted 2 as confidently as class 2's own, annotated 1
    assert Fn.confident_joint_issue_count(proba, torch.tensor([0, 1, 2, 0, 1, 1])) == 1


def test_confident_joint_never_counts_a_class_no_row_is_annotated_with():
    # a saturated p = 1 on an unannotated class used to meet its threshold of 1
    proba = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0.9, 0.1, 0]])
    assert Fn.confident_joint_issue_count(proba, torch.tensor([0, 1, 1, 0])) == 0
