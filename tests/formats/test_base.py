"""StructuredTensor base (tensornet/formats/base.py) through a tiny rank-1 format."""

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.formats import DEFAULT_MAX_ELEMENTS, StructuredTensor, format_class
from tensornet.testing import random_array, seeds, shapes


class RankOneTestTensor(StructuredTensor):
    """``scale · v_1 ∘ v_2 ∘ ... ∘ v_d``: the smallest concrete format."""

    def __init__(self, vectors, scale=1.0):
        self.vectors = [np.asarray(v, dtype=float) for v in vectors]
        self.scale = float(scale)
        self.info = {}

    @property
    def shape(self):
        return tuple(len(v) for v in self.vectors)

    @property
    def ranks(self):
        return (1,)

    def _full(self):
        out = np.array(self.scale)
        for v in self.vectors:
            out = np.multiply.outer(out, v)
        return out

    def _arrays(self):
        return {f"v{k}": v for k, v in enumerate(self.vectors)}

    def _metadata(self) -> dict[str, Any]:
        return {"scale": self.scale, "ndim": len(self.vectors)}

    @classmethod
    def _from_arrays(cls, arrays, meta):
        return cls([arrays[f"v{k}"] for k in range(meta["ndim"])], meta["scale"])


class NormOverrideTestTensor(RankOneTestTensor):
    """Same tensor with the structured norm ``|scale| · prod ||v_k||``."""

    def norm(self):
        return abs(self.scale) * float(np.prod([np.linalg.norm(v) for v in self.vectors]))


def rank_one(shape, seed, scale=1.0):
    return RankOneTestTensor([random_array(n, seed + k) for k, n in enumerate(shape)], scale)


@given(shapes(), seeds())
def test_shape_ndim_size_and_n_params(shape, seed):
    t = rank_one(shape, seed)
    assert t.shape == shape and t.ndim == len(shape)
    assert t.size == int(np.prod(shape))
    assert t.n_params == sum(shape)
    assert t.compression_ratio == pytest.approx(np.prod(shape) / sum(shape))
    assert t.dtype == np.float64
    assert t.full().shape == shape


@given(shapes(), seeds())
def test_base_norm_is_frobenius_norm_of_full_and_matches_structured_norm(shape, seed):
    t = rank_one(shape, seed, scale=-2.0)
    dense = t.full()
    assert t.norm() == pytest.approx(np.sqrt(np.sum(dense**2)), rel=1e-12)
    structured = NormOverrideTestTensor(t.vectors, t.scale)
    assert structured.norm() == pytest.approx(t.norm(), rel=1e-12)


@given(shapes(), seeds(), st.floats(0.01, 10))
def test_relative_error_is_frobenius_ratio(shape, seed, scale):
    t = rank_one(shape, seed)
    x = random_array(shape, seed + 100)
    expected = np.linalg.norm((x - t.full()).ravel()) / np.linalg.norm(x.ravel())
    assert t.relative_error(x) == pytest.approx(expected, rel=1e-12)
    assert t.relative_error(t.full() * 1.0) == pytest.approx(0.0, abs=1e-15)
    assert RankOneTestTensor(t.vectors, scale).relative_error(t.full()) == pytest.approx(
        abs(scale - 1.0), rel=1e-9
    )


def test_inner_product_matches_dense():
    a = rank_one((2, 3, 4), 0)
    b = rank_one((2, 3, 4), 10)
    assert a.inner(b) == pytest.approx(float(np.sum(a.full() * b.full())))
    assert a.inner(b.full()) == pytest.approx(a.inner(b))
    with pytest.raises(ValueError, match=r"other has shape \(2, 3\), expected \(2, 3, 4\)"):
        a.inner(np.ones((2, 3)))


def test_full_refuses_beyond_size_limit_unless_told():
    t = RankOneTestTensor([np.ones(100), np.ones(100), np.ones(100)])
    with pytest.raises(ValueError, match="would have 1000000 elements, more than max_elements"):
        t.full(max_elements=999_999)
    assert t.full(max_elements=None).shape == (100, 100, 100)
    huge = RankOneTestTensor([np.ones(2**10)] * 4)  # 2**40 elements
    assert huge.size > DEFAULT_MAX_ELEMENTS
    with pytest.raises(ValueError, match="more than max_elements=134217728"):
        huge.full()


