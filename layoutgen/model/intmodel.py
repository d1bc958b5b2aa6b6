"""The integer model (format layoutgen-int-v1): the single source of truth for every later step.

Semantics of layer k, in exact integers: acc = W x + b; if relu: y = clip(floor(acc / 2^shift), 0,
2^out_bits - 1), else y = floor(acc / 2^shift) (signed, unclipped). Every layer but the last has
relu, so each layer's input is unsigned with a known width, which bounds every accumulator.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .fields import Fields
from .npzio import read_npz, write_npz_atomic

INT_FORMAT = "layoutgen-int-v1"
MAX_DATA_BITS = 32  # input and activation widths; wider values are not a hardware design we build
MAX_SHIFT = 255
MAX_LAYERS = 4096
_LAYER_KEY = re.compile(r"^(W|b|shift|relu|out_bits)(\d+)$")
_EXACT_FLOAT_LIMIT = 2.0**53
_INT64_SAFE_LIMIT = 2.0**62


@dataclass
class IntLayer:
    W: np.ndarray  # int64, (out, in)
    b: np.ndarray  # int64, (out,)
    shift: int
    relu: bool
    out_bits: int

    @property
    def n_in(self) -> int:
        return int(self.W.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.W.shape[0])


@dataclass
class IntModel:
    input_bits: int
    layers: list[IntLayer] = field(default_factory=list)

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    @property
    def n_weights(self) -> int:
        return sum(int(layer.W.size) for layer in self.layers)

    def validate(self, source: str = "model") -> None:
        """Raise ModelError (naming `source`) unless the model satisfies the int-v1 contract."""

        def fail(message: str) -> ModelError:
            return ModelError(f"{source}: {message}")

        if not _is_int(self.input_bits) or not 1 <= self.input_bits <= MAX_DATA_BITS:
            raise fail(f"input_bits = {self.input_bits!r} must be an integer in 1..{MAX_DATA_BITS}")
        if not self.layers:
            raise fail("the model has no layers")
        if len(self.layers) > MAX_LAYERS:
            raise fail(f"{len(self.layers)} layers exceed the supported {MAX_LAYERS}")
        last = len(self.layers) - 1
        for k, layer in enumerate(self.layers):
            W, b = layer.W, layer.b
            if not isinstance(W, np.ndarray) or W.dtype != np.int64 or W.ndim != 2:
                raise fail(f"W{k} must be a 2-D int64 array")
            if not isinstance(b, np.ndarray) or b.dtype != np.int64 or b.ndim != 1:
                raise fail(f"b{k} must be a 1-D int64 array")
            if W.shape[0] == 0 or W.shape[1] == 0:
                raise fail(f"W{k} has the empty shape {W.shape}")
            if b.shape[0] != W.shape[0]:
                raise fail(f"shape chain mismatch: b{k} has {b.shape[0]} entries but W{k} has {W.shape[0]} rows")
            if k > 0 and W.shape[1] != self.layers[k - 1].n_out:
                raise fail(
                    f"shape chain mismatch: W{k} expects {W.shape[1]} inputs but layer {k - 1} "
                    f"has {self.layers[k - 1].n_out} outputs"
                )
            if not _is_int(layer.shift) or not 0 <= layer.shift <= MAX_SHIFT:
                raise fail(f"shift{k} = {layer.shift!r} must be an integer in 0..{MAX_SHIFT}")
            if not isinstance(layer.relu, (bool, np.bool_)):
                raise fail(f"relu{k} must be a boolean")
            if k < last and not layer.relu:
                raise fail(f"relu{k} is false but layer {k} is not the last; every hidden layer needs a ReLU")
            if not _is_int(layer.out_bits):
                raise fail(f"out_bits{k} = {layer.out_bits!r} must be an integer")
            if layer.relu and not 1 <= layer.out_bits <= MAX_DATA_BITS:
                raise fail(f"out_bits{k} = {layer.out_bits} is outside 1..{MAX_DATA_BITS}")
            if not layer.relu and layer.out_bits < 0:
                raise fail(f"out_bits{k} = {layer.out_bits} must not be negative")

    # ---- value ranges (used by the golden model to prove exactness, and by hardware sizing) ----

    def input_max(self, k: int) -> int:
        """Largest value any input of layer k can take."""
        bits = self.input_bits if k == 0 else self.layers[k - 1].out_bits
        return (1 << bits) - 1

    def magnitude_bound(self, k: int) -> float:
        """Upper bound (float, relative error < 1e-9) of |any partial sum| in layer k's accumulators."""
        layer = self.layers[k]
        row_abs = np.abs(layer.W.astype(np.float64)).sum(axis=1)
        return float(np.max(np.abs(layer.b.astype(np.float64)) + self.input_max(k) * row_abs))

    def accumulator_bounds(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact per-neuron (lowest, highest) accumulator values of layer k over all legal inputs.

        int64 arrays when they provably fit, else object arrays of Python ints.
        """
        layer = self.layers[k]
        xmax = self.input_max(k)
        if self.magnitude_bound(k) * (1 + 1e-6) < _INT64_SAFE_LIMIT:
            W, b = layer.W, layer.b
            pos = np.where(W > 0, W, 0).sum(axis=1)
            neg = np.where(W < 0, W, 0).sum(axis=1)
        else:
            W, b = layer.W.astype(object), layer.b.astype(object)
            pos = np.where(W > 0, W, 0).sum(axis=1)
            neg = np.where(W < 0, W, 0).sum(axis=1)
            xmax = int(xmax)
        return b + neg * xmax, b + pos * xmax

    def output_bounds(self, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Exact per-neuron (lowest, highest) output y of layer k (default: the last layer)."""
        k = len(self.layers) - 1 if k is None else k
        layer = self.layers[k]
        lo, hi = self.accumulator_bounds(k)
        lo, hi = _floor_shift(lo, layer.shift), _floor_shift(hi, layer.shift)
        if layer.relu:
            top = (1 << layer.out_bits) - 1
            lo, hi = _clip(lo, 0, top), _clip(hi, 0, top)
        return lo, hi


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _floor_shift(values: np.ndarray, shift: int) -> np.ndarray:
    if values.dtype == object:
        return values >> shift
    return np.right_shift(values, min(shift, 63))  # arithmetic shift: floor division for negatives


def _clip(values: np.ndarray, lo: int, hi: int) -> np.ndarray:
    if values.dtype == object:
        return np.minimum(np.maximum(values, lo), hi).astype(np.int64)
    return np.clip(values, lo, hi)


def int_model_from_arrays(arrays: dict[str, np.ndarray], source: str) -> IntModel:
    fields = Fields(arrays, source)
    fields.expect_format(INT_FORMAT, "an integer model")
    input_bits = fields.integer("input_bits", 1, MAX_DATA_BITS)
    n_layers = fields.layer_count(_LAYER_KEY, MAX_LAYERS)
    layers = []
    for k in range(n_layers):
        relu = fields.flag(f"relu{k}")
        layers.append(
            IntLayer(
                W=fields.int_array(f"W{k}", 2),
                b=fields.int_array(f"b{k}", 1),
                shift=fields.integer(f"shift{k}", 0, MAX_SHIFT),
                relu=relu,
                out_bits=fields.integer(f"out_bits{k}", 1 if relu else 0, MAX_DATA_BITS if relu else 1 << 30),
            )
        )
    model = IntModel(input_bits=input_bits, layers=layers)
    model.validate(source)
    return model


def load_int_model(path: str | os.PathLike) -> IntModel:
    """Load and fully validate a layoutgen-int-v1 .npz (never unpickles)."""
    return int_model_from_arrays(read_npz(path), str(path))


def _smallest_int_dtype(values: np.ndarray) -> np.dtype:
    if values.size == 0:
        return np.dtype(np.int8)
    lo, hi = int(values.min()), int(values.max())
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def int_model_arrays(model: IntModel) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {
        "format": np.array(INT_FORMAT),
        "input_bits": np.array(model.input_bits, dtype=np.int64),
        "n_layers": np.array(len(model.layers), dtype=np.int64),
    }
    for k, layer in enumerate(model.layers):
        arrays[f"W{k}"] = layer.W.astype(_smallest_int_dtype(layer.W))
        arrays[f"b{k}"] = layer.b.astype(_smallest_int_dtype(layer.b))
        arrays[f"shift{k}"] = np.array(layer.shift, dtype=np.int64)
        arrays[f"relu{k}"] = np.array(bool(layer.relu))
        arrays[f"out_bits{k}"] = np.array(layer.out_bits, dtype=np.int64)
    return arrays


def save_int_model(model: IntModel, path: str | os.PathLike) -> None:
    """Validate, then write atomically; the same model always gives the same bytes.

    Arrays are stored in the smallest integer dtype that holds them (the contract asks only for
    integer arrays; loading widens them to int64).
    """
    model.validate(f"model for {Path(path)}")
    write_npz_atomic(path, int_model_arrays(model))
