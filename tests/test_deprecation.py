"""Deprecated spellings (tensornet/_deprecation.py): each warns and gives the new spelling's result.

Every row calls the old spelling and the new one on the same data: the old one must emit a
``DeprecationWarning`` naming the replacement, and both must return the same result.
"""

import numpy as np
import pytest

import tensornet as tn
from tensornet._deprecation import deprecated_alias, deprecated_arguments
from tensornet.decompositions.kron import kron_rearrange, kron_shapes
from tensornet.formats import DimensionTree, HTTensor


def _x(shape=(4, 5, 6), seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _same(a, b):
    """Compare results: format objects by their dense tensor, tuples/arrays element-wise."""
    if hasattr(a, "full"):
        np.testing.assert_array_equal(a.full(), b.full())
    elif isinstance(a, tuple):
        assert len(a) == len(b)
        for p, q in zip(a, b):
            _same(p, q)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


_TT = tn.tt_svd(_x((4, 5, 6, 3)))
_HT = tn.ht_svd(_x((4, 4, 6)), ranks=3)
_KERNEL = _x((6, 5, 3, 3), 1)
_M = _x((12, 20), 2)

# (id, old call, new call, fragment of the warning naming the replacement)
CASES = [
    (
        "tt_svd svd=",
        lambda: tn.tt_svd(_x(), ranks=2, svd="randomized", random_state=0),
        lambda: tn.tt_svd(_x(), ranks=2, method="randomized", random_state=0),
        "method=...",
    ),
    (
        "tt_svd eps by position",
        lambda: tn.tt_svd(_x(), None, 0.1),
        lambda: tn.tt_svd(_x(), None, eps=0.1),
        "eps=...",
    ),
    (
        "tt_svd svd by position",
        lambda: tn.tt_svd(_x(), 2, None, "randomized", 0),
        lambda: tn.tt_svd(_x(), 2, method="randomized", random_state=0),
        "method=...",
    ),
    (
        "tt_matrix_svd eps by position",
        lambda: tn.tt_matrix_svd(_M, (3, 4), (4, 5), None, 0.1),
        lambda: tn.tt_matrix_svd(_M, (3, 4), (4, 5), eps=0.1),
        "eps=...",
    ),
    (
        "hosvd eps by position",
        lambda: tn.hosvd(_x(), None, 0.3),
        lambda: tn.hosvd(_x(), eps=0.3),
        "eps=...",
    ),
    (
        "tucker_hooi solver=",
        lambda: tn.tucker_hooi(_x(), 2, solver="eigh"),
        lambda: tn.tucker_hooi(_x(), 2, method="eigh"),
        "method=...",
    ),
    (
        "tucker_hooi options by position",
        lambda: tn.tucker_hooi(_x(), 2, 5, 0.0, "hosvd", "eigh"),
        lambda: tn.tucker_hooi(_x(), 2, n_iter_max=5, tol=0.0, method="eigh"),
        "n_iter_max=...",
    ),
    (
        "tucker2 solver=",
        lambda: tn.tucker2(_KERNEL, (3, 2), solver="eigh"),
        lambda: tn.tucker2(_KERNEL, (3, 2), method="eigh"),
        "method=...",
    ),
    (
        "tucker2 options by position",
        lambda: tn.tucker2(_KERNEL, (3, 2), 4),
        lambda: tn.tucker2(_KERNEL, (3, 2), n_iter_max=4),
        "n_iter_max=...",
    ),
    (
        "cp_als options by position",
        lambda: tn.cp_als(_x(), 2, 10, 0.0, "random", 1, 3),
        lambda: tn.cp_als(_x(), 2, n_iter_max=10, tol=0.0, init="random", random_state=3),
        "random_state=...",
    ),
    (
        "btd_als options by position",
        lambda: tn.btd_als(_x(), 2, 1, 5, 0.0, 1, 0),
        lambda: tn.btd_als(_x(), 2, 1, n_iter_max=5, tol=0.0, random_state=0),
        "n_iter_max=...",
    ),
    (
        "tr_svd eps by position",
        lambda: tn.tr_svd(_x(), None, 0.2),
        lambda: tn.tr_svd(_x(), eps=0.2),
        "eps=...",
    ),
    (
        "tr_als options by position",
        lambda: tn.tr_als(_x(), 2, 5, 0.0, "random", 1, 4),
        lambda: tn.tr_als(_x(), 2, n_iter_max=5, tol=0.0, init="random", random_state=4),
        "random_state=...",
    ),
    (
        "ht_svd eps by position",
        lambda: tn.ht_svd(_x(), None, 0.2),
        lambda: tn.ht_svd(_x(), eps=0.2),
        "eps=...",
    ),
    (
        "gkpd a_shapes=",
        lambda: tn.gkpd(_x((4, 6)), a_shapes=(2, 3), rank=2),
        lambda: tn.gkpd(_x((4, 6)), a_shape=(2, 3), rank=2),
        "a_shape=...",
    ),
    (
        "gkpd b_shapes=",
        lambda: tn.gkpd(_x((4, 6)), (2, 3), b_shapes=(2, 2)),
        lambda: tn.gkpd(_x((4, 6)), (2, 3), b_shape=(2, 2)),
        "b_shape=...",
    ),
    (
        "gkpd eps by position",
        lambda: tn.gkpd(_x((4, 6)), (2, 3), None, None, 0.5),
        lambda: tn.gkpd(_x((4, 6)), (2, 3), None, None, eps=0.5),
        "eps=...",
    ),
    (
        "kpd eps by position",
        lambda: tn.kpd(_M, (3, 4), None, 3, 0.5),
        lambda: tn.kpd(_M, (3, 4), None, 3, eps=0.5),
        "eps=...",
    ),
    (
        "kron_rearrange a_shapes=",
        lambda: kron_rearrange(_x((4, 6)), a_shapes=(2, 3)),
        lambda: kron_rearrange(_x((4, 6)), a_shape=(2, 3)),
        "a_shape=...",
    ),
    (
        "kron_shapes a_shapes=",
        lambda: kron_shapes((4, 6), a_shapes=(2, 3)),
        lambda: kron_shapes((4, 6), a_shape=(2, 3)),
        "a_shape=...",
    ),
    (
        "st_tucker t by position",
        lambda: tn.st_tucker(_x((4, 6, 8)), 2, 2),
        lambda: tn.st_tucker(_x((4, 6, 8)), 2, t=2),
        "t=...",
    ),
    (
        "st_tucker solver=",
        lambda: tn.st_tucker(_x((4, 6, 8)), 2, t=2, method="hooi", solver="eigh"),
        lambda: tn.st_tucker(_x((4, 6, 8)), 2, t=2, method="hooi", hooi_method="eigh"),
        "hooi_method=...",
    ),
    (
        "stt_svd eps by position",
        lambda: tn.stt_svd(_x((4, 6, 8)), None, 0.2, t=2),
        lambda: tn.stt_svd(_x((4, 6, 8)), eps=0.2, t=2),
        "eps=...",
    ),
    (
        "truncated_svd eps by position",
        lambda: tn.truncated_svd(_M, None, 0.3),
        lambda: tn.truncated_svd(_M, eps=0.3),
        "eps=...",
    ),
    (
        "randomized_svd options by position",
        lambda: tn.randomized_svd(_M, 3, 2, 1, 5),
        lambda: tn.randomized_svd(_M, 3, n_oversamples=2, n_iter=1, random_state=5),
        "random_state=...",
    ),
    (
        "TTTensor.round eps by position",
        lambda: _TT.round(1e-2),
        lambda: _TT.round(eps=1e-2),
        "eps=...",
    ),
    (
        "TTTensor.round eps, ranks by position",
        lambda: _TT.round(None, 2),
        lambda: _TT.round(ranks=2),
        "ranks=...",
    ),
    (
        "HTTensor.elements",
        lambda: _HT.elements(np.array([[0, 1, 2], [3, 3, 5]])),
        lambda: _HT.gather(np.array([[0, 1, 2], [3, 3, 5]])),
        "gather()",
    ),
    (
        "HTTensor.contract in_shape=, out_shape=",
        lambda: _HT.contract(_x((3, 2, 2, 3)), in_shape=(2, 2, 3), out_shape=(2, 2, 2)),
        lambda: _HT.contract(_x((3, 2, 2, 3)), in_modes=(2, 2, 3), out_modes=(2, 2, 2)),
        "in_modes=...",
    ),
]


@pytest.mark.parametrize("old, new, replacement", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_deprecated_spelling_warns_and_equals_new_spelling(old, new, replacement):
    with pytest.warns(DeprecationWarning, match="deprecated and will be removed") as record:
        got = old()
    assert any(replacement in str(w.message) for w in record), [str(w.message) for w in record]
    _same(got, new())


class _Stop(Exception):
    pass


def test_run_training_demo_seed_is_a_deprecated_alias_of_random_state(monkeypatch):
    import tensornet.nn.demo as demo

    seen = {}

    def model(random_state):
        seen["random_state"] = random_state
        raise _Stop

    tiny = (np.zeros((2, 1, 28, 28), np.float32), np.zeros(2, np.int64))
    monkeypatch.setattr("tensornet.datasets.load_mnist", lambda *a, **k: (tiny, tiny))
    monkeypatch.setattr(demo, "lenet300_100", model)
    with pytest.warns(DeprecationWarning, match=r"random_state=\.\.\."), pytest.raises(_Stop):
        demo.run_training_demo(seed=7, echo=lambda line: None)
    assert seen == {"random_state": 7}


def _f(x, ranks=None, *, eps=None, method="exact"):
    return (x, ranks, eps, method)


_wrapped = deprecated_arguments(renamed={"svd": "method"}, positional=("eps", "svd"))(_f)


def test_old_and_new_keyword_together_is_a_type_error():
    with pytest.raises(TypeError, match="got both svd= .deprecated. and method="):
        _wrapped(1, svd="a", method="b")


def test_more_positional_arguments_than_the_old_signature_is_a_type_error():
    with pytest.raises(TypeError, match="takes at most 4 positional arguments .5 given."):
        _wrapped(1, 2, 3, 4, 5)


def test_positional_option_also_given_by_keyword_is_a_type_error():
    with (
        pytest.warns(DeprecationWarning),
        pytest.raises(TypeError, match="multiple values for argument 'eps'"),
    ):
        _wrapped(1, 2, 0.1, eps=0.2)


def test_new_spelling_does_not_warn(recwarn):
    assert _wrapped(1, 2, eps=0.1, method="m") == (1, 2, 0.1, "m")
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_wrapped_function_keeps_name_doc_and_signature():
    import inspect

    assert _wrapped.__name__ == "_f"
    assert list(inspect.signature(_wrapped).parameters) == ["x", "ranks", "eps", "method"]
    assert list(inspect.signature(tn.tt_svd).parameters)[:4] == ["x", "ranks", "eps", "method"]


def test_deprecated_alias_names_old_and_new():
    def new_name(a):
        return a + 1

    old = deprecated_alias(new_name, "old_name")
    with pytest.warns(DeprecationWarning, match=r"old_name\(\) is deprecated .* use new_name\(\)"):
        assert old(1) == 2
    assert old.__name__ == "old_name"


def test_ht_tensor_class_has_gather_and_the_elements_alias():
    tree = DimensionTree(2)
    h = HTTensor(tree, [np.eye(2), np.eye(3)], {0: np.ones((2, 3, 1))})
    idx = np.array([[1, 2]])
    assert h.gather(idx)[0] == pytest.approx(1.0)
    with pytest.warns(DeprecationWarning):
        assert h.elements(idx)[0] == pytest.approx(1.0)
