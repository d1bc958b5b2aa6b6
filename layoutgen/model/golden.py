"""The golden model: an exact integer evaluation of int-v1, the reference every netlist must match.

Exactness is proved per layer before computing, from the worst-case magnitude of any partial sum
(|b| + max input * sum |W| per neuron): below 2^53 a float64 matrix product is exact (every
intermediate is an integer a double represents exactly, whatever the summation order), below 2^62
int64 arithmetic cannot wrap, and beyond that the layer is computed with Python integers.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelError
from .intmodel import IntModel

_FLOAT_EXACT = 2.0**53
_INT64_SAFE = 2.0**62
_MARGIN = 1 + 1e-6  # covers the rounding of the float bound itself (relative error < n * 2^-53)


def check_inputs(model: IntModel, X, source: str = "input data") -> np.ndarray:
    """X as an int64 (n, n_inputs) array, or ModelError if it is not unsigned input_bits integers."""
    X = np.asarray(X)
    if X.dtype.kind not in "iub":
        raise ModelError(f"{source}: inputs must be integers (found {X.dtype})")
    if X.ndim != 2 or X.shape[1] != model.n_inputs:
        raise ModelError(f"{source}: inputs have shape {X.shape}, the model needs (n, {model.n_inputs})")
    if X.dtype.kind == "u" and X.dtype.itemsize == 8 and X.size and X.max() > np.iinfo(np.int64).max:
        raise ModelError(f"{source}: input values exceed the signed 64-bit range")
    X = X.astype(np.int64)
    top = (1 << model.input_bits) - 1
    bad = (X < 0) | (X > top)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise ModelError(
            f"{source}: input value {X[row, col]} at row {row}, column {col} is outside the unsigned "
            f"{model.input_bits}-bit range 0..{top}"
        )
    return X


def layer_exact(model: IntModel, k: int, x: np.ndarray) -> np.ndarray:
    """Layer k of the model applied to legal inputs x (int64 or object), exactly."""
    layer = model.layers[k]
    bound = model.magnitude_bound(k) * _MARGIN
    if bound < _FLOAT_EXACT:
        acc = (x.astype(np.float64) @ layer.W.T.astype(np.float64) + layer.b.astype(np.float64)).astype(np.int64)
        y = np.right_shift(acc, min(layer.shift, 63))
    elif bound < _INT64_SAFE:
        acc = x.astype(np.int64) @ layer.W.T + layer.b
        y = np.right_shift(acc, min(layer.shift, 63))
    else:
        acc = x.astype(object) @ layer.W.T.astype(object) + layer.b.astype(object)
        y = acc >> layer.shift  # Python ints: >> is floor division by 2^shift
    if layer.relu:
        top = (1 << layer.out_bits) - 1
        if y.dtype == object:
            return np.minimum(np.maximum(y, 0), top).astype(np.int64)
        return np.clip(y, 0, top)
    if y.dtype == object:
        lo, hi = model.output_bounds(k)
        if int(np.min(lo)) >= np.iinfo(np.int64).min and int(np.max(hi)) <= np.iinfo(np.int64).max:
            return y.astype(np.int64)
    return y


def golden(model: IntModel, X) -> np.ndarray:
    """Exact int-v1 outputs for inputs X (n, n_inputs) of unsigned input_bits integers.

    Returns int64 (n, n_outputs), or an object array of Python ints if an output can exceed int64.
    """
    x = check_inputs(model, X)
    for k in range(len(model.layers)):
        x = layer_exact(model, k, x)
    return x
