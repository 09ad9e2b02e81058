"""The optimizer hooks shared by the fine-tuning helpers of :mod:`tensornet.compress`."""

from __future__ import annotations

from typing import Any


class OptimizerHooks:
    """Mixin: :meth:`attach` registers a class's ``grad_transform`` (when it has one) and
    ``prox`` with an optimizer, the two hooks of :class:`tensornet.nn.Optimizer`."""

    def attach(self, optimizer: Any) -> None:
        """Register this object's gradient transform (if any) and proximal map with ``optimizer``.

        Parameters
        ----------
        optimizer : tensornet.nn.Optimizer
        """
        grad_transform = getattr(self, "grad_transform", None)
        if grad_transform is not None:
            optimizer.add_grad_transform(grad_transform)
        optimizer.add_prox(self.prox)
