"""Sum of shifted, signed words plus a constant, as a carry-save compressor tree and a ripple adder.

Every term becomes column bits (words.term_columns); all constants fold into one, whose set bits join
their columns. Columns are reduced LSB first with full adders on the three earliest-arriving bits
(a timing-driven Dadda/Wallace hybrid: each FA removes one bit) until each column holds at most two
bits plus the incoming carry, then a ripple-carry adder finishes. The top column only needs its
parity, so it is an XOR tree. The sum is taken modulo 2**width, which is exact because the caller's
range [lo, hi] fits the width. For the crossbar floorplan the bits of each input group are reduced
on their own first (layoutgen.physical.floorplan).
"""
from __future__ import annotations

import bisect

from .context import ArithContext, PlaceTag
from .words import ONE, ZERO, Word, is_const, width_for_range, term_columns


def _insert(col: list[tuple[float, int]], ctx: ArithContext, net: int) -> None:
    bisect.insort(col, (ctx.t(net), net))


def _term_bits(ctx: ArithContext, cols, word: Word, shift: int, sign: int, width: int, own_inverters) -> int:
    """Add the term's bits to the columns; returns the constant it contributes."""
    bits, const = term_columns(word, shift, sign, width)
    for col, bit, inverted in bits:
        if is_const(bit):
            v = (1 if bit == ONE else 0) ^ int(inverted)
            const += v << col
            continue
        net = ctx.inv_for(bit, own_inverters) if inverted else bit
        cols[col].append((ctx.t(net), net))
    return const


def _reduce_to_two(ctx: ArithContext, cols: list[list[tuple[float, int]]]) -> None:
    """Full adders on the earliest bits until no column but the top one holds more than two bits."""
    for col in cols:
        col.sort()
    for c in range(len(cols) - 1):
        col = cols[c]
        while len(col) > 2:
            (_, a), (_, b), (_, d) = col[:3]
            del col[:3]
            s, cy = ctx.fa(a, b, d)
            _insert(col, ctx, s)
            _insert(cols[c + 1], ctx, cy)


def sum_terms(ctx: ArithContext, terms: list[tuple[Word, int, int]], const: int, lo: int, hi: int,
              groups: list[int] | None = None, tag: tuple[int, float] | None = None) -> Word:
    """Word holding const + sum(sign * word * 2**shift) for the terms; the true value lies in [lo, hi].

    groups: an input group per term (-1: none). With two groups or more, each group's bits are first
    reduced on their own to at most two per column (the same full adders a global tree would use, in
    an order that keeps them local), then all columns together. tag (layer, column): cells are
    tagged for placement with it and their group (ctx.place_tags)."""
    width = width_for_range(lo, hi)
    mod = 1 << width
    cols: list[list[tuple[float, int]]] = [[] for _ in range(width)]
    own_inverters: dict[int, int] = {}
    by_group: dict[int, list[tuple[Word, int, int]]] = {}
    rest = list(terms)
    if groups is not None:
        rest = []
        for term, g in zip(terms, groups):
            (by_group.setdefault(g, []) if g >= 0 else rest).append(term)
        if len(by_group) < 2:  # one group: nothing to keep apart
            by_group, rest = {}, list(terms)
    for g in sorted(by_group):
        n0 = ctx.n_cells()
        gcols: list[list[tuple[float, int]]] = [[] for _ in range(width)]
        for word, shift, sign in by_group[g]:
            const += _term_bits(ctx, gcols, word, shift, sign, width, own_inverters)
        _reduce_to_two(ctx, gcols)
        for c in range(width):
            cols[c].extend(gcols[c])
        if tag is not None:
            ctx.tag_since(n0, PlaceTag(*tag, g))
    n0 = ctx.n_cells()
    for word, shift, sign in rest:
        const += _term_bits(ctx, cols, word, shift, sign, width, own_inverters)
    const %= mod
    ones = [(const >> c) & 1 for c in range(width)]
    for col in cols:
        col.sort()

    # reduction: full adders until a column has at most two entries (bits + constant one)
    for c in range(width - 1):
        col = cols[c]
        while len(col) + ones[c] > 2:
            if len(col) >= 3:
                (_, a), (_, b), (_, d) = col[:3]
                del col[:3]
                s, cy = ctx.fa(a, b, d)
            else:  # two bits and the constant one: a + b + 1
                (_, a), (_, b) = col[:2]
                del col[:2]
                s, cy = ctx.xnor(a, b), ctx.or2(a, b)
                ones[c] = 0
            _insert(col, ctx, s)
            _insert(cols[c + 1], ctx, cy)

    # carry-propagate adder (ripple), constants folded in
    out: list[int] = []
    carry = None
    for c in range(width):
        nets = [n for _, n in cols[c]]
        if carry is not None:
            nets.append(carry)
        one = ones[c]
        last = c == width - 1
        carry = None
        if last:
            # top column: only the parity matters
            acc = ONE if one else ZERO
            for n in sorted(nets, key=ctx.t):
                acc = ctx.xor(acc, n)
            out.append(acc)
            break
        if len(nets) == 0:
            out.append(ONE if one else ZERO)
        elif len(nets) == 1:
            if one:
                out.append(ctx.inv(nets[0]))
                carry = nets[0]
            else:
                out.append(nets[0])
        elif len(nets) == 2:
            if one:
                out.append(ctx.xnor(nets[0], nets[1]))
                carry = ctx.or2(nets[0], nets[1])
            else:
                s, carry = ctx.ha(nets[0], nets[1])
                out.append(s)
        else:
            assert len(nets) == 3 and not one
            s, carry = ctx.fa(*nets)
            out.append(s)
    if tag is not None:
        ctx.tag_since(n0, PlaceTag(*tag, -1))
    return Word(tuple(out), lo, hi)
