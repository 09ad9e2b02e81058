"""Compression-aware training (tensornet/compress/aware.py): regularizers, proxes, truncation."""

import autograd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet import measures, nn
from tensornet.compress.aware import (
    PENALTIES,
    L1Prox,
    LowRankRegularizer,
    NuclearFrankWolfe,
    NuclearNormProx,
    SVDConv2d,
    SVDLinear,
    SVDRegularizer,
    orthogonality_penalty,
    singular_value_threshold,
    soft_threshold,
    sparsity_penalty,
    spectral_rank,
    svd_parameterize,
    truncate,
    weight_matrix,
)
from tensornet.nn.factorized import LowRankConv2d, LowRankLinear
from tests.nn.gradcheck import assert_grad_matches_fd
from tests.strategies import random_array, seeds


def _small_cnn(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        ("conv", nn.Conv2d(2, 4, 3, padding=1, random_state=rng, dtype=dtype)),
        ("relu", nn.ReLU()),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(4 * 5 * 5, 12, random_state=rng, dtype=dtype)),
        ("relu2", nn.ReLU()),
        ("fc2", nn.Linear(12, 3, random_state=rng, dtype=dtype)),
    )


def _x(n=6, seed=1, dtype=np.float32):
    return random_array((n, 2, 5, 5), seed).astype(dtype)


# ------------------------------------------------------------------------------ proximal maps
def test_singular_value_threshold_shrinks_the_spectrum_by_t():
    a = random_array((6, 4), 0)
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    t = float(np.median(s))
    expected = (u * np.maximum(s - t, 0)) @ vt
    np.testing.assert_allclose(singular_value_threshold(a, t), expected, atol=1e-12)
    np.testing.assert_allclose(
        measures.singular_values(singular_value_threshold(a, t)),
        np.maximum(s - t, 0),
        atol=1e-12,
    )


@given(seed=seeds(), t=st.floats(0.0, 3.0))
@settings(max_examples=15)
def test_svt_minimizes_t_nuclear_plus_half_squared_distance(seed, t):
    a = random_array((4, 3), seed)
    x = singular_value_threshold(a, t)

    def objective(z):
        return t * measures.nuclear_norm(z) + 0.5 * np.sum((z - a) ** 2)

    best = objective(x)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        assert best <= objective(x + 1e-3 * rng.standard_normal(a.shape)) + 1e-12


def test_soft_threshold_is_the_l1_prox_entrywise():
    x = np.array([-3.0, -0.5, 0.0, 0.2, 2.5])
    np.testing.assert_allclose(soft_threshold(x, 1.0), [-2.0, 0.0, 0.0, 0.0, 1.5])
    # it minimizes t|z| + (z - x)^2 / 2 for each entry: check against a fine grid
    grid = np.linspace(-4, 4, 8001)
    for xi in x:
        best = grid[np.argmin(1.0 * np.abs(grid) + 0.5 * (grid - xi) ** 2)]
        assert soft_threshold(np.array([xi]), 1.0)[0] == pytest.approx(best, abs=1e-3)


def test_nuclear_prox_in_an_optimizer_is_svt_by_lr_times_lambda_following_the_schedule():
    model = _small_cnn(dtype=np.float64)
    before = {k: v.copy() for k, v in model.params.items()}
    lam = 0.7
    opt = nn.SGD(model.params, lr=0.5, schedule=lambda epoch: 0.2)  # rate 0.1
    opt.add_prox(NuclearNormProx(lam))
    opt.step({k: np.zeros_like(v) for k, v in model.params.items()})
    t = 0.1 * lam
    for key in ("fc1.weight", "fc2.weight"):
        np.testing.assert_allclose(
            model.params[key], singular_value_threshold(before[key], t), atol=1e-12
        )
    kernel = before["conv.weight"]
    expected = singular_value_threshold(kernel.reshape(4, -1), t).reshape(kernel.shape)
    np.testing.assert_allclose(model.params["conv.weight"], expected, atol=1e-12)
    np.testing.assert_array_equal(model.params["fc1.bias"], before["fc1.bias"])


