"""One network layer as gates: adder graph -> compressor trees -> requantization and ReLU."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .compress import sum_terms
from .context import ArithContext
from .cse import AdderGraph, build_adder_graph
from .words import ZERO, Word


@dataclass(frozen=True)
class ArithOptions:
    recoding: str = "csd"  # "csd" or "binary"
    share: bool = True  # common-subexpression elimination across neurons
    # inputs per subexpression-search group; 0 = automatic: the whole layer up to AUTO_GROUP_LIMIT
    # inputs, else groups of AUTO_GROUP inputs (measured: 128x128 w4 costs 3% more area at 32 than
    # ungrouped, and the search runs several times faster; benchmarks/arith.py)
    group_size: int = 0
    # inputs per weight tile; > 0 builds shared partial-sum units per tile (layoutgen/cluster/netlist.py)
    tile: int = 0
    tile_min_uses: int = 2  # a tile's partial sum becomes a shared unit when at least this many neurons use it
    # one inverter per sum and inverted bit instead of one per bit: about 3% more cell area, and the
    # inverted bits no longer run across the die (build --layout turns it on; layoutgen/arith/context.py)
    local_inverters: bool = False


AUTO_GROUP_LIMIT = 64
AUTO_GROUP = 32


def group_size_for(options: ArithOptions, n_inputs: int) -> int | None:
    if options.group_size:
        return options.group_size
    return None if n_inputs <= AUTO_GROUP_LIMIT else AUTO_GROUP


def exact_acc_range(W: np.ndarray, b: np.ndarray, in_hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact range of W x + b over unsigned inputs 0 <= x_i <= in_hi[i] (Python ints: no overflow)."""
    W = np.asarray(W, dtype=object)
    hi_in = np.asarray(in_hi, dtype=object)
    pos = np.where(W > 0, W, 0)
    neg = np.where(W < 0, W, 0)
    lo = np.asarray(b, dtype=object) + neg.dot(hi_in)
    hi = np.asarray(b, dtype=object) + pos.dot(hi_in)
    return lo, hi


def build_layer(ctx: ArithContext, inputs: list[Word], layer, options: ArithOptions) -> tuple[list[Word], AdderGraph]:
    """Gates for one int-v1 layer; returns its output words (unsigned after ReLU, else signed)."""
    in_lo = [w.lo for w in inputs]
    in_hi = [w.hi for w in inputs]
    graph = build_adder_graph(
        layer.W, layer.b, in_lo, in_hi, recoding=options.recoding, share=options.share,
        group_size=group_size_for(options, len(inputs)),
    )
    words: list[Word] = list(inputs)
    for v in graph.vars[graph.n_inputs :]:
        words.append(sum_terms(ctx, [(words[v.a], 0, 1), (words[v.b], v.shift, v.sign)], 0, v.lo, v.hi))
    lo, hi = exact_acc_range(layer.W, layer.b, np.array(in_hi, dtype=object))
    outs = []
    for j, terms in enumerate(graph.outputs):
        tlist = [(words[var], s, g) for (var, s), g in sorted(terms.items())]
        acc = sum_terms(ctx, tlist, graph.bias[j], int(lo[j]), int(hi[j]))
        outs.append(requantize(ctx, acc, int(layer.shift), bool(layer.relu), int(layer.out_bits)))
    return outs, graph


def requantize(ctx: ArithContext, acc: Word, shift: int, relu: bool, out_bits: int) -> Word:
    """floor(acc / 2**shift), then for ReLU layers clip to [0, 2**out_bits - 1]: a shift is free wiring."""
    lo, hi = acc.lo >> shift, acc.hi >> shift
    bits = list(acc.bits[shift:])
    if not bits:  # every bit shifted out: the result is the sign (0 or -1)
        bits = [acc.bits[-1] if acc.signed else ZERO]
    sign = bits[-1] if acc.signed else ZERO
    if not relu:
        return Word(tuple(bits), lo, hi)
    lo_c, hi_c = min(max(lo, 0), (1 << out_bits) - 1), min(max(hi, 0), (1 << out_bits) - 1)
    value_bits = bits[:-1] if acc.signed else bits
    low = list(value_bits[:out_bits]) + [ZERO] * max(0, out_bits - len(value_bits))
    upper = list(value_bits[out_bits:])
    ovf = ZERO
    for u in upper:
        ovf = ctx.or2(ovf, u)
    out = []
    for bit in low:
        v = ctx.or2(bit, ovf)
        # ~sign & v as nor2(sign, ~v): a cheap NOR pair instead of AND/OR cells
        out.append(v if sign == ZERO else ctx.nor2(sign, ctx.nor2(bit, ovf)))
    return Word(tuple(out), lo_c, hi_c)
