"""Entropy coding of integer streams: canonical Huffman and Tunstall (survey Sec. III-B).

The last stage of Deep Compression (Han, Mao & Dally, ICLR 2016): the quantized weight indices
and the sparse relative-index stream are far from uniform, so a code matched to their empirical
distribution stores them in fewer bits than their fixed width.

* **Huffman** (fixed-to-variable): each symbol gets a prefix-free code
  word of ``l_s`` bits with ``sum_s p_s l_s < H + 1`` (``H`` the empirical entropy in bits per
  symbol). The code is *canonical*: it is rebuilt from the code lengths alone (code words of
  equal length are consecutive integers, assigned in order of (length, symbol)), so the table
  stored beside the bits is the alphabet and one small integer per symbol.
* **Tunstall** (variable-to-fixed): a dictionary of at most ``2**n_bits`` source words, grown by
  repeatedly splitting the most probable word into its one-symbol extensions; the stream is
  parsed greedily into dictionary words and each word is written in ``n_bits`` bits. The rate
  is ``n_bits / E[word length] >= H``; fixed-width output allows random access.

Both encoders return a record holding the packed bits (``uint8``, most significant bit first),
the number of meaningful bits and symbols, and the table; the decoders invert them exactly.
Bits are packed with NumPy (``np.packbits``) and Tunstall indices unpacked from 64-bit windows.
Huffman decoding is serial by nature (a code word starts where the previous one ends), so it is
one small Numba loop over the bits (``benchmarks/bench_entropy.py``); Tunstall's greedy parse
is a Python loop over a list, one step per symbol.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from .._validation import check_int, check_real_dtype

__all__ = [
    "HuffmanTable",
    "HuffmanStream",
    "TunstallDictionary",
    "TunstallStream",
    "empirical_entropy",
    "huffman_table",
    "huffman_encode",
    "huffman_decode",
    "tunstall_dictionary",
    "tunstall_encode",
    "tunstall_decode",
]

#: Longest Huffman code word handled: a code word plus the 7-bit offset of its first bit must
#: fit one 64-bit window. A stream needs more than ``F(59) ~ 9.6e11`` symbols (Fibonacci counts)
#: before its Huffman code gets this long.
MAX_CODE_LENGTH = 57
#: Widest Tunstall code word (a dictionary of about a million words).
MAX_TUNSTALL_BITS = 20


# --------------------------------------------------------------------------- helpers
def _check_symbols(symbols: Any, name: str = "symbols") -> np.ndarray:
    """A 1-D ``int64`` copy of an integer stream (any integer dtype, possibly empty)."""
    arr = check_real_dtype(symbols, name)
    if arr.size and not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must be an array of integers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got ndim={arr.ndim} (shape {arr.shape})")
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"{name} holds values above {np.iinfo(np.int64).max}")
    return arr.astype(np.int64)


def empirical_entropy(symbols: Any) -> float:
    """Empirical entropy ``H = -sum_s p_s log2 p_s`` of a stream, in bits per symbol.

    ``p_s`` is the relative frequency of ``s`` in the stream; ``H`` is the lower bound of the
    average code length of any prefix code of the symbols taken one at a time (Shannon), and
    Huffman codes stay below ``H + 1``.

    Parameters
    ----------
    symbols : array_like of int
        A 1-D integer stream.

    Returns
    -------
    float
        ``0.0`` for an empty or one-symbol stream.
    """
    arr = _check_symbols(symbols)
    if arr.size == 0:
        return 0.0
    _, counts = np.unique(arr, return_counts=True)
    p = counts / arr.size
    return float(max(0.0, -(p * np.log2(p)).sum()))


def _pack(values: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, int]:
    """Concatenate the low ``lengths[i]`` bits of ``values[i]`` (MSB first) into packed bytes."""
    lengths = lengths.astype(np.int64)
    n_bits = int(lengths.sum())
    if n_bits == 0:
        return np.zeros(0, dtype=np.uint8), 0
    ends = np.cumsum(lengths)
    owner = np.repeat(np.arange(values.size), lengths)
    # position of each output bit inside its code word, counted from the least significant end
    shift = (ends[owner] - 1 - np.arange(n_bits)).astype(np.uint64)
    bits = ((values.astype(np.uint64)[owner] >> shift) & np.uint64(1)).astype(np.uint8)
    return np.packbits(bits), n_bits


def _windows(data: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The 64 bits that begin at each bit offset in ``starts``, left-aligned in ``uint64``.

    Bits past the end of ``data`` read as zeros; the top ``64 - 7`` bits are always exact.
    """
    padded = np.concatenate([data, np.zeros(8, dtype=np.uint8)])
    # a big-endian 64-bit word at every byte offset: overlapping views of the same buffer
    at_byte = np.ndarray(buffer=padded, dtype=">u8", shape=(data.size + 1,), strides=(1,))
    word = at_byte.astype(np.uint64)[starts >> 3]
    return word << (starts & 7).astype(np.uint64)