def test_l1_prox_in_an_optimizer_soft_thresholds_the_chosen_keys():
    model = _small_cnn(dtype=np.float64)
    before = {k: v.copy() for k, v in model.params.items()}
    opt = nn.SGD(model.params, lr=0.1)
    opt.add_prox(L1Prox(0.5, keys=["fc2.weight"]))
    opt.step({k: np.zeros_like(v) for k, v in model.params.items()})
    np.testing.assert_allclose(
        model.params["fc2.weight"], soft_threshold(before["fc2.weight"], 0.05)
    )
    np.testing.assert_array_equal(model.params["fc1.weight"], before["fc1.weight"])


# ------------------------------------------------------------------------------ penalties
def test_penalties_are_the_minimized_forms_of_the_measures():
    s = np.array([3.0, 1.0, 0.5, 0.0])
    assert sparsity_penalty("nuclear", s) == pytest.approx(4.5)
    assert sparsity_penalty("gini", s) == pytest.approx(1 - measures.gini_index(s))
    assert sparsity_penalty("hoyer", s) == pytest.approx(1 - measures.hoyer(s))
    assert sparsity_penalty("erank", s) == pytest.approx(measures.effective_rank(s))
    assert sparsity_penalty("lp", s) == pytest.approx(measures.lp_norm(s, 0.5))
    assert sparsity_penalty(lambda v: np.max(v), s) == 3.0


def test_weight_matrix_flattens_a_kernel_to_o_by_c_kh_kw():
    k = random_array((4, 2, 3, 3), 0)
    np.testing.assert_array_equal(weight_matrix(k), k.reshape(4, 18))


def test_orthogonality_penalty_value_and_gradient():
    a = random_array((5, 3), 2)
    gram = a.T @ a - np.eye(3)
    assert orthogonality_penalty(a) == pytest.approx(np.sum(gram**2) / 9)
    np.testing.assert_allclose(autograd.grad(orthogonality_penalty)(a), 4 / 9 * a @ gram)
    q = np.linalg.qr(random_array((5, 3), 3))[0]
    assert orthogonality_penalty(q) == pytest.approx(0.0, abs=1e-28)


@pytest.mark.parametrize("measure", sorted(PENALTIES))
def test_dense_regularizer_starts_at_lambda_per_layer_and_has_the_fd_gradient(measure):
    model = _small_cnn(dtype=np.float64)
    reg = LowRankRegularizer(model, measure, lam=0.3)
    assert reg(model.params) == pytest.approx(0.3 * 3)
    assert_grad_matches_fd(reg, dict(model.params), h=1e-6, rtol=1e-5)


@pytest.mark.parametrize("measure", sorted(PENALTIES))
def test_descending_the_dense_regularizer_lowers_the_measure(measure):
    model = _small_cnn(dtype=np.float64)
    reg = LowRankRegularizer(model, measure, lam=1.0, layers=["fc1"])
    params = dict(model.params)
    start = float(reg(params))
    opt = nn.SGD(params, lr=0.05)
    for _ in range(20):
        _, grads = nn.value_and_grad(reg)(params)
        opt.step(grads)
    assert float(reg(params)) < start - 1e-3


# ------------------------------------------------------------------------------ SVD training
def test_svd_parameterize_keeps_the_function_and_starts_orthonormal():
    model = _small_cnn(dtype=np.float64)
    svd = svd_parameterize(model)
    assert isinstance(svd[0], SVDConv2d) and isinstance(svd[3], SVDLinear)
    x = _x(dtype=np.float64)
    np.testing.assert_allclose(svd(x), model(x), atol=1e-10)
    reg = SVDRegularizer(svd, "erank", lam=0.25)
    assert float(reg.orthogonality(svd.params)) == pytest.approx(0.0, abs=1e-20)
    assert reg(svd.params) == pytest.approx(0.25 * 3)
    np.testing.assert_allclose(
        np.abs(svd.params["fc1.s"]), measures.singular_values(model.params["fc1.weight"])
    )


def test_svd_layers_gradients_match_finite_differences():
    svd = svd_parameterize(_small_cnn(dtype=np.float64))
    x = _x(dtype=np.float64)
    y = np.array([0, 1, 2, 0, 1, 2])
    reg = SVDRegularizer(svd, "gini", lam=0.1, orth=0.5)

    def loss(p):
        return nn.cross_entropy(svd.apply(p, x), y) + reg(p)

    assert_grad_matches_fd(loss, dict(svd.params), h=1e-6, rtol=1e-5)


