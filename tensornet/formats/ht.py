"""Hierarchical Tucker (HT) tensors on a binary dimension tree (survey eq. 6-7, Fig. 2-3).

Dimension tree
--------------
A dimension tree for ``d`` modes is a binary tree whose root holds all modes ``{0, ..., d-1}``,
whose leaves hold one mode each and where every interior node is the disjoint union of its two
children. :class:`DimensionTree` stores it as a list of nodes in breadth-first order (root
first); node ``t`` is the tuple of its modes, left child's modes first.

HT format (Hackbusch & Kühn 2009; Grasedyck 2010)
-------------------------------------------------
Every node ``t`` carries a basis of rank ``k_t``: a leaf stores ``U_t`` of shape ``(I_t, k_t)``,
an interior node ``t`` with children ``(l, r)`` stores a *transfer tensor* ``B_t`` of shape
``(k_l, k_r, k_t)`` that defines its basis implicitly (survey eq. 6-7):

.. math::

    U_t[(i_l, i_r), a] = \\sum_{b, c} U_l[i_l, b]\\, U_r[i_r, c]\\, B_t[b, c, a],

i.e. ``U_t = (U_l ⊗ U_r) B_t`` with the left child's index varying slowest (C order). The root
has ``k_root = 1`` and ``U_root`` is the vectorized tensor (modes in the root's order). The
format stores ``sum_leaves I_t k_t + sum_interior k_l k_r k_t`` numbers.

``ranks`` lists ``k_t`` for every node in :attr:`DimensionTree.nodes` order (the root's 1
included).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._deprecation import deprecated_alias, deprecated_arguments
from .._validation import check_array, check_int, check_shape
from .base import StructuredTensor
from .tt import check_index_batch

__all__ = ["DimensionTree", "HTTensor"]


class DimensionTree:
    """A binary dimension tree over the modes ``0..d-1`` (Grasedyck 2010, Def. 3.1).

    Parameters
    ----------
    spec : int or nested sequence
        A nested pair structure whose leaves are the mode numbers, e.g. ``((0, 1), (2, 3))``
        (the balanced tree for ``d = 4``) or ``(0, (1, (2, 3)))`` (a linear, TT-like tree).
        Every interior node must have exactly two children, and every mode ``0..d-1`` must
        appear exactly once. An ``int`` ``d`` gives :meth:`balanced` ``(d)``.

    Attributes
    ----------
    d : int
        Number of modes.
    nodes : list of tuple of int
        Nodes in breadth-first order, root first; a node is the tuple of its modes in tree
        (left-to-right) order.
    children : list of tuple of int or None
        ``children[t] = (left, right)`` node indices, or ``None`` for a leaf.
    parent : list of int or None
        Parent node index (``None`` for the root).

    Raises
    ------
    ValueError
        If the tree is not binary, a mode is missing or repeated, or ``d < 2``.
    TypeError
        If a leaf is not an integer.

    Examples
    --------
    >>> DimensionTree(4).nodes
    [(0, 1, 2, 3), (0, 1), (2, 3), (0,), (1,), (2,), (3,)]
    """

    def __init__(self, spec: Any) -> None:
        if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
            spec = _balanced_spec(list(range(check_int(spec, "d", minimum=2))))
        if isinstance(spec, DimensionTree):
            spec = spec.spec
        self.nodes: list[tuple[int, ...]] = []
        self.children: list[tuple[int, int] | None] = []
        self.parent: list[int | None] = []
        self._build(spec)
        self.d = len(self.nodes[0])
        found = sorted(self.nodes[0])
        if self.d < 2:
            raise ValueError(f"a dimension tree needs at least 2 modes, got tree={spec!r}")
        if found != list(range(self.d)):
            missing = sorted(set(range(self.d)) - set(found))
            repeated = sorted({m for m in found if found.count(m) > 1})
            outside = sorted({m for m in found if m >= self.d})
            raise ValueError(
                f"tree={spec!r} must cover every mode 0..{self.d - 1} exactly once "
                f"(missing {missing}, repeated {repeated}, out of range {outside})"
            )
        self.spec = self._spec_of(0)

    # ----------------------------------------------------------------- construction
    @classmethod
    def balanced(cls, d: int) -> DimensionTree:
        """The balanced tree: every node splits its modes into a first half of ``ceil(n/2)``.

        Parameters
        ----------
        d : int
            Number of modes, ``>= 2``.

        Returns
        -------
        DimensionTree
        """
        return cls(_balanced_spec(list(range(check_int(d, "d", minimum=2)))))

    @classmethod
    def linear(cls, d: int) -> DimensionTree:
        """The degenerate tree ``(0, (1, (2, ... (d-2, d-1))))`` whose HT ranks are TT ranks.

        Parameters
        ----------
        d : int
            Number of modes, ``>= 2``.

        Returns
        -------
        DimensionTree
        """
        d = check_int(d, "d", minimum=2)
        spec: Any = d - 1
        for k in range(d - 2, -1, -1):
            spec = (k, spec)
        return cls(spec)

    def _build(self, spec: Any) -> None:
        """Breadth-first construction with validation of every node."""
        queue: list[tuple[Any, int | None]] = [(spec, None)]
        specs: list[Any] = []
        while queue:
            node_spec, parent = queue.pop(0)
            index = len(specs)
            specs.append(node_spec)
            self.parent.append(parent)
            self.children.append(None)
            if parent is not None:
                left_right = self.children[parent]
                self.children[parent] = (index,) if left_right is None else (*left_right, index)
            if isinstance(node_spec, (int, np.integer)) and not isinstance(node_spec, bool):
                if node_spec < 0:
                    raise ValueError(f"tree leaves must be modes >= 0, got {node_spec}")
                continue
            if not isinstance(node_spec, (Sequence, np.ndarray)) or isinstance(
                node_spec, (str, bytes)
            ):
                raise TypeError(
                    f"tree nodes must be mode numbers (int) or pairs of subtrees, got {node_spec!r}"
                )
            if len(node_spec) != 2:
                raise ValueError(
                    f"the dimension tree must be binary: node {node_spec!r} has "
                    f"{len(node_spec)} children, expected 2"
                )
            queue.extend((child, index) for child in node_spec)
        # modes of every node, children first (reverse BFS order)
        modes: list[tuple[int, ...]] = [()] * len(specs)
        for t in range(len(specs) - 1, -1, -1):
            kids = self.children[t]
            modes[t] = (int(specs[t]),) if kids is None else modes[kids[0]] + modes[kids[1]]
        self.nodes = modes

    def _spec_of(self, t: int) -> Any:
        kids = self.children[t]
        if kids is None:
            return self.nodes[t][0]
        return (self._spec_of(kids[0]), self._spec_of(kids[1]))

    # ----------------------------------------------------------------- queries
    @property
    def n_nodes(self) -> int:
        """Number of nodes, ``2d - 1``."""
        return len(self.nodes)

    def is_leaf(self, t: int) -> bool:
        """Whether node ``t`` is a leaf.

        Parameters
        ----------
        t : int
            Node index.

        Returns
        -------
        bool
        """
        return self.children[t] is None

    @property
    def leaves(self) -> list[int]:
        """Indices of the leaves, in breadth-first order."""
        return [t for t in range(self.n_nodes) if self.is_leaf(t)]

    @property
    def interior(self) -> list[int]:
        """Indices of the interior nodes (root included), in breadth-first order."""
        return [t for t in range(self.n_nodes) if not self.is_leaf(t)]

    def leaf_of_mode(self, mode: int) -> int:
        """Index of the leaf that holds ``mode``.

        Parameters
        ----------
        mode : int
            A mode ``0..d-1``.

        Returns
        -------
        int
        """
        return self.nodes.index((mode,))

    def postorder(self) -> list[int]:
        """Node indices with every node after its two children (left subtree first).

        Returns
        -------
        list of int
        """
        out: list[int] = []

        def visit(t: int) -> None:
            kids = self.children[t]
            if kids is not None:
                visit(kids[0])
                visit(kids[1])
            out.append(t)

        visit(0)
        return out

    def depth(self, t: int) -> int:
        """Distance of node ``t`` from the root.

        Parameters
        ----------
        t : int
            Node index.

        Returns
        -------
        int
        """
        depth = 0
        parent = self.parent[t]
        while parent is not None:
            depth += 1
            parent = self.parent[parent]
        return depth

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DimensionTree) and self.spec == other.spec

    def __hash__(self) -> int:
        return hash(repr(self.spec))

    def __repr__(self) -> str:
        return f"DimensionTree({self.spec!r})"


def _balanced_spec(modes: list[int]) -> Any:
    """Nested-pair spec of the balanced tree over ``modes``."""
    if len(modes) == 1:
        return modes[0]
    half = (len(modes) + 1) // 2
    return (_balanced_spec(modes[:half]), _balanced_spec(modes[half:]))


def _as_tree(tree: Any, d: int) -> DimensionTree:
    """``tree`` (None, spec or DimensionTree) as a validated tree over ``d`` modes."""
    out = DimensionTree.balanced(d) if tree is None else DimensionTree(tree)
    if out.d != d:
        raise ValueError(f"tree={out.spec!r} covers {out.d} modes but the tensor has {d} modes")
    return out


def _tree_to_json(spec: Any) -> Any:
    return spec if isinstance(spec, int) else [_tree_to_json(s) for s in spec]


class HTTensor(StructuredTensor):
    """A tensor in hierarchical Tucker format (survey eq. 6-7, Fig. 2).

    Parameters
    ----------
    tree : DimensionTree or nested sequence
        The dimension tree (see :class:`DimensionTree`).
    leaves : sequence of array_like
        ``leaves[k]`` is the basis ``U`` of shape ``(I_k, k_t)`` of the leaf holding mode ``k``
        (indexed by *mode*, not by node).
    transfers : dict of int to array_like, or sequence
        The transfer tensors ``B_t`` of shape ``(k_l, k_r, k_t)`` of the interior nodes, keyed by
        node index (a sequence is read in :attr:`DimensionTree.interior` order). The root's
        ``B`` may be given as a ``(k_l, k_r)`` matrix.
    orthonormal : bool
        Declares that every leaf basis has orthonormal columns and every non-root ``B_t``
        reshaped to ``(k_l k_r, k_t)`` has orthonormal columns (as produced by
        :func:`tensornet.decompositions.ht_svd`). Then :meth:`norm` is ``||B_root||_F``.

    Attributes
    ----------
    tree : DimensionTree
    leaves : list of numpy.ndarray
    transfers : dict of int to numpy.ndarray
    info : dict
        Filled by :func:`~tensornet.decompositions.ht_svd` (``error``, ``rel_error``,
        ``node_errors``).

    Raises
    ------
    ValueError
        If a shape does not fit its children's ranks or a node is missing.
    """

    _scale_attr = "transfers"

    def __init__(
        self,
        tree: Any,
        leaves: Sequence[np.ndarray],
        transfers: dict[int, np.ndarray] | Sequence[np.ndarray],
        orthonormal: bool = False,
    ) -> None:
        self.tree = tree if isinstance(tree, DimensionTree) else DimensionTree(tree)
        d = self.tree.d
        if len(leaves) != d:
            raise ValueError(f"leaves must hold {d} matrices (one per mode), got {len(leaves)}")
        self.leaves = [check_array(u, f"leaves[{k}]", ndim=2) for k, u in enumerate(leaves)]
        interior = self.tree.interior
        if not isinstance(transfers, dict):
            if len(transfers) != len(interior):
                raise ValueError(
                    f"transfers must hold {len(interior)} tensors (one per interior node), "
                    f"got {len(transfers)}"
                )
            transfers = dict(zip(interior, transfers, strict=False))
        if sorted(transfers) != interior:
            raise ValueError(f"transfers must be keyed by the interior nodes {interior}")
        self.transfers: dict[int, np.ndarray] = {}
        for t in interior:
            b = check_array(transfers[t], f"transfers[{t}]")
            if t == 0 and b.ndim == 2:
                b = b[:, :, None]
            self.transfers[t] = b
        self.orthonormal = bool(orthonormal)
        self._check_ranks()
        dtype = np.result_type(*self.leaves, *self.transfers.values())
        self.leaves = [u.astype(dtype, copy=False) for u in self.leaves]
        self.transfers = {t: b.astype(dtype, copy=False) for t, b in self.transfers.items()}
        self.info: dict[str, Any] = {}

    def _rank_of(self, t: int) -> int:
        if self.tree.is_leaf(t):
            return self.leaves[self.tree.nodes[t][0]].shape[1]
        return self.transfers[t].shape[2]

    def _check_ranks(self) -> None:
        for t in self.tree.interior:
            b = self.transfers[t]
            left, right = self.tree.children[t]
            want = (self._rank_of(left), self._rank_of(right))
            if b.ndim != 3 or b.shape[:2] != want:
                raise ValueError(
                    f"transfers[{t}] (node {self.tree.nodes[t]}) has shape {b.shape}, expected "
                    f"({want[0]}, {want[1]}, k_t) from the ranks of its children"
                )
        if self.transfers[0].shape[2] != 1:
            raise ValueError(
                "the root transfer tensor must have k_root = 1, got shape "
                f"{self.transfers[0].shape}"
            )

    # ----------------------------------------------------------------- structure
    @property
    def shape(self) -> tuple[int, ...]:
        """Shape ``(I_0, ..., I_{d-1})``."""
        return tuple(int(u.shape[0]) for u in self.leaves)

    @property
    def ranks(self) -> tuple[int, ...]:
        """``k_t`` of every node in :attr:`DimensionTree.nodes` order (root first, ``k_root=1``)."""
        return tuple(int(self._rank_of(t)) for t in range(self.tree.n_nodes))

    @property
    def n_params(self) -> int:
        """``sum_leaves I_t k_t + sum_interior k_l k_r k_t`` stored numbers."""
        return int(sum(u.size for u in self.leaves) + sum(b.size for b in self.transfers.values()))

    # ----------------------------------------------------------------- dense
    def node_basis(self, t: int) -> np.ndarray:
        """The (implicit) basis ``U_t`` of node ``t``, shape ``(prod_{k in t} I_k, k_t)``.

        Rows are indexed by the modes of ``t`` in tree order (C order, first mode slowest).

        Parameters
        ----------
        t : int
            Node index.

        Returns
        -------
        numpy.ndarray
        """
        if self.tree.is_leaf(t):
            return self.leaves[self.tree.nodes[t][0]]
        left, right = self.tree.children[t]
        ul, ur = self.node_basis(left), self.node_basis(right)
        b = self.transfers[t]
        # U_t[(i_l, i_r), a] = sum_{b, c} U_l[i_l, b] U_r[i_r, c] B_t[b, c, a]
        tmp = np.tensordot(ul, b, axes=([1], [0]))  # (I_l, k_r, k_t)
        out = np.einsum("jc,ica->ija", ur, tmp)  # (I_l, I_r, k_t)
        return out.reshape(ul.shape[0] * ur.shape[0], b.shape[2])

    def _full(self) -> np.ndarray:
        root_modes = self.tree.nodes[0]
        dense = self.node_basis(0).reshape([self.shape[k] for k in root_modes])
        return np.transpose(dense, np.argsort(root_modes))

    # ----------------------------------------------------------------- norms, elements
    def _gram(self, t: int) -> np.ndarray:
        """``U_t^T U_t`` computed bottom-up from the children's Gram matrices."""
        if self.tree.is_leaf(t):
            u = self.leaves[self.tree.nodes[t][0]]
            return u.T @ u
        left, right = self.tree.children[t]
        gl, gr = self._gram(left), self._gram(right)
        b = self.transfers[t]
        return np.einsum("bca,bd,ce,def->af", b, gl, gr, b, optimize=True)

    def norm(self) -> float:
        """Frobenius norm without densifying.

        With :attr:`orthonormal` nodes every ``U_t`` has orthonormal columns, so
        ``||X||_F = ||B_root||_F``; otherwise the Gram matrices ``U_t^T U_t`` are propagated
        from the leaves to the root (``O(sum k^4)`` work).

        Returns
        -------
        float
        """
        if self.orthonormal:
            return float(np.linalg.norm(self.transfers[0].ravel()))
        return float(np.sqrt(max(float(self._gram(0)[0, 0]), 0.0)))

    def gather(self, index: np.ndarray) -> np.ndarray:
        """Elements at a batch of multi-indices, walking the tree bottom-up with one row per index.

        Parameters
        ----------
        index : array_like of int, shape (n, d)
            One full multi-index per row; negative entries count from the end (as in
            :meth:`TTTensor.gather <tensornet.formats.TTTensor.gather>`).

        Returns
        -------
        numpy.ndarray, shape (n,)
        """
        idx = check_index_batch(index, self.shape)
        vec: dict[int, np.ndarray] = {}
        for t in self.tree.postorder():
            if self.tree.is_leaf(t):
                mode = self.tree.nodes[t][0]
                vec[t] = self.leaves[mode][idx[:, mode]]
            else:
                left, right = self.tree.children[t]
                vl, vr = vec.pop(left), vec.pop(right)
                vec[t] = np.einsum("nb,nc,bca->na", vl, vr, self.transfers[t])
        return vec[0][:, 0]

    elements = deprecated_alias(gather, "elements")

    def __getitem__(self, index: tuple[int, ...]) -> float:
        """One element ``X[i_0, ..., i_{d-1}]`` (a full integer index).

        Parameters
        ----------
        index : tuple of int
            One integer per mode (negative values count from the end).

        Returns
        -------
        float
        """
        row = np.array([self._element_index(index)])
        return float(self.gather(row)[0])

    # ----------------------------------------------------------------- chain computation
    @deprecated_arguments(renamed={"in_shape": "in_modes", "out_shape": "out_modes"})
    def contract(
        self,
        x: np.ndarray,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
    ) -> np.ndarray:
        """Contract a batch of tensorized inputs with the HT tensor, leaves to root (survey Fig. 3).

        Every mode ``k`` of the HT tensor is read as a pair ``(i_k, j_k)`` of an input index
        ``i_k < in_modes[k]`` (slow) and an output index ``j_k < out_modes[k]`` (fast), so
        ``I_k = in_modes[k] * out_modes[k]``. The result is

        .. math::

            Y[b, j_0, \\dots, j_{d-1}] = \\sum_{i_0, \\dots, i_{d-1}}
                x[b, i_0, \\dots, i_{d-1}]\\;
                \\mathcal{X}[i_0 J_0 + j_0, \\dots, i_{d-1} J_{d-1} + j_{d-1}],

        i.e. ``Y = x_mat @ W`` with ``W[(i_0..i_{d-1}), (j_0..j_{d-1})]`` the HT tensor seen as
        a matrix (C order on both sides): the product an HT linear layer computes. With
        ``out_modes`` all ones (the default) it is the batch of inner products
        ``<x[b], X>``, shape ``(B,)``.

        The dense tensor is never formed: the tree is walked in post-order; at a leaf the input
        index ``i_k`` is contracted with ``U_k`` (reshaped ``(in_k, out_k, k_t)``), which opens
        the output index ``j_k`` and a rank index; at an interior node the two children's rank
        indices are contracted with ``B_t`` into one rank index of size ``k_t``. Each sibling
        pair is merged as soon as both are done, which keeps the intermediates small.

        Parameters
        ----------
        x : array_like, shape (B, in_0, ..., in_{d-1})
            The batch of tensorized inputs (use :func:`tensornet.algebra.tensorize` with
            ``batch=True`` to tensorize vectors).
        in_modes : sequence of int, optional
            ``(in_0, ..., in_{d-1})``; by default ``x.shape[1:]``.
        out_modes : sequence of int, optional
            ``(out_0, ..., out_{d-1})``; by default ``I_k / in_k``.

        Returns
        -------
        numpy.ndarray, shape (B, out_0, ..., out_{d-1}), or (B,) when every ``out_k = 1``

        Raises
        ------
        ValueError
            If ``in_k * out_k != I_k`` or ``x`` has the wrong shape.
        """
        x = check_array(x, "x", ndim=self.ndim + 1)
        d = self.ndim
        in_modes = tuple(x.shape[1:]) if in_modes is None else tuple(int(n) for n in in_modes)
        if len(in_modes) != d or tuple(x.shape[1:]) != in_modes:
            raise ValueError(f"x must have shape (B, *in_modes) = (B, {in_modes}), got {x.shape}")
        if out_modes is None:
            for k, (i, size) in enumerate(zip(in_modes, self.shape, strict=False)):
                if size % i:
                    raise ValueError(
                        f"in_modes[{k}]={i} does not divide the HT mode size I_{k}={size}"
                    )
            out_modes = tuple(size // i for i, size in zip(in_modes, self.shape, strict=False))
        out_modes = _check_out_modes(out_modes, d)
        for k, (i, j, size) in enumerate(zip(in_modes, out_modes, self.shape, strict=True)):
            if i * j != size:
                raise ValueError(
                    f"in_modes[{k}] * out_modes[{k}] = {i} * {j} must equal the HT mode size "
                    f"I_{k}={size}"
                )
        # Axis labels of the running tensor z: ("b",), ("i", k), ("j", k), ("a", node).
        z = x
        labels: list[tuple[str, int]] = [("b", 0)] + [("i", k) for k in range(d)]
        for t in self.tree.postorder():
            if self.tree.is_leaf(t):
                k = self.tree.nodes[t][0]
                u = self.leaves[k].reshape(in_modes[k], out_modes[k], -1)
                z = np.tensordot(z, u, axes=([labels.index(("i", k))], [0]))
                labels.remove(("i", k))
                labels += [("j", k), ("a", t)]
            else:
                left, right = self.tree.children[t]
                axes = [labels.index(("a", left)), labels.index(("a", right))]
                z = np.tensordot(z, self.transfers[t], axes=(axes, [0, 1]))
                labels = [lab for lab in labels if lab not in (("a", left), ("a", right))]
                labels.append(("a", t))
        order = [labels.index(("b", 0))] + [labels.index(("j", k)) for k in range(d)]
        order.append(labels.index(("a", 0)))
        y = np.transpose(z, order)[..., 0]
        if all(j == 1 for j in out_modes):
            return y.reshape(y.shape[0])
        return y

    # ----------------------------------------------------------------- storage
    def _arrays(self) -> dict[str, np.ndarray]:
        out = {f"leaf_{k}": u for k, u in enumerate(self.leaves)}
        out.update({f"transfer_{t}": b for t, b in self.transfers.items()})
        return out

    def _metadata(self) -> dict[str, Any]:
        return {"tree": _tree_to_json(self.tree.spec), "orthonormal": self.orthonormal}

    @classmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> HTTensor:
        tree = DimensionTree(meta["tree"])
        leaves = [arrays[f"leaf_{k}"] for k in range(tree.d)]
        transfers = {t: arrays[f"transfer_{t}"] for t in tree.interior}
        claim = meta.get("orthonormal", False)
        if not isinstance(claim, bool):
            raise TypeError(f"orthonormal={claim!r} must be true or false")
        out = cls(tree, leaves, transfers, orthonormal=claim)
        if claim and not out._bases_orthonormal():
            raise ValueError("it claims orthonormal=true but its bases are not orthonormal")
        return out

    def _bases_orthonormal(self, tol: float = 1e-8) -> bool:
        """Whether every leaf and every non-root ``B_t`` (as ``(k_l k_r, k_t)``) has
        orthonormal columns, to ``tol`` (the claim :meth:`norm` relies on)."""
        mats = list(self.leaves)
        mats += [b.reshape(-1, b.shape[2]) for t, b in self.transfers.items() if t != 0]
        for m in mats:
            atol = max(tol, 100 * float(np.finfo(m.dtype).eps)) * max(m.shape)
            m = m.astype(np.float64, copy=False)
            if not np.allclose(m.T @ m, np.eye(m.shape[1]), rtol=0.0, atol=atol):
                return False
        return True


def _check_out_modes(out_modes: Any, d: int) -> tuple[int, ...]:
    """``out_modes`` as ``d`` positive ints (a ValueError naming it otherwise)."""
    modes = check_shape(out_modes, "out_modes")
    if len(modes) != d:
        raise ValueError(f"out_modes={modes} must have one entry per mode of the HT tensor ({d})")
    return modes
