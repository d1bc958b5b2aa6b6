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


def _pack_words(bits: np.ndarray) -> np.ndarray:
    """(..., width <= 64) bits -> (...) unsigned integers of the smallest of 8/16/32/64 bits that fits."""
    width = bits.shape[-1]
    nbytes = next(n for n in (1, 2, 4, 8) if 8 * n >= width)
    if width < 8 * nbytes:
        pad = np.zeros(bits.shape[:-1] + (8 * nbytes - width,), dtype=np.uint8)
        bits = np.concatenate([bits.astype(np.uint8, copy=False), pad], axis=-1)
    packed = np.packbits(bits.astype(np.uint8, copy=False), axis=-1, bitorder="little")
    return np.ascontiguousarray(packed).view(f"<u{nbytes}")[..., 0]


def _wide_ints(bits: np.ndarray) -> np.ndarray:
    """(..., width) bits -> object array of Python ints (any width), from 64-bit chunks."""
    width = bits.shape[-1]
    out = np.zeros(bits.shape[:-1], dtype=object)
    for lo in range(0, width, 64):
        chunk = _pack_words(bits[..., lo:lo + 64]).astype(np.uint64)
        out = out + np.vectorize(lambda v, s=lo: int(v) << s, otypes=[object])(chunk)
    return out


def bits_to_unsigned(bits: np.ndarray) -> np.ndarray:
    """(..., width) 0/1 bits, LSB first -> unsigned values: int64 up to 63 bits, else Python ints (object)."""
    width = bits.shape[-1]
    if width == 0:
        return np.zeros(bits.shape[:-1], np.int64)
    if width <= 63:
        return _pack_words(bits).astype(np.int64)
    return _wide_ints(bits)


def bits_to_signed(bits: np.ndarray) -> np.ndarray:
    """(..., width) bits -> two's complement values: int64 up to 64 bits, else Python ints (object)."""
    width = bits.shape[-1]
    if width == 0:
        return np.zeros(bits.shape[:-1], np.int64)
    if width <= 64:
        u = _pack_words(bits).astype(np.uint64)
        if width < 64:
            sign = np.uint64(1 << (width - 1))
            u = (u ^ sign) - sign  # sign-extend (wraps modulo 2^64)
        return u.view(np.int64)
    u = bits_to_unsigned(bits)
    sign = bits[..., -1].astype(bool)
    u[sign] = u[sign] - (1 << width)
    return u
