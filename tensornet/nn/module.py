"""Modules: parameters in a plain dict, a pure ``apply(params, x)``, and a fast gradient.

A :class:`Module` owns named arrays of two kinds:

* **parameters** (``module.params``): trainable, a flat ``dict`` from dotted names such as
  ``"fc1.weight"`` to arrays. ``module.apply(params, x)`` is a pure function of that dict, so
  ``autograd.value_and_grad(lambda p: loss(model.apply(p, x), y))(model.params)`` returns the
  gradient as a dict with the same keys.
* **buffers** (``module.buffers``): state that is not differentiated, such as BatchNorm running
  statistics. Layers update their buffers in training mode as a side effect of ``apply`` using
  plain (untraced) values, so they never enter the differentiated dict.

The arrays returned by ``module.params`` are the module's own (no copy): an optimizer updates
them in place and every holder of the dict sees the change. Use :meth:`Module.state_dict` for a
snapshot.

:func:`value_and_grad` computes the same value and gradient dict as ``autograd.value_and_grad``
but boxes every parameter array on its own, which skips autograd's per-lookup dict bookkeeping
(a zero-filled gradient dict and a vector-space object per ``params[name]``); the training loop
uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
from autograd.core import VJPNode, add_outgrads
from autograd.tracer import isbox, new_box, trace_stack
from autograd.util import toposort

from .._validation import check_numeric_array

__all__ = ["Module", "Sequential", "value_and_grad"]


class Module:
    """Base class of layers and models.

    Subclasses create their arrays in ``__init__`` with :meth:`add_param` and
    :meth:`add_buffer` (or register sub-modules with :meth:`add_module`) and implement
    ``forward(params, x)``, where ``params`` holds the module's *own* parameters under their
    local names (``"weight"``, ``"bias"``). Containers route each child its local view.

    Attributes
    ----------
    training : bool
        Training mode (``True``) or evaluation mode; see :meth:`train` and :meth:`eval`.
    """

    def __init__(self) -> None:
        self.training = True
        self._params: dict[str, np.ndarray] = {}
        self._buffers: dict[str, np.ndarray] = {}
        self._modules: dict[str, Module] = {}

    # ----------------------------------------------------------------- registration
    def add_param(self, name: str, value: np.ndarray) -> np.ndarray:
        """Register a trainable array under the local ``name``.

        Parameters
        ----------
        name : str
            Local name without dots, e.g. ``"weight"``.
        value : numpy.ndarray
            Initial value (stored C-contiguous).

        Returns
        -------
        numpy.ndarray
            The stored array.
        """
        _check_local_name(name, self._params, self._buffers, self._modules)
        arr = np.ascontiguousarray(value)
        self._params[name] = arr
        return arr

    def add_buffer(self, name: str, value: np.ndarray) -> np.ndarray:
        """Register a non-trainable state array (e.g. a running mean) under ``name``.

        Parameters
        ----------
        name : str
            Local name without dots.
        value : numpy.ndarray
            Initial value.

        Returns
        -------
        numpy.ndarray
            The stored array.
        """
        _check_local_name(name, self._params, self._buffers, self._modules)
        arr = np.ascontiguousarray(value)
        self._buffers[name] = arr
        return arr

    def add_module(self, name: str, module: Module) -> Module:
        """Register a sub-module; its arrays appear under ``"name.<its names>"``.

        Parameters
        ----------
        name : str
            Local name without dots.
        module : Module
            The child.

        Returns
        -------
        Module
            ``module``.
        """
        if not isinstance(module, Module):
            raise TypeError(f"module {name!r} must be a tensornet.nn.Module, got {module!r}")
        _check_local_name(name, self._params, self._buffers, self._modules)
        self._modules[name] = module
        return module

    # ----------------------------------------------------------------- views
    @property
    def params(self) -> dict[str, np.ndarray]:
        """Flat dict of all trainable arrays (the live arrays, not copies)."""
        out = dict(self._params)
        for cname, child in self._modules.items():
            for key, value in child.params.items():
                out[f"{cname}.{key}"] = value
        return out

    @property
    def buffers(self) -> dict[str, np.ndarray]:
        """Flat dict of all buffers (the live arrays, not copies)."""
        out = dict(self._buffers)
        for cname, child in self._modules.items():
            for key, value in child.buffers.items():
                out[f"{cname}.{key}"] = value
        return out

    def children(self) -> Iterator[tuple[str, Module]]:
        """Iterate over ``(name, module)`` for the direct sub-modules.

        Yields
        ------
        (str, Module)
        """
        yield from self._modules.items()

    def modules(self) -> Iterator[Module]:
        """Iterate over this module and all its descendants, depth first.

        Yields
        ------
        Module
        """
        yield self
        for child in self._modules.values():
            yield from child.modules()

    @property
    def n_params(self) -> int:
        """Total number of trainable scalars."""
        return int(sum(v.size for v in self.params.values()))

    # ----------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, BatchNorm uses batch statistics).

        Parameters
        ----------
        mode : bool
            ``True`` for training, ``False`` for evaluation.

        Returns
        -------
        Module
            ``self``.
        """
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode; same as ``train(False)``.

        Returns
        -------
        Module
            ``self``.
        """
        return self.train(False)

    # ----------------------------------------------------------------- computation
    def forward(self, params: dict[str, Any], x: Any) -> Any:
        """Compute the output from the module's local parameters (subclasses define it).

        The base implementation runs the registered children in order, which suits simple
        chains; layers override it.

        Parameters
        ----------
        params : dict
            This module's parameters under local names (possibly autograd boxes).
        x : array_like
            Input batch.

        Returns
        -------
        array_like
        """
        for name, child in self._modules.items():
            x = child.forward(_local(params, name, child), x)
        return x

    def apply(self, params: dict[str, Any], x: Any) -> Any:
        """Pure forward pass with the given parameter dict (same keys as :attr:`params`).

        Parameters
        ----------
        params : dict
            Flat parameter dict; may hold autograd boxes, which is how gradients are taken.
        x : array_like
            Input batch.

        Returns
        -------
        array_like
            The output (a box when differentiating).
        """
        check_numeric_array(x, "x")
        return self.forward(params, x)

    def __call__(self, x: Any) -> Any:
        """Forward pass with the module's current parameters."""
        check_numeric_array(x, "x")
        return self.forward(self.params, x)

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of all parameters and buffers, keyed by their flat names.

        Returns
        -------
        dict of str to numpy.ndarray
        """
        state = {k: v.copy() for k, v in self.params.items()}
        state.update({k: v.copy() for k, v in self.buffers.items()})
        return state

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy values into the existing parameter and buffer arrays (in place).

        Parameters
        ----------
        state : dict of str to array_like
            As returned by :meth:`state_dict`.
        strict : bool
            Require exactly the module's keys; otherwise unknown keys are ignored and missing
            ones left unchanged.

        Raises
        ------
        KeyError
            With ``strict=True``, if keys are missing or unexpected.
        ValueError
            If a shape differs.
        """
        targets = {**self.params, **self.buffers}
        if strict:
            missing = sorted(set(targets) - set(state))
            extra = sorted(set(state) - set(targets))
            if missing or extra:
                raise KeyError(f"state_dict mismatch: missing keys {missing}, unexpected {extra}")
        for key, target in targets.items():
            if key not in state:
                continue
            value = np.asarray(state[key])
            if value.shape != target.shape:
                raise ValueError(
                    f"state[{key!r}] has shape {value.shape}, the module expects {target.shape}"
                )
            np.copyto(target, value, casting="same_kind")

    def extra_repr(self) -> str:
        """One-line description of the layer's configuration (used by ``repr``).

        Returns
        -------
        str
        """
        return ""

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not self._modules:
            return head + ")"
        lines = [head]
        for name, child in self._modules.items():
            text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {text}")
        return "\n".join(lines) + "\n)"


