"""What every factorized layer shares: the dense equivalent, the path choice and the cost.

A factorized layer stores its weight as factors (cores) and behaves like
:class:`~tensornet.nn.Linear` or :class:`~tensornet.nn.Conv2d` of the same size: ``weight()``
returns the dense equivalent in that layer's layout (``(in_features, out_features)`` for a
linear layer, ``(O, C, KH, KW)`` for a convolution). The forward pass contracts the factors with
the input core by core; rebuilding the dense weight first and doing one product is cheaper for
small layers or large batches, so ``mode="auto"`` picks the cheaper path for the batch at hand:
the factors when ``cost(factors) <= cost(dense)``, with ``cost = multiply-adds + BYTE_COST *
bytes`` (:meth:`FactorizedLayer.path_cost`). A linear layer counts multiply-adds only
(``BYTE_COST = 0``). A convolution's factor path is a chain of thin convolutions whose
activations (and ``im2col`` patch matrices) are written and read again, so it also counts the
bytes of every activation each path writes (:meth:`FactorizedConv2d.activation_elements`).

Cost convention: ``flops`` counts multiply-adds (one multiply and one add count once), bias
excluded, as Tables III and IV of the survey do.

Initialization for pre-set training (survey Section II-B.2): when the dense weight is a contraction
of ``n_nodes`` independent zero-mean factors whose contracted bond sizes multiply to ``P``, every
entry of ``W`` is a sum of ``P`` products, so ``Var(W) = P * prod_k sigma_k^2``. :func:`node_std`
splits a target variance equally over the nodes; :func:`rescale_to_variance` corrects the realized
variance of one draw exactly (small ranks make it swing between seeds); it is off by default in
every layer (``rescale=False``: the i.i.d. draw).

The argument checks and parameter plumbing every layer module needs (``check_rank_bound``,
``resolve_modes``, ``check_linear_weight``, ``check_bias``, ``layer_dtype``, ``draw_normal``,
``set_param``, ``load_factors``, ``record_conversion`` and :meth:`FactorizedLayer.add_factors`)
live here once.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..._deprecation import warn_deprecated
from ..._validation import check_array, check_int, check_option, check_random_state, check_shape
from ..conv import _pair, conv2d, conv_output_size
from ..init import compute_fans
from ..layers import linear
from ..module import Module

__all__ = [
    "FactorizedLayer",
    "FactorizedLinear",
    "FactorizedConv2d",
    "MODES",
    "INIT_GAINS",
    "target_variance",
    "node_std",
    "rescale_to_variance",
    "suggest_modes",
]

MODES = ("auto", "factors", "dense")
INIT_GAINS = ("he", "glorot", "lecun")


def target_variance(init: str, fan_in: int, fan_out: int) -> float:
    """Variance of the dense weight each initializer aims at.

    Parameters
    ----------
    init : {"he", "glorot", "lecun"}
        He (``2 / fan_in``, for ReLU), Glorot (``2 / (fan_in + fan_out)``) or LeCun
        (``1 / fan_in``).
    fan_in, fan_out : int
        Fans of the dense equivalent (see :func:`tensornet.nn.init.compute_fans`).

    Returns
    -------
    float
    """
    check_option(init, "init", INIT_GAINS)
    if init == "he":
        return 2.0 / fan_in
    if init == "glorot":
        return 2.0 / (fan_in + fan_out)
    return 1.0 / fan_in


def node_std(variance: float, bond_product: int, n_nodes: int) -> float:
    """Standard deviation of each of ``n_nodes`` factors so the contraction has ``variance``.

    Solves ``variance = P * sigma^(2 n_nodes)`` for ``sigma`` (equal split over the nodes), with
    ``P = bond_product`` the product of all contracted bond sizes (survey Section II-B.2; for a
    TT-matrix with ``d`` cores of rank ``R``, ``P = R^(d-1)`` and
    ``sigma^2 = variance^(1/d) R^(1/d - 1)``).

    Parameters
    ----------
    variance : float
        Target ``Var(W)``.
    bond_product : int
        ``P``, the number of terms summed in each entry of ``W``.
    n_nodes : int
        Number of independent random factors.

    Returns
    -------
    float
    """
    return float((variance / bond_product) ** (1.0 / (2 * n_nodes)))


def rescale_to_variance(node: np.ndarray, dense: np.ndarray, variance: float) -> np.ndarray:
    """Scale one factor so the dense weight it builds has exactly the target second moment.

    ``W`` is linear in each factor, so multiplying ``node`` by
    ``sqrt(variance / mean(W**2))`` gives ``mean(W**2) = variance`` for this draw.

    Parameters
    ----------
    node : numpy.ndarray
        The factor to scale (returned scaled, same dtype).
    dense : numpy.ndarray
        The dense weight built from the current factors.
    variance : float
        Target second moment of the entries of ``W``.

    Returns
    -------
    numpy.ndarray
    """
    realized = float(np.mean(np.square(dense, dtype=np.float64)))
    if realized == 0.0:
        return node
    return (node * math.sqrt(variance / realized)).astype(node.dtype, copy=False)


def _prime_factors(n: int) -> list[int]:
    factors, p = [], 2
    while p * p <= n:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    if n > 1:
        factors.append(n)
    return factors


def suggest_modes(n: int, d: int) -> tuple[int, ...]:
    """Split ``n`` into ``d`` integer modes whose product is ``n``, as balanced as the primes allow.

    Tensorized layers need ``N = prod_k n_k``; this is the default when a user gives only ``d``.
    Prime factors are placed largest first onto the currently smallest mode; modes are returned
    in descending order, padded with ones when ``n`` has fewer than ``d`` prime factors.

    Parameters
    ----------
    n : int
        The size to split (``>= 1``).
    d : int
        Number of modes (``>= 1``).

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> suggest_modes(784, 4)
    (7, 7, 4, 4)
    >>> suggest_modes(625, 4)
    (5, 5, 5, 5)
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    modes = [1] * d
    for p in sorted(_prime_factors(n), reverse=True):
        modes[int(np.argmin(modes))] *= p
    return tuple(sorted(modes, reverse=True))