def _check_stream_fields(stream: Any, kind: str, table_name: str, table_type: type) -> None:
    """Field checks shared by the two stream records (types and lengths, not the content)."""
    data, n_bits = _check_packed(stream.data, stream.n_bits, kind)
    n = check_int(stream.n_symbols, f"{kind}.n_symbols", minimum=0)
    table = getattr(stream, table_name)
    if not isinstance(table, table_type):
        raise TypeError(f"{kind}.{table_name} must be a {table_type.__name__}, got {table!r}")
    object.__setattr__(stream, "data", data)
    object.__setattr__(stream, "n_bits", n_bits)
    object.__setattr__(stream, "n_symbols", n)


def _check_packed(data: Any, n_bits: Any, name: str) -> tuple[np.ndarray, int]:
    data = np.asarray(data)
    if data.dtype != np.uint8 or data.ndim != 1:
        raise ValueError(f"{name}.data must be a 1-D uint8 array, got {data.dtype} {data.shape}")
    n_bits = check_int(n_bits, f"{name}.n_bits", minimum=0)
    if (n_bits + 7) // 8 != data.size:
        raise ValueError(
            f"{name}.n_bits={n_bits} needs {(n_bits + 7) // 8} bytes, the stream holds "
            f"{data.size} (truncated or corrupted)"
        )
    return data, n_bits


