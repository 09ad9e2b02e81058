"""Optimizers, schedules, clipping and hooks (tensornet/nn/optim.py) vs hand-computed updates."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.nn import SGD, Adam, AdamW, CosineLR, MultiStepLR, StepLR, clip_grad_norm


def _setup(dtype=np.float64):
    p = {"w": np.array([1.0, -2.0, 3.0], dtype=dtype), "b": np.array([0.5], dtype=dtype)}
    g = {"w": np.array([0.1, 0.2, -0.3], dtype=dtype), "b": np.array([1.0], dtype=dtype)}
    return p, g


def test_plain_sgd_step_is_p_minus_lr_g():
    p, g = _setup()
    w0 = p["w"].copy()
    SGD(p, lr=0.5).step(g)
    np.testing.assert_allclose(p["w"], w0 - 0.5 * g["w"], rtol=1e-15)


def test_sgd_momentum_and_weight_decay_two_steps_by_hand():
    p, g = _setup()
    w = p["w"].copy()
    opt = SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01)
    v = np.zeros(3)
    for _ in range(2):
        gd = g["w"] + 0.01 * w
        v = 0.9 * v + gd
        w = w - 0.1 * v
        opt.step(g)
    np.testing.assert_allclose(p["w"], w, rtol=1e-14)


def test_nesterov_two_steps_by_hand():
    p, g = _setup()
    w = p["w"].copy()
    opt = SGD(p, lr=0.1, momentum=0.9, nesterov=True)
    v = np.zeros(3)
    for _ in range(2):
        v = 0.9 * v + g["w"]
        w = w - 0.1 * (g["w"] + 0.9 * v)
        opt.step(g)
    np.testing.assert_allclose(p["w"], w, rtol=1e-14)


def test_sgd_updates_the_live_arrays_in_place():
    p, g = _setup()
    ref = p["w"]
    SGD(p, lr=0.1).step(g)
    assert p["w"] is ref


def test_adam_three_steps_by_hand():
    p, g = _setup()
    w = p["w"].copy()
    opt = Adam(p, lr=0.01, betas=(0.9, 0.99), eps=1e-8)
    m = v = np.zeros(3)
    for t in range(1, 4):
        gt = g["w"] * t
        m = 0.9 * m + 0.1 * gt
        v = 0.99 * v + 0.01 * gt**2
        w = w - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.99**t)) + 1e-8)
        opt.step({"w": gt, "b": g["b"]})
    np.testing.assert_allclose(p["w"], w, rtol=1e-12)


def test_adamw_decouples_weight_decay():
    p, g = _setup()
    w = p["w"].copy()
    AdamW(p, lr=0.01, weight_decay=0.1).step(g)
    # first Adam step moves every entry by lr * sign(g) (up to eps)
    expected = w * (1 - 0.01 * 0.1) - 0.01 * np.sign(g["w"])
    np.testing.assert_allclose(p["w"], expected, rtol=1e-6)


def test_float32_parameters_stay_float32():
    p, g = _setup(np.float32)
    opt = Adam(p, lr=0.01)
    opt.step(g)
    SGD(p, lr=0.1, momentum=0.9).step(g)
    assert p["w"].dtype == np.float32


def test_schedules_give_the_documented_factors():
    assert StepLR(2, 0.5)(3.9) == 0.5 and StepLR(2, 0.5)(4.0) == 0.25
    assert MultiStepLR([3, 5], 0.1)(4) == pytest.approx(0.1)
    assert MultiStepLR([3, 5], 0.1)(5) == pytest.approx(0.01)
    cos = CosineLR(10, min_factor=0.1)
    assert cos(0) == pytest.approx(1.0) and cos(10) == pytest.approx(0.1)
    assert cos(5) == pytest.approx(0.1 + 0.9 * 0.5)
    assert CosineLR(10, warmup=2)(1) == pytest.approx(0.5)


def test_schedule_follows_steps_per_epoch():
    p, g = _setup()
    opt = SGD(p, lr=1.0, schedule=StepLR(1, 0.5))
    opt.steps_per_epoch = 2
    lrs = [opt.step(g) for _ in range(5)]
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_clip_grad_norm_bounds_the_global_norm():
    _, g = _setup()
    norm = math.sqrt(sum(float((v**2).sum()) for v in g.values()))
    clipped, before = clip_grad_norm(g, 0.5)
    assert before == pytest.approx(norm)
    after = math.sqrt(sum(float((v**2).sum()) for v in clipped.values()))
    assert after == pytest.approx(0.5)
    same, _ = clip_grad_norm(g, 10.0)
    assert same is g


def test_clip_value_limits_each_entry():
    p, g = _setup()
    w = p["w"].copy()
    SGD(p, lr=1.0, clip_value=0.15).step(g)
    np.testing.assert_allclose(p["w"], w - np.clip(g["w"], -0.15, 0.15))


def test_grad_transform_runs_before_and_prox_after_the_update():
    p, g = _setup()
    w = p["w"].copy()
    seen = {}

    def project(grads, params):  # keep only the first coordinate of w
        out = dict(grads)
        out["w"] = grads["w"] * np.array([1.0, 0.0, 0.0])
        return out

    def prox(params, lr):
        seen["lr"] = lr
        return {"w": np.maximum(params["w"], 0.0)}  # projection onto w >= 0

    opt = SGD(p, lr=0.5, grad_transforms=project)
    opt.add_prox(prox)
    opt.step(g)
    expected = np.maximum(w - 0.5 * np.array([0.1, 0.0, 0.0]), 0.0)
    np.testing.assert_allclose(p["w"], expected)
    assert seen["lr"] == 0.5


def test_optimizer_state_round_trip_resumes_identically():
    p1, g = _setup()
    p2 = {k: v.copy() for k, v in p1.items()}
    o1 = SGD(p1, lr=0.1, momentum=0.9)
    o1.step(g)
    arrays, meta = o1.state_dict()
    o2 = SGD(p2, lr=0.1, momentum=0.9)
    for k in p2:
        p2[k][...] = p1[k]
    o2.load_state_dict(arrays, meta)
    o1.step(g)
    o2.step(g)
    for k in p1:
        np.testing.assert_array_equal(p1[k], p2[k])
    with pytest.raises(ValueError, match="saved by 'SGD'"):
        Adam(p2).load_state_dict(arrays, meta)


@pytest.mark.parametrize(
    "make, exc, match",
    [
        (lambda p: SGD(p, lr=0), ValueError, "lr=0.0 must be > 0"),
        (lambda p: SGD(p, lr=np.inf), ValueError, "lr=inf must be a finite number"),
        (lambda p: SGD(p, lr=np.nan), ValueError, "lr=nan must be a finite number"),
        (lambda p: SGD(p, lr=0.1, momentum=1.0), ValueError, "momentum"),
        (lambda p: SGD(p, lr=0.1, nesterov=True), ValueError, "nesterov"),
        (lambda p: SGD(p, lr=0.1, weight_decay=np.nan), ValueError, "weight_decay=nan must be a"),
        (lambda p: SGD(p, lr=0.1, weight_decay=np.inf), ValueError, "weight_decay=inf must be a"),
        (lambda p: SGD(p, lr=0.1, weight_decay=-1.0), ValueError, "weight_decay=-1.0 must be a"),
        (lambda p: Adam(p, lr=np.inf), ValueError, "lr=inf must be a finite number"),
        (lambda p: Adam(p, weight_decay=np.nan), ValueError, "weight_decay=nan must be a"),
        (lambda p: Adam(p, eps=np.inf), ValueError, "eps=inf must be a finite number > 0"),
        (lambda p: AdamW(p, weight_decay=np.inf), ValueError, "weight_decay=inf must be a"),
        (lambda p: SGD({}, lr=0.1), TypeError, "non-empty dict"),
    ],
)
def test_bad_hyperparameters_are_refused(make, exc, match):
    p, _ = _setup()
    with pytest.raises(exc, match=match):
        make(p)


def test_optimizer_state_with_nan_or_inf_is_refused():
    p, g = _setup()
    opt = SGD(p, lr=0.1, momentum=0.9)
    opt.step(g)
    arrays, meta = opt.state_dict()
    arrays["velocity/w"][1] = np.inf
    with pytest.raises(ValueError, match="optimizer state 'velocity/w' holds NaN or Inf"):
        SGD(_setup()[0], lr=0.1, momentum=0.9).load_state_dict(arrays, meta)


def test_cosine_lr_after_its_warmup_follows_the_cosine_of_the_remaining_epochs():
    cos = CosineLR(10, min_factor=0.1, warmup=2)
    assert cos(2) == pytest.approx(1.0)
    # halfway through the 8 epochs after the warm-up: 0.1 + 0.9 * (1 + cos(pi / 2)) / 2
    assert cos(6) == pytest.approx(0.55)
    assert cos(4) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi / 4)))
    assert cos(10) == pytest.approx(0.1)
    assert cos(12) == pytest.approx(0.1)


@settings(max_examples=30)
@given(
    total=st.floats(1.0, 50.0),
    warmup_share=st.floats(0.0, 0.9),
    min_factor=st.floats(0.0, 1.0),
    at=st.floats(0.0, 1.5),
)
def test_cosine_lr_factor_stays_in_min_factor_to_one_and_is_positive(
    total, warmup_share, min_factor, at
):
    # a learning rate is never negative: during the warm-up it is (0, 1], after it
    # [min_factor, 1], from the first epoch on (epoch 0 included)
    warmup = warmup_share * total
    factor = CosineLR(total, min_factor=min_factor, warmup=warmup)(at * total)
    assert 0.0 < factor <= 1.0 + 1e-12 if at * total < warmup else min_factor - 1e-12 <= factor
    assert CosineLR(total, warmup=max(warmup, 0.5))(0.0) > 0.0


def test_multistep_lr_accepts_a_milestone_at_epoch_zero():
    # milestones are >= 0: one at 0 decays from the very first epoch
    sched = MultiStepLR([0, 3], gamma=0.5)
    assert sched(0) == 0.5 and sched(2.5) == 0.5 and sched(3) == 0.25
    with pytest.raises(ValueError, match=r"milestones\[1\]"):
        MultiStepLR([0, -1])


@settings(max_examples=30)
@given(
    values=st.lists(st.floats(-10.0, 10.0), min_size=1, max_size=6),
    share=st.floats(0.01, 0.99),
)
def test_clip_grad_norm_result_norm_is_at_most_max_norm_and_close_to_it(values, share):
    grads = {"a": np.array(values), "b": np.array([1.0, -2.0])}
    norm = math.sqrt(sum(v * v for v in values) + 5.0)
    clipped, before = clip_grad_norm(grads, share * norm)
    after = math.sqrt(sum(float(np.vdot(g, g)) for g in clipped.values()))
    assert before == pytest.approx(norm, rel=1e-12)
    assert share * norm * (1 - 1e-9) <= after <= share * norm  # never above the bound


def test_clip_grad_norm_at_exactly_max_norm_returns_the_gradients_untouched():
    grads = {"w": np.array([3.0, 4.0])}  # norm 5 exactly
    out, norm = clip_grad_norm(grads, 5.0)
    assert out is grads and norm == 5.0


@pytest.mark.parametrize("name", ["clip_norm", "clip_value"])
def test_clipping_bounds_must_be_positive_and_small_positive_ones_are_accepted(name):
    p, _ = _setup()
    for bad in (0, 0.0, -1.0):
        with pytest.raises(ValueError, match=f"{name}={bad!r} must be > 0"):
            SGD(p, lr=0.1, **{name: bad})
    for good in (0.5, 1.0, 3.0):
        assert getattr(SGD(p, lr=0.1, **{name: good}), name) == good


def test_schedule_sees_one_epoch_per_step_by_default():
    # without fit(), steps_per_epoch is 1: the epoch given to the schedule is the step count
    p, g = _setup()
    opt = SGD(p, lr=1.0, schedule=StepLR(step_size=1, gamma=0.5))
    rates = [opt.step(g) for _ in range(4)]
    assert rates == [1.0, 0.5, 0.25, 0.125] and opt.epoch == 4.0


def test_adam_weight_decay_is_coupled_l2_added_to_the_gradient():
    # Adam (not AdamW) adds weight_decay * p to g before the moments: two steps by hand
    p, g = _setup()
    w = p["w"].copy()
    opt = Adam(p, lr=0.01, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.5)
    m = v = np.zeros(3)
    for t in (1, 2):
        gt = g["w"] + 0.5 * w
        m = 0.9 * m + 0.1 * gt
        v = 0.99 * v + 0.01 * gt**2
        w = w - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.99**t)) + 1e-8)
        opt.step(g)
    np.testing.assert_allclose(p["w"], w, rtol=1e-12)


@pytest.mark.parametrize(
    "betas", [(1.0, 0.5), (0.5, 1.0), (1.5, 0.5), (0.5, 1.5), (-0.1, 0.5), (0.5, -0.1)]
)
def test_adam_betas_outside_zero_one_are_refused(betas):
    with pytest.raises(ValueError, match="must lie in \\[0, 1\\)"):
        Adam(_setup()[0], betas=betas)


def test_adam_accepts_betas_at_zero_and_refuses_eps_zero():
    p, g = _setup()
    Adam(p, lr=0.1, betas=(0.0, 0.0)).step(g)  # plain sign-like steps: no moment memory
    np.testing.assert_allclose(p["b"], [0.5 - 0.1], rtol=1e-6)
    with pytest.raises(ValueError, match="eps=0.0 must be a finite number > 0"):
        Adam(p, eps=0.0)


@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_adam_and_adamw_pass_hooks_and_schedule_on_to_the_base_optimizer(cls):
    p, g = _setup()
    opt = cls(p, lr=0.1, schedule=StepLR(1, 0.5), clip_norm=1.0, clip_value=0.5)
    assert opt.clip_norm == 1.0 and opt.clip_value == 0.5
    assert [opt.step(g) for _ in range(3)] == [0.1, 0.05, 0.025]


def test_a_hook_that_is_not_callable_is_refused():
    p, _ = _setup()
    with pytest.raises(TypeError, match="hook 1 is not callable"):
        SGD(p, lr=0.1, grad_transforms=[lambda g, p: g, 1])
    assert len(SGD(p, lr=0.1, proxes=[lambda p, lr: None] * 2).proxes) == 2
