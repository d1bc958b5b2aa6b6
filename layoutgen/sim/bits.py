"""Conversions between per-lane integer values, per-lane bit arrays and packed lane words.

A packed array holds 64 lanes per uint64 word: lane j is bit j % 64 of word j // 64.
"""
from __future__ import annotations

import sys

import numpy as np

from .errors import SimulationError

assert sys.byteorder == "little", "lane packing assumes a little-endian host"


def n_words(n_lanes: int) -> int:
    return (n_lanes + 63) // 64


def pack_lanes(bits: np.ndarray) -> np.ndarray:
    """(..., n_lanes) 0/1 array -> (..., n_words) uint64."""
    n_lanes = bits.shape[-1]
    pad = n_words(n_lanes) * 64 - n_lanes
    if pad:
        bits = np.concatenate([bits, np.zeros(bits.shape[:-1] + (pad,), dtype=bits.dtype)], axis=-1)
    packed = np.packbits(bits.astype(np.uint8, copy=False), axis=-1, bitorder="little")
    return np.ascontiguousarray(packed).view(np.uint64)


def unpack_lanes(words: np.ndarray, n_lanes: int) -> np.ndarray:
    """(..., n_words) uint64 -> (..., n_lanes) uint8 0/1."""
    as_bytes = np.ascontiguousarray(words).view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1, count=n_lanes, bitorder="little")


def values_to_bits(values: np.ndarray, width: int, what: str) -> np.ndarray:
    """Unsigned bus values -> (..., width) uint8 bits, LSB first; range-checked."""
    values = np.asarray(values)
    if values.dtype == object:
        flat = values.ravel()
        out = np.zeros((flat.size, width), dtype=np.uint8)
        for i, v in enumerate(flat):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0 or int(v) >> width:
                raise SimulationError(f"{what}: value {v!r} is not an unsigned {width}-bit integer")
            v = int(v)
            for b in range(width):  # wide buses only; narrow ones take the vectorized path
                out[i, b] = (v >> b) & 1
        return out.reshape(values.shape + (width,))
    if values.dtype.kind not in "iu":
        raise SimulationError(f"{what}: values must be integers, not {values.dtype}")
    if values.size:
        lo, hi = int(values.min()), int(values.max())
        if lo < 0 or (width < 64 and hi >> width):
            bad = lo if lo < 0 else hi
            raise SimulationError(f"{what}: value {bad} is not an unsigned {width}-bit integer")
    if width > 64:
        values = values.astype(np.uint64)  # upper bits are zero
    shifts = np.arange(min(width, 64), dtype=np.uint64)
    bits = ((values.astype(np.uint64)[..., None] >> shifts) & np.uint64(1)).astype(np.uint8)
    if width > 64:
        bits = np.concatenate([bits, np.zeros(values.shape + (width - 64,), dtype=np.uint8)], axis=-1)
    return bits


def bits_to_unsigned(bits: np.ndarray) -> np.ndarray:
    """(..., width) 0/1 bits, LSB first -> unsigned values: int64 up to 63 bits, else Python ints (object)."""
    width = bits.shape[-1]
    if width <= 63:
        weights = np.left_shift(np.int64(1), np.arange(width, dtype=np.int64))
        return (bits.astype(np.int64) * weights).sum(axis=-1) if width else np.zeros(bits.shape[:-1], np.int64)
    out = np.empty(bits.shape[:-1], dtype=object)
    flat_bits = bits.reshape(-1, width)
    flat = out.reshape(-1)
    for i in range(flat_bits.shape[0]):
        flat[i] = int("".join("1" if b else "0" for b in flat_bits[i, ::-1]), 2)
    return out


def bits_to_signed(bits: np.ndarray) -> np.ndarray:
    """(..., width) bits -> two's complement values: int64 up to 64 bits, else Python ints (object)."""
    width = bits.shape[-1]
    if width == 0:
        return np.zeros(bits.shape[:-1], np.int64)
    if width <= 63:
        u = bits_to_unsigned(bits)
        return u - (bits[..., -1].astype(np.int64) << np.int64(width))
    if width == 64:
        weights = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))
        return (bits.astype(np.uint64) * weights).sum(axis=-1, dtype=np.uint64).view(np.int64)
    u = bits_to_unsigned(bits)
    sign = bits[..., -1].astype(bool)
    u[sign] = u[sign] - (1 << width)
    return u