# ------------------------------------------------------------------ shared by the layer modules
def _is_sequence(value: Any) -> bool:
    return isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes))


def legacy_layout(
    *old: str, when: Callable[[tuple[Any, ...]], bool] | None = None, modes_first: bool = False
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Accept a constructor's former positional layout ``old`` for one release, with a warning.

    Every factorized layer is called ``Family(in_features, out_features, rank(s), *, ...)`` or
    ``Family(in_channels, out_channels, kernel_size, rank(s), *, ...)``. A call is read in the old
    layout when it passes more positional arguments than that, or when ``when(args)`` says so
    (a sequence of modes where a size or a rank now stands); its positional arguments are then
    bound to the names ``old``, ``in_features``/``out_features`` (``in_channels``/...) derived from
    ``in_modes``/``out_modes`` when the old layout began with the modes, and a
    ``DeprecationWarning`` names the new spelling (:func:`tensornet._deprecation.warn_deprecated`).
    With ``modes_first`` the old layout began with the modes: a first positional sequence, or
    ``in_modes=`` given by keyword without the sizes, is read that way.

    Parameters
    ----------
    *old : str
        The old positional parameter names, in order (``self`` excluded).
    when : callable, optional
        Extra test on the positional arguments.
    modes_first : bool
        The old layout was ``(in_modes, out_modes, ...)``.

    Returns
    -------
    callable
        The decorator; the wrapped ``__init__`` keeps its signature (``__wrapped__``).
    """

    def decorate(init: Callable[..., None]) -> Callable[..., None]:
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        params = inspect.signature(init).parameters.values()
        new = [p.name for p in params if p.kind in kinds][1:]

        def by_keyword(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
            return modes_first and not args and new[0] not in kwargs and "in_modes" in kwargs

        @functools.wraps(init)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
            old_form = (when is not None and when(args)) or (modes_first and sequence_at(0)(args))
            if by_keyword(args, kwargs):
                kwargs[new[0]] = math.prod(check_shape(kwargs["in_modes"], "in_modes"))
                if "out_modes" in kwargs:
                    kwargs[new[1]] = math.prod(check_shape(kwargs["out_modes"], "out_modes"))
                warn_deprecated(
                    f"{type(self).__name__}(in_modes=..., out_modes=...) without {new[0]}",
                    f"{type(self).__name__}({new[0]}, {new[1]}, ..., in_modes=..., out_modes=...)",
                )
                return init(self, **kwargs)
            if len(args) <= len(new) and not old_form:
                return init(self, *args, **kwargs)
            if len(args) > len(old):
                raise TypeError(
                    f"{type(self).__name__}() takes at most {len(new)} positional arguments "
                    f"({len(args)} given)"
                )
            bound = dict(zip(old, args, strict=False))
            for key in bound:
                if key in kwargs:
                    raise TypeError(f"{type(self).__name__}() got multiple values for {key!r}")
            kwargs.update(bound)
            for side, size in (("in", new[0]), ("out", new[1])):
                if size not in kwargs and f"{side}_modes" in kwargs:
                    modes = check_shape(kwargs[f"{side}_modes"], f"{side}_modes")
                    kwargs[size] = math.prod(modes)
            name = type(self).__name__
            shown = [k for k in new if k in kwargs] + [f"{k}=..." for k in bound if k not in new]
            warn_deprecated(
                f"{name}({', '.join(old[: len(args)])}) with these arguments by position",
                f"{name}({', '.join(shown)})",
            )
            return init(self, **kwargs)

        return wrapper

    return decorate


#: The former positional layouts of the TT and TR layers (modes and options by position).
LEGACY_LINEAR_LAYOUT = (
    "in_features", "out_features", "ranks", "in_modes", "out_modes", "n_cores", "bias", "init",
    "rescale", "mode", "random_state", "dtype",
)  # fmt: skip
LEGACY_CONV_LAYOUT = (
    "in_channels", "out_channels", "kernel_size", "ranks", "in_modes", "out_modes", "n_cores",
    "stride", "padding", "bias", "init", "rescale", "mode", "random_state", "dtype",
)  # fmt: skip


def sequence_at(index: int) -> Callable[[tuple[Any, ...]], bool]:
    """Test for :func:`legacy_layout`: the positional argument ``index`` is a sequence."""
    return lambda args: len(args) > index and _is_sequence(args[index])


def check_rank_bound(value: Any, name: str, bound: int, what: str) -> int:
    """A rank ``>= 1`` that does not exceed ``bound`` (``what`` explains the bound)."""
    rank = check_int(value, name, minimum=1)
    if rank > bound:
        raise ValueError(f"{name}={rank} exceeds the largest possible rank {bound} ({what})")
    return rank


def resolve_modes(
    size: int, modes: Sequence[int] | None, name: str, size_name: str, n_modes: int
) -> tuple[int, ...]:
    """``modes`` checked to multiply to ``size``, or :func:`suggest_modes` when ``None``."""
    if modes is None:
        return suggest_modes(size, n_modes)
    modes = check_shape(modes, name)
    if math.prod(modes) != size:
        raise ValueError(
            f"{name}={modes} multiply to {math.prod(modes)}, but {size_name}={size}: the modes "
            "must factor the layer size"
        )
    return modes


def default_n_cores(n_cores: int | None, *given: Any, default: int = 3) -> int:
    """Number of modes ``d``: ``n_cores`` if given, else the length of the first given modes,
    else ``default``."""
    if n_cores is not None:
        return check_int(n_cores, "n_cores", minimum=1)
    for modes in given:
        if modes is not None and not isinstance(modes, (int, np.integer)):
            return len(modes)
    return default


def resolve_mode_pair(
    in_size: int,
    out_size: int,
    in_modes: Sequence[int] | None,
    out_modes: Sequence[int] | None,
    n_cores: int | None,
    size_names: tuple[str, str] = ("in_features", "out_features"),
    min_modes: int = 1,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Paired modes (one input and one output mode per core) for a layer of the given sizes.

    Each side is checked to factor its size (:func:`resolve_modes`), or suggested with
    ``d = n_cores`` (default: the length of the given side, else 3); both sides must have the
    same length, at least ``min_modes``.
    """
    d = default_n_cores(n_cores, in_modes, out_modes)
    ins = resolve_modes(in_size, in_modes, "in_modes", size_names[0], d)
    outs = resolve_modes(out_size, out_modes, "out_modes", size_names[1], d)
    check_paired_modes(ins, outs, min_modes)
    return ins, outs


def check_paired_modes(ins: tuple[int, ...], outs: tuple[int, ...], min_modes: int = 1) -> None:
    """``ins`` and ``outs`` pair up (same length) and have at least ``min_modes`` modes."""
    if len(ins) != len(outs):
        raise ValueError(
            f"out_modes={outs} has length {len(outs)} but in_modes={ins} has length "
            f"{len(ins)}: every input mode pairs with an output mode (one pair per core)"
        )
    if len(ins) < min_modes:
        raise ValueError(f"in_modes={ins} must have at least {min_modes} modes")


def weight_modes(
    weight: np.ndarray,
    in_modes: Sequence[int] | None,
    out_modes: Sequence[int] | None,
    n_cores: int | None,
    min_modes: int = 1,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Paired modes for converting a ``(N, M)`` ``weight``: given ones must fit its shape
    (:func:`check_linear_weight`), missing ones are suggested from it."""
    d = default_n_cores(n_cores, in_modes, out_modes)
    ins = (
        suggest_modes(weight.shape[0], d) if in_modes is None else check_shape(in_modes, "in_modes")
    )
    outs = (
        suggest_modes(weight.shape[1], d)
        if out_modes is None
        else check_shape(out_modes, "out_modes")
    )
    check_paired_modes(ins, outs, min_modes)
    check_linear_weight(weight, ins, outs)
    return ins, outs


def check_linear_weight(weight: Any, in_modes: Sequence[int], out_modes: Sequence[int]):
    """A finite ``(prod(in_modes), prod(out_modes))`` weight in :class:`~tensornet.nn.Linear`'s
    layout ``(in, out)``."""
    w = check_array(weight, "weight", ndim=2)
    want = (math.prod(in_modes), math.prod(out_modes))
    if w.shape != want:
        raise ValueError(
            f"weight has shape {w.shape}, expected (prod(in_modes), prod(out_modes)) = {want} "
            "(Linear layout (in, out))"
        )
    return w


def check_bias(bias: Any, size: int, dtype: Any) -> np.ndarray | None:
    """``bias`` as a contiguous ``(size,)`` array of ``dtype``, or ``None``."""
    if bias is None:
        return None
    b = check_array(bias, "bias", ndim=1)
    if b.shape != (size,):
        raise ValueError(f"bias has shape {b.shape}, expected ({size},)")
    return np.ascontiguousarray(b, dtype=dtype)


def layer_dtype(weight: np.ndarray, dtype: Any) -> np.dtype:
    """The parameter dtype of a converted layer: ``dtype``, or the weight's own by default."""
    return np.dtype(weight.dtype if dtype is None else dtype)


def draw_normal(rng: np.random.Generator, shape: Sequence[int], std: float, dtype: Any):
    """One ``N(0, std^2)`` array of ``shape`` and ``dtype`` (drawn in float64, then cast)."""
    return (rng.standard_normal(tuple(shape)) * std).astype(dtype)


def set_param(layer: Module, name: str, value: np.ndarray, dtype: Any = None) -> None:
    """Replace a registered parameter by ``value`` (same shape) cast to ``dtype`` (by default
    the parameter's own)."""
    old = layer._params[name]
    if old.shape != np.shape(value):  # pragma: no cover (internal consistency)
        raise AssertionError(f"{name}: {np.shape(value)} != {old.shape}")
    layer._params[name] = np.ascontiguousarray(value, dtype=old.dtype if dtype is None else dtype)


def load_factors(layer: Module, factors: dict[str, np.ndarray], bias: Any = None) -> None:
    """Put converted ``factors`` (and the dense ``bias``, when given) into a freshly built
    ``layer``, each cast to the dtype of the parameter it replaces."""
    for name, value in factors.items():
        set_param(layer, name, value)
    if bias is not None:
        b = layer._params["bias"]
        set_param(layer, "bias", check_bias(bias, b.shape[0], b.dtype))


def record_conversion(layer: Module, weight: np.ndarray, info: dict | None = None) -> Module:
    """Attach ``layer.decomposition_info``: the decomposition's report plus
    ``weight_rel_error = ||weight() - W||_F / ||W||_F`` of the converted layer."""
    info = dict(info or {})
    w64 = np.asarray(weight, dtype=np.float64)
    err = float(np.linalg.norm(layer.weight().astype(np.float64) - w64))
    norm = float(np.linalg.norm(w64))
    info["weight_rel_error"] = err / norm if norm > 0 else err
    layer.decomposition_info = info
    return layer


class FactorizedLayer(Module):
    """Base of layers whose weight is a contraction of factors.

    Subclasses register their factors with :meth:`add_param` and implement
    :meth:`dense_weight`, :meth:`forward_factors`, :meth:`factor_flops`,
    :meth:`reconstruction_flops` and the class method :meth:`from_weight`.

    Parameters
    ----------
    mode : {"auto", "factors", "dense"}
        ``"factors"`` contracts the input with the factors, ``"dense"`` rebuilds the weight
        and does one product, ``"auto"`` takes whichever costs fewer multiply-adds for the batch.
    """

    #: Multiply-adds one byte of activation traffic is worth in the path choice (0: flops only).
    BYTE_COST = 0.0

    def __init__(self, mode: str = "auto") -> None:
        super().__init__()
        self.mode = check_option(mode, "mode", MODES)

    # ------------------------------------------------------------- for subclasses
    def dense_weight(self, params: dict[str, Any]) -> Any:
        """Dense equivalent built from ``params`` (autograd-traceable), in the dense layout."""
        raise NotImplementedError

    def forward_factors(self, params: dict[str, Any], x: Any) -> Any:
        """Forward pass through the factors, bias included."""
        raise NotImplementedError

    def factor_flops(self, input_shape: Sequence[int]) -> int:
        """Multiply-adds of :meth:`forward_factors` for an input of ``input_shape``."""
        raise NotImplementedError

    def reconstruction_flops(self) -> int:
        """Multiply-adds to build the dense weight from the factors."""
        raise NotImplementedError

    def dense_product_flops(self, input_shape: Sequence[int]) -> int:
        """Multiply-adds of the dense layer's product for an input of ``input_shape``."""
        raise NotImplementedError

    def _dense_forward(self, params: dict[str, Any], x: Any, w: Any) -> Any:
        raise NotImplementedError

    def check_input_shape(self, shape: Sequence[int]) -> None:
        """Raise ``ValueError`` naming ``x`` if an input of ``shape`` does not fit the layer."""
        raise NotImplementedError

    @classmethod
    def from_weight(cls, weight: np.ndarray, bias: np.ndarray | None = None, **options: Any):
        """Layer whose factors come from decomposing a trained dense ``weight`` (pre-train)."""
        raise NotImplementedError

    def to_format(self) -> Any:
        """The weight as a tensornet format object (a copy of the current factors).

        Its ``full()`` is :meth:`weight` up to a reshape (and, for a convolution, a fixed
        transposition): each layer's docstring gives the shape.
        """
        raise NotImplementedError

    def param_copies(self) -> dict[str, np.ndarray]:
        """Copies of this layer's own parameters (what :meth:`to_format` hands out)."""
        return {name: np.array(value) for name, value in self._params.items()}

    def legacy_param_names(self) -> dict[str, str]:
        """``{former name: name}`` of the indexed parameters, for files saved before the rename.

        Indexed factors are named ``<role>_<k>`` (``core_0``, ``leaf_0``, ``transfer_1``,
        ``factor_0``); files written before the names were unified spell them ``<role><k>``.
        :func:`tensornet.nn.load_weights` reads those through this mapping, with a warning.

        Returns
        -------
        dict of str to str
        """
        pattern = re.compile(r"(?P<role>[a-z_]*[a-z])_(?P<k>\d+)")
        return {
            match["role"] + match["k"]: name
            for name in self._params
            if (match := pattern.fullmatch(name)) is not None
        }

    # ------------------------------------------------------------- shared
    def add_factors(
        self,
        factors: dict[str, np.ndarray],
        *,
        bias: bool,
        dtype: Any,
        rescale: str | None = None,
        variance: float | None = None,
    ) -> None:
        """Register freshly drawn ``factors`` (in order) and a zero bias, the pre-set recipe.

        Parameters
        ----------
        factors : dict of str to numpy.ndarray
            The sampled factors under their parameter names.
        bias : bool
            Add a zero ``"bias"`` of the output size.
        dtype : numpy dtype
            Dtype of the bias.
        rescale : str, optional
            Name of the factor scaled by :func:`rescale_to_variance` so that the realized
            ``mean(W**2)`` equals ``variance`` exactly; ``None`` keeps the i.i.d. draw.
        variance : float, optional
            The target variance (needed with ``rescale``).
        """
        for name, value in factors.items():
            self.add_param(name, value)
        if rescale is not None:
            scaled = rescale_to_variance(self._params[rescale], self.weight(), variance)
            set_param(self, rescale, scaled)
        if bias:
            self.add_param("bias", np.zeros(self._bias_size, dtype=dtype))

    def init_factors(
        self,
        shapes: dict[str, Any],
        bonds: int,
        *,
        init: str,
        random_state: Any,
        dtype: Any,
        bias: bool,
        rescale: str | None,
    ) -> None:
        """Draw and register the factors for pre-set training (survey Section II-B.2).

        Every entry of ``shapes`` that is a shape is drawn from ``N(0, sigma^2)`` in the dict's
        order, ``sigma = node_std(V, bonds, n)`` with ``V`` the :func:`target_variance` of
        ``init`` and ``n`` the number of drawn factors, so ``Var(W) = bonds * sigma^(2n) = V``;
        an entry that is an array is registered as it is (a fixed factor, e.g. ones). Sets
        ``self.init_std = sigma``.

        Parameters
        ----------
        shapes : dict of str to shape or numpy.ndarray
            The factors in registration order.
        bonds : int
            ``P``, the product of the contracted bond sizes.
        init, random_state, dtype, bias :
            As for the layers' constructors.
        rescale : str, optional
            The factor :func:`rescale_to_variance` scales after the draw; ``None`` keeps it.
        """
        variance = target_variance(init, *self.fans)
        drawn = [name for name, v in shapes.items() if not isinstance(v, np.ndarray)]
        self.init_std = node_std(variance, bonds, len(drawn))
        rng = check_random_state(random_state)
        factors = {
            name: value if isinstance(value, np.ndarray) else
            draw_normal(rng, value, self.init_std, dtype)
            for name, value in shapes.items()
        }  # fmt: skip
        self.add_factors(factors, bias=bias, dtype=dtype, rescale=rescale, variance=variance)

    def weight(self) -> np.ndarray:
        """The dense equivalent of the current factors, in the dense layer's layout.

        Returns
        -------
        numpy.ndarray
        """
        return np.asarray(self.dense_weight(self.params))

    def bytes_moved(self, input_shape: Sequence[int], path: str) -> int:
        """Bytes of the activations ``path`` writes for an input of ``input_shape`` (0 here:
        a linear layer's choice counts multiply-adds only)."""
        return 0

    def path_cost(self, input_shape: Sequence[int], path: str) -> float:
        """``flops(input_shape, path) + BYTE_COST * bytes_moved(input_shape, path)``, the cost
        model ``mode="auto"`` minimizes.

        Parameters
        ----------
        input_shape : sequence of int
            Shape of the input batch.
        path : {"factors", "dense"}
            The path to cost.

        Returns
        -------
        float
        """
        path = check_option(path, "path", ("factors", "dense"))
        traffic = self.BYTE_COST * self.bytes_moved(input_shape, path) if self.BYTE_COST else 0
        return float(self.flops(input_shape, path)) + traffic

    def path(self, input_shape: Sequence[int]) -> str:
        """Which computation ``forward`` runs for this input shape: ``"factors"`` or ``"dense"``.

        ``mode="auto"`` takes the path of smaller :meth:`path_cost` (the factors on a tie).

        Parameters
        ----------
        input_shape : sequence of int
            Shape of the input batch.

        Returns
        -------
        str
        """
        if self.mode != "auto":
            return self.mode
        factors = self.path_cost(input_shape, "factors")
        return "factors" if factors <= self.path_cost(input_shape, "dense") else "dense"

    def flops(self, input_shape: Sequence[int], path: str | None = None) -> int:
        """Multiply-adds of one forward pass (bias excluded).

        Parameters
        ----------
        input_shape : sequence of int
            Shape of the input batch.
        path : {"factors", "dense"}, optional
            The path to count; by default the one :meth:`path` chooses.

        Returns
        -------
        int
        """
        path = (
            self.path(input_shape)
            if path is None
            else check_option(path, "path", ("factors", "dense"))
        )
        if path == "factors":
            return int(self.factor_flops(input_shape))
        return int(self.reconstruction_flops() + self.dense_product_flops(input_shape))

    def forward(self, params: dict[str, Any], x: Any) -> Any:
        """Run the path :meth:`path` chooses for ``x``.

        Parameters
        ----------
        params : dict
            The layer's factors (and ``"bias"``) under local names.
        x : array_like
            Input batch.

        Returns
        -------
        array_like
        """
        self.check_input_shape(np.shape(x))
        if self.path(np.shape(x)) == "dense":
            return self._dense_forward(params, x, self.dense_weight(params))
        return self.forward_factors(params, x)


class FactorizedLinear(FactorizedLayer):
    """Base of factorized layers that stand for ``Linear(in_features, out_features)``.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of the dense equivalent.
    mode : {"auto", "factors", "dense"}
        See :class:`FactorizedLayer`.
    """

    def __init__(self, in_features: int, out_features: int, mode: str = "auto") -> None:
        super().__init__(mode)
        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.out_features = check_int(out_features, "out_features", minimum=1)

    @property
    def fans(self) -> tuple[int, int]:
        """``(fan_in, fan_out)`` of the dense equivalent."""
        return self.in_features, self.out_features

    @property
    def _bias_size(self) -> int:
        """Length of the bias: ``out_features``."""
        return self.out_features

    def dense_product_flops(self, input_shape: Sequence[int]) -> int:
        batch = int(input_shape[0])
        return batch * self.in_features * self.out_features

    def _dense_forward(self, params: dict[str, Any], x: Any, w: Any) -> Any:
        return linear(x, w, params.get("bias"))

    def check_input_shape(self, shape: Sequence[int]) -> None:
        """An input must be a batch ``(B, in_features)``."""
        if len(shape) != 2 or shape[1] != self.in_features:
            raise ValueError(
                f"x has shape {tuple(shape)}, expected (B, {self.in_features}) for "
                f"in_features={self.in_features}"
            )


class FactorizedConv2d(FactorizedLayer):
    """Base of factorized layers that stand for ``Conv2d(in_channels, out_channels, kernel_size)``.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts of the dense equivalent.
    kernel_size, stride, padding : int or (int, int)
        As for :class:`~tensornet.nn.Conv2d`.
    mode : {"auto", "factors", "dense"}
        See :class:`FactorizedLayer`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        mode: str = "auto",
    ) -> None:
        super().__init__(mode)
        self.in_channels = check_int(in_channels, "in_channels", minimum=1)
        self.out_channels = check_int(out_channels, "out_channels", minimum=1)
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        """``(O, C, KH, KW)``, the kernel shape of the dense equivalent."""
        return (self.out_channels, self.in_channels) + self.kernel_size

    @property
    def fans(self) -> tuple[int, int]:
        """``(fan_in, fan_out)`` of the dense equivalent."""
        return compute_fans(self.weight_shape)

    @property
    def _bias_size(self) -> int:
        """Length of the bias: ``out_channels``."""
        return self.out_channels

    def output_size(self, input_shape: Sequence[int]) -> tuple[int, int]:
        """``(OH, OW)`` for an input of shape ``(B, C, H, W)``."""
        oh = conv_output_size(
            int(input_shape[2]), self.kernel_size[0], self.stride[0], self.padding[0]
        )
        ow = conv_output_size(
            int(input_shape[3]), self.kernel_size[1], self.stride[1], self.padding[1]
        )
        return oh, ow

    def dense_product_flops(self, input_shape: Sequence[int]) -> int:
        oh, ow = self.output_size(input_shape)
        return int(input_shape[0]) * oh * ow * math.prod(self.weight_shape)

    def _dense_forward(self, params: dict[str, Any], x: Any, w: Any) -> Any:
        return conv2d(x, w, params.get("bias"), self.stride, self.padding)

    #: Multiply-adds one byte of activation traffic is worth: fitted to forward + backward
    #: times of both paths, ``time ~ a * flops + b * bytes``, ``BYTE_COST = b / a``
    #: (``benchmarks/bench_conv_modes.py``, ``benchmarks/results/conv_modes.json``).
    BYTE_COST = 22.0

    def activation_elements(self, input_shape: Sequence[int], path: str) -> int:
        """Elements of the activations ``path`` writes in one forward pass, patch matrices of
        ``im2col`` included (the input itself, read by both paths, is not counted).

        Dense path: the ``(C KH KW, B OH OW)`` patch matrix and the output. Factor path: each
        layer's intermediates (:meth:`factor_activations`).

        Parameters
        ----------
        input_shape : sequence of int
            ``(B, C, H, W)``.
        path : {"factors", "dense"}

        Returns
        -------
        int
        """
        path = check_option(path, "path", ("factors", "dense"))
        if path == "factors":
            return int(self.factor_activations(input_shape))
        o, c, kh, kw = self.weight_shape
        oh, ow = self.output_size(input_shape)
        positions = int(input_shape[0]) * oh * ow
        return positions * c * kh * kw + positions * o

    def factor_activations(self, input_shape: Sequence[int]) -> int:
        """Elements of the intermediates (and patch matrices) the factor path writes."""
        raise NotImplementedError

    def bytes_moved(self, input_shape: Sequence[int], path: str) -> int:
        """:meth:`activation_elements` times the parameter itemsize."""
        itemsize = next(iter(self._params.values())).dtype.itemsize
        return itemsize * self.activation_elements(input_shape, path)

    def check_input_shape(self, shape: Sequence[int]) -> None:
        """An input must be a batch of images ``(B, in_channels, H, W)``."""
        if len(shape) != 4 or shape[1] != self.in_channels:
            raise ValueError(
                f"x has shape {tuple(shape)}, expected (B, {self.in_channels}, H, W) for "
                f"in_channels={self.in_channels}"
            )
