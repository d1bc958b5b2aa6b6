"""Float models (format layoutgen-float-v1, or imported from ONNX) before quantization.

The network sees x_float = input_scale * x_int + input_offset, where x_int are the unsigned
input_bits integers the chip receives; both scale and offset are scalars or one value per input.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import ModelError
from .fields import Fields, require_finite
from .intmodel import MAX_DATA_BITS, MAX_LAYERS
from .npzio import read_npz, write_npz_atomic

FLOAT_FORMAT = "layoutgen-float-v1"
_LAYER_KEY = re.compile(r"^(W|b|relu)(\d+)$")


@dataclass
class FloatLayer:
    W: np.ndarray  # float64 (out, in)
    b: np.ndarray  # float64 (out,)
    relu: bool


@dataclass
class FloatModel:
    input_bits: int
    input_scale: np.ndarray  # float64 (n_inputs,)
    input_offset: np.ndarray  # float64 (n_inputs,)
    layers: list[FloatLayer] = field(default_factory=list)

    @property
    def n_inputs(self) -> int:
        return int(self.layers[0].W.shape[1])

    @property
    def n_outputs(self) -> int:
        return int(self.layers[-1].W.shape[0])

    def validate(self, source: str = "float model") -> None:
        def fail(message: str) -> ModelError:
            return ModelError(f"{source}: {message}")

        if not 1 <= int(self.input_bits) <= MAX_DATA_BITS:
            raise fail(f"input_bits = {self.input_bits} must be in 1..{MAX_DATA_BITS}")
        if not self.layers:
            raise fail("the model has no layers")
        last = len(self.layers) - 1
        for k, layer in enumerate(self.layers):
            if layer.W.ndim != 2 or 0 in layer.W.shape:
                raise fail(f"W{k} must be a non-empty 2-D array (found shape {layer.W.shape})")
            if layer.b.shape != (layer.W.shape[0],):
                raise fail(f"shape chain mismatch: b{k} has shape {layer.b.shape}, W{k} has {layer.W.shape[0]} rows")
            if k > 0 and layer.W.shape[1] != self.layers[k - 1].W.shape[0]:
                raise fail(
                    f"shape chain mismatch: W{k} expects {layer.W.shape[1]} inputs but layer {k - 1} "
                    f"has {self.layers[k - 1].W.shape[0]} outputs"
                )
            require_finite(layer.W, source, f"W{k}")
            require_finite(layer.b, source, f"b{k}")
            if k < last and not layer.relu:
                raise fail(
                    f"layer {k} has no ReLU but is not the last; integer models need a ReLU after every "
                    "hidden layer (fold consecutive linear layers into one)"
                )
        n_in = self.n_inputs
        for name in ("input_scale", "input_offset"):
            value = getattr(self, name)
            if value.shape != (n_in,):
                raise fail(f"{name} must be a scalar or have one value per input ({n_in})")
            require_finite(value, source, name)
        if (self.input_scale <= 0).any():
            raise fail("input_scale must be positive")


def per_input(value: np.ndarray, n_in: int, source: str, key: str) -> np.ndarray:
    value = np.asarray(value, dtype=np.float64)
    if value.size == 1:
        return np.full(n_in, float(value.reshape(())))
    if value.shape != (n_in,):
        raise ModelError(f"{source}: '{key}' must be a scalar or have {n_in} values (found shape {value.shape})")
    return value


def float_model_from_arrays(arrays: dict[str, np.ndarray], source: str) -> FloatModel:
    fields = Fields(arrays, source)
    fields.expect_format(FLOAT_FORMAT, "a float model")
    n_layers = fields.layer_count(_LAYER_KEY, MAX_LAYERS)
    layers = []
    for k in range(n_layers):
        W = fields.real(f"W{k}")
        b = fields.real(f"b{k}")
        if W.ndim != 2:
            raise fields.error(f"'W{k}' must be 2-D (out, in), found shape {W.shape}")
        if b.ndim != 1:
            raise fields.error(f"'b{k}' must be 1-D, found shape {b.shape}")
        layers.append(FloatLayer(W=W, b=b, relu=fields.flag(f"relu{k}")))
    n_in = layers[0].W.shape[1]
    scale = per_input(fields.real("input_scale"), n_in, source, "input_scale")
    offset = per_input(fields.real("input_offset"), n_in, source, "input_offset") if fields.has("input_offset") else np.zeros(n_in)
    model = FloatModel(
        input_bits=fields.integer("input_bits", 1, MAX_DATA_BITS), input_scale=scale, input_offset=offset, layers=layers
    )
    model.validate(source)
    return model


def load_float_model(path: str | os.PathLike) -> FloatModel:
    return float_model_from_arrays(read_npz(path), str(path))


def save_float_model(model: FloatModel, path: str | os.PathLike) -> None:
    model.validate(str(path))
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FLOAT_FORMAT),
        "input_bits": np.array(model.input_bits, dtype=np.int64),
        "input_scale": _compact(model.input_scale),
        "input_offset": _compact(model.input_offset),
        "n_layers": np.array(len(model.layers), dtype=np.int64),
    }
    for k, layer in enumerate(model.layers):
        arrays[f"W{k}"] = layer.W
        arrays[f"b{k}"] = layer.b
        arrays[f"relu{k}"] = np.array(bool(layer.relu))
    write_npz_atomic(path, arrays)


def _compact(values: np.ndarray) -> np.ndarray:
    return np.array(values[0]) if np.all(values == values[0]) else values


def float_activations(model: FloatModel, X) -> list[np.ndarray]:
    """Every layer's float output for integer inputs X (n, n_inputs)."""
    x = np.asarray(X, dtype=np.float64) * model.input_scale + model.input_offset
    outs = []
    for layer in model.layers:
        x = x @ layer.W.T + layer.b
        if layer.relu:
            x = np.maximum(x, 0.0)
        outs.append(x)
    return outs


def float_forward(model: FloatModel, X) -> np.ndarray:
    """The float network's outputs (n, n_outputs) for integer inputs X."""
    return float_activations(model, X)[-1]
