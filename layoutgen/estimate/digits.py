"""Canonical signed digits (CSD) of integer weights: the number of shift-add terms a constant costs."""
from __future__ import annotations

import numpy as np

from ..errors import LayoutgenError


def csd_digit_counts(W) -> np.ndarray:
    """Non-zero CSD digits of every entry of the integer array W (same shape, int64)."""
    a = np.abs(np.asarray(W, dtype=np.int64))
    count = np.zeros(a.shape, dtype=np.int64)
    while a.any():
        odd = (a & 1).astype(bool)
        # a digit of -1 where the next bit is also set (a = ...11): it turns a run of ones into two digits
        d = np.where(odd, np.where((a & 3) == 3, -1, 1), 0)
        count += odd
        a = (a - d) >> 1
    return count


def weight_range(weight_bits: int) -> int:
    """Largest |w| of a symmetric signed weight of `weight_bits` bits (2 bits: ternary -1..1)."""
    if not 2 <= weight_bits <= 32:
        raise LayoutgenError(f"weight bits {weight_bits} outside 2..32; pick e.g. 4 (ternary is 2)")
    return (1 << (weight_bits - 1)) - 1


def expected_digits_per_weight(weight_bits: int, zero_fraction: float | None = None) -> float:
    """Mean CSD digits of a weight drawn uniformly from -(2^(b-1)-1)..2^(b-1)-1.

    zero_fraction (sparsity) replaces the uniform share of zeros: the non-zero values stay uniform.
    Exact enumeration (up to 2^20 values, else a fixed stride over the range), so deterministic.
    """
    top = weight_range(weight_bits)
    step = max(1, top // (1 << 20))
    values = np.arange(1, top + 1, step, dtype=np.int64)
    nonzero_mean = float(csd_digit_counts(values).mean())
    if zero_fraction is None:
        zero_fraction = 1.0 / (2 * top + 1)
    if not 0.0 <= zero_fraction < 1.0:
        raise LayoutgenError(f"sparsity {zero_fraction} outside 0..1 (exclusive of 1)")
    return nonzero_mean * (1.0 - zero_fraction)
