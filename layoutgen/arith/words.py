"""Words: bundles of bits with a known integer range, and how a shifted, signed word becomes column bits.

A bit is a net id (>= 0) or one of the constants ZERO / ONE. A word's range [lo, hi] is exact or
conservative; its width is the fewest bits that hold that range in two's complement (signed when lo < 0).
"""
from __future__ import annotations

from dataclasses import dataclass

ZERO = -1
ONE = -2


def is_const(bit: int) -> bool:
    return bit < 0


def const_value(bit: int) -> int:
    return 1 if bit == ONE else 0


def width_for_range(lo: int, hi: int) -> int:
    """Bits needed to hold every integer of [lo, hi]: unsigned if lo >= 0, else two's complement."""
    if lo >= 0:
        return max(1, int(hi).bit_length())
    return max(int(hi).bit_length(), int(-lo - 1).bit_length()) + 1


@dataclass(frozen=True)
class Word:
    bits: tuple[int, ...]  # LSB first
    lo: int
    hi: int

    @property
    def signed(self) -> bool:
        return self.lo < 0

    @property
    def width(self) -> int:
        return len(self.bits)


def term_columns(word: Word, shift: int, sign: int, width: int) -> tuple[list[tuple[int, int, bool]], int]:
    """Column bits of sign * word * 2**shift, modulo 2**width.

    Returns (bits, constant): bits are (column, bit, inverted) and the constant is folded into the sum.
    Two's-complement sign handling: a signed word's MSB has weight -2**(w-1), written as the inverted MSB
    plus the constant -2**(w-1); a negated row is its inverted bits plus a constant, so no sign extension.
    """
    w = word.width
    bits: list[tuple[int, int, bool]] = []
    const = 0
    for k, b in enumerate(word.bits):
        col = k + shift
        if col >= width:
            break
        is_msb = k == w - 1 and word.signed
        inverted = (sign < 0) != is_msb
        bits.append((col, b, inverted))
    if sign > 0:
        if word.signed:
            const -= 1 << (w - 1 + shift)
    else:
        if word.signed:
            const -= ((1 << (w - 1)) - 1) << shift
        else:
            const -= ((1 << w) - 1) << shift
    return bits, const
