"""tensornet.subspace: training in tiny subspaces (DLDR) and the space/time balance.

Survey Section IV (Ou et al.): a network's training trajectory lies in a subspace of a few
dozen dimensions (Li et al., "Low dimensional trajectory hypothesis is true", TPAMI 2022), so a
quasi-Newton method can train it there; and that redundancy is what compression removes.

* :class:`TrajectorySampler` (stage 1): a :func:`tensornet.nn.fit` callback recording the
  flattened trained parameters per epoch or every ``k`` steps;
* :func:`dldr` (stage 2): PCA of the samples through the centred ``n x n`` Gram matrix;
* :class:`PSGD`, :class:`PBFGS` and :func:`train_in_subspace` (stage 3): momentum SGD and
  BFGS on the subspace coordinates, through the optimizer's gradient-transform hook;
* :func:`projection_error`, :func:`dimension_sweep`, :func:`compression_sweep`: the normalized
  projection error and the sweeps of the survey's Figs. 8-9.
"""

from .analysis import compression_sweep, dimension_sweep, projection_error
from .dldr import DLDRBasis, dldr
from .optim import PBFGS, PSGD, SubspaceProjection
from .sampling import TrajectorySampler, flatten_params, unflatten_params
from .train import train_in_subspace

__all__ = [
    "TrajectorySampler",
    "flatten_params",
    "unflatten_params",
    "dldr",
    "DLDRBasis",
    "SubspaceProjection",
    "PSGD",
    "PBFGS",
    "train_in_subspace",
    "projection_error",
    "dimension_sweep",
    "compression_sweep",
]
