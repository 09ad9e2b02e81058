"""Tests of tensornet/subspace/optim.py: the projection hook, P-SGD and P-BFGS."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet import nn
from tensornet.subspace.analysis import projection_error
from tensornet.subspace.optim import PBFGS, PSGD, SubspaceProjection
from tensornet.subspace.sampling import flatten_params

from ._tiny import orthonormal_rows, tiny_data, tiny_model


def _loss(model, data):
    return lambda p: nn.cross_entropy(model.apply(p, data[0]), data[1])


def test_subspace_gradient_matches_finite_differences_along_the_basis():
    """``P g`` is the gradient of ``z -> L(w + P^T z)`` at 0 (chain rule), checked by FD."""
    model = tiny_model(dtype=np.float64)
    data = tiny_data(30)
    data = (data[0].astype(np.float64), data[1])
    loss = _loss(model, data)
    params = model.params
    basis = orthonormal_rows(6, model.n_params, seed=2)
    proj = SubspaceProjection(basis, params)
    _, grads = nn.value_and_grad(loss)(params)
    exact = proj.coordinates(grads)
    w, h = flatten_params(params), 1e-6
    layout = proj.layout
    for i in range(len(basis)):
        plus = float(loss(layout.views(w + h * basis[i])))
        minus = float(loss(layout.views(w - h * basis[i])))
        assert exact[i] == pytest.approx((plus - minus) / (2 * h), rel=1e-6, abs=1e-9)


def test_projection_is_idempotent_and_orthogonal():
    params = {"a": np.zeros((3, 4)), "b": np.zeros(5)}
    proj = SubspaceProjection(orthonormal_rows(4, 17, seed=1), params)
    rng = np.random.default_rng(0)
    grads = {"a": rng.normal(size=(3, 4)), "b": rng.normal(size=5)}
    once = proj(grads, params)
    twice = proj(once, params)
    for k in grads:
        np.testing.assert_allclose(twice[k], once[k], atol=1e-12)
    residual = flatten_params(grads) - flatten_params(once)
    np.testing.assert_allclose(proj.basis @ residual, 0.0, atol=1e-12)


def _train(model, optimizer, data, epochs=2):
    nn.fit(model, nn.cross_entropy, optimizer, data, epochs=epochs, batch_size=10, random_state=4)
    return flatten_params(model.params)


def test_psgd_with_the_full_basis_equals_plain_sgd():
    data = tiny_data(40)
    data = (data[0].astype(np.float64), data[1])
    a, b = tiny_model(dtype=np.float64), tiny_model(dtype=np.float64)
    full = orthonormal_rows(a.n_params, a.n_params, seed=5)  # d = D, a rotation
    w_sgd = _train(a, nn.SGD(a.params, lr=0.1, momentum=0.9), data)
    w_psgd = _train(b, PSGD(b.params, full, lr=0.1, momentum=0.9), data)
    np.testing.assert_allclose(w_psgd, w_sgd, rtol=1e-10, atol=1e-12)


def test_psgd_iterates_stay_in_the_start_plus_the_span():
    model = tiny_model(dtype=np.float64)
    data = tiny_data(40)
    w0 = flatten_params(model.params)
    basis = orthonormal_rows(4, model.n_params, seed=6)
    w = _train(model, PSGD(model.params, basis, lr=0.5), (data[0].astype(np.float64), data[1]))
    assert np.linalg.norm(w - w0) > 1e-3
    assert projection_error(w, basis, centre=w0) < 1e-12


def _quadratic(big_d, seed, cond=10.0):
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(rng.normal(size=(big_d, big_d)))[0]
    a = (q * np.geomspace(1.0, cond, big_d)) @ q.T
    w_star = rng.normal(size=big_d)

    def f(params):
        r = params["w"] - w_star
        return 0.5 * float(r @ a @ r)

    def grad(params):
        return {"w": a @ (params["w"] - w_star)}

    return f, grad, rng.normal(size=big_d)


@settings(max_examples=20)
@given(st.integers(1, 6), st.integers(0, 5), st.integers(0, 2**32 - 1))
def test_pbfgs_minimizes_a_convex_quadratic_in_d_steps(d, extra, seed):
    """BFGS with H_0 = I and an exact line search ends on a quadratic in d steps."""
    big_d = d + extra
    f, grad, w0 = _quadratic(big_d, seed)
    basis = orthonormal_rows(d, big_d, seed=seed % 997)
    params = {"w": w0.copy()}
    opt = PBFGS(params, basis, closure=lambda: f(params), line_search="quadratic")
    g0 = np.linalg.norm(basis @ grad(params)["w"])
    for _ in range(d):
        opt.step(grad(params))
    assert np.linalg.norm(basis @ grad(params)["w"]) <= 1e-7 * g0 + 1e-12
    step = params["w"] - w0
    np.testing.assert_allclose(basis.T @ (basis @ step), step, atol=1e-10)


def test_pbfgs_with_the_armijo_search_decreases_the_loss_every_step_and_converges():
    f, grad, w0 = _quadratic(8, seed=3)
    basis = orthonormal_rows(5, 8, seed=3)
    params = {"w": w0.copy()}
    opt = PBFGS(params, basis, closure=lambda: f(params))
    values = [f(params)]
    for _ in range(40):
        opt.step(grad(params))
        values.append(f(params))
    # Non-increasing up to round-off (near the minimum the rejected trials leave ~1 ulp).
    assert all(b <= a + 1e-12 * abs(a) for a, b in zip(values[:-1], values[1:]))
    assert all(b < a for a, b in zip(values[:6], values[1:7]))
    assert np.linalg.norm(basis @ grad(params)["w"]) < 1e-6


def test_pbfgs_inverse_hessian_satisfies_the_secant_condition():
    f, grad, w0 = _quadratic(6, seed=7)
    basis = orthonormal_rows(4, 6, seed=7)
    params = {"w": w0.copy()}
    opt = PBFGS(params, basis, closure=lambda: f(params))
    g0 = basis @ grad(params)["w"]
    opt.step(grad(params))
    s0 = flatten_params(params) - w0
    g1 = basis @ grad(params)["w"]
    opt.step(grad(params))
    np.testing.assert_allclose(opt.hessian_inverse @ (g1 - g0), basis @ s0, rtol=1e-9)
    np.testing.assert_allclose(opt.hessian_inverse, opt.hessian_inverse.T, atol=1e-12)


def test_pbfgs_skips_the_update_when_the_curvature_condition_fails():
    """On a concave function ``y^T s < 0``: H stays the identity and the skip is counted."""
    params = {"w": np.array([1.0, 0.5, -0.2])}
    basis = orthonormal_rows(2, 3, seed=0)
    opt = PBFGS(params, basis, closure=lambda: -0.5 * float(params["w"] @ params["w"]))
    for _ in range(2):
        opt.step({"w": -params["w"].copy()})
    assert opt.n_skipped == 1
    np.testing.assert_array_equal(opt.hessian_inverse, np.eye(2))


def test_pbfgs_takes_the_last_shrunk_step_when_no_trial_is_accepted():
    """Like the DLDR reference: after ``max_tries`` rejections the step is shrink**max_tries p."""
    params = {"w": np.array([1.0, 0.0])}
    basis = np.eye(2)
    opt = PBFGS(params, basis, closure=lambda: 0.0, max_tries=3, shrink=0.5)
    alpha = opt.step({"w": np.array([1.0, 0.0])}, loss=0.0)  # f never decreases
    assert alpha == 0.5**3 and opt.n_failed == 1 and opt.tries == [3]
    np.testing.assert_allclose(params["w"], [1.0 - 0.125, 0.0])


def test_pbfgs_state_round_trips():
    f, grad, w0 = _quadratic(5, seed=1)
    basis = orthonormal_rows(3, 5, seed=1)
    a_params, b_params = {"w": w0.copy()}, {"w": w0.copy()}
    a = PBFGS(a_params, basis, closure=lambda: f(a_params))
    for _ in range(3):
        a.step(grad(a_params))
    b = PBFGS(b_params, basis, closure=lambda: f(b_params))
    b.load_state_dict(*a.state_dict())
    b_params["w"][:] = a_params["w"]
    a.step(grad(a_params))
    b.step(grad(b_params))
    np.testing.assert_array_equal(a_params["w"], b_params["w"])


def _least_squares(seed=0, n=40):
    """A linear model and data: the mean squared error is a convex quadratic in its weights."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = x @ rng.normal(size=(4, 1)) + 0.3 + 0.1 * rng.normal(size=(n, 1))
    model = nn.Linear(4, 1, random_state=seed, dtype=np.float64)
    return model, [(x, y)]


