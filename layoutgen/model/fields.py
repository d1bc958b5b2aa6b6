"""Typed access to the arrays of a loaded .npz, each failure a one-line ModelError naming file and key."""
from __future__ import annotations

import numpy as np

from ..errors import ModelError

INT64_MAX = np.iinfo(np.int64).max


class Fields:
    """The arrays of one archive plus the name of the file they came from (for messages)."""

    def __init__(self, arrays: dict[str, np.ndarray], source: str):
        self.arrays = arrays
        self.source = source

    def error(self, message: str) -> ModelError:
        return ModelError(f"{self.source}: {message}")

    def has(self, key: str) -> bool:
        return key in self.arrays

    def get(self, key: str) -> np.ndarray:
        if key not in self.arrays:
            raise self.error(f"missing array '{key}'")
        return self.arrays[key]

    def text(self, key: str) -> str:
        value = self.get(key)
        if value.dtype.kind not in "US" or value.size != 1:
            raise self.error(f"'{key}' must be a string")
        item = value.reshape(()).item()
        return item.decode("ascii", "replace") if isinstance(item, bytes) else str(item)

    def expect_format(self, tag: str, what: str) -> None:
        """The archive's 'format' must be `tag` (what: e.g. 'an integer model', for the message)."""
        if not self.has("format"):
            raise self.error(f"no 'format' key; {what} needs format = '{tag}'")
        found = self.text("format")
        if found != tag:
            raise self.error(f"wrong format tag '{found}' (expected '{tag}')")

    def layer_count(self, pattern, max_layers: int) -> int:
        """n_layers, checked against the per-layer keys (matching `pattern`, layer index in group 2)."""
        n_layers = self.integer("n_layers", 1, max_layers)
        for key in self.arrays:
            match = pattern.match(key)
            if match and int(match.group(2)) >= n_layers:
                raise self.error(f"has '{key}' but n_layers = {n_layers}; fix n_layers or remove the extra layer")
        return n_layers

    def integer(self, key: str, lo: int, hi: int) -> int:
        value = self.get(key)
        if value.size != 1 or value.dtype.kind not in "iu":
            raise self.error(f"'{key}' must be a single integer (found {value.dtype} of shape {value.shape})")
        number = int(value.reshape(()).item())
        if not lo <= number <= hi:
            raise self.error(f"'{key}' = {number} is outside the allowed range {lo}..{hi}")
        return number

    def flag(self, key: str) -> bool:
        value = self.get(key)
        if value.size != 1 or value.dtype.kind not in "biu":
            raise self.error(f"'{key}' must be a boolean (found {value.dtype} of shape {value.shape})")
        number = int(value.reshape(()).item())
        if number not in (0, 1):
            raise self.error(f"'{key}' = {number} is not a boolean")
        return bool(number)

    def real(self, key: str) -> np.ndarray:
        value = self.get(key)
        if value.dtype.kind not in "fiu":
            raise self.error(f"'{key}' must hold real numbers (found {value.dtype})")
        value = value.astype(np.float64)
        require_finite(value, self.source, key)
        return value

    def int_array(self, key: str, ndim: int) -> np.ndarray:
        value = self.get(key)
        if value.ndim != ndim:
            raise self.error(f"'{key}' must be {ndim}-D (found shape {value.shape})")
        return as_int64(value, self.source, key)


def require_finite(value: np.ndarray, source: str, key: str) -> None:
    bad = ~np.isfinite(value)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ModelError(f"{source}: '{key}' holds {value[where]} at index {list(where)}; all values must be finite")


MODEL_HINT = "an integer model needs integer arrays (quantize float models with `layoutgen quantize`)"
DATA_HINT = "data inputs and labels are the chip's integer values; store them with an integer dtype"


def as_int64(value: np.ndarray, source: str, key: str, hint: str = MODEL_HINT) -> np.ndarray:
    """An integer-dtype array as int64; floats (even whole-valued) are rejected, as the contract asks."""
    if value.dtype.kind == "f":
        frac = value != np.round(value) if np.isfinite(value).all() else ~np.isfinite(value)
        if frac.any():
            where = tuple(int(i) for i in np.argwhere(frac)[0])
            raise ModelError(f"{source}: '{key}' holds the non-integer value {value[where]} at index {list(where)}; {hint}")
        raise ModelError(
            f"{source}: '{key}' is stored as {value.dtype}; an integer dtype is required "
            "(cast whole-valued arrays with .astype(numpy.int64))"
        )
    if value.dtype.kind not in "iu":
        raise ModelError(f"{source}: '{key}' must be an integer array (found {value.dtype})")
    if value.dtype.kind == "u" and value.dtype.itemsize == 8 and value.size and value.max() > INT64_MAX:
        raise ModelError(f"{source}: '{key}' holds a value above the signed 64-bit range")
    return value.astype(np.int64)
