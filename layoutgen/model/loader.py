"""One entry point for every model file: int-v1 .npz, float .npz or ONNX, told apart by content."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .data import Dataset, load_data
from .fields import Fields
from .floatmodel import FLOAT_FORMAT, FloatModel, float_model_from_arrays, per_input
from .intmodel import INT_FORMAT, MAX_DATA_BITS, IntModel, int_model_from_arrays
from .npzio import read_npz, reject_non_npz, sniff
from .quantizer import quantize

DEFAULT_WEIGHT_BITS = 4
DEFAULT_ACT_BITS = 8
DEFAULT_ONNX_INPUT_BITS = 8
SYNTHETIC_CALIB_SAMPLES = 1024


@dataclass
class LoadedModel:
    """The integer model plus where it came from (for reports)."""

    int_model: IntModel
    kind: str  # "int-v1", "float-npz" or "onnx"
    source: str
    float_model: FloatModel | None = None
    data: Dataset | None = None
    weight_bits: int | None = None
    act_bits: int | None = None
    calibration: str | None = None  # what the activation ranges were calibrated on
    notes: list[str] = field(default_factory=list)


def sibling_data_path(path: Path) -> Path:
    """<stem>.data.npz beside a model named <stem>.float.npz, <stem>.int.npz, <stem>.npz or <stem>.onnx."""
    name = path.name
    for suffix in (".float.npz", ".int.npz", ".npz", ".onnx"):
        if name.endswith(suffix):
            return path.with_name(name[: -len(suffix)] + ".data.npz")
    return path.with_name(path.stem + ".data.npz")


def _dataset(calib) -> Dataset | None:
    if calib is None or isinstance(calib, Dataset):
        return calib
    return load_data(calib)


def load_model(path, *, weight_bits: int | None = None, act_bits: int | None = None, calib=None) -> IntModel:
    """The integer model for any supported model file (float models are quantized on the way)."""
    return load_model_with_info(path, weight_bits=weight_bits, act_bits=act_bits, calib=calib).int_model


def load_model_with_info(path, *, weight_bits: int | None = None, act_bits: int | None = None, calib=None) -> LoadedModel:
    """Like load_model, also returning the float model, data and calibration used.

    calib: a data .npz path or Dataset. Float models without one are calibrated on <stem>.data.npz
    beside the model when it exists, else on uniform random inputs (noted in .notes).
    """
    path = Path(path)
    source = str(path)
    data = _dataset(calib)
    kind = sniff(path)
    if kind == "npz":
        arrays = read_npz(path)
        fields = Fields(arrays, source)
        if not fields.has("format"):
            raise fields.error(f"no 'format' key; expected '{INT_FORMAT}' or '{FLOAT_FORMAT}'")
        tag = fields.text("format")
        if tag == INT_FORMAT:
            if weight_bits is not None or act_bits is not None:
                raise ModelError(
                    f"{source}: is already an integer model ({INT_FORMAT}); weight/activation bit options "
                    "need a float model (float .npz or ONNX)"
                )
            model = int_model_from_arrays(arrays, source)
            if data is None and sibling_data_path(path).is_file():
                data = load_data(sibling_data_path(path))
            if data is not None:
                data.check_fits(model.input_bits, model.n_inputs)
            return LoadedModel(int_model=model, kind="int-v1", source=source, data=data)
        if tag != FLOAT_FORMAT:
            raise fields.error(f"wrong format tag '{tag}' (expected '{INT_FORMAT}' or '{FLOAT_FORMAT}')")
        float_model = float_model_from_arrays(arrays, source)
        model_kind = "float-npz"
    else:
        if kind in ("pickle", "npy"):
            reject_non_npz(path, kind)
        float_model, notes = _onnx_float_model(path, data)
        model_kind = "onnx"
    if model_kind == "float-npz":
        notes = []
    if data is None and sibling_data_path(path).is_file():
        data = load_data(sibling_data_path(path))
    if data is not None:
        data.check_fits(float_model.input_bits, float_model.n_inputs)
        calib_X = data.X_calib
        calibration = f"{data.source}:{data.calib_key} ({len(calib_X)} samples)"
    else:
        rng = np.random.default_rng(0)
        calib_X = rng.integers(0, 1 << float_model.input_bits, size=(SYNTHETIC_CALIB_SAMPLES, float_model.n_inputs))
        calibration = f"{SYNTHETIC_CALIB_SAMPLES} uniform random inputs"
        notes.append(
            f"{source}: no calibration data given (and no {sibling_data_path(path).name} beside the model); "
            "activation ranges come from uniform random inputs, pass real data for better accuracy"
        )
    wb = DEFAULT_WEIGHT_BITS if weight_bits is None else weight_bits
    ab = DEFAULT_ACT_BITS if act_bits is None else act_bits
    try:
        int_model = quantize(float_model, wb, ab, calib_X)
    except ModelError as exc:
        raise ModelError(f"{source}: {exc}") from None
    return LoadedModel(
        int_model=int_model, kind=model_kind, source=source, float_model=float_model, data=data,
        weight_bits=wb, act_bits=ab, calibration=calibration, notes=notes,
    )


def _onnx_float_model(path: Path, data: Dataset | None) -> tuple[FloatModel, list[str]]:
    from .onnx_import import onnx_to_layers

    graph = onnx_to_layers(path)
    meta, source, n_in = graph.metadata, str(path), graph.n_inputs
    defaults: list[str] = []

    def meta_number(key: str, kind):
        try:
            return kind(meta[key])
        except ValueError:
            raise ModelError(f"{source}: metadata '{key}' = '{meta[key]}' is not a number") from None

    if "layoutgen.input_bits" in meta:
        input_bits = meta_number("layoutgen.input_bits", int)
    elif data is not None and data.input_bits is not None:
        input_bits = data.input_bits
    else:
        input_bits = DEFAULT_ONNX_INPUT_BITS
        defaults.append(f"input_bits = {input_bits}")
    if not 1 <= input_bits <= MAX_DATA_BITS:
        raise ModelError(f"{source}: input_bits = {input_bits} is outside 1..{MAX_DATA_BITS}")
    if "layoutgen.input_scale" in meta:
        scale = np.array(meta_number("layoutgen.input_scale", float))
    elif data is not None and data.input_scale is not None:
        scale = data.input_scale
    else:
        scale = np.array(1.0 / ((1 << input_bits) - 1))  # integers 0..max map to 0.0..1.0
        defaults.append(f"input_scale = 1/{(1 << input_bits) - 1}")
    if "layoutgen.input_offset" in meta:
        offset = np.array(meta_number("layoutgen.input_offset", float))
    elif data is not None and data.input_offset is not None:
        offset = data.input_offset
    else:
        offset = np.array(0.0)
    model = FloatModel(
        input_bits=input_bits,
        input_scale=per_input(scale, n_in, source, "input_scale"),
        input_offset=per_input(offset, n_in, source, "input_offset"),
        layers=graph.layers,
    )
    model.validate(source)
    notes = []
    if defaults:
        notes.append(
            f"{source}: the ONNX model does not say how its float inputs relate to the chip's integers; "
            f"assuming {', '.join(defaults)} (set metadata_props layoutgen.input_bits/input_scale, or "
            "input_bits/input_scale in the data file)"
        )
    return model, notes