def test_pbfgs_through_fit_minimizes_a_convex_quadratic_in_d_steps():
    model, batches = _least_squares(seed=1)
    basis = orthonormal_rows(model.n_params, model.n_params, seed=1)  # d = D = 5
    opt = PBFGS(model.params, basis, line_search="quadratic")
    objective = nn.value_and_grad(lambda p: nn.mse(model.apply(p, batches[0][0]), batches[0][1]))
    g0 = np.linalg.norm(flatten_params(objective(model.params)[1]))
    nn.fit(model, nn.mse, opt, batches, epochs=len(basis))  # one batch: one step per epoch
    assert np.linalg.norm(flatten_params(objective(model.params)[1])) <= 1e-7 * g0


def test_pbfgs_through_fit_takes_the_steps_of_the_direct_call():
    model, batches = _least_squares(seed=2)
    twin, _ = _least_squares(seed=2)
    basis = orthonormal_rows(3, model.n_params, seed=2)
    x, y = batches[0]
    nn.fit(model, nn.mse, PBFGS(model.params, basis), batches, epochs=6)
    params = twin.params
    direct = PBFGS(params, basis, closure=lambda: float(nn.mse(twin.apply(params, x), y)))
    objective = nn.value_and_grad(lambda p: nn.mse(twin.apply(p, x), y))
    for _ in range(6):
        value, grads = objective(params)
        direct.step(grads, loss=float(value))
    for k in params:
        np.testing.assert_allclose(model.params[k], params[k], rtol=1e-13, atol=1e-15)
    assert np.linalg.norm(flatten_params(params) - flatten_params(_least_squares(2)[0].params)) > 0
