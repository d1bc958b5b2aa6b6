"""Seeded random int-v1 MLPs: the models the planner's area figures are validated on
(benchmarks/calibrate_estimate.py --validate and tests/test_estimate.py build the same ones)."""
from __future__ import annotations

import numpy as np

from ..model import IntLayer, IntModel


def random_mlp(sizes, wbits: int, abits: int, seed: int) -> IntModel:
    """A valid int-v1 MLP with uniform random weights (hidden layers ReLU, clipped to abits)."""
    rng = np.random.default_rng(seed)
    top = (1 << (wbits - 1)) - 1
    layers = []
    for k in range(len(sizes) - 1):
        W = rng.integers(-top, top + 1, (sizes[k + 1], sizes[k]), dtype=np.int64)
        last = k == len(sizes) - 2
        shift = 0 if last else int(np.ceil(np.log2(top * sizes[k])))
        layers.append(IntLayer(W, rng.integers(-8, 9, sizes[k + 1]).astype(np.int64), shift, not last,
                               0 if last else abits))
    model = IntModel(abits, layers)
    model.validate("random MLP")
    return model