class Sequential(Module):
    """A chain of modules applied in order.

    Parameters
    ----------
    *layers : Module or (str, Module)
        The layers; give ``(name, module)`` pairs to choose names (default: ``"0"``, ``"1"``,
        ...). Parameter names are ``"<layer name>.<local name>"``.

    Examples
    --------
    >>> from tensornet.nn import Linear, ReLU, Sequential
    >>> net = Sequential(("fc1", Linear(4, 3, random_state=0)), ("act", ReLU()))
    >>> sorted(net.params)
    ['fc1.bias', 'fc1.weight']
    """

    def __init__(self, *layers: Module | tuple[str, Module]) -> None:
        super().__init__()
        for i, item in enumerate(layers):
            if isinstance(item, tuple):
                if len(item) != 2 or not isinstance(item[0], str):
                    raise TypeError(f"layers[{i}] must be a Module or a (name, Module) pair")
                self.add_module(item[0], item[1])
            else:
                self.add_module(str(i), item)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, key: int | str) -> Module:
        if isinstance(key, str):
            return self._modules[key]
        return list(self._modules.values())[key]


def _check_local_name(name: str, *taken: dict) -> None:
    if not isinstance(name, str) or not name or "." in name:
        raise ValueError(f"name={name!r} must be a non-empty string without dots")
    if any(name in t for t in taken):
        raise ValueError(f"name={name!r} is already registered in this module")


