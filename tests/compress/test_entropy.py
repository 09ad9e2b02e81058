"""Huffman and Tunstall coding: exact round trips, code-length guarantees, corrupted streams."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.compress.entropy import (
    HuffmanStream,
    HuffmanTable,
    TunstallStream,
    empirical_entropy,
    huffman_decode,
    huffman_encode,
    huffman_table,
    tunstall_decode,
    tunstall_dictionary,
    tunstall_encode,
)

streams = st.lists(st.integers(-(2**40), 2**40), max_size=60)
small_alphabet = st.lists(st.integers(0, 5), max_size=200)


def _fibonacci_stream(n_symbols: int) -> np.ndarray:
    """Counts 1, 1, 2, 3, 5, ...: the distribution with the deepest Huffman tree."""
    fib = [1, 1]
    while len(fib) < n_symbols:
        fib.append(fib[-1] + fib[-2])
    x = np.repeat(np.arange(n_symbols), fib)
    return np.random.default_rng(0).permutation(x)


ADVERSARIAL = {
    "empty": np.zeros(0, dtype=np.int64),
    "one symbol once": np.array([7]),
    "one symbol repeated": np.full(1000, -3),
    "two symbols": np.array([0, 1] * 9 + [1]),
    "all distinct": np.arange(300) * 1_000_003,
    "fibonacci counts": _fibonacci_stream(24),
    "one rare symbol": np.r_[np.zeros(5000, dtype=np.int64), 1],
    "extreme values": np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0, 0]),
    "uint8 dtype": np.arange(256, dtype=np.uint8).repeat(3),
}


# ------------------------------------------------------------------------------- Huffman
@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_huffman_round_trip_is_exact_on_adversarial_streams(name):
    x = ADVERSARIAL[name]
    decoded = huffman_decode(huffman_encode(x))
    assert decoded.dtype == np.int64
    np.testing.assert_array_equal(decoded, x.astype(np.int64))


@settings(max_examples=100)
@given(streams)
def test_huffman_decode_of_encode_is_identity(values):
    x = np.array(values, dtype=np.int64)
    np.testing.assert_array_equal(huffman_decode(huffman_encode(x)), x)


@settings(max_examples=100)
@given(small_alphabet)
def test_huffman_mean_length_lies_between_entropy_and_entropy_plus_one(values):
    x = np.array(values, dtype=np.int64)
    s = huffman_encode(x)
    h = empirical_entropy(x)
    assert h - 1e-9 <= s.bits_per_symbol
    if len(set(values)) >= 2:
        assert s.bits_per_symbol < h + 1
    else:
        assert s.n_bits == 0  # a one-symbol stream is its length


@settings(max_examples=100)
@given(small_alphabet)
def test_huffman_code_is_prefix_free_and_complete(values):
    table = huffman_table(np.array(values, dtype=np.int64))
    lengths, codes = table.lengths.astype(int), table.codes
    if lengths.size >= 2:
        assert sum(2.0**-n for n in lengths) == 1.0  # Kraft equality: a full binary tree
    words = [format(int(c), f"0{n}b") for c, n in zip(codes, lengths, strict=True)]
    for i, a in enumerate(words):
        for j, b in enumerate(words):
            assert i == j or not b.startswith(a)


@settings(max_examples=100)
@given(small_alphabet)
def test_huffman_lengths_are_optimal_like_an_exhaustive_two_merge_recount(values):
    # Huffman's total cost equals the sum of the merged weights (each merge adds one bit to
    # every symbol below it); recomputed here independently with a sorted list.
    x = np.array(values, dtype=np.int64)
    s = huffman_encode(x)
    weights = sorted(np.unique(x, return_counts=True)[1].tolist())
    cost = 0
    while len(weights) > 1:
        a, b = weights.pop(0), weights.pop(0)
        cost += a + b
        weights.append(a + b)
        weights.sort()
    assert s.n_bits == cost


def test_huffman_canonical_table_of_a_known_distribution():
    table = huffman_table([0, 0, 0, 0, 1, 1, 2, 3])
    assert table.symbols.tolist() == [0, 1, 2, 3]
    assert table.lengths.tolist() == [1, 2, 3, 3]
    assert [format(int(c), f"0{n}b") for c, n in zip(table.codes, table.lengths)] == [
        "0",
        "10",
        "110",
        "111",
    ]
    s = huffman_encode([0, 0, 0, 0, 1, 1, 2, 3])
    assert s.n_bits == 14 and s.data.tolist() == [0b00001010, 0b11011100]


def test_huffman_fibonacci_counts_give_the_deepest_tree():
    x = _fibonacci_stream(24)
    table = huffman_table(x)
    assert int(table.lengths.max()) == 23  # one more bit per symbol down the chain


def test_huffman_long_stream_round_trip_and_rate():
    x = np.random.default_rng(1).geometric(0.3, size=200_000)
    s = huffman_encode(x)
    np.testing.assert_array_equal(huffman_decode(s), x)
    assert empirical_entropy(x) <= s.bits_per_symbol < empirical_entropy(x) + 0.05


def test_huffman_encode_with_a_given_table_refuses_unknown_symbols():
    table = huffman_table([1, 2, 2])
    np.testing.assert_array_equal(huffman_decode(huffman_encode([2, 1, 2], table)), [2, 1, 2])
    with pytest.raises(ValueError, match=r"symbols \[3\] are not in the Huffman table"):
        huffman_encode([1, 3], table)


def test_huffman_table_refuses_lengths_breaking_kraft():
    with pytest.raises(ValueError, match="Kraft"):
        HuffmanTable(np.array([0, 1, 2]), np.array([1, 1, 1]))


@pytest.mark.parametrize(
    "corrupt, match",
    [
        (lambda s: dataclasses.replace(s, data=s.data[:-1]), "truncated or corrupted"),
        (lambda s: dataclasses.replace(s, n_symbols=s.n_symbols + 1), "does not parse"),
        (lambda s: dataclasses.replace(s, n_bits=s.n_bits - 3), "does not parse|needs"),
        (lambda s: dataclasses.replace(s, data=s.data.astype(np.int16)), "uint8"),
    ],
)
def test_huffman_decode_of_a_corrupted_stream_raises(corrupt, match):
    s = huffman_encode(np.random.default_rng(0).integers(0, 9, size=500))
    with pytest.raises(ValueError, match=match):
        huffman_decode(corrupt(s))


def test_huffman_decode_of_flipped_bits_never_returns_a_wrong_length():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, size=400)
    s = huffman_encode(x)
    for _ in range(20):
        data = s.data.copy()
        data[rng.integers(data.size)] ^= np.uint8(1 << rng.integers(8))
        try:
            y = huffman_decode(dataclasses.replace(s, data=data))
        except ValueError:
            continue
        assert y.shape == x.shape  # a flip that still parses gives n_symbols symbols


# ------------------------------------------------------------------------------- Tunstall
@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_tunstall_round_trip_is_exact_on_adversarial_streams(name):
    x = ADVERSARIAL[name]
    n_bits = None if name != "uint8 dtype" else 10
    np.testing.assert_array_equal(tunstall_decode(tunstall_encode(x, n_bits)), x.astype(np.int64))


@settings(max_examples=40)
@given(small_alphabet, st.integers(3, 9))
def test_tunstall_decode_of_encode_is_identity(values, n_bits):
    x = np.array(values, dtype=np.int64)
    np.testing.assert_array_equal(tunstall_decode(tunstall_encode(x, n_bits)), x)


@settings(max_examples=60)
@given(small_alphabet, st.integers(3, 8))
def test_tunstall_dictionary_is_complete_prefix_free_and_within_2_to_the_n_bits(values, n_bits):
    d = tunstall_dictionary(np.array(values, dtype=np.int64), n_bits)
    k = d.alphabet.size
    if k <= 1:
        assert d.n_words == 0
        return
    assert k <= d.n_words <= 2**n_bits
    assert (d.n_words - 1) % (k - 1) == 0  # K + m (K - 1) leaves after m splits
    words = [tuple(d.words[d.offsets[i] : d.offsets[i + 1]]) for i in range(d.n_words)]
    # complete and prefix-free: the leaf probabilities of a full K-ary tree sum to one
    assert math.isclose(sum(k ** -len(w) for w in words), 1.0)
    assert len(set(words)) == len(words)
    for a in words:
        assert not any(b != a and b[: len(a)] == a for b in words)


def test_tunstall_rate_is_at_least_the_entropy_and_nears_it_with_more_bits():
    x = np.random.default_rng(2).choice(4, size=20000, p=[0.7, 0.15, 0.1, 0.05])
    h = empirical_entropy(x)
    rates = [tunstall_encode(x, n).bits_per_symbol for n in (4, 8, 12)]
    assert all(r >= h - 1e-9 for r in rates)
    assert rates[0] > rates[1] > rates[2] and rates[2] < h + 0.1


def test_tunstall_known_dictionary():
    # p = (3/4, 1/4), 2 bits (4 words): split "0" (3/4), then "00" (9/16)
    d = tunstall_dictionary([0, 0, 0, 1], n_bits=2)
    words = sorted(tuple(d.word(i).tolist()) for i in range(d.n_words))
    assert words == [(0, 0, 0), (0, 0, 1), (0, 1), (1,)]
    # 3 bits (8 words): then "000", "0000", "1" (1/4 > 27/256...), "00000"
    d = tunstall_dictionary([0, 0, 0, 1], n_bits=3)
    words = sorted(tuple(d.word(i).tolist()) for i in range(d.n_words))
    assert words == [
        (0,) * 6,
        (0,) * 5 + (1,),
        (0, 0, 0, 0, 1),
        (0, 0, 0, 1),
        (0, 0, 1),
        (0, 1),
        (1, 0),
        (1, 1),
    ]


def test_tunstall_long_stream_round_trip():
    x = np.random.default_rng(4).geometric(0.3, size=200_000)
    s = tunstall_encode(x, n_bits=10)
    np.testing.assert_array_equal(tunstall_decode(s), x)


def test_tunstall_n_bits_too_small_for_the_alphabet_is_refused():
    with pytest.raises(ValueError, match=r"n_bits=2 cannot index the 5 symbols"):
        tunstall_dictionary(np.arange(5), n_bits=2)


@pytest.mark.parametrize(
    "corrupt, match",
    [
        (lambda s: dataclasses.replace(s, data=s.data[:-1]), "truncated or corrupted"),
        (lambda s: dataclasses.replace(s, n_symbols=s.n_symbols + 50), "inconsistent"),
        (lambda s: dataclasses.replace(s, n_bits=s.n_bits - 1, data=s.data), "multiple|needs"),
        (lambda s: dataclasses.replace(s, data=np.full_like(s.data, 255)), "word index"),
    ],
)
def test_tunstall_decode_of_a_corrupted_stream_raises(corrupt, match):
    x = np.random.default_rng(0).choice(3, size=300, p=[0.8, 0.1, 0.1])
    s = tunstall_encode(x, n_bits=5)  # 2**5 - 1 = 31 words at most with K = 3: 255 is too big
    assert s.dictionary.n_words < 32
    with pytest.raises(ValueError, match=match):
        tunstall_decode(corrupt(s))


# ------------------------------------------------------------------------------- shared
def test_entropy_of_uniform_and_constant_streams():
    assert empirical_entropy(np.arange(8).repeat(5)) == pytest.approx(3.0)
    assert empirical_entropy([4, 4, 4]) == 0.0
    assert empirical_entropy([]) == 0.0


@pytest.mark.parametrize("encode", [huffman_encode, tunstall_encode])
def test_encoders_refuse_non_integer_and_multidimensional_streams(encode):
    with pytest.raises(TypeError, match="symbols must be an array of integers"):
        encode(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="symbols must be 1-D"):
        encode(np.zeros((2, 2), dtype=int))


def test_decoders_refuse_the_wrong_record():
    with pytest.raises(TypeError, match="HuffmanStream"):
        huffman_decode(tunstall_encode([0, 1]))
    with pytest.raises(TypeError, match="TunstallStream"):
        tunstall_decode(huffman_encode([0, 1]))
    assert isinstance(huffman_encode([1]), HuffmanStream)
    assert isinstance(tunstall_encode([1]), TunstallStream)
