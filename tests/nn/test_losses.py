"""Losses of tensornet/nn/losses.py: definitions, stability, gradients, distillation's T^2."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.nn import (
    DistillationLoss,
    cross_entropy,
    distillation_loss,
    distillation_targets,
    mse,
    soft_cross_entropy,
    value_and_grad,
)

from .gradcheck import assert_grad_matches_fd, random_weights


@given(st.integers(1, 6), st.integers(2, 5), st.integers(0, 2**31))
def test_cross_entropy_equals_mean_negative_log_softmax(n, k, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, k)) * 3
    y = rng.integers(0, k, n)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(n), y]))
    assert abs(float(cross_entropy(z, y)) - expected) <= 1e-12 * max(1, expected)


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0], [0.0, -1000.0]], dtype=np.float32)
    value = float(cross_entropy(z, np.array([0, 0])))
    assert np.isfinite(value) and abs(value) < 1e-6


def test_cross_entropy_gradient_matches_finite_differences():
    z = random_weights((4, 5), 1)
    y = np.array([0, 4, 2, 2])
    assert_grad_matches_fd(lambda p: cross_entropy(p["z"], y), {"z": z})


def test_cross_entropy_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 3]))


def test_soft_cross_entropy_gradient_matches_finite_differences():
    rng = np.random.default_rng(2)
    t = rng.random((3, 4))
    t /= t.sum(axis=1, keepdims=True)
    assert_grad_matches_fd(
        lambda p: soft_cross_entropy(p["z"], t), {"z": random_weights((3, 4), 3)}
    )


def test_mse_definition_and_gradient():
    a, b = random_weights((3, 2), 4), random_weights((3, 2), 5)
    assert abs(float(mse(a, b)) - np.mean((a - b) ** 2)) < 1e-14
    assert_grad_matches_fd(lambda p: mse(p["a"], b), {"a": a})


def test_distillation_loss_is_zero_when_student_copies_teacher():
    t = random_weights((5, 4), 6)
    assert abs(float(distillation_loss(t, t, temperature=3.0, alpha=1.0))) < 1e-12


def test_distillation_loss_gradient_matches_finite_differences():
    t, y = random_weights((5, 4), 7), np.array([0, 1, 2, 3, 0])
    fn = lambda p: distillation_loss(p["s"], t, y, temperature=2.5, alpha=0.7)  # noqa: E731
    assert_grad_matches_fd(fn, {"s": random_weights((5, 4), 8)})


def test_distillation_t_squared_factor_keeps_soft_gradient_scale():
    # for small logits the soft-term gradient is (s - t) / (N K T^2) * T^2: independent of T
    s, t = random_weights((6, 10), 9) * 1e-3, random_weights((6, 10), 10) * 1e-3
    grads = []
    for temp in (1.0, 4.0, 20.0):
        _, g = value_and_grad(lambda p: distillation_loss(p["s"], t, temperature=temp, alpha=1.0))(
            {"s": s}
        )
        grads.append(np.linalg.norm(g["s"]))
    assert max(grads) / min(grads) < 1.01


def test_distillation_loss_class_unpacks_packed_targets():
    t, y, s = random_weights((4, 3), 11), np.array([0, 2, 1, 1]), random_weights((4, 3), 12)
    packed = distillation_targets(y, t)
    assert packed.shape == (4, 4)
    loss = DistillationLoss(temperature=2.0, alpha=0.5)
    expected = distillation_loss(s, t.astype(np.float32), y, 2.0, 0.5)
    assert abs(float(loss(s, packed)) - float(expected)) < 1e-6


def test_distillation_requires_labels_for_hard_term():
    with pytest.raises(ValueError, match="labels are required"):
        distillation_loss(np.zeros((2, 3)), np.zeros((2, 3)), alpha=0.5)