def _orth_run(orth, lr, perturb):
    """Train the SVD form of the small CNN 24 Adam steps; return (penalty before, after, max
    entry of |F^T F - I| over the factors after)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 2, 5, 5)).astype(np.float32)
    y = rng.integers(0, 3, 96)
    svd = svd_parameterize(_small_cnn())
    for key, value in svd.params.items():
        if key.endswith((".U", ".V")):
            value += perturb * rng.standard_normal(value.shape).astype(value.dtype)
    reg = SVDRegularizer(svd, "erank", lam=0.05, orth=orth)
    before = float(reg.orthogonality(svd.params))
    opt = nn.Adam(svd.params, lr=lr)
    nn.fit(
        svd,
        nn.cross_entropy,
        opt,
        (x, y),
        epochs=4,
        batch_size=16,
        regularizer=reg,
        random_state=0,
        progress=False,
    )
    worst = max(
        float(np.max(np.abs(f.T @ f - np.eye(f.shape[1]))))
        for key, f in svd.params.items()
        if key.endswith((".U", ".V"))
    )
    return before, float(reg.orthogonality(svd.params)), worst


def test_svd_training_keeps_u_and_v_near_orthonormal_on_a_short_run():
    before, after, worst = _orth_run(orth=10.0, lr=1e-3, perturb=0.0)
    assert before < 1e-12
    assert after < 1e-2
    assert worst < 0.1


def test_the_orthogonality_penalty_is_what_restores_orthonormal_factors():
    before, held, _ = _orth_run(orth=10.0, lr=0.01, perturb=0.1)
    _, free, _ = _orth_run(orth=0.0, lr=0.01, perturb=0.1)
    assert held < before / 5
    assert free > before / 2


def test_orth_every_adds_k_times_the_penalty_every_kth_call():
    svd = svd_parameterize(_small_cnn(dtype=np.float64))
    params = {k: v + 0.01 for k, v in svd.params.items()}
    base = SVDRegularizer(svd, "hoyer", lam=0.0, orth=1.0)
    every = SVDRegularizer(svd, "hoyer", lam=0.0, orth=1.0, orth_every=3)
    values = [float(every(params)) for _ in range(4)]
    expected = 3 * float(base.orthogonality(params))
    np.testing.assert_allclose(values, [expected, 0.0, 0.0, expected])


# ------------------------------------------------------------------------------ truncation
def test_spectral_rank_counts_values_above_tau_times_the_largest():
    assert spectral_rank([4.0, 2.0, 0.3], 0.1) == 2
    assert spectral_rank([4.0, 2.0, 0.3], 0.5) == 1
    assert spectral_rank([4.0, 2.0, 0.3], 0.0) == 3
    assert spectral_rank([0.3, 4.0, 2.0], 0.06) == 3
    assert spectral_rank([0.0, 0.0], 0.1) == 0


@given(seed=seeds(), tau=st.floats(0.0, 0.99))
@settings(max_examples=20)
def test_spectral_rank_bounds_the_relative_spectral_error(seed, tau):
    a = random_array((6, 5), seed)
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    k = spectral_rank(s, tau)
    err = np.linalg.norm(a - (u[:, :k] * s[:k]) @ vt[:k], 2) / s[0]
    assert err <= tau + 1e-12
    if k > 1:  # and k is the smallest such rank
        err_less = np.linalg.norm(a - (u[:, : k - 1] * s[: k - 1]) @ vt[: k - 1], 2) / s[0]
        assert err_less > tau


def test_truncate_builds_low_rank_layers_with_the_truncated_svd():
    model = _small_cnn(dtype=np.float64)
    svd = svd_parameterize(model)
    w = model.params["fc1.weight"]
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    tau = (s[2] + s[3]) / (2 * s[0])  # keeps exactly 3 components of fc1 (not on a boundary)
    cut = truncate(svd, tau=tau)
    fc1 = cut.model[3]
    assert isinstance(fc1, LowRankLinear)
    k = 3
    assert fc1.rank == k == cut.ranks["fc1"]
    np.testing.assert_allclose(fc1.weight(), (u[:, :k] * s[:k]) @ vt[:k], atol=1e-10)
    assert cut.n_params == cut.model.n_params
    assert cut.n_params_dense == model.n_params
    assert cut.compression == pytest.approx(model.n_params / cut.n_params)
    for layer in cut.layers:
        assert layer.low_rank == (layer.params_after < layer.params_before)


def test_truncate_keeps_dense_layers_when_factors_would_not_be_smaller():
    model = _small_cnn(dtype=np.float64)
    cut = truncate(model, tau=0.0)  # full rank everywhere
    x = _x(dtype=np.float64)
    np.testing.assert_allclose(cut.model(x), model(x), atol=1e-10)
    assert cut.n_params == model.n_params
    assert isinstance(cut.model[0], nn.Conv2d) and isinstance(cut.model[5], nn.Linear)
    assert not any(layer.low_rank for layer in cut.layers)


def test_truncate_conv_uses_the_channel_scheme_and_energy_rule():
    model = nn.Sequential(("conv", nn.Conv2d(3, 8, 3, padding=1, random_state=0, dtype=np.float64)))
    k = model.params["conv.weight"]
    s = np.linalg.svd(k.reshape(8, -1), compute_uv=False)
    cut = truncate(model, energy=0.5)
    layer = cut.model[0]
    assert isinstance(layer, LowRankConv2d) and layer.scheme == "channel"
    r = int(np.searchsorted(np.cumsum(s**2), 0.5 * np.sum(s**2)) + 1)
    assert layer.rank == r
    assert layer.n_params == r * (8 + 27) + 8


def test_truncated_model_matches_dense_model_with_truncated_weights():
    model = _small_cnn(dtype=np.float64)
    cut = truncate(model, tau=0.3, layers=["fc1"])
    ref = _small_cnn(dtype=np.float64)
    w = ref.params["fc1.weight"]
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    k = cut.ranks["fc1"]
    np.copyto(w, (u[:, :k] * s[:k]) @ vt[:k])
    x = _x(dtype=np.float64)
    np.testing.assert_allclose(cut.model(x), ref(x), atol=1e-10)


# ------------------------------------------------------------------------------ Frank-Wolfe
def _project_nuclear_ball(a, kappa):
    """Euclidean projection onto {||W||_* <= kappa}: SVT with the threshold that meets kappa."""
    s = np.linalg.svd(a, compute_uv=False)
    if s.sum() <= kappa:
        return a
    lo, hi = 0.0, float(s[0])
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.maximum(s - mid, 0).sum() > kappa else (lo, mid)
    return singular_value_threshold(a, hi)


def test_frank_wolfe_meets_its_convergence_bound_on_a_projection_problem():
    """min 1/2 ||W - A||^2 over the nuclear ball: f(W_T) - f* <= 2 L D^2 / (T + 2), L = 1,
    D = 2 kappa (Jaggi 2013), with the step 2 / (t + 2) and exact gradients."""
    a = random_array((6, 5), 4)
    kappa = 2.0
    w = {"weight": np.zeros((6, 5))}
    opt = NuclearFrankWolfe(w, radius=kappa, lr=1.0, momentum=0.0, schedule=lambda t: 2 / (t + 2))
    steps = 200
    for _ in range(steps):
        opt.step({"weight": w["weight"] - a})
        assert measures.nuclear_norm(w["weight"]) <= kappa * (1 + 1e-12)
    best = _project_nuclear_ball(a, kappa)
    gap = 0.5 * np.sum((w["weight"] - a) ** 2) - 0.5 * np.sum((best - a) ** 2)
    assert -1e-12 <= gap <= 2 * (2 * kappa) ** 2 / (steps + 2)


def test_frank_wolfe_training_keeps_every_weight_in_its_ball_and_biases_free():
    model = _small_cnn(dtype=np.float64)
    start = {k: v.copy() for k, v in model.params.items()}
    opt = NuclearFrankWolfe(model.params, radius=0.5, relative=True, lr=0.2)
    x = _x(dtype=np.float64)
    y = np.array([0, 1, 2, 0, 1, 2])
    for _ in range(3):
        _, grads = nn.value_and_grad(lambda p: nn.cross_entropy(model.apply(p, x), y))(model.params)
        opt.step(grads)
    for key, kappa in opt.radii.items():
        assert kappa == pytest.approx(0.5 * measures.nuclear_norm(weight_matrix(start[key])))
        assert measures.nuclear_norm(weight_matrix(model.params[key])) <= kappa * (1 + 1e-9)
    assert set(opt.radii) == {"conv.weight", "fc1.weight", "fc2.weight"}
    assert not np.allclose(model.params["fc2.bias"], start["fc2.bias"])
