"""Small logic blocks of the character-model chip, on an ArithContext (constants fold away).

- decoder: a token code -> its one-hot lines (recursive predecoding: every line is one AND of two
  lines of half as many bits, so a b-bit decoder is ceil(log2 b) AND levels deep);
- argmax: a tournament of comparators over signed logits; in each match the left player holds the
  lower indices and the right one wins only when strictly greater, so ties go to the lowest index
  exactly like numpy's argmax. A comparator is a parallel-prefix (greater, equal) tree, log2(width)
  AND/OR levels deep, instead of a ripple carry chain.
"""
from __future__ import annotations

from ..arith.context import ArithContext
from ..arith.words import ONE, ZERO, Word, is_const


def decoder(ctx: ArithContext, bits: list[int], n_lines: int) -> list[int]:
    """One-hot lines 0..n_lines-1 of the unsigned code `bits` (LSB first)."""
    lines = _decode(ctx, bits)
    return lines[:n_lines]


def _decode(ctx: ArithContext, bits: list[int]) -> list[int]:
    if len(bits) == 1:
        return [ctx.inv(bits[0]), bits[0]]
    half = len(bits) // 2
    low, high = _decode(ctx, bits[:half]), _decode(ctx, bits[half:])
    return [ctx.and2(h, l) for h in high for l in low]


def mux(ctx: ArithContext, sel: int, a0: int, a1: int) -> int:
    """a1 if sel else a0."""
    if a0 == a1:
        return a0
    if is_const(sel):
        return a1 if sel == ONE else a0
    if is_const(a0) and is_const(a1):
        return sel if a1 == ONE else ctx.inv(sel)
    return ctx.b.gate("mux2", ctx.net_of(a0), ctx.net_of(a1), sel)


def signed_bits(word: Word, width: int) -> list[int]:
    """The word's two's-complement bits extended to `width`."""
    fill = word.bits[-1] if word.signed else ZERO
    return list(word.bits[:width]) + [fill] * (width - word.width)


def greater(ctx: ArithContext, a: list[int], b: list[int]) -> int:
    """1 when the signed value b > a (same width, LSB first)."""
    w = len(a)
    nodes = []  # (greater, equal) per bit, LSB first
    for i in range(w):
        ai, bi = a[i], b[i]
        if i == w - 1:  # sign bit: b > a on it when a is negative and b is not
            g = ctx.and2(ai, ctx.inv(bi))
        else:
            g = ctx.and2(bi, ctx.inv(ai))
        nodes.append((g, ctx.xnor(ai, bi)))
    while len(nodes) > 1:
        merged = []
        for k in range(0, len(nodes) - 1, 2):
            (g_lo, e_lo), (g_hi, e_hi) = nodes[k], nodes[k + 1]
            merged.append((ctx.or2(g_hi, ctx.and2(e_hi, g_lo)), ctx.and2(e_hi, e_lo)))
        if len(nodes) % 2:
            merged.append(nodes[-1])
        nodes = merged
    return nodes[0][0]


def argmax(ctx: ArithContext, logits: list[Word]) -> list[int]:
    """Bits (LSB first) of the index of the first largest logit."""
    n = len(logits)
    index_bits = max(1, (n - 1).bit_length())
    width = max(w.width + (0 if w.signed else 1) for w in logits)
    players = [(signed_bits(w, width), [ONE if (j >> k) & 1 else ZERO for k in range(index_bits)])
               for j, w in enumerate(logits)]
    while len(players) > 1:
        nxt = []
        for k in range(0, len(players) - 1, 2):
            (va, ia), (vb, ib) = players[k], players[k + 1]
            take_b = greater(ctx, va, vb)
            last = len(players) == 2
            value = [] if last else [mux(ctx, take_b, x, y) for x, y in zip(va, vb)]
            nxt.append((value, [mux(ctx, take_b, x, y) for x, y in zip(ia, ib)]))
        if len(players) % 2:
            nxt.append(players[-1])
        players = nxt
    return players[0][1]


def lookup(ctx: ArithContext, bits: list[int], table: list[int]) -> Word:
    """Word of table[u] for the unsigned code u on `bits` (LSB first): per output bit a mux tree over
    constants (the first level folds to wires and inverters); identical muxes are made once."""
    if len(table) != 1 << len(bits) or min(table) < 0:
        raise ValueError("table needs 2^len(bits) non-negative entries")
    cache: dict[tuple[int, int, int], int] = {}

    def mux_cached(sel: int, a0: int, a1: int) -> int:
        key = (sel, a0, a1)
        if key not in cache:
            cache[key] = mux(ctx, sel, a0, a1)
        return cache[key]

    width = max(1, max(table).bit_length())
    out = []
    for k in range(width):
        level = [ONE if (v >> k) & 1 else ZERO for v in table]
        for sel in bits:
            level = [mux_cached(sel, level[i], level[i + 1]) for i in range(0, len(level), 2)]
        out.append(level[0])
    return Word(tuple(out), min(table), max(table))