def _local(params: dict[str, Any], prefix: str, child: Module) -> dict[str, Any]:
    """The child's parameters under their local names (no copies of the arrays)."""
    head = prefix + "."
    return {key: params[head + key] for key in _param_names(child)}


def _param_names(module: Module) -> Iterable[str]:
    if not module._modules:
        return module._params.keys()
    return module.params.keys()


def value_and_grad(fun: Callable[..., Any]) -> Callable[..., tuple[Any, dict[str, np.ndarray]]]:
    """Value and gradient of ``fun(params, *args)`` with respect to the dict ``params``.

    Same result as ``autograd.value_and_grad(fun)`` for a flat dict of arrays, but every entry
    is traced as its own root, so looking parameters up costs nothing extra. Entries the value
    does not depend on get a zero gradient.

    Parameters
    ----------
    fun : callable
        ``fun(params, *args, **kwargs)`` returning a scalar.

    Returns
    -------
    callable
        ``(params, *args, **kwargs) -> (value, grads)`` with ``grads`` a dict of arrays shaped
        and typed like ``params``.
    """
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {fun!r}")

    def value_and_grad_fun(params: dict[str, np.ndarray], *args: Any, **kwargs: Any):
        roots: dict[VJPNode, str] = {}
        with trace_stack.new_trace() as trace:
            boxed = {}
            for key, value in params.items():
                node = VJPNode.new_root()
                roots[node] = key
                boxed[key] = new_box(value, trace, node)
            end = fun(boxed, *args, **kwargs)
        if not (isbox(end) and end._trace == trace):
            return end, {k: np.zeros_like(v) for k, v in params.items()}
        value = end._value
        grads = _backward(end._node, roots, np.ones_like(value))
        out = {}
        for key, p in params.items():
            g = grads.get(key)
            if g is None:
                out[key] = np.zeros_like(p)
            elif type(g) is not np.ndarray or g.dtype != p.dtype or g.shape != p.shape:
                out[key] = np.array(np.broadcast_to(g, p.shape), dtype=p.dtype)
            else:
                out[key] = g
        return value, out

    return value_and_grad_fun


def _backward(end_node: VJPNode, roots: dict[VJPNode, str], seed: Any) -> dict[str, Any]:
    """Reverse sweep from ``end_node``; collect the gradients arriving at the ``roots``."""
    outgrads = {end_node: (seed, False)}
    grads = {}
    for node in toposort(end_node):
        grad = outgrads.pop(node)[0]
        key = roots.get(node)
        if key is not None:
            grads[key] = grad
            continue
        for parent, ingrad in zip(node.parents, node.vjp(grad), strict=False):
            outgrads[parent] = add_outgrads(outgrads.get(parent), ingrad)
    return grads