def test_relative_error_rejects_bad_reference():
    t = rank_one((2, 3), 0)
    with pytest.raises(ValueError, match=r"x has shape \(3, 2\), expected \(2, 3\)"):
        t.relative_error(np.ones((3, 2)))
    with pytest.raises(ValueError, match="x is all zeros"):
        t.relative_error(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="x must be finite"):
        t.relative_error(np.full((2, 3), np.nan))


@given(shapes(), seeds(), st.floats(-5, 5))
def test_save_load_round_trip_is_exact(tmp_path_factory, shape, seed, scale):
    t = rank_one(shape, seed, scale)
    path = t.save(tmp_path_factory.mktemp("fmt") / "r1")
    assert path.suffix == ".npz"
    for loader in (StructuredTensor, RankOneTestTensor):
        back = loader.load(path)
        assert type(back) is RankOneTestTensor
        assert back.scale == t.scale
        np.testing.assert_array_equal(back.full(), t.full())


def test_load_refuses_another_format(tmp_path):
    path = rank_one((2, 3), 0).save(tmp_path / "r1.npz")
    with pytest.raises(ValueError, match="holds a RankOneTestTensor, not a NormOverrideTestTensor"):
        NormOverrideTestTensor.load(path)


def test_load_refuses_truncated_and_foreign_files(tmp_path):
    path = rank_one((20, 30), 0).save(tmp_path / "r1.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    with pytest.raises(ValueError, match="is not a readable tensornet file"):
        StructuredTensor.load(path)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, v0=np.ones(2))
    with pytest.raises(ValueError, match="no tensornet metadata record"):
        StructuredTensor.load(foreign)


def test_load_refuses_unknown_kind_and_corrupt_content(tmp_path):
    from tensornet._io import save_npz

    unknown = save_npz(tmp_path / "u.npz", {"a": np.ones(2)}, {"kind": "NoSuchFormat"})
    with pytest.raises(ValueError, match="unknown tensor format 'NoSuchFormat'"):
        StructuredTensor.load(unknown)
    corrupt = save_npz(
        tmp_path / "c.npz",
        {"v0": np.ones(2)},
        {"kind": "RankOneTestTensor", "ndim": 2, "scale": 1.0, "shape": [2, 3]},
    )
    with pytest.raises(ValueError, match="holds a corrupt RankOneTestTensor"):
        StructuredTensor.load(corrupt)
    wrong_shape = save_npz(
        tmp_path / "s.npz",
        {"v0": np.ones(2)},
        {"kind": "RankOneTestTensor", "ndim": 1, "scale": 1.0, "shape": [3]},
    )
    with pytest.raises(ValueError, match="shape mismatch"):
        StructuredTensor.load(wrong_shape)


def test_subclasses_register_by_class_name():
    assert format_class("RankOneTestTensor") is RankOneTestTensor
    with pytest.raises(ValueError, match="unknown tensor format 'Nope'; known formats: .*RankOne"):
        format_class("Nope")


def test_repr_names_shape_ranks_params_and_compression():
    text = repr(RankOneTestTensor([np.ones(4), np.ones(5)]))
    assert text == "RankOneTestTensor(shape=(4, 5), ranks=(1,), n_params=9, compression=2.22x)"


@pytest.mark.parametrize("c", [1e-90, 1e90])
def test_norm_of_cores_scaled_by_c_is_c_cubed_times_norm(c):
    """The norm of a TT/CP with huge or tiny parameters: products of squares neither overflow
    nor underflow (``StructuredTensor._balanced``)."""
    from tensornet import CPTensor, TTTensor

    rng = np.random.default_rng(0)
    cores = [rng.standard_normal(s) for s in [(1, 3, 2), (2, 4, 2), (2, 5, 1)]]
    tt = TTTensor(cores)
    big = TTTensor([g * c for g in cores])
    assert big.norm() == pytest.approx(tt.norm() * c**3, rel=1e-12)
    factors = [rng.standard_normal((n, 2)) for n in (3, 4, 5)]
    cp = CPTensor(np.ones(2), factors)
    big_cp = CPTensor(np.ones(2) * c * c, [factors[0] * c, *factors[1:]])
    assert big_cp.norm() == pytest.approx(cp.norm() * c**3, rel=1e-12)
