"""Model-level ablation, the claim "neural nets tolerate a few missing or wrong weights": zero k
weights, or flip one random bit of k weights, in the integer model (evaluated with the golden model)."""
from __future__ import annotations

import copy

import numpy as np

from ..arith.words import width_for_range
from ..model import IntModel

ABLATIONS = ("zero", "flip")


def ablate(model: IntModel, k: int, mode: str, rng: np.random.Generator) -> IntModel:
    """A copy of `model` with k weights damaged: "zero" sets k non-zero weights to 0 ("missing");
    "flip" flips one random bit of k weights within their layer's two's complement weight width ("wrong")."""
    if mode not in ABLATIONS:
        raise ValueError(f"ablation {mode!r} is not one of {ABLATIONS}")
    out = copy.deepcopy(model)
    sizes = np.array([layer.W.size for layer in out.layers])
    flat = np.concatenate([layer.W.ravel() for layer in out.layers])
    pool = np.flatnonzero(flat) if mode == "zero" else np.arange(flat.size)
    chosen = rng.choice(pool, size=min(int(k), pool.size), replace=False)
    if mode == "zero":
        flat[chosen] = 0
    else:
        layer_of = np.searchsorted(np.cumsum(sizes), chosen, side="right")
        widths = np.array([width_for_range(min(int(l.W.min()), -1), int(l.W.max())) for l in out.layers])
        bits = (rng.random(chosen.size) * widths[layer_of]).astype(np.int64)
        w = widths[layer_of]
        u = (flat[chosen] & ((1 << w) - 1)) ^ (1 << bits)  # two's complement pattern, one bit flipped
        flat[chosen] = np.where(u >= (1 << (w - 1)), u - (1 << w), u)
    lo = 0
    for layer, n in zip(out.layers, sizes):
        layer.W = flat[lo:lo + n].reshape(layer.W.shape).copy()
        lo += n
    return out
