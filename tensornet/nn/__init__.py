"""tensornet.nn: a small NumPy neural-network framework on autograd.

Parameters live in plain dicts, ``Module.apply(params, x)`` is a pure function of them, hot
operations are autograd primitives with hand-written VJPs, and optimizers expose two hooks
(gradient transforms before the update, proximal maps after it) for the compression and
subspace-training methods built on top.
"""

from . import init
from .conv import (
    AvgPool2d,
    Conv2d,
    MaxPool2d,
    avg_pool2d,
    col2im,
    conv2d,
    conv_output_size,
    im2col,
    max_pool2d,
)
from .layers import (
    BatchNorm1d,
    BatchNorm2d,
    Dropout,
    Flatten,
    Linear,
    ReLU,
    Sigmoid,
    Tanh,
    linear,
    relu,
    sigmoid,
)
from .losses import (
    DistillationLoss,
    cross_entropy,
    distillation_loss,
    distillation_targets,
    log_softmax,
    mse,
    soft_cross_entropy,
    softmax,
)
from .module import Module, Sequential, value_and_grad
from .optim import SGD, Adam, AdamW, CosineLR, MultiStepLR, Optimizer, StepLR, clip_grad_norm
from .train import (
    Callback,
    Checkpoint,
    History,
    LambdaCallback,
    evaluate,
    fit,
    load_checkpoint,
    predict,
    save_checkpoint,
)
from .zoo import lenet5, lenet300_100

__all__ = [
    "init",
    "Module",
    "Sequential",
    "value_and_grad",
    "Linear",
    "Flatten",
    "ReLU",
    "Tanh",
    "Sigmoid",
    "Dropout",
    "BatchNorm1d",
    "BatchNorm2d",
    "linear",
    "relu",
    "sigmoid",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "conv2d",
    "im2col",
    "col2im",
    "max_pool2d",
    "avg_pool2d",
    "conv_output_size",
    "cross_entropy",
    "soft_cross_entropy",
    "mse",
    "distillation_loss",
    "distillation_targets",
    "DistillationLoss",
    "log_softmax",
    "softmax",
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "StepLR",
    "MultiStepLR",
    "CosineLR",
    "clip_grad_norm",
    "fit",
    "evaluate",
    "predict",
    "History",
    "Callback",
    "LambdaCallback",
    "Checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "lenet300_100",
    "lenet5",
]
