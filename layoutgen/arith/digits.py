"""Signed-digit recodings of integer constants.

`csd` gives the canonical signed-digit form (non-adjacent form): the fewest non-zero digits in {-1, 0, 1}.
`binary` is the plain recoding used as the no-optimization baseline: the set bits of |w|, with w's sign.
Both return, per weight, a list of (shift, sign) pairs with sum(sign * 2**shift) == w.
"""
from __future__ import annotations

import numpy as np


def csd_digits(w: int) -> list[tuple[int, int]]:
    out = []
    k = 0
    w = int(w)
    while w != 0:
        if w & 1:
            d = 2 - (w & 3)  # +1 if w = 1 (mod 4), -1 if w = 3 (mod 4)
            out.append((k, d))
            w -= d
        w >>= 1
        k += 1
    return out


def binary_digits(w: int) -> list[tuple[int, int]]:
    sign = -1 if w < 0 else 1
    m = abs(int(w))
    return [(k, sign) for k in range(m.bit_length()) if (m >> k) & 1]


RECODINGS = {"csd": csd_digits, "binary": binary_digits}


def nonzero_digit_count(W: np.ndarray, recoding: str = "csd") -> int:
    fn = RECODINGS[recoding]
    cache: dict[int, int] = {}
    total = 0
    for v, n in zip(*np.unique(np.asarray(W).ravel(), return_counts=True)):
        cache[int(v)] = len(fn(int(v)))
        total += cache[int(v)] * int(n)
    return total
