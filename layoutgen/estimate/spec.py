"""What the planner estimates: a chain of dense layers, from a file, layer shapes or a parameter count."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LayoutgenError
from .digits import csd_digit_counts, expected_digits_per_weight, weight_range


class EstimateError(LayoutgenError):
    """Bad input to `layoutgen estimate`."""


@dataclass(frozen=True)
class LayerSpec:
    n_in: int
    n_out: int
    act_bits: int  # width of each input of this layer (unsigned)
    out_bits: int  # width of each output passed on (the next layer's act_bits; the last: accumulator width)
    csd_digits: float  # non-zero CSD digits of all its weights (exact for files, expected otherwise)
    weight_bits: int

    @property
    def n_weights(self) -> int:
        return self.n_in * self.n_out


@dataclass(frozen=True)
class ModelSpec:
    layers: tuple[LayerSpec, ...]
    source: str  # how the layers were obtained, for the report

    @property
    def n_weights(self) -> int:
        return sum(l.n_weights for l in self.layers)

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out


def accumulator_bits(n_in: int, act_bits: int, weight_bits: int) -> int:
    """Two's complement width of sum_j w_j x_j over n_in terms (the worst case)."""
    top = weight_range(weight_bits) * ((1 << act_bits) - 1) * n_in
    return int(top).bit_length() + 1


def _check_bits(name: str, bits: int) -> int:
    if not isinstance(bits, int) or not 1 <= bits <= 32:
        raise EstimateError(f"{name} {bits!r} outside 1..32; pick e.g. 8")
    return bits


def from_shapes(shapes: list[tuple[int, int]], weight_bits: int, act_bits: int, sparsity: float | None = None,
                source: str = "layer shapes") -> ModelSpec:
    """Layers of the given (inputs, outputs) shapes with uniform random weights of `weight_bits` bits.

    Hidden activations are `act_bits` wide (ReLU then clip, as the integer model does).
    """
    _check_bits("activation bits", act_bits)
    per_w = expected_digits_per_weight(weight_bits, sparsity)
    if not shapes:
        raise EstimateError("no layers given")
    layers = []
    for k, (n_in, n_out) in enumerate(shapes):
        if n_in < 1 or n_out < 1:
            raise EstimateError(f"layer {k} has the empty shape {n_in}x{n_out}")
        if k and n_in != shapes[k - 1][1]:
            raise EstimateError(f"layer {k} takes {n_in} inputs but layer {k - 1} gives {shapes[k - 1][1]} outputs; "
                                "write consecutive shapes as IN0xOUT0,OUT0xOUT1,...")
        last = k == len(shapes) - 1
        out_bits = accumulator_bits(n_in, act_bits, weight_bits) if last else act_bits
        layers.append(LayerSpec(n_in, n_out, act_bits, out_bits, per_w * n_in * n_out, weight_bits))
    return ModelSpec(tuple(layers), source)


_SHAPE = re.compile(r"^\s*(\d+)\s*[xX*]\s*(\d+)\s*$")


def parse_layers(text: str) -> list[tuple[int, int]]:
    """'784x256,256x10' -> [(784, 256), (256, 10)] (inputs x outputs per layer)."""
    shapes = []
    for part in text.split(","):
        m = _SHAPE.match(part)
        if not m:
            raise EstimateError(f"--layers: '{part.strip()}' is not INxOUT; write e.g. --layers 784x256,256x10")
        shapes.append((int(m[1]), int(m[2])))
    return shapes


def from_param_count(params: float, weight_bits: int, act_bits: int, fan_in: int, sparsity: float | None = None) -> ModelSpec:
    """`params` weights as square fan_in x fan_in layers (the last one partial), for a first-order plan."""
    if not (params >= 1 and math.isfinite(params)):
        raise EstimateError(f"--params {params} must be a finite count of at least 1")
    if fan_in < 1:
        raise EstimateError(f"--fan-in {fan_in} must be at least 1")
    params = int(round(params))
    full, rest = divmod(params, fan_in * fan_in)
    shapes = [(fan_in, fan_in)] * full
    if rest:
        shapes.append((fan_in, max(1, math.ceil(rest / fan_in))))
    return from_shapes(shapes, weight_bits, act_bits, sparsity,
                       source=f"{params} parameters as {len(shapes)} layers of fan-in {fan_in}")


def from_int_model(model, source: str) -> ModelSpec:
    """The exact weights of an integer model: CSD digits counted, widths as the model states."""
    layers = []
    last = len(model.layers) - 1
    for k, layer in enumerate(model.layers):
        W = np.asarray(layer.W)
        act = int(model.input_bits if k == 0 else model.layers[k - 1].out_bits)
        wmax = int(np.abs(W).max()) if W.size else 0
        wbits = max(2, wmax.bit_length() + 1)
        if k == last and not layer.relu:
            lo, hi = model.output_bounds(k)
            out_bits = max(int(abs(int(np.min(lo)))).bit_length(), int(np.max(hi)).bit_length()) + 1
        else:
            out_bits = int(layer.out_bits)
        layers.append(LayerSpec(layer.n_in, layer.n_out, act, out_bits, float(csd_digit_counts(W).sum()), wbits))
    return ModelSpec(tuple(layers), source)


def _quantized_digits(W: np.ndarray, weight_bits: int) -> float:
    """CSD digits of W quantized symmetrically per output row to `weight_bits` bits."""
    top = weight_range(weight_bits)
    scale = np.abs(W).max(axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    return float(csd_digit_counts(np.rint(W / scale * top).astype(np.int64)).sum())


def from_file(path, weight_bits: int | None, act_bits: int | None) -> ModelSpec:
    """An int-v1 .npz (exact), or a float .npz / ONNX model (shapes; weights quantized per row to count digits)."""
    from ..model.npzio import sniff

    path = Path(path)
    if not path.is_file():
        raise EstimateError(f"model file {path} not found; give an int-v1/float .npz or an ONNX file")
    kind = sniff(path)
    if kind == "npz":
        from ..model.intmodel import INT_FORMAT
        from ..model.npzio import read_npz

        arrays = read_npz(path)
        fmt = str(arrays["format"]) if "format" in arrays else ""
        if fmt == INT_FORMAT:
            if weight_bits is not None or act_bits is not None:
                raise EstimateError(f"{path.name} is an integer model: its widths are fixed; drop --weight-bits/--act-bits")
            from ..model import load_model

            return from_int_model(load_model(path), f"{path.name} (int-v1: exact weights)")
        from ..model.floatmodel import load_float_model

        float_layers = load_float_model(path).layers
    else:
        from ..model.onnx_import import onnx_to_layers

        float_layers = onnx_to_layers(path).layers
    wb = 4 if weight_bits is None else weight_bits
    ab = _check_bits("activation bits", 8 if act_bits is None else act_bits)
    spec = from_shapes([(int(l.W.shape[1]), int(l.W.shape[0])) for l in float_layers], wb, ab,
                       source=f"{path.name} (float weights quantized to w{wb}, activations a{ab})")
    layers = tuple(LayerSpec(s.n_in, s.n_out, s.act_bits, s.out_bits, _quantized_digits(np.asarray(l.W, float), wb), wb)
                   for s, l in zip(spec.layers, float_layers))
    return ModelSpec(layers, spec.source)
