"""Knowledge distillation as the fine-tuning step of a compression pipeline (survey Sec. III-A).

A compressed student (decomposed, pruned, quantized) recovers accuracy by matching its dense
teacher's softened outputs (Hinton, Vinyals & Dean 2015):
``alpha * T**2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(y, s)``, the existing
:func:`tensornet.nn.distillation_loss`.

The teacher's logits are computed batch by batch as the student trains
(:class:`TeacherBatches`), never stored for the whole training set: one ``(batch, K)`` block at
a time. Compression constraints ride along as optimizer hooks (pruning masks, weight sharing,
fake quantization): anything with an ``attach(optimizer)`` method is attached before training.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .._validation import check_int, check_real
from ..datasets import DataLoader
from ..nn.losses import DistillationLoss, distillation_targets
from ..nn.module import Module
from ..nn.optim import SGD, Adam, CosineLR, Optimizer
from ..nn.train import Callback, History, fit

__all__ = ["TeacherBatches", "distill", "make_optimizer"]

_OPTIMIZERS = ("adam", "sgd")


class TeacherBatches:
    """Batches ``(x, targets)`` whose targets pack the labels with the teacher's logits.

    Each batch of the underlying loader is passed through the teacher (evaluation mode) when
    it is drawn; :func:`tensornet.nn.distillation_targets` packs ``(labels, logits)`` into one
    ``(batch, 1 + K)`` array that :class:`tensornet.nn.DistillationLoss` unpacks.

    Parameters
    ----------
    teacher : Module
        The dense model; left unchanged (its training mode is restored after each batch).
    data : (x, y) tuple or iterable of (x, y) batches
        Training data with integer labels; a tuple is batched by
        :class:`tensornet.datasets.DataLoader` (shuffled, seeded by ``random_state``).
    batch_size : int
        Batch size when ``data`` is a tuple.
    random_state : None, int or numpy.random.Generator
        Seed of the batch order.
    """

    def __init__(
        self, teacher: Module, data: Any, batch_size: int = 128, random_state: Any = None
    ) -> None:
        if not isinstance(teacher, Module):
            raise TypeError(f"teacher must be a tensornet.nn.Module, got {type(teacher).__name__}")
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        if isinstance(data, tuple) and len(data) == 2:
            data = DataLoader(data[0], data[1], batch_size, shuffle=True, random_state=random_state)
        elif not hasattr(data, "__iter__") or not hasattr(data, "__len__"):
            raise TypeError(
                "data must be an (x, y) tuple or an iterable of (x, y) batches with len(), got "
                f"{type(data).__name__}"
            )
        self.teacher, self.loader = teacher, data

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for xb, yb in self.loader:
            yield xb, distillation_targets(yb, self._logits(xb))

    def _logits(self, xb: np.ndarray) -> np.ndarray:
        modes = [m.training for m in self.teacher.modules()]
        self.teacher.eval()
        try:
            return np.asarray(self.teacher.apply(self.teacher.params, xb), dtype=np.float32)
        finally:
            for m, mode in zip(self.teacher.modules(), modes, strict=True):
                m.training = mode


def make_optimizer(
    params: dict[str, np.ndarray], optimizer: str = "adam", lr: float = 1e-3, epochs: int = 1
) -> Optimizer:
    """The fine-tuning optimizer: Adam or SGD with momentum 0.9, cosine schedule over ``epochs``.

    Parameters
    ----------
    params : dict of str to numpy.ndarray
        The live parameters to update.
    optimizer : {"adam", "sgd"}
        Method.
    lr : float
        Peak learning rate ``> 0``.
    epochs : int
        Length of the cosine schedule.

    Returns
    -------
    Optimizer
    """
    if not isinstance(optimizer, str) or optimizer not in _OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r} must be one of {_OPTIMIZERS}")
    lr = check_real(lr, "lr", minimum=0.0, strict_minimum=True)
    epochs = check_int(epochs, "epochs", minimum=1)
    schedule = CosineLR(epochs)
    if optimizer == "adam":
        return Adam(params, lr=lr, schedule=schedule)
    return SGD(params, lr=lr, momentum=0.9, schedule=schedule)


def distill(
    student: Module,
    teacher: Module,
    data: Any,
    epochs: int = 1,
    *,
    temperature: float = 4.0,
    alpha: float = 0.9,
    optimizer: Optimizer | str = "adam",
    lr: float = 1e-3,
    batch_size: int = 128,
    hooks: Sequence[Any] = (),
    callbacks: Sequence[Callback] | None = None,
    random_state: Any = None,
    verbose: bool = False,
) -> History:
    """Fine-tune ``student`` in place against ``teacher`` with the distillation loss.

    Minimizes :func:`tensornet.nn.distillation_loss` (Hinton et al. 2015; the survey's
    Sec. III-A "knowledge distillation" combined with low-rank approximation): the soft term
    matches ``softmax(teacher / T)``, the hard term the labels.

    Parameters
    ----------
    student : Module
        The compressed model, trained in place.
    teacher : Module
        The dense model; its logits are computed per batch (:class:`TeacherBatches`).
    data : (x, y) tuple or iterable of (x, y) batches
        Training inputs and integer labels.
    epochs : int
        Passes over ``data``.
    temperature : float
        ``T > 0``.
    alpha : float
        Weight of the soft term in ``[0, 1]``.
    optimizer : Optimizer or {"adam", "sgd"}
        A ready optimizer over (a sub-dict of) ``student.params``, or the name given to
        :func:`make_optimizer` with ``lr`` and ``epochs``.
    lr : float
        Peak learning rate when ``optimizer`` is a name.
    batch_size : int
        Batch size when ``data`` is a tuple.
    hooks : sequence
        Objects with ``attach(optimizer)`` (pruning masks, shared weights, quantization-aware
        training), attached in order before training.
    callbacks : sequence of Callback, optional
        Passed to :func:`tensornet.nn.fit`.
    random_state : None, int or numpy.random.Generator
        Seed of the batch order.
    verbose : bool
        One line per epoch.

    Returns
    -------
    History
        The training losses (the distillation loss) per epoch.

    Examples
    --------
    >>> import numpy as np
    >>> from tensornet import nn
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.standard_normal((64, 6)).astype(np.float32), rng.integers(0, 3, 64)
    >>> teacher = nn.Sequential(nn.Linear(6, 3, random_state=0))
    >>> student = nn.Sequential(nn.Linear(6, 3, random_state=1))
    >>> history = distill(student, teacher, (x, y), epochs=2, alpha=1.0, random_state=0)
    >>> history["loss"][1] < history["loss"][0]
    True
    """
    if not isinstance(student, Module):
        raise TypeError(f"student must be a tensornet.nn.Module, got {type(student).__name__}")
    epochs = check_int(epochs, "epochs", minimum=1)
    loss = DistillationLoss(temperature, alpha)
    batches = TeacherBatches(teacher, data, batch_size, random_state)
    if not isinstance(optimizer, Optimizer):
        optimizer = make_optimizer(student.params, optimizer, lr, epochs)
    for hook in hooks:
        if not hasattr(hook, "attach"):
            raise TypeError(f"hooks must have an attach(optimizer) method, got {hook!r}")
        hook.attach(optimizer)
    return fit(
        student,
        loss,
        optimizer,
        batches,
        epochs=epochs,
        callbacks=callbacks,
        random_state=random_state,
        progress=False,
        verbose=verbose,
    )
