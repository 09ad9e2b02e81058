"""A real two-factor low-rank linear layer for the compress/weights tests.

It stands in for ``tensornet.nn.factorized.LowRankLinear`` so these tests do not depend on the
layer branches: ``W = L @ R`` with ``L`` of shape ``(N, r)`` and ``R`` of shape ``(r, M)``, built
from the truncated SVD of a dense weight (balanced split ``L = U_r S_r^(1/2)``).
"""

import numpy as np

from tensornet.nn.factorized.base import FactorizedLinear
from tensornet.nn.layers import linear


class TwoFactorLinear(FactorizedLinear):
    """``y = (x @ L) @ R + b``."""

    def __init__(self, left, right, bias=None, mode="auto"):
        super().__init__(left.shape[0], right.shape[1], mode)
        self.rank = left.shape[1]
        self.add_param("left", left)
        self.add_param("right", right)
        if bias is not None:
            self.add_param("bias", bias)

    @property
    def ranks(self):
        return (self.rank,)

    def dense_weight(self, params):
        return params["left"] @ params["right"]

    def forward_factors(self, params, x):
        return linear(linear(x, params["left"]), params["right"], params.get("bias"))

    def factor_flops(self, input_shape):
        return int(input_shape[0]) * self.rank * (self.in_features + self.out_features)

    def reconstruction_flops(self):
        return self.in_features * self.rank * self.out_features

    @classmethod
    def from_weight(cls, weight, bias=None, *, ranks=None, eps=None, mode="auto"):
        weight = np.asarray(weight)
        u, s, vt = np.linalg.svd(weight.astype(np.float64), full_matrices=False)
        if ranks is not None:
            r = int(ranks if np.ndim(ranks) == 0 else ranks[0])
            if not 1 <= r <= len(s):
                raise ValueError(f"ranks={ranks!r} must lie in [1, {len(s)}]")
        elif eps is not None:
            tails = np.sqrt(np.maximum(np.cumsum((s**2)[::-1])[::-1], 0.0))
            tails = np.append(tails[1:], 0.0)  # tails[r-1] = error of rank r
            r = int(np.argmax(tails <= eps * np.linalg.norm(s))) + 1
        else:
            r = len(s)
        root = np.sqrt(s[:r])
        dtype = weight.dtype
        left = (u[:, :r] * root).astype(dtype)
        right = (root[:, None] * vt[:r]).astype(dtype)
        return cls(left, right, None if bias is None else np.array(bias, dtype=dtype), mode)
