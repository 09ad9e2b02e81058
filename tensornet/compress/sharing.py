"""Weight sharing: a k-means codebook per layer, and one basis shared by several layers.

* **Per-layer codebook** (Han et al. 2016, Deep Compression, Sec. 3): the entries of a weight
  are clustered into ``2**bits`` centroids (:func:`~tensornet.compress.quantize.kmeans_quantize`,
  linear initialization); every entry becomes the index of its centroid. Fine-tuning updates the
  centroids: the gradient of the loss with respect to centroid ``k`` is the sum of the gradients
  of the weights in its cluster, ``dL/dc_k = sum_{i: code_i = k} dL/dw_i`` (Han et al., Eq. 3).
  :class:`SharedWeights` implements it through the optimizer's hooks: the gradient transform
  gives every weight its cluster's summed gradient, so all members of a cluster receive the
  same update from any element-wise optimizer (SGD, momentum, Adam keep per-entry state that
  stays equal within a cluster) and move together as the centroid; the proximal map re-reads
  the codebook and snaps the weights onto it. Pruned entries (a mask) form the reserved
  cluster 0, fixed at zero.
* **Shared basis** (survey Section III-C, weight sharing between layers through a common
  factor): layers whose weights have the same number of rows (columns) share one orthonormal
  basis ``U`` of their column (row) space, ``W_i ≈ U C_i``. The basis is the leading left
  singular vectors of the concatenation ``[W_1, ..., W_L]``, the optimal choice for the summed
  squared error (Eckart–Young), and each layer keeps only its small coefficient matrix.
  :func:`share_basis` puts it into a network: :class:`SharedBasisSequential` holds the basis
  once as the parameter ``"basis"`` and every sharing layer's coefficients, so fine-tuning
  trains the common basis with the gradients of all its layers.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg

from .._validation import check_array, check_eps, check_int, check_option
from ..nn.layers import Linear
from ..nn.module import Module, Sequential
from ._hooks import OptimizerHooks
from .prune import PruneMasks, _chosen_names, _params_of
from .quantize import KMEANS_INITS, QuantizedTensor, kmeans_quantize

__all__ = [
    "SharedWeights",
    "share_weights",
    "SharedBasis",
    "shared_basis",
    "share_basis",
    "SharedBasisSequential",
]

SIDES = ("left", "right")


# ------------------------------------------------------------------------------ codebooks
@dataclass
class SharedWeights(OptimizerHooks):
    """Codes and codebooks of the shared parameters, and the fine-tuning hooks.

    The gradient of a centroid is the *sum* of its members' gradients (Han et al. 2016), so
    a cluster of ``m`` weights moves about ``m`` times as far as one weight would at the same
    learning rate: fine-tune with a rate about ``1/m`` of the training rate for large clusters.

    Attributes
    ----------
    quantized : dict of str to QuantizedTensor
        Parameter name -> k-means codes and codebook (``codebook[0] == 0`` reserved for pruned
        entries when ``keep_zero``).
    """

    quantized: dict[str, QuantizedTensor]

    def __post_init__(self) -> None:
        if not isinstance(self.quantized, dict):
            raise TypeError(f"quantized must be a dict of QuantizedTensor, got {self.quantized!r}")
        for name, q in self.quantized.items():
            if not isinstance(q, QuantizedTensor) or q.scheme != "kmeans":
                raise TypeError(f"quantized[{name!r}] must be a k-means QuantizedTensor")

    def codebooks(self) -> dict[str, np.ndarray]:
        """The current codebook of every shared parameter.

        Returns
        -------
        dict of str to numpy.ndarray
        """
        return {k: q.codebook for k, q in self.quantized.items()}

    def apply(self, params: dict[str, np.ndarray]) -> None:
        """Write ``codebook[codes]`` into ``params`` (in place).

        Parameters
        ----------
        params : dict of str to numpy.ndarray
        """
        for name, q in self.quantized.items():
            if params[name].shape != q.shape:
                raise ValueError(f"params[{name!r}] has shape {params[name].shape}, not {q.shape}")
            np.copyto(params[name], q.dequantize(), casting="same_kind")

    def grad_transform(
        self, grads: dict[str, np.ndarray], params: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Give every weight the summed gradient of its cluster (the centroid gradient).

        Parameters
        ----------
        grads : dict of str to numpy.ndarray
        params : dict of str to numpy.ndarray
            Unused; part of the hook's signature.

        Returns
        -------
        dict of str to numpy.ndarray
            A new dict; the shared entries replaced.
        """
        out = dict(grads)
        for name, q in self.quantized.items():
            if name in out:
                g = out[name]
                sums = self.centroid_grad(name, g)
                out[name] = sums[q.codes.astype(np.intp)].astype(g.dtype)
        return out

    def centroid_grad(self, name: str, grad: np.ndarray) -> np.ndarray:
        """``dL/dc_k = sum_{i: code_i = k} dL/dw_i`` for every centroid of ``name``.

        Parameters
        ----------
        name : str
            A shared parameter.
        grad : numpy.ndarray
            ``dL/dW`` of that parameter.

        Returns
        -------
        numpy.ndarray, shape (k,)
            Zero for the reserved pruned cluster.
        """
        q = self.quantized[name]
        codes = q.codes.reshape(-1).astype(np.intp)
        sums = np.bincount(codes, weights=np.asarray(grad, np.float64).reshape(-1),
                           minlength=q.codebook.size)  # fmt: skip
        if q.keep_zero:
            sums[0] = 0.0
        return sums

    def prox(self, params: dict[str, np.ndarray], lr: float) -> None:
        """Read each cluster's common value back into the codebook and snap the weights onto it.

        Parameters
        ----------
        params : dict of str to numpy.ndarray
        lr : float
            Unused; part of the hook's signature.
        """
        for name, q in self.quantized.items():
            if name not in params:
                continue
            codes = q.codes.reshape(-1).astype(np.intp)
            k = q.codebook.size
            counts = np.bincount(codes, minlength=k)
            sums = np.bincount(codes, weights=params[name].reshape(-1).astype(np.float64),
                               minlength=k)  # fmt: skip
            book = np.where(counts > 0, sums / np.maximum(counts, 1), q.codebook)
            if q.keep_zero:
                book[0] = 0.0
            q.codebook = book.astype(q.codebook.dtype)
            np.copyto(params[name], q.dequantize(), casting="same_kind")

    def nbytes(self) -> dict[str, int]:
        """Payload bytes per parameter (packed codes + codebook) and ``"total"``.

        Returns
        -------
        dict of str to int
        """
        out = {k: q.nbytes()["total"] for k, q in self.quantized.items()}
        out["total"] = sum(out.values())
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        """``"<name>/codes"`` (packed) and ``"<name>/codebook"`` for every parameter.

        Returns
        -------
        dict of str to numpy.ndarray
        """
        return {f"{n}/{k}": v for n, q in self.quantized.items() for k, v in q.to_arrays().items()}

    def to_meta(self) -> dict[str, Any]:
        """Per-parameter :meth:`QuantizedTensor.to_meta` (JSON).

        Returns
        -------
        dict
        """
        return {
            "kind": "SharedWeights",
            "params": {n: q.to_meta() for n, q in self.quantized.items()},
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> SharedWeights:
        """Inverse of :meth:`to_arrays` / :meth:`to_meta`.

        Parameters
        ----------
        arrays : dict of str to numpy.ndarray
        meta : dict

        Returns
        -------
        SharedWeights
        """
        out = {}
        for name, sub in dict(meta.get("params", {})).items():
            head = name + "/"
            mine = {k[len(head) :]: v for k, v in arrays.items() if k.startswith(head)}
            out[name] = QuantizedTensor.from_arrays(mine, sub)
        return cls(out)


def share_weights(
    model_or_params: Any,
    bits: int | dict[str, int] = 5,
    *,
    names: Sequence[str] | None = None,
    masks: PruneMasks | None = None,
    init: str = "linear",
    n_iter: int = 100,
    inplace: bool = True,
) -> SharedWeights:
    """Cluster each parameter's entries into a ``2**bits`` codebook (Han et al. 2016, Sec. 3).

    Parameters
    ----------
    model_or_params : Module or dict of str to numpy.ndarray
        The model (its live ``params``) or a parameter dict.
    bits : int or dict of str to int
        Code width per parameter (Deep Compression: 8 for conv, 5 for fully connected layers).
    names : sequence of str, optional
        Parameters to share; default the names of ``masks``, else every ``ndim >= 2`` parameter.
    masks : PruneMasks, optional
        Pruning masks: only kept entries are clustered, pruned ones get the reserved code 0
        (value 0) and stay zero during fine-tuning.
    init : {"linear", "uniform", "density", "random"}
        Codebook start (see :func:`~tensornet.compress.quantize.kmeans_quantize`).
    n_iter : int
        Lloyd iterations.
    inplace : bool
        Replace the weights by their centroids.

    Returns
    -------
    SharedWeights
        Attach it to the fine-tuning optimizer to train the centroids.
    """
    params = _params_of(model_or_params)
    if masks is not None and not isinstance(masks, PruneMasks):
        raise TypeError(f"masks must be a PruneMasks, got {type(masks).__name__}")
    if names is None and masks is not None:
        names = list(masks.masks)
    chosen = _chosen_names(params, names)
    init = check_option(init, "init", KMEANS_INITS)
    widths = _bits_per_name(bits, chosen)
    quantized = {}
    for name in chosen:
        mask = None if masks is None else masks.masks.get(name)
        quantized[name] = kmeans_quantize(params[name], widths[name], init=init,
                                          n_iter=n_iter, mask=mask)  # fmt: skip
    result = SharedWeights(quantized)
    if inplace:
        result.apply(params)
    return result


def _bits_per_name(bits: Any, names: list[str]) -> dict[str, int]:
    if isinstance(bits, dict):
        missing = [n for n in names if n not in bits]
        if missing:
            raise ValueError(f"bits has no width for {missing}")
        return {n: check_int(bits[n], f"bits[{n!r}]", minimum=1, maximum=16) for n in names}
    b = check_int(bits, "bits", minimum=1, maximum=16)
    return {n: b for n in names}


# ------------------------------------------------------------------------------ shared basis
@dataclass
class SharedBasis:
    """One orthonormal basis shared by several layers' weights, and each layer's coefficients.

    Attributes
    ----------
    side : {"left", "right"}
        ``"left"``: ``W_i ≈ basis @ coefficients[i]`` (``basis`` is ``(m, r)``);
        ``"right"``: ``W_i ≈ coefficients[i] @ basis.T`` (``basis`` is ``(n, r)``).
    basis : numpy.ndarray
        Orthonormal columns.
    coefficients : dict of str to numpy.ndarray
        Per-layer coefficients.
    rel_errors : dict of str to float
        ``||W_i - approx_i||_F / ||W_i||_F`` per layer, and over all layers under ``"total"``.
    singular_values : numpy.ndarray
        All singular values of the concatenated weights.
    """

    side: str
    basis: np.ndarray
    coefficients: dict[str, np.ndarray]
    rel_errors: dict[str, float] = field(default_factory=dict)
    singular_values: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_option(self.side, "side", SIDES)
        self.basis = check_array(self.basis, "basis", ndim=2)

    @property
    def rank(self) -> int:
        """Number of basis vectors."""
        return int(self.basis.shape[1])

    @property
    def n_params(self) -> int:
        """Stored numbers: the basis once plus every coefficient matrix."""
        return int(self.basis.size + sum(c.size for c in self.coefficients.values()))

    def reconstruct(self, name: str) -> np.ndarray:
        """The approximation of layer ``name``'s weight.

        Parameters
        ----------
        name : str

        Returns
        -------
        numpy.ndarray
        """
        c = self.coefficients[name]
        return self.basis @ c if self.side == "left" else c @ self.basis.T

    def to_arrays(self) -> dict[str, np.ndarray]:
        """``"basis"`` and ``"coef/<name>"``.

        Returns
        -------
        dict of str to numpy.ndarray
        """
        out = {"basis": self.basis.copy()}
        out.update({f"coef/{k}": v.copy() for k, v in self.coefficients.items()})
        return out

    def to_meta(self) -> dict[str, Any]:
        """Side, rank, layer names and errors (JSON).

        Returns
        -------
        dict
        """
        return {
            "kind": "SharedBasis",
            "side": self.side,
            "rank": self.rank,
            "names": list(self.coefficients),
            "rel_errors": dict(self.rel_errors),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> SharedBasis:
        """Inverse of :meth:`to_arrays` / :meth:`to_meta`.

        Parameters
        ----------
        arrays : dict of str to numpy.ndarray
        meta : dict

        Returns
        -------
        SharedBasis

        Raises
        ------
        ValueError
            When an array is missing or its shape does not fit the basis.
        """
        side = check_option(meta.get("side"), "meta['side']", SIDES)
        if "basis" not in arrays:
            raise ValueError("shared basis record lacks 'basis'")
        basis = check_array(arrays["basis"], "basis", ndim=2)
        coefs = {}
        for name in meta.get("names", []):
            key = f"coef/{name}"
            if key not in arrays:
                raise ValueError(f"shared basis record lacks {key!r}")
            c = check_array(arrays[key], key, ndim=2)
            inner = c.shape[0] if side == "left" else c.shape[1]
            if inner != basis.shape[1]:
                raise ValueError(f"{key} has shape {c.shape}, the basis rank is {basis.shape[1]}")
            coefs[name] = c
        return cls(side, basis, coefs, dict(meta.get("rel_errors", {})))


def shared_basis(
    weights: dict[str, Any],
    rank: int | None = None,
    *,
    eps: float | None = None,
    side: str = "left",
) -> SharedBasis:
    """One basis for several weights with a common dimension (truncated SVD of their union).

    ``side="left"`` needs equal row counts ``m``: ``[W_1, ..., W_L] ≈ U_r S_r V_r^T`` and
    ``W_i ≈ U_r (U_r^T W_i)``. ``side="right"`` needs equal column counts and shares the row
    space. The summed squared error is the tail ``sum_{j > r} s_j^2`` of the concatenation's
    singular values, the least any common rank-``r`` basis can give (Eckart–Young).

    Parameters
    ----------
    weights : dict of str to array_like
        Two-dimensional weights (e.g. ``Linear`` weights ``(in, out)``: equal ``in`` share the
        left basis of the inputs).
    rank : int, optional
        Basis size ``r``, at most the shared dimension and the total of the others.
    eps : float, optional
        Instead of ``rank``: the smallest ``r`` whose total relative error is ``<= eps``.
    side : {"left", "right"}
        Share the column space (equal rows) or the row space (equal columns).

    Returns
    -------
    SharedBasis

    Examples
    --------
    >>> import numpy as np
    >>> u = np.linalg.qr(np.random.default_rng(0).standard_normal((6, 2)))[0]
    >>> ws = {"a": u @ np.ones((2, 3)), "b": u @ np.arange(8.0).reshape(2, 4)}
    >>> sb = shared_basis(ws, 2)
    >>> bool(sb.rel_errors["total"] < 1e-12), sb.n_params
    (True, 26)
    """
    side = check_option(side, "side", SIDES)
    mats = _check_weights(weights, side)
    stacked = np.concatenate(list(mats.values()), axis=1 if side == "left" else 0)
    u, s, vt = scipy.linalg.svd(stacked, full_matrices=False)
    r = _choose_rank(rank, eps, s)
    basis = u[:, :r] if side == "left" else vt[:r].T
    coefs = {k: basis.T @ w if side == "left" else w @ basis for k, w in mats.items()}
    result = SharedBasis(side, basis, coefs, {}, s)
    for k, w in mats.items():
        norm = float(np.linalg.norm(w))
        diff = float(np.linalg.norm(w - result.reconstruct(k)))
        result.rel_errors[k] = diff / norm if norm > 0 else 0.0
    total = float(np.linalg.norm(stacked))
    result.rel_errors["total"] = float(np.sqrt(np.sum(s[r:] ** 2))) / total if total > 0 else 0.0
    return result


def _check_weights(weights: Any, side: str) -> dict[str, np.ndarray]:
    if not isinstance(weights, dict) or not weights:
        raise TypeError("weights must be a non-empty dict of name -> 2-D array")
    mats = {
        k: check_array(v, f"weights[{k!r}]", ndim=2, dtype=np.float64) for k, v in weights.items()
    }
    axis = 0 if side == "left" else 1
    sizes = {k: w.shape[axis] for k, w in mats.items()}
    if len(set(sizes.values())) > 1:
        what = "rows" if side == "left" else "columns"
        raise ValueError(f"side={side!r} needs weights with equal numbers of {what}, got {sizes}")
    return mats


def _choose_rank(rank: Any, eps: Any, s: np.ndarray) -> int:
    if (rank is None) == (eps is None):
        raise ValueError("give exactly one of rank and eps")
    if rank is not None:
        return check_int(rank, "rank", minimum=1, maximum=s.size)
    eps = check_eps(eps, allow_none=False)
    energy = np.sum(s**2)
    tail = np.concatenate([np.cumsum((s**2)[::-1])[::-1], [0.0]])  # tail[r] = sum_{j>=r}
    ok = np.nonzero(tail <= eps**2 * energy)[0]
    return max(1, int(ok[0]))


# ------------------------------------------------------------------------------ in a network
class _BasisCoefficients(Module):
    """A linear layer's coefficients in the shared basis, and its bias (run by the container)."""

    def __init__(self, coef: np.ndarray, bias: np.ndarray | None, side: str) -> None:
        super().__init__()
        self.side = side
        self.add_param("coef", coef)
        if bias is not None:
            self.add_param("bias", bias.copy())

    def combine(self, basis: Any, params: dict[str, Any], x: Any) -> Any:
        """``x @ W + b`` with ``W = basis @ coef`` (left) or ``coef @ basis.T`` (right)."""
        if self.side == "left":
            out = (x @ basis) @ params["coef"]
        else:
            out = (x @ params["coef"]) @ basis.T
        return out + params["bias"] if "bias" in params else out

    def forward(self, params: dict[str, Any], x: Any) -> Any:
        raise TypeError(
            "a shared-basis layer runs inside SharedBasisSequential, which owns the basis"
        )

    def extra_repr(self) -> str:
        return f"coef={self._params['coef'].shape}, side={self.side!r}"


class SharedBasisSequential(Module):
    """A chain of layers in which some ``Linear`` layers share one basis (see :func:`share_basis`).

    Parameters ``"basis"`` (stored once), ``"<layer>.coef"`` and ``"<layer>.bias"`` for every
    sharing layer, and the other layers' parameters under their usual names. A sharing layer
    computes ``x @ basis @ coef + b`` (``side="left"``, ``W = basis @ coef``) or
    ``x @ coef @ basis.T + b`` (``side="right"``).

    Parameters
    ----------
    model : Sequential
        The original chain (deep-copied; left unchanged).
    shared : SharedBasis
        Basis and coefficients keyed by layer name.
    """

    def __init__(self, model: Sequential, shared: SharedBasis) -> None:
        super().__init__()
        if not isinstance(model, Sequential):
            raise TypeError(f"model must be a tensornet.nn.Sequential, got {type(model).__name__}")
        if not isinstance(shared, SharedBasis):
            raise TypeError(f"shared must be a SharedBasis, got {type(shared).__name__}")
        layers = dict(model.children())
        unknown = sorted(set(shared.coefficients) - set(layers))
        if unknown:
            raise ValueError(f"shared basis layers {unknown} are not layers of the model")
        self.side = shared.side
        self.shared_layers = tuple(shared.coefficients)
        dtype = next(iter(layers[self.shared_layers[0]].params.values())).dtype
        self.add_param("basis", shared.basis.astype(dtype))
        for name, child in layers.items():
            if name in shared.coefficients:
                bias = child.params.get("bias")
                coef = shared.coefficients[name].astype(dtype)
                self.add_module(name, _BasisCoefficients(coef, bias, shared.side))
            else:
                self.add_module(name, copy.deepcopy(child))

    def forward(self, params: dict[str, Any], x: Any) -> Any:
        """Run the layers in order; the sharing ones through the common basis.

        Parameters
        ----------
        params : dict
            Flat parameters (see the class docstring).
        x : array_like
            Input batch.

        Returns
        -------
        array_like
        """
        for name, child in self.children():
            head = name + "."
            local = {k[len(head) :]: v for k, v in params.items() if k.startswith(head)}
            if name in self.shared_layers:
                x = child.combine(params["basis"], local, x)
            else:
                x = child.forward(local, x)
        return x


def share_basis(
    model: Sequential,
    layers: Sequence[str],
    rank: int | None = None,
    *,
    eps: float | None = None,
    side: str = "left",
) -> tuple[SharedBasisSequential, SharedBasis]:
    """Replace ``Linear`` layers of equal input (or output) size by one shared basis.

    The weights ``W_i`` (``(in, out)``) of the named layers are decomposed by
    :func:`shared_basis`; ``side="left"`` needs equal ``in_features`` and shares the input-side
    basis (``W_i ≈ U C_i``), ``side="right"`` needs equal ``out_features``
    (``W_i ≈ C_i V^T``). At full rank the new network computes the same function.

    Parameters
    ----------
    model : Sequential
        Top-level chain (left unchanged).
    layers : sequence of str
        Names of at least one ``Linear`` layer.
    rank : int, optional
        Basis size.
    eps : float, optional
        Instead of ``rank``: the smallest basis with total relative error ``<= eps``.
    side : {"left", "right"}
        Which space is shared.

    Returns
    -------
    model : SharedBasisSequential
    shared : SharedBasis
        The decomposition (errors, parameter count) of the original weights.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a tensornet.nn.Sequential, got {type(model).__name__}")
    if isinstance(layers, str) or not isinstance(layers, Sequence) or not layers:
        raise TypeError(f"layers must be a non-empty sequence of layer names, got {layers!r}")
    children = dict(model.children())
    weights = {}
    for name in layers:
        if not isinstance(children.get(name), Linear):
            raise ValueError(f"layers holds {name!r}, which is not a Linear layer of the model")
        weights[name] = children[name].params["weight"]
    shared = shared_basis(weights, rank, eps=eps, side=side)
    return SharedBasisSequential(model, shared), shared
