"""Tensor-network diagrams of the format objects (graphical notation of the survey, Fig. 2).

A diagram is drawn in two steps: a builder per format turns the object into a small graph
(:class:`_Diagram`: nodes with positions, bonds between nodes, open legs), and one renderer
draws any graph. In the drawing

* a **node** is a core or factor (a circle holding its name);
* a **bond** joins two nodes and is labelled with its size, the rank (boundary ranks equal to 1
  of TT and TT-matrix are not drawn); a dashed bond is a semi-tensor product, whose narrow side
  is expanded by ``⊗ I_t``;
* an open **leg** is a mode of the represented tensor, labelled with its size.

Every artist carries a ``gid`` naming its role and index (``node-3``, ``bond-label-0``,
``leg-2``, ...), which is how the tests count them and how the SVG output names its groups.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from ..formats import (
    BTDTensor,
    CPTensor,
    HTTensor,
    KronTensor,
    STRTensor,
    StructuredTensor,
    STTTensor,
    STTuckerTensor,
    TRTensor,
    TTMatrix,
    TTTensor,
    TuckerTensor,
)

__all__ = ["draw"]

XY = tuple[float, float]

NODE_RADIUS = 0.36
LEG_LENGTH = 0.95
SPACING = 1.7  # distance between neighbouring cores of a chain
MAX_TERMS = 4  # a BTD or Kronecker sum with more terms shows the first two, "⋯" and the last
STYLE = {
    "core": {"facecolor": "#cfe2f3", "edgecolor": "#1f4e79"},
    "factor": {"facecolor": "#fce5cd", "edgecolor": "#7f4f1f"},
    "diagonal": {"facecolor": "#444444", "edgecolor": "#222222"},
    "fuse": {"facecolor": "#222222", "edgecolor": "#222222"},
}
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _sub(name: str, index: int) -> str:
    """``name`` with the subscript ``index`` in Unicode digits (``G₁₂``)."""
    return name + str(index).translate(_SUBSCRIPT)


@dataclass
class _Node:
    name: str
    xy: XY
    kind: str = "core"


@dataclass
class _Bond:
    a: int
    b: int
    label: str
    path: list[XY] | None = None
    dashed: bool = False
    at: float = 0.5  # where along the bond its label sits (0 at a, 1 at b)
    side: int = 0  # the label's side: -1 left, 1 right, 0 left of vertical and above others


@dataclass
class _Leg:
    node: int
    direction: XY
    label: str
    length: float = LEG_LENGTH


@dataclass
class _Diagram:
    title: str
    nodes: list[_Node] = field(default_factory=list)
    bonds: list[_Bond] = field(default_factory=list)
    legs: list[_Leg] = field(default_factory=list)
    texts: list[tuple[XY, str]] = field(default_factory=list)

    def node(self, name: str, xy: XY, kind: str = "core") -> int:
        self.nodes.append(_Node(name, (float(xy[0]), float(xy[1])), kind))
        return len(self.nodes) - 1

    def merge(self, other: _Diagram, dx: float) -> None:
        """Append ``other`` shifted right by ``dx``."""
        base = len(self.nodes)
        for n in other.nodes:
            self.node(n.name, (n.xy[0] + dx, n.xy[1]), n.kind)
        for b in other.bonds:
            path = None if b.path is None else [(x + dx, y) for x, y in b.path]
            self.bonds.append(_Bond(b.a + base, b.b + base, b.label, path, b.dashed, b.at, b.side))
        for leg in other.legs:
            self.legs.append(_Leg(leg.node + base, leg.direction, leg.label, leg.length))
        self.texts.extend(((x + dx, y), s) for (x, y), s in other.texts)


# --------------------------------------------------------------------------- builders
def _polar(angle: float, radius: float = 1.0) -> XY:
    return (radius * math.cos(angle), radius * math.sin(angle))


def _star(
    title: str,
    centre: str,
    centre_kind: str,
    shape: Sequence[int],
    bond_sizes: Sequence[int | None],
    factor_names: Sequence[str],
    dashed: bool = False,
) -> _Diagram:
    """A centre node joined to one factor per mode (CP, Tucker, STTucker).

    ``bond_sizes[k] = None`` means mode ``k`` has no factor: its leg leaves the centre.
    """
    diagram = _Diagram(title)
    middle = diagram.node(centre, (0.0, 0.0), centre_kind)
    d = len(shape)
    for k, (size, rank) in enumerate(zip(shape, bond_sizes, strict=True)):
        angle = math.pi - 2 * math.pi * k / d
        direction = _polar(angle)
        if rank is None:
            diagram.legs.append(_Leg(middle, direction, str(size), length=1.5 + LEG_LENGTH))
            continue
        factor = diagram.node(factor_names[k], _polar(angle, 1.5), "factor")
        diagram.bonds.append(_Bond(middle, factor, str(rank), dashed=dashed))
        diagram.legs.append(_Leg(factor, direction, str(size)))
    return diagram


def _cp(fmt: CPTensor) -> _Diagram:
    names = [_sub("A", k) for k in range(fmt.ndim)]
    return _star(f"CP, rank {fmt.rank}", "", "diagonal", fmt.shape, [fmt.rank] * fmt.ndim, names)


def _tucker(fmt: TuckerTensor, title: str = "Tucker", core: str = "G") -> _Diagram:
    sizes = [None if f is None else r for f, r in zip(fmt.factors, fmt.ranks, strict=True)]
    names = [_sub("U", k) for k in range(fmt.ndim)]
    return _star(title, core, "core", fmt.shape, sizes, names)


def _st_tucker(fmt: STTuckerTensor) -> _Diagram:
    names = [_sub("A", k + 1) for k in range(fmt.ndim)]
    return _star(
        f"semi-tensor Tucker, t = {fmt.t}", "G", "core", fmt.shape, fmt.ranks, names, dashed=True
    )


def _shown_terms(n: int) -> list[int | None]:
    """Indices of the terms drawn (``None`` where "⋯" stands for the elided ones)."""
    if n <= MAX_TERMS:
        return list(range(n))
    return [0, 1, None, n - 1]


def _extent(diagram: _Diagram) -> tuple[float, float]:
    """Horizontal extent of the nodes and the leg labels."""
    xs = [n.xy[0] for n in diagram.nodes]
    for leg in diagram.legs:
        x = diagram.nodes[leg.node].xy[0]
        xs.append(x + leg.direction[0] * (NODE_RADIUS + leg.length + 0.25))
    return min(xs), max(xs)


def _sum_of(title: str, parts: list[_Diagram | None], gap: float = 1.1) -> _Diagram:
    """Place the parts side by side joined by "+" (``None`` is drawn as "⋯")."""
    diagram = _Diagram(title)
    x = 0.0
    for i, part in enumerate(parts):
        if i:
            diagram.texts.append(((x + gap / 2, 0.0), "+"))
            x += gap
        if part is None:
            diagram.texts.append(((x + gap / 2, 0.0), "⋯"))
            x += gap
        else:
            left, right = _extent(part)
            diagram.merge(part, x - left)
            x += right - left
    return diagram


def _btd(fmt: BTDTensor) -> _Diagram:
    parts: list[_Diagram | None] = []
    for r in _shown_terms(fmt.n_terms):
        parts.append(None if r is None else _tucker(fmt.terms[r], core=_sub("G", r + 1)))
    return _sum_of(f"BTD, {fmt.n_terms} terms", parts)


def _chain(
    title: str,
    names: Sequence[str],
    bonds: Sequence[str],
    legs: Sequence[Sequence[tuple[XY, str]]],
    dashed: Sequence[bool] | None = None,
) -> _Diagram:
    """Cores on a line joined by ``bonds``, each with its open legs."""
    diagram = _Diagram(title)
    for k, name in enumerate(names):
        node = diagram.node(name, (k * SPACING, 0.0))
        for direction, label in legs[k]:
            diagram.legs.append(_Leg(node, direction, label))
    for k, label in enumerate(bonds):
        diagram.bonds.append(_Bond(k, k + 1, label, dashed=bool(dashed and dashed[k])))
    return diagram


DOWN, UP = (0.0, -1.0), (0.0, 1.0)


def _tt(fmt: TTTensor) -> _Diagram:
    d = fmt.ndim
    return _chain(
        "tensor train",
        [_sub("G", k + 1) for k in range(d)],
        [str(r) for r in fmt.ranks[1:-1]],
        [[(DOWN, str(n))] for n in fmt.shape],
    )


def _tt_matrix(fmt: TTMatrix) -> _Diagram:
    legs = [
        [(UP, str(m)), (DOWN, str(n))] for m, n in zip(fmt.in_modes, fmt.out_modes, strict=True)
    ]
    return _chain(
        "TT-matrix",
        [_sub("G", k + 1) for k in range(len(fmt.cores))],
        [str(r) for r in fmt.ranks[1:-1]],
        legs,
    )


def _stt(fmt: STTTensor) -> _Diagram:
    d = fmt.ndim
    return _chain(
        f"semi-tensor train, t = {fmt.t}",
        [_sub("G", k + 1) for k in range(d)],
        [str(r) for r in fmt.ranks[1:-1]],
        [[(DOWN, str(n))] for n in fmt.shape],
        dashed=[k == 0 for k in range(d - 1)],
    )


def _arc(angle_a: float, angle_b: float, radius: float, n: int = 40) -> list[XY]:
    return [_polar(angle_a + (angle_b - angle_a) * i / (n - 1), radius) for i in range(n)]


def _ring(
    title: str, shape: Sequence[int], ranks: Sequence[int], dashed: Sequence[bool]
) -> _Diagram:
    """Cores on a circle, clockwise from the top; bond ``k`` joins core ``k`` to ``k + 1 mod d``
    and has size ``ranks[k + 1]`` (``ranks`` holds the ``d + 1`` ring ranks, ``r_d = r_0``)."""
    diagram = _Diagram(title)
    d = len(shape)
    radius = max(1.0, SPACING * d / (2 * math.pi))
    step = 2 * math.pi / d
    for k, n in enumerate(shape):
        angle = math.pi / 2 - k * step
        node = diagram.node(_sub("G", k + 1), _polar(angle, radius))
        diagram.legs.append(_Leg(node, _polar(angle), str(n)))
    for k in range(d):
        angle = math.pi / 2 - k * step
        path = _arc(angle, angle - step, radius)
        diagram.bonds.append(_Bond(k, (k + 1) % d, str(ranks[k + 1]), path, dashed[k]))
    return diagram


def _tr(fmt: TRTensor) -> _Diagram:
    return _ring("tensor ring", fmt.shape, fmt.ranks, [False] * fmt.ndim)


def _str(fmt: STRTensor) -> _Diagram:
    d = fmt.ndim
    dashed = [k in (0, d - 1) for k in range(d)]
    return _ring(f"semi-tensor ring, t = {fmt.t}", fmt.shape, fmt.ranks, dashed)


def _ht(fmt: HTTensor) -> _Diagram:
    """The dimension tree, root on top: ``B_t`` at interior nodes, ``U_k`` at the leaves."""
    tree = fmt.tree
    diagram = _Diagram("hierarchical Tucker")
    x_of: dict[int, float] = {}
    leaves_seen = [0]

    def place(t: int) -> float:
        kids = tree.children[t]
        if kids is None:
            x_of[t] = leaves_seen[0] * 1.3
            leaves_seen[0] += 1
        else:
            x_of[t] = (place(kids[0]) + place(kids[1])) / 2
        return x_of[t]

    place(0)
    index: dict[int, int] = {}
    for t in range(tree.n_nodes):
        xy = (x_of[t], -1.3 * tree.depth(t))
        if tree.is_leaf(t):
            mode = tree.nodes[t][0]
            index[t] = diagram.node(_sub("U", mode), xy, "factor")
            diagram.legs.append(_Leg(index[t], DOWN, str(fmt.shape[mode])))
        else:
            index[t] = diagram.node(_sub("B", t), xy)
    for t in range(1, tree.n_nodes):
        parent = tree.parent[t]
        diagram.bonds.append(_Bond(index[parent], index[t], str(fmt.ranks[t])))
    return diagram


def _kron(fmt: KronTensor) -> _Diagram:
    """``A`` and ``B`` joined by the Kronecker rank; mode ``n`` fuses ``J_n`` and ``K_n``."""
    n_modes = len(fmt.a_shape)
    terms = fmt.ranks[0]
    diagram = _Diagram(f"sum of {terms} Kronecker products" if terms > 1 else "Kronecker product")
    a = diagram.node("A", (-1.2, 0.8))
    b = diagram.node("B", (1.2, 0.8))
    diagram.bonds.append(_Bond(a, b, str(fmt.ranks[0])))
    for n in range(n_modes):
        x = (n - (n_modes - 1) / 2) * 1.6
        fuse = diagram.node("", (x, -1.4), "fuse")
        diagram.bonds.append(_Bond(a, fuse, str(fmt.a_shape[n]), at=0.85, side=-1))
        diagram.bonds.append(_Bond(b, fuse, str(fmt.b_shape[n]), at=0.85, side=1))
        diagram.legs.append(_Leg(fuse, DOWN, str(fmt.shape[n]), length=0.8))
    return diagram


_BUILDERS = {
    CPTensor: _cp,
    TuckerTensor: _tucker,
    BTDTensor: _btd,
    TTTensor: _tt,
    TTMatrix: _tt_matrix,
    TRTensor: _tr,
    HTTensor: _ht,
    KronTensor: _kron,
    STTuckerTensor: _st_tucker,
    STTTensor: _stt,
    STRTensor: _str,
}


# --------------------------------------------------------------------------- renderer
def _trim(path: list[XY], start: float, end: float) -> list[XY]:
    """``path`` without its first ``start`` and last ``end`` units of length (node radii)."""

    def cut(points: list[XY], length: float) -> list[XY]:
        while len(points) > 1 and length > 0:
            (x0, y0), (x1, y1) = points[0], points[1]
            seg = math.hypot(x1 - x0, y1 - y0)
            if seg > length:
                f = length / seg
                return [(x0 + f * (x1 - x0), y0 + f * (y1 - y0))] + points[1:]
            length -= seg
            points = points[1:]
        return points

    return cut(cut(list(path), start)[::-1], end)[::-1]


def _radius(node: _Node) -> float:
    return NODE_RADIUS * (0.25 if node.kind == "fuse" else 0.6 if node.kind == "diagonal" else 1)


def _label_at(path: list[XY], at: float = 0.5, side: int = 0, offset: float = 0.2) -> XY:
    """A point beside ``path`` at the fraction ``at`` of its length, on ``side`` (see
    :class:`_Bond`)."""
    lengths = [math.dist(p, q) for p, q in zip(path, path[1:], strict=False)]
    goal = at * sum(lengths)
    k = 0
    while k < len(lengths) - 1 and goal > lengths[k]:
        goal -= lengths[k]
        k += 1
    (x0, y0), (x1, y1), seg = path[k], path[k + 1], lengths[k]
    f = min(goal / seg, 1.0) if seg else 0.0
    mx, my = x0 + f * (x1 - x0), y0 + f * (y1 - y0)
    norm = seg or 1.0
    nx, ny = -(y1 - y0) / norm, (x1 - x0) / norm
    if (side and nx * side < 0) or (not side and (ny < 0 or (ny == 0 and nx > 0))):
        nx, ny = -nx, -ny
    return (mx + offset * nx, my + offset * ny)


def _render(diagram: _Diagram, ax: Axes) -> None:
    points: list[XY] = []
    for i, node in enumerate(diagram.nodes):
        role = "fuse" if node.kind == "fuse" else "node"
        ax.add_patch(
            Circle(
                node.xy,
                _radius(node),
                zorder=3,
                linewidth=1.2,
                gid=f"{role}-{i}",
                **STYLE[node.kind],
            )
        )
        if node.name:
            ax.text(
                *node.xy,
                node.name,
                ha="center",
                va="center",
                fontsize=10,
                zorder=4,
                gid=f"node-label-{i}",
            )
        points.append(node.xy)
    for k, bond in enumerate(diagram.bonds):
        a, b = diagram.nodes[bond.a], diagram.nodes[bond.b]
        path = _trim(bond.path or [a.xy, b.xy], _radius(a), _radius(b))
        xs, ys = zip(*path, strict=True)
        ax.plot(
            xs,
            ys,
            color="#222222",
            linewidth=1.4,
            zorder=2,
            gid=f"bond-{k}",
            linestyle="--" if bond.dashed else "-",
        )
        ax.text(
            *_label_at(path, bond.at, bond.side),
            bond.label,
            ha="center",
            va="center",
            fontsize=9,
            color="#9c2a00",
            zorder=4,
            gid=f"bond-label-{k}",
        )
        points.extend(path)
    for k, leg in enumerate(diagram.legs):
        node = diagram.nodes[leg.node]
        (x, y), (dx, dy), r = node.xy, leg.direction, _radius(node)
        end = (x + dx * (r + leg.length), y + dy * (r + leg.length))
        ax.plot(
            [x + dx * r, end[0]],
            [y + dy * r, end[1]],
            color="#222222",
            linewidth=1.4,
            zorder=2,
            gid=f"leg-{k}",
        )
        tip = (end[0] + 0.25 * dx, end[1] + 0.25 * dy)
        ax.text(
            *tip, leg.label, ha="center", va="center", fontsize=9, zorder=4, gid=f"leg-label-{k}"
        )
        points.append(tip)
    for k, (xy, text) in enumerate(diagram.texts):
        ax.text(*xy, text, ha="center", va="center", fontsize=16, gid=f"text-{k}")
        points.append(xy)
    xs, ys = zip(*points, strict=True)
    margin = 0.6
    ax.set_xlim(min(xs) - margin, max(xs) + margin)
    ax.set_ylim(min(ys) - margin, max(ys) + margin)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(diagram.title, fontsize=11)


def _builder(fmt: Any) -> Any:
    if not isinstance(fmt, StructuredTensor):
        raise TypeError(
            f"fmt must be a format object (a tensornet.formats.StructuredTensor), got "
            f"{type(fmt).__name__}"
        )
    for cls in type(fmt).__mro__:
        if cls in _BUILDERS:
            return _BUILDERS[cls]
    known = ", ".join(c.__name__ for c in _BUILDERS)
    raise TypeError(f"fmt: no diagram for {type(fmt).__name__}; drawn formats: {known}")


def draw(fmt: StructuredTensor, *, ax: Axes | None = None) -> Figure:
    """Draw a format object as a tensor-network diagram (graphical notation of survey Fig. 2).

    Cores and factors are nodes (circles holding their names), every mode of the represented
    tensor is an open leg labelled with its size, and every contracted index is a bond between
    two nodes labelled with its size, the rank. Boundary ranks equal to 1 (TT, TT-matrix) are
    not drawn. Per format:

    * **CP**: a small dark node for the superdiagonal weights joined to the factors ``A_k`` by
      bonds of size ``R``;
    * **Tucker**: the core ``G`` joined to the factors ``U_k`` by bonds ``R_k``; a mode without
      a factor (``None``) is a leg of the core;
    * **BTD**: the Tucker terms side by side joined by "+" (more than four terms: the first
      two, "⋯" and the last);
    * **TT** and **TT-matrix**: a chain of cores, one leg per core (two for the TT-matrix: the
      row mode ``m_k`` above, the column mode ``n_k`` below);
    * **TR**: the cores on a ring, the closing bond of size ``r_0``;
    * **HT**: the dimension tree, root on top, transfer tensors ``B_t`` at the interior nodes
      (``t`` the node index) and bases ``U_k`` at the leaves, bonds labelled ``k_t``;
    * **Kron** (``sum_r A_r ⊗ B_r``): ``A`` and ``B`` joined by the Kronecker rank ``R``;
      modes ``J_n`` of ``A`` and ``K_n`` of ``B`` fuse (small dots) into the leg
      ``I_n = J_n K_n`` (survey eq. 11-13);
    * **STTucker, STT, STR**: as Tucker, TT and TR with the full bond sizes; a dashed bond is a
      semi-tensor product whose narrow side is expanded by ``⊗ I_t`` (survey eq. 14-16). The
      first leg of an STT has size ``t I'_1``.

    Parameters
    ----------
    fmt : StructuredTensor
        A :class:`~tensornet.formats.CPTensor`, :class:`~tensornet.formats.TuckerTensor`,
        :class:`~tensornet.formats.BTDTensor`, :class:`~tensornet.formats.TTTensor`,
        :class:`~tensornet.formats.TTMatrix`, :class:`~tensornet.formats.TRTensor`,
        :class:`~tensornet.formats.HTTensor`, :class:`~tensornet.formats.KronTensor`,
        :class:`~tensornet.formats.STTuckerTensor`, :class:`~tensornet.formats.STTTensor` or
        :class:`~tensornet.formats.STRTensor` (or a subclass).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; by default a new figure sized to the diagram.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the diagram. Its artists carry a ``gid``: ``node-i`` (the circles
        of the cores), ``node-label-i``, ``fuse-i`` (the dots of a Kronecker diagram),
        ``bond-k``, ``bond-label-k``, ``leg-k``, ``leg-label-k`` and ``text-k`` ("+" and "⋯"
        of a sum).

    Raises
    ------
    TypeError
        If ``fmt`` is not a format object or has no diagram.

    Examples
    --------
    >>> import numpy as np
    >>> from tensornet.formats import TTTensor
    >>> tt = TTTensor([np.ones((1, 4, 2)), np.ones((2, 5, 3)), np.ones((3, 6, 1))])
    >>> fig = draw(tt)
    >>> sorted(t.get_text() for t in fig.axes[0].texts if t.get_gid().startswith("leg-label"))
    ['4', '5', '6']
    """
    diagram = _builder(fmt)(fmt)
    if ax is None:
        fig = Figure()
        ax = fig.add_subplot()
        _render(diagram, ax)
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        scale = 0.62
        fig.set_size_inches(max(2.5, (x1 - x0) * scale), max(2.0, (y1 - y0) * scale + 0.4))
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9)
        return fig
    _render(diagram, ax)
    return ax.figure