# --------------------------------------------------------------------------- Huffman
@dataclass(frozen=True)
class HuffmanTable:
    """A canonical Huffman code: the alphabet and each symbol's code length.

    Code words are implied by the lengths (canonical assignment): symbols are sorted by
    ``(length, symbol)``; the first gets the all-zero word, and each next word is the previous
    plus one, shifted left by the increase in length.

    Attributes
    ----------
    symbols : numpy.ndarray of int64
        The alphabet, in canonical order (by length, then value).
    lengths : numpy.ndarray of uint8
        Code length of each symbol in bits (``0`` only for a one-symbol alphabet, whose
        stream is determined by its length alone).
    """

    symbols: np.ndarray
    lengths: np.ndarray

    def __post_init__(self) -> None:
        symbols = np.asarray(self.symbols)
        lengths = np.asarray(self.lengths)
        if symbols.ndim != 1 or lengths.shape != symbols.shape:
            raise ValueError(
                f"HuffmanTable needs 1-D symbols and lengths of equal shape, got "
                f"{symbols.shape} and {lengths.shape}"
            )
        if not np.issubdtype(symbols.dtype, np.integer) or not np.issubdtype(
            lengths.dtype, np.integer
        ):
            raise TypeError(
                f"HuffmanTable symbols and lengths must be integers, got {symbols.dtype} and "
                f"{lengths.dtype}"
            )
        symbols = symbols.astype(np.int64)
        lengths = lengths.astype(np.int64)
        if np.unique(symbols).size != symbols.size:
            raise ValueError("HuffmanTable symbols must be distinct")
        if symbols.size == 1:
            if lengths[0] != 0:
                raise ValueError("a one-symbol HuffmanTable has code length 0")
        elif symbols.size:
            if lengths.min() < 1 or lengths.max() > MAX_CODE_LENGTH:
                raise ValueError(
                    f"HuffmanTable lengths must lie in [1, {MAX_CODE_LENGTH}], got "
                    f"[{lengths.min()}, {lengths.max()}]"
                )
            kraft = sum(math.ldexp(1.0, -int(n)) for n in lengths)  # exact: powers of two
            if kraft > 1.0:
                raise ValueError(
                    f"HuffmanTable lengths violate the Kraft inequality (sum 2^-l = {kraft})"
                )
        order = np.lexsort((symbols, lengths))
        object.__setattr__(self, "symbols", symbols[order])
        object.__setattr__(self, "lengths", lengths[order].astype(np.uint8))

    @property
    def codes(self) -> np.ndarray:
        """The canonical code word of each symbol (``uint64``, its ``lengths[i]`` low bits)."""
        lengths = self.lengths.astype(np.int64)
        codes = np.zeros(lengths.size, dtype=np.uint64)
        code = 0
        for i in range(1, lengths.size):
            code = (code + 1) << int(lengths[i] - lengths[i - 1])
            codes[i] = code
        return codes

    def code_length(self, symbols: Any) -> np.ndarray:
        """Code length of each entry of ``symbols`` (all must be in the alphabet).

        Parameters
        ----------
        symbols : array_like of int

        Returns
        -------
        numpy.ndarray of int64
        """
        return self.lengths.astype(np.int64)[self._lookup(_check_symbols(symbols))]

    def _lookup(self, arr: np.ndarray) -> np.ndarray:
        """Position in the table of each entry of ``arr``."""
        order = np.argsort(self.symbols, kind="stable")
        sorted_symbols = self.symbols[order]
        pos = np.searchsorted(sorted_symbols, arr)
        pos = np.minimum(pos, max(sorted_symbols.size - 1, 0))
        if arr.size and (sorted_symbols.size == 0 or np.any(sorted_symbols[pos] != arr)):
            missing = np.setdiff1d(arr, self.symbols)[:5]
            raise ValueError(f"symbols {missing.tolist()} are not in the Huffman table")
        return order[pos]

    @property
    def nbytes(self) -> int:
        """Bytes of the stored table: the alphabet in its narrowest integer type + 1 byte/length."""
        return self.symbols.size * (_narrow_int(self.symbols).itemsize + 1)


def _narrow_int(values: np.ndarray) -> np.dtype:
    """The narrowest integer dtype holding every value."""
    if values.size == 0:
        return np.dtype(np.uint8)
    lo, hi = int(values.min()), int(values.max())
    for dt in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32):
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dt)
    return np.dtype(np.int64)


@dataclass(frozen=True)
class HuffmanStream:
    """A Huffman-coded stream: packed bits, their count, the symbol count and the table.

    Attributes
    ----------
    data : numpy.ndarray of uint8
        The code words back to back, most significant bit first, zero-padded to whole bytes.
    n_bits : int
        Meaningful bits in ``data``.
    n_symbols : int
        Symbols encoded.
    table : HuffmanTable
        The canonical code.
    """

    data: np.ndarray
    n_bits: int
    n_symbols: int
    table: HuffmanTable

    def __post_init__(self) -> None:
        _check_stream_fields(self, "HuffmanStream", "table", HuffmanTable)

    @property
    def bits_per_symbol(self) -> float:
        """Average code length ``n_bits / n_symbols`` (``0.0`` for an empty stream)."""
        return self.n_bits / self.n_symbols if self.n_symbols else 0.0

    @property
    def nbytes(self) -> int:
        """Bytes of the packed bits (the table is counted by ``table.nbytes``)."""
        return int(self.data.size)


