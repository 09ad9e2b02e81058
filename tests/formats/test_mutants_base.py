"""Mutation-found gaps of ``tensornet.formats.base``: long values in messages are cut, the
format registry, element indices, a format without parameters and the stored shape record."""

import numpy as np
import pytest

from tensornet._io import load_npz, save_npz
from tensornet.formats import base
from tensornet.formats.base import StructuredTensor, _short, format_class
from tensornet.formats.tt import TTTensor


def test_a_value_longer_than_60_characters_is_cut_to_57_and_an_ellipsis():
    assert _short("a" * 10) == repr("a" * 10)
    long = list(range(100))
    assert _short(long) == repr(long)[:57] + "..." and len(_short(long)) == 60
    edge = "b" * 58  # repr adds two quotes: exactly 60 characters, kept whole
    assert _short(edge) == repr(edge)
    over = "b" * 59  # 61 characters: cut
    assert _short(over) == repr(over)[:57] + "..."


class _Scalar(StructuredTensor):
    """A 0-mode format that stores nothing: the tensor ``1.0``."""

    def __init__(self):
        self.info = {}

    @property
    def shape(self):
        return ()

    @property
    def ranks(self):
        return ()

    def _full(self):
        return np.array(1.0)

    def _arrays(self):
        return {}

    def _metadata(self):
        return {}

    @classmethod
    def _from_arrays(cls, arrays, meta):
        return cls()


def test_a_format_without_parameters_has_compression_ratio_size_over_one():
    t = _Scalar()
    assert t.n_params == 0 and t.size == 1
    assert t.compression_ratio == 1.0
    assert "compression=1x" in repr(t)


def test_only_concrete_subclasses_are_registered_by_class_name(monkeypatch):
    monkeypatch.setattr(base, "_FORMATS", dict(base._FORMATS))

    class _LocalConcrete(_Scalar):
        pass

    class _LocalAbstract(StructuredTensor):  # abstract methods left: not a format
        pass

    assert format_class("_LocalConcrete") is _LocalConcrete
    with pytest.raises(ValueError, match="unknown tensor format '_LocalAbstract'"):
        format_class("_LocalAbstract")


_TT = TTTensor([np.ones((1, 2, 2)), np.ones((2, 3, 1))])


@pytest.mark.parametrize("index", [(True, 0), (1.0, 0), (0, np.float64(1.0)), (np.bool_(0), 1)])
def test_element_indices_must_be_integers_not_bools_or_floats(index):
    with pytest.raises(TypeError, match="indices must be a tuple of 2 integers"):
        _TT[index]


def _stored_with_shape(tmp_path, shape):
    arrays, meta = load_npz(_TT.save(tmp_path / "t.npz"))
    return save_npz(tmp_path / "edited.npz", arrays, {**meta, "shape": shape})


@pytest.mark.parametrize(
    "shape", [None, {}, "23", [2.0, 3], [True, 3], [-2, 3], [2, "3"]], ids=repr
)
def test_a_stored_shape_that_is_not_a_list_of_int_sizes_is_refused_by_name(tmp_path, shape):
    path = _stored_with_shape(tmp_path, shape)
    with pytest.raises(ValueError, match="holds a corrupt TTTensor: metadata shape=.* is not a"):
        StructuredTensor.load(path)


@pytest.mark.parametrize("shape", [[0, 3], [2, 0], [2, 4], [2, 3, 1]])
def test_a_stored_list_of_sizes_that_disagrees_with_the_arrays_is_a_shape_mismatch(tmp_path, shape):
    path = _stored_with_shape(tmp_path, shape)
    with pytest.raises(ValueError, match="holds a corrupt TTTensor: shape mismatch"):
        StructuredTensor.load(path)


def test_the_unedited_record_loads_back(tmp_path):
    back = StructuredTensor.load(_stored_with_shape(tmp_path, [2, 3]))
    assert isinstance(back, TTTensor) and back.shape == (2, 3)
    np.testing.assert_array_equal(back.full(), _TT.full())


def test_the_abstract_core_chain_base_of_tt_and_tr_is_not_a_format():
    with pytest.raises(ValueError, match="unknown tensor format 'CoreChainTensor'"):
        format_class("CoreChainTensor")
    assert format_class("TTTensor") is TTTensor


def test_full_builds_a_tensor_of_exactly_max_elements_and_refuses_one_more():
    assert _TT.full(max_elements=_TT.size).shape == (2, 3)
    with pytest.raises(ValueError, match="would have 6 elements, more than max_elements=5"):
        _TT.full(max_elements=_TT.size - 1)


def test_scale_by_on_a_list_or_dict_component_scales_only_its_first_entry():
    """_scale_by multiplies entry 0 of a list (TT cores) or dict (HT transfers, key 0 = root)
    component by the factor, so the tensor is scaled by exactly that factor."""
    from tensornet.formats.ht import DimensionTree, HTTensor

    rng = np.random.default_rng(0)
    tt = TTTensor([rng.standard_normal(s) for s in [(1, 2, 3), (3, 4, 2), (2, 3, 1)]])
    leaves = [rng.standard_normal((3, 2)) for _ in range(3)]
    ht = HTTensor(
        DimensionTree(3), leaves, [rng.standard_normal((2, 2, 1)), rng.standard_normal((2, 2, 2))]
    )
    for x, parts in ((tt, lambda t: t.cores), (ht, lambda t: [t.transfers[0], t.transfers[1]])):
        before, old = x.full(), [p.copy() for p in parts(x)]
        x._scale_by(-2.5)
        np.testing.assert_allclose(x.full(), -2.5 * before, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(parts(x)[0], -2.5 * old[0])
        for new, was in zip(parts(x)[1:], old[1:], strict=True):
            np.testing.assert_array_equal(new, was)
