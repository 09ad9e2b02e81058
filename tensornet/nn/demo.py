"""The training demo behind ``tensornet demo``: LeNet-300-100 on MNIST in plain NumPy.

The full MNIST set is used when found (``data`` folder, ``$TENSORNET_DATA`` or the cache; see
:func:`tensornet.datasets.load_mnist`), otherwise the subset bundled with the package (6,000
training and 1,000 test images), which trains in a few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .._deprecation import deprecated_arguments
from .losses import cross_entropy
from .optim import SGD, CosineLR
from .train import evaluate, fit
from .zoo import lenet300_100

__all__ = ["run_training_demo"]


@deprecated_arguments(renamed={"seed": "random_state"})
def run_training_demo(
    data: str | None = None,
    epochs: int = 5,
    batch_size: int = 128,
    lr: float = 0.1,
    momentum: float = 0.9,
    random_state: int = 0,
    download: bool = False,
    progress: bool | None = None,
    echo: Callable[[str], Any] = print,
    compress: bool = True,
) -> dict[str, Any]:
    """Train LeNet-300-100 with SGD + momentum and a cosine schedule; report test accuracy.

    Parameters
    ----------
    data : str, optional
        Folder with the four MNIST IDX files (gzipped or not).
    epochs : int
        Training epochs.
    batch_size : int
        Mini-batch size.
    lr : float
        Peak learning rate of the cosine schedule.
    momentum : float
        SGD momentum.
    random_state : int
        Seed of the initialization and of the batch order (``seed=`` is a deprecated alias).
    download : bool
        Try the public mirrors when no local copy is found.
    progress : bool, optional
        Progress bars (default: only on a terminal).
    echo : callable
        Receives the lines to print.
    compress : bool
        Then decompose the trained network with the formats this install has, fine-tune each
        for two epochs and print the table of :func:`tensornet.compress.compare.compare_methods`.

    Returns
    -------
    dict
        ``n_train``, ``n_test``, ``test_accuracy``, ``test_loss``, ``seconds``, ``history``,
        and with ``compress`` the table rows under ``compression``.
    """
    from ..datasets import load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist(data, download=download)
    echo(
        f"Training LeNet-300-100 (784-300-100-10, ReLU) on MNIST: {len(x_train)} training / "
        f"{len(x_test)} test images, {epochs} epochs, batch {batch_size}, SGD lr {lr} "
        f"momentum {momentum}, cosine schedule, float32"
    )
    model = lenet300_100(random_state=random_state)
    optimizer = SGD(model.params, lr=lr, momentum=momentum, schedule=CosineLR(epochs))
    start = time.perf_counter()
    history = fit(
        model,
        cross_entropy,
        optimizer,
        (x_train, y_train),
        epochs=epochs,
        batch_size=batch_size,
        val_data=(x_test, y_test),
        random_state=random_state,
        progress=progress,
        verbose=True,
    )
    seconds = time.perf_counter() - start
    test = evaluate(model, (x_test, y_test))
    echo(
        f"Test accuracy: {100 * test['accuracy']:.2f}% ({len(x_test)} images), "
        f"trained in {seconds:.1f} s"
    )
    result = {
        "n_train": len(x_train),
        "n_test": len(x_test),
        "test_accuracy": test["accuracy"],
        "test_loss": test["loss"],
        "seconds": seconds,
        "history": history.as_dict(),
    }
    if compress:
        from ..compress.compare import compare_methods, format_comparison

        echo("Decomposing fc1 and fc2 to 1/10 of their parameters, fine-tuning 2 epochs each:")
        rows = compare_methods(
            model, (x_train, y_train), (x_test, y_test), random_state=random_state, echo=echo
        )
        echo(format_comparison(rows))
        result["compression"] = rows
    return result
