"""Calibration and test data (.npz): unsigned integer inputs as the chip receives them, optional labels.

Keys: either X (n, n_inputs) [and y (n,)], used for both calibration and evaluation, or the split
X_calib, X_test [and y_calib, y_test]. Optional: input_bits, input_scale, input_offset (how the
float network sees the integers, for models that do not say so themselves, e.g. ONNX).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import ModelError
from .fields import DATA_HINT, Fields, as_int64
from .intmodel import MAX_DATA_BITS
from .npzio import read_npz, write_npz_atomic


@dataclass
class Dataset:
    source: str
    X_calib: np.ndarray
    X_test: np.ndarray
    y_calib: np.ndarray | None = None
    y_test: np.ndarray | None = None
    calib_key: str = "X"
    test_key: str = "X"
    input_bits: int | None = None
    input_scale: np.ndarray | None = None
    input_offset: np.ndarray | None = None

    def check_fits(self, input_bits: int, n_inputs: int) -> None:
        """Raise ModelError unless every sample has n_inputs values within unsigned input_bits."""
        top = (1 << input_bits) - 1
        for key, X in ((self.calib_key, self.X_calib), (self.test_key, self.X_test)):
            if X.shape[1] != n_inputs:
                raise ModelError(f"{self.source}: '{key}' has {X.shape[1]} inputs per sample, the model needs {n_inputs}")
            if X.size and X.max() > top:
                row, col = (int(i) for i in np.argwhere(X > top)[0])
                raise ModelError(
                    f"{self.source}: '{key}' value {X[row, col]} at row {row}, column {col} is outside the "
                    f"model's unsigned {input_bits}-bit input range 0..{top}"
                )


def _samples(fields: Fields, key: str) -> np.ndarray:
    X = fields.get(key)
    if X.ndim != 2 or 0 in X.shape:
        raise fields.error(f"'{key}' must be a non-empty 2-D array (samples, inputs), found shape {X.shape}")
    X = as_int64(X, fields.source, key, DATA_HINT)
    if (X < 0).any():
        row, col = (int(i) for i in np.argwhere(X < 0)[0])
        raise fields.error(f"'{key}' holds the negative value {X[row, col]} at row {row}, column {col}; inputs are unsigned")
    return X


def _labels(fields: Fields, key: str, n: int) -> np.ndarray | None:
    if not fields.has(key):
        return None
    y = fields.get(key)
    if y.shape != (n,):
        raise fields.error(f"'{key}' must have one label per sample ({n}), found shape {y.shape}")
    return as_int64(y, fields.source, key, DATA_HINT)


def dataset_from_arrays(arrays: dict[str, np.ndarray], source: str) -> Dataset:
    fields = Fields(arrays, source)
    if fields.has("X_calib") or fields.has("X_test"):
        calib_key = "X_calib" if fields.has("X_calib") else "X_test"
        test_key = "X_test" if fields.has("X_test") else "X_calib"
    elif fields.has("X"):
        calib_key = test_key = "X"
    else:
        raise fields.error("no input samples: expected key 'X' or keys 'X_calib'/'X_test'")
    X_calib, X_test = _samples(fields, calib_key), _samples(fields, test_key)
    label = {"X": "y", "X_calib": "y_calib", "X_test": "y_test"}
    data = Dataset(
        source=source,
        X_calib=X_calib,
        X_test=X_test,
        y_calib=_labels(fields, label[calib_key], len(X_calib)),
        y_test=_labels(fields, label[test_key], len(X_test)),
        calib_key=calib_key,
        test_key=test_key,
    )
    if X_calib.shape[1] != X_test.shape[1]:
        raise fields.error(f"'{calib_key}' and '{test_key}' have different numbers of inputs")
    if fields.has("input_bits"):
        data.input_bits = fields.integer("input_bits", 1, MAX_DATA_BITS)
        data.check_fits(data.input_bits, X_calib.shape[1])
    if fields.has("input_scale"):
        data.input_scale = fields.real("input_scale")
        if (data.input_scale <= 0).any():
            raise fields.error("'input_scale' must be positive")
    if fields.has("input_offset"):
        data.input_offset = fields.real("input_offset")
    return data


def load_data(path: str | os.PathLike) -> Dataset:
    return dataset_from_arrays(read_npz(path), str(path))


def save_data(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Write a data .npz deterministically (keys in the order given)."""
    write_npz_atomic(path, {key: np.asarray(value) for key, value in arrays.items()})
