"""Model zoo: the two classic MNIST networks.

* :func:`lenet300_100`: the fully connected 784-300-100-10 ReLU network of LeCun et al. (1998),
  the standard subject of pruning and low-rank compression papers (e.g. Han et al. 2015).
* :func:`lenet5`: LeNet-5 in its modern form (ReLU, max pooling): conv 5x5x6 - pool -
  conv 5x5x16 - pool - 120 - 84 - 10. The first convolution uses padding 2 so that 28x28
  MNIST digits give the 28x28 feature maps of the original 32x32 design; the second
  convolution then sees 14x14 maps and the classifier 16 * 5 * 5 = 400 features.
"""

from __future__ import annotations

from typing import Any

from .._validation import check_random_state
from .conv import Conv2d, MaxPool2d
from .layers import Flatten, Linear, ReLU
from .module import Sequential

__all__ = ["lenet300_100", "lenet5"]


def lenet300_100(random_state: Any = None) -> Sequential:
    """LeNet-300-100: ``Flatten, fc1 784->300, ReLU, fc2 300->100, ReLU, fc3 100->10``.

    Parameters
    ----------
    random_state : None, int or numpy.random.Generator
        Seed of the He-uniform initialization.

    Returns
    -------
    Sequential
        Parameters ``fc{1,2,3}.weight`` (``(in, out)``) and ``fc{1,2,3}.bias``; 266,610 in all.
    """
    rng = check_random_state(random_state)
    return Sequential(
        ("flatten", Flatten()),
        ("fc1", Linear(784, 300, random_state=rng)),
        ("relu1", ReLU()),
        ("fc2", Linear(300, 100, random_state=rng)),
        ("relu2", ReLU()),
        ("fc3", Linear(100, 10, random_state=rng)),
    )


def lenet5(random_state: Any = None) -> Sequential:
    """LeNet-5 for 1x28x28 input (see the module docstring for the padding choice).

    Parameters
    ----------
    random_state : None, int or numpy.random.Generator
        Seed of the He-uniform initialization.

    Returns
    -------
    Sequential
        Layers ``conv1, pool1, relu1, conv2, pool2, relu2, flatten, fc1, relu3, fc2, relu4,
        fc3``; 61,706 parameters. ReLU comes after max pooling, which computes the same
        function as before it (``max`` and ``max(., 0)`` commute) on 4x fewer entries.
    """
    rng = check_random_state(random_state)
    return Sequential(
        ("conv1", Conv2d(1, 6, 5, padding=2, random_state=rng)),
        ("pool1", MaxPool2d(2)),
        ("relu1", ReLU()),
        ("conv2", Conv2d(6, 16, 5, random_state=rng)),
        ("pool2", MaxPool2d(2)),
        ("relu2", ReLU()),
        ("flatten", Flatten()),
        ("fc1", Linear(400, 120, random_state=rng)),
        ("relu3", ReLU()),
        ("fc2", Linear(120, 84, random_state=rng)),
        ("relu4", ReLU()),
        ("fc3", Linear(84, 10, random_state=rng)),
    )
