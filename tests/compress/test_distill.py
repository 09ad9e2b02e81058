"""Distillation fine-tuning: teacher logits per batch, the student moves toward the teacher."""

from __future__ import annotations

import numpy as np
import pytest

from tensornet import nn
from tensornet.compress.distill import TeacherBatches, distill, make_optimizer


def _data(n=240, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8)).astype(np.float32)
    y = rng.integers(0, 4, n)
    return x, y


def _kl(teacher, student, x):
    """Mean KL(softmax(teacher) || softmax(student)), computed here from the logits."""
    logp = nn.log_softmax(nn.predict(teacher, x).astype(np.float64))
    logq = nn.log_softmax(nn.predict(student, x).astype(np.float64))
    return float((np.exp(logp) * (logp - logq)).sum(axis=1).mean())


def _net(seed, hidden=16):
    return nn.Sequential(
        ("fc1", nn.Linear(8, hidden, random_state=seed)),
        ("relu", nn.ReLU()),
        ("fc2", nn.Linear(hidden, 4, random_state=seed + 1)),
    )


class CountingTeacher(nn.Sequential):
    """A teacher that records the size of every forward pass."""

    def __init__(self, net):
        super().__init__(("net", net))
        self.calls = []

    def forward(self, params, x):
        self.calls.append(len(x))
        return super().forward(params, x)


def test_teacher_logits_are_computed_one_batch_at_a_time():
    x, y = _data()
    teacher = CountingTeacher(_net(0))
    batches = TeacherBatches(teacher, (x, y), batch_size=50, random_state=0)
    seen = []
    for xb, tb in batches:
        assert tb.shape == (len(xb), 5)
        np.testing.assert_array_equal(tb[:, 1:], nn.predict(teacher, xb))
        seen.append(len(xb))
    assert teacher.calls[::2] == seen == [50, 50, 50, 50, 40]  # predict adds the odd calls
    assert teacher.training  # mode restored


def test_distill_with_alpha_one_halves_the_kl_from_teacher_to_student():
    x, y = _data()
    teacher, student = _net(0), _net(10, hidden=6)
    gap_before = _kl(teacher, student, x)
    history = distill(
        student, teacher, (x, y), epochs=15, alpha=1.0, temperature=2.0, lr=0.01, random_state=0
    )
    gap_after = _kl(teacher, student, x)
    assert history["loss"][-1] < history["loss"][0]
    assert gap_after < 0.5 * gap_before


def test_distill_leaves_the_teacher_unchanged_and_runs_the_hooks():
    x, y = _data()
    teacher, student = _net(0), _net(3)
    before = teacher.state_dict()

    class ZeroFirstRow:
        def attach(self, optimizer):
            def prox(params, lr):
                params["fc1.weight"][0] = 0

            optimizer.add_prox(prox)

    distill(student, teacher, (x, y), epochs=2, hooks=[ZeroFirstRow()], random_state=0)
    for key, value in teacher.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    assert not student.params["fc1.weight"][0].any()


def test_distill_is_deterministic_given_the_seed():
    x, y = _data()
    outs = []
    for _ in range(2):
        student = _net(3)
        distill(student, _net(0), (x, y), epochs=1, optimizer="sgd", lr=0.01, random_state=5)
        outs.append(student.params["fc2.weight"].copy())
    np.testing.assert_array_equal(outs[0], outs[1])


def test_bad_arguments_are_named():
    x, y = _data()
    with pytest.raises(TypeError, match="teacher must be a tensornet.nn.Module"):
        distill(_net(0), "teacher", (x, y))
    with pytest.raises(ValueError, match="alpha"):
        distill(_net(0), _net(1), (x, y), alpha=1.5)
    with pytest.raises(ValueError, match="optimizer='rmsprop' must be one of"):
        make_optimizer(_net(0).params, "rmsprop")
    with pytest.raises(TypeError, match="attach"):
        distill(_net(0), _net(1), (x, y), hooks=[object()])