def _huffman_lengths(counts: np.ndarray) -> np.ndarray:
    """Huffman code lengths for positive ``counts`` (depth of each leaf of the merge tree)."""
    k = counts.size
    if k <= 1:
        return np.zeros(k, dtype=np.int64)
    # heap of (weight, tie-break, node); leaves are 0..k-1, internal nodes k..2k-2
    heap = [(int(c), i, i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    parent = np.zeros(2 * k - 1, dtype=np.int64)
    node = k
    while len(heap) > 1:
        w1, _, a = heapq.heappop(heap)
        w2, _, b = heapq.heappop(heap)
        parent[a] = parent[b] = node
        heapq.heappush(heap, (w1 + w2, node, node))
        node += 1
    depth = np.zeros(2 * k - 1, dtype=np.int64)
    for n in range(2 * k - 3, -1, -1):  # parents are numbered after their children
        depth[n] = depth[parent[n]] + 1
    return depth[:k]


def huffman_table(symbols: Any) -> HuffmanTable:
    """The canonical Huffman code of a stream's empirical distribution.

    Huffman (1952): merge the two least frequent subtrees until one tree is left; a symbol's
    code length is its leaf's depth. Ties are broken by symbol value, so the table is a
    function of the stream alone.

    Parameters
    ----------
    symbols : array_like of int
        A 1-D integer stream; its distinct values form the alphabet.

    Returns
    -------
    HuffmanTable
        Empty for an empty stream; length ``0`` for a one-symbol alphabet.

    Examples
    --------
    >>> t = huffman_table([0, 0, 0, 0, 1, 1, 2, 3])
    >>> dict(zip(t.symbols.tolist(), t.lengths.tolist()))
    {0: 1, 1: 2, 2: 3, 3: 3}
    """
    arr = _check_symbols(symbols)
    alphabet, counts = np.unique(arr, return_counts=True)
    lengths = _huffman_lengths(counts)
    if lengths.size and lengths.max() > MAX_CODE_LENGTH:  # pragma: no cover (needs ~1e12 symbols)
        raise ValueError(
            f"the Huffman code of this stream needs {lengths.max()} bits for its rarest "
            f"symbol, more than {MAX_CODE_LENGTH}"
        )
    return HuffmanTable(alphabet, lengths)


def huffman_encode(symbols: Any, table: HuffmanTable | None = None) -> HuffmanStream:
    """Huffman-code a stream of integers.

    Parameters
    ----------
    symbols : array_like of int
        A 1-D integer stream.
    table : HuffmanTable, optional
        The code to use (every symbol must be in it); by default :func:`huffman_table` of the
        stream, whose average length ``L`` satisfies ``H <= L < H + 1``.

    Returns
    -------
    HuffmanStream

    Examples
    --------
    >>> s = huffman_encode([0, 0, 0, 0, 1, 1, 2, 3])
    >>> s.n_bits, s.data.tolist()
    (14, [10, 220])
    >>> huffman_decode(s).tolist()
    [0, 0, 0, 0, 1, 1, 2, 3]
    """
    arr = _check_symbols(symbols)
    if table is None:
        table = huffman_table(arr)
    elif not isinstance(table, HuffmanTable):
        raise TypeError(f"table must be a HuffmanTable, got {type(table).__name__}")
    pos = table._lookup(arr)
    data, n_bits = _pack(table.codes[pos], table.lengths[pos])
    return HuffmanStream(data=data, n_bits=n_bits, n_symbols=int(arr.size), table=table)


def huffman_decode(stream: HuffmanStream) -> np.ndarray:
    """Invert :func:`huffman_encode` exactly.

    Canonical decoding: for a code word of length ``l`` left-aligned in a 64-bit window ``w``,
    ``l`` is the first length whose last code word (left-aligned, plus one) exceeds ``w``, and
    the symbol's rank among the length-``l`` words is ``(w >> (64 - l)) - first_code[l]``.

    Parameters
    ----------
    stream : HuffmanStream

    Returns
    -------
    numpy.ndarray of int64
        The original symbols.

    Raises
    ------
    ValueError
        If the bits do not parse into exactly ``n_symbols`` code words (corrupted stream).
    """
    if not isinstance(stream, HuffmanStream):
        raise TypeError(f"stream must be a HuffmanStream, got {type(stream).__name__}")
    table = stream.table
    data, n_bits = _check_packed(stream.data, stream.n_bits, "stream")
    n = check_int(stream.n_symbols, "stream.n_symbols", minimum=0)
    if n and table.symbols.size == 0:
        raise ValueError(f"stream claims {n} symbols but its Huffman table is empty")
    if table.symbols.size <= 1:
        if n_bits:
            raise ValueError(f"a one-symbol stream carries no bits, this one has {n_bits}")
        return np.full(n, table.symbols[0] if n else 0, dtype=np.int64)
    if n > n_bits:
        raise ValueError(f"stream claims {n} symbols in {n_bits} bits (each needs >= 1 bit)")
    index = _decode_canonical(data, n_bits, n, *_canonical_arrays(table))
    if index is None:
        raise ValueError(
            f"stream does not parse into {n} Huffman code words of {n_bits} bits "
            "(truncated or corrupted)"
        )
    return table.symbols[index]


def _canonical_arrays(table: HuffmanTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per code length ``l`` (index ``l``): first code word, number of words, first index."""
    lengths = table.lengths.astype(np.int64)
    top = int(lengths.max())
    counts = np.bincount(lengths, minlength=top + 1).astype(np.int64)
    first_index = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    codes = table.codes.astype(np.int64)  # < 2**57
    first_code = np.zeros(top + 1, dtype=np.int64)
    used = counts > 0
    first_code[used] = codes[first_index[used]]
    return first_code, counts, first_index


def _decode_canonical(data, n_bits, n_symbols, first_code, counts, first_index):
    """Table indices of the code words, or ``None`` if the bits do not parse exactly."""
    out = np.empty(n_symbols, dtype=np.int64)
    used = _canonical_kernel(data, n_bits, n_symbols, first_code, counts, first_index, out)
    return out if used == n_bits else None


@numba.njit(cache=True, nogil=True)
def _canonical_kernel(
    data, n_bits, n_symbols, first_code, counts, first_index, out
):  # pragma: no cover
    """Serial canonical decoding, bit by bit: a code word of length ``l`` is the first prefix
    ``c`` with ``0 <= c - first_code[l] < counts[l]``. Returns the bits consumed, ``-1`` on a
    prefix that matches no word or bits that run out."""
    top = first_code.size - 1
    p = 0
    for i in range(n_symbols):
        code = 0
        length = 0
        while True:
            if p >= n_bits or length >= top:
                return -1
            code = (code << 1) | ((data[p >> 3] >> (7 - (p & 7))) & 1)
            p += 1
            length += 1
            rank = code - first_code[length]
            if counts[length] > 0 and 0 <= rank < counts[length]:
                out[i] = first_index[length] + rank
                break
    return p


# --------------------------------------------------------------------------- Tunstall
@dataclass(frozen=True)
class TunstallDictionary:
    """A Tunstall dictionary: ``len(offsets) - 1`` source words over ``alphabet``, each coded in
    ``n_bits`` bits.

    Attributes
    ----------
    alphabet : numpy.ndarray of int64
        The source symbols (sorted).
    words : numpy.ndarray of int64
        All words back to back, as indices into ``alphabet``.
    offsets : numpy.ndarray of int64
        Word ``i`` is ``words[offsets[i]:offsets[i + 1]]``.
    n_bits : int
        Width of a code word (``2**n_bits >= `` number of words).
    """

    alphabet: np.ndarray
    words: np.ndarray
    offsets: np.ndarray
    n_bits: int

    def __post_init__(self) -> None:
        alphabet = _check_symbols(self.alphabet, "alphabet")
        words = _check_symbols(self.words, "words")
        offsets = _check_symbols(self.offsets, "offsets")
        n_bits = check_int(self.n_bits, "n_bits", minimum=0, maximum=MAX_TUNSTALL_BITS)
        if offsets.size < 1 or offsets[0] != 0 or offsets[-1] != words.size:
            raise ValueError(f"offsets must run from 0 to len(words)={words.size}")
        if np.any(np.diff(offsets) < 1) or offsets.size - 1 > (1 << n_bits):
            raise ValueError(f"offsets must give 1 to 2**n_bits={1 << n_bits} non-empty words")
        if words.size and (words.min() < 0 or words.max() >= alphabet.size):
            raise ValueError(f"words must index the alphabet of {alphabet.size} symbols")
        for name, value in (("alphabet", alphabet), ("words", words), ("offsets", offsets)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "n_bits", n_bits)

    @property
    def n_words(self) -> int:
        """Number of dictionary words."""
        return int(self.offsets.size - 1)

    def word(self, i: int) -> np.ndarray:
        """The ``i``-th word as source symbols.

        Parameters
        ----------
        i : int

        Returns
        -------
        numpy.ndarray of int64
        """
        return self.alphabet[self.words[self.offsets[i] : self.offsets[i + 1]]]

    @property
    def nbytes(self) -> int:
        """Bytes of the stored dictionary: alphabet, word symbols (1 or 2 bytes) and one word
        length byte per word (the parse tree can also be rebuilt from the probabilities; this
        counts the explicit form)."""
        sym = 1 if self.alphabet.size <= 256 else 2
        return (
            self.alphabet.size * _narrow_int(self.alphabet).itemsize
            + self.words.size * sym
            + self.n_words * 2
        )


@dataclass(frozen=True)
class TunstallStream:
    """A Tunstall-coded stream.

    Attributes
    ----------
    data : numpy.ndarray of uint8
        The ``n_bits``-wide word indices back to back, MSB first, zero-padded.
    n_bits : int
        Meaningful bits (``n_words_coded * dictionary.n_bits``).
    n_symbols : int
        Source symbols encoded (the last word may run past them).
    dictionary : TunstallDictionary
    """

    data: np.ndarray
    n_bits: int
    n_symbols: int
    dictionary: TunstallDictionary

    def __post_init__(self) -> None:
        _check_stream_fields(self, "TunstallStream", "dictionary", TunstallDictionary)

    @property
    def bits_per_symbol(self) -> float:
        """``n_bits / n_symbols`` (``0.0`` for an empty stream)."""
        return self.n_bits / self.n_symbols if self.n_symbols else 0.0

    @property
    def nbytes(self) -> int:
        """Bytes of the packed indices."""
        return int(self.data.size)


def tunstall_dictionary(symbols: Any, n_bits: int | None = None) -> TunstallDictionary:
    """Tunstall's dictionary for a stream's empirical (memoryless) distribution.

    Tunstall (1967): start from the single symbols; while the dictionary has room for ``K - 1``
    more words (``K`` the alphabet size), replace the most probable word ``w`` by its ``K``
    extensions ``w a`` of probability ``P(w) p(a)``. This maximizes the expected word length
    among complete dictionaries of that size, so the rate ``n_bits / E[len]`` is the best
    variable-to-fixed rate.

    Parameters
    ----------
    symbols : array_like of int
        A 1-D integer stream (its symbol frequencies are the model).
    n_bits : int, optional
        Code word width, ``ceil(log2 K) <= n_bits <= 20``; default ``ceil(log2 K) + 4``.

    Returns
    -------
    TunstallDictionary
        Its words are in the order of their parse-tree leaves (depth first, by symbol).
    """
    arr = _check_symbols(symbols)
    alphabet, counts = np.unique(arr, return_counts=True)
    k = alphabet.size
    need = max(1, math.ceil(math.log2(k))) if k > 1 else 0
    if n_bits is None:
        n_bits = min(need + 4, MAX_TUNSTALL_BITS) if k > 1 else 0
    n_bits = check_int(n_bits, "n_bits", minimum=0, maximum=MAX_TUNSTALL_BITS)
    if n_bits < need:
        raise ValueError(
            f"n_bits={n_bits} cannot index the {k} symbols of the alphabet (needs >= {need})"
        )
    if k <= 1:  # the stream is its length: no words, no bits
        return TunstallDictionary(
            alphabet, np.zeros(0, np.int64), np.zeros(1, np.int64), n_bits if k else 0
        )
    logp = np.log(counts / counts.sum())
    capacity = 1 << n_bits
    # max-heap of leaves by log-probability; tie-break by creation order for determinism
    heap = [(-float(logp[a]), a, (a,)) for a in range(k)]
    heapq.heapify(heap)
    n_leaves, serial = k, k
    while n_leaves + k - 1 <= capacity:
        neg, _, word = heapq.heappop(heap)
        for a in range(k):
            heapq.heappush(heap, (neg - float(logp[a]), serial, word + (a,)))
            serial += 1
        n_leaves += k - 1
    leaves = sorted(word for _, _, word in heap)
    offsets = np.zeros(len(leaves) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(w) for w in leaves])
    words = np.fromiter((a for w in leaves for a in w), dtype=np.int64, count=int(offsets[-1]))
    return TunstallDictionary(alphabet, words, offsets, n_bits)


def _parse_tree(dictionary: TunstallDictionary) -> list[list[int]]:
    """``child[node][a]``: next internal node (``>= 0``) or ``-1 - leaf index``."""
    k = dictionary.alphabet.size
    child: list[list[int]] = [[0] * k]
    filled: list[list[bool]] = [[False] * k]
    words, offsets = dictionary.words.tolist(), dictionary.offsets.tolist()
    for i in range(len(offsets) - 1):
        word = words[offsets[i] : offsets[i + 1]]
        node = 0
        for a in word[:-1]:
            if not filled[node][a]:
                child.append([0] * k)
                filled.append([False] * k)
                child[node][a] = len(child) - 1
                filled[node][a] = True
            elif child[node][a] < 0:
                raise ValueError("Tunstall dictionary is not prefix-free")
            node = child[node][a]
        if filled[node][word[-1]]:
            raise ValueError("Tunstall dictionary is not prefix-free")
        child[node][word[-1]] = -1 - i
        filled[node][word[-1]] = True
    if not all(all(row) for row in filled):
        raise ValueError("Tunstall dictionary is not complete (some parse has no word)")
    return child


def tunstall_encode(
    symbols: Any, n_bits: int | None = None, dictionary: TunstallDictionary | None = None
) -> TunstallStream:
    """Tunstall-code a stream: parse it greedily into dictionary words, write each index in
    ``n_bits`` bits.

    The last word may be cut short by the end of the stream; it is completed along the parse
    tree by the first symbol of each branch, and the decoder drops the excess using
    ``n_symbols``.

    Parameters
    ----------
    symbols : array_like of int
        A 1-D integer stream.
    n_bits : int, optional
        Code word width for the default dictionary (see :func:`tunstall_dictionary`).
    dictionary : TunstallDictionary, optional
        A dictionary to use instead (every symbol must be in its alphabet).

    Returns
    -------
    TunstallStream

    Examples
    --------
    >>> s = tunstall_encode([0, 0, 0, 1, 0, 0, 0, 0, 2], n_bits=3)
    >>> tunstall_decode(s).tolist()
    [0, 0, 0, 1, 0, 0, 0, 0, 2]
    """
    arr = _check_symbols(symbols)
    if dictionary is None:
        dictionary = tunstall_dictionary(arr, n_bits)
    elif not isinstance(dictionary, TunstallDictionary):
        raise TypeError(f"dictionary must be a TunstallDictionary, got {type(dictionary).__name__}")
    alphabet = dictionary.alphabet
    if alphabet.size <= 1:
        if arr.size and (alphabet.size == 0 or np.any(arr != alphabet[0])):
            raise ValueError("symbols are not all in the Tunstall dictionary's alphabet")
        empty = np.zeros(0, dtype=np.uint8)
        return TunstallStream(empty, 0, int(arr.size), dictionary)
    pos = np.searchsorted(alphabet, arr)
    pos = np.minimum(pos, alphabet.size - 1)
    if arr.size and np.any(alphabet[pos] != arr):
        missing = np.setdiff1d(arr, alphabet)[:5]
        raise ValueError(f"symbols {missing.tolist()} are not in the Tunstall alphabet")
    child = _parse_tree(dictionary)
    out: list[int] = []
    node = 0
    for a in pos.tolist():
        nxt = child[node][a]
        if nxt < 0:
            out.append(-1 - nxt)
            node = 0
        else:
            node = nxt
    while node != 0:  # finish the cut-short last word along the first branches
        nxt = child[node][0]
        if nxt < 0:
            out.append(-1 - nxt)
            node = 0
        else:
            node = nxt
    indices = np.asarray(out, dtype=np.uint64)
    data, total = _pack(indices, np.full(indices.size, dictionary.n_bits, dtype=np.int64))
    return TunstallStream(data, total, int(arr.size), dictionary)


def tunstall_decode(stream: TunstallStream) -> np.ndarray:
    """Invert :func:`tunstall_encode` exactly: read ``n_bits``-wide indices, concatenate words.

    Parameters
    ----------
    stream : TunstallStream

    Returns
    -------
    numpy.ndarray of int64

    Raises
    ------
    ValueError
        If an index is outside the dictionary or the words hold fewer symbols than
        ``n_symbols`` or more than one word's worth beyond it (corrupted stream).
    """
    if not isinstance(stream, TunstallStream):
        raise TypeError(f"stream must be a TunstallStream, got {type(stream).__name__}")
    d = stream.dictionary
    data, n_bits = _check_packed(stream.data, stream.n_bits, "stream")
    n = check_int(stream.n_symbols, "stream.n_symbols", minimum=0)
    if d.alphabet.size <= 1:
        if n_bits:
            raise ValueError(f"a one-symbol stream carries no bits, this one has {n_bits}")
        if n and d.alphabet.size == 0:
            raise ValueError(f"stream claims {n} symbols but its alphabet is empty")
        return np.full(n, d.alphabet[0] if n else 0, dtype=np.int64)
    width = check_int(d.n_bits, "dictionary.n_bits", minimum=1, maximum=MAX_TUNSTALL_BITS)
    if n_bits % width:
        raise ValueError(f"stream.n_bits={n_bits} is not a multiple of the word width {width}")
    starts = np.arange(0, n_bits, width, dtype=np.int64)
    indices = (_windows(data, starts) >> np.uint64(64 - width)).astype(np.int64)
    if indices.size and indices.max() >= d.n_words:
        raise ValueError(
            f"stream holds word index {indices.max()} but the dictionary has {d.n_words} words"
        )
    lengths = np.diff(d.offsets)[indices]
    total = int(lengths.sum())
    last = int(lengths[-1]) if lengths.size else 0
    if total < n or (n > 0 and total - last >= n) or (n == 0 and total > 0):
        raise ValueError(
            f"stream's {indices.size} words hold {total} symbols, inconsistent with "
            f"n_symbols={n} (truncated or corrupted)"
        )
    # gather the words: position j of the output reads words[offsets[idx] + (j - start)]
    ends = np.cumsum(lengths)
    owner = np.repeat(np.arange(indices.size), lengths)
    within = np.arange(total) - (ends - lengths)[owner]
    flat = d.words[d.offsets[indices][owner] + within]
    return d.alphabet[flat[:n]]
