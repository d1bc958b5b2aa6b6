"""One network layer as gates: adder graph -> compressor trees -> requantization and ReLU."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .compress import sum_terms
from .context import ArithContext, PlaceTag
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
    # the crossbar floorplan (build --layout; layoutgen/physical/floorplan.py): each neuron compresses
    # the bits of every group of `locality_group` inputs on their own first, and subexpressions are
    # shared only within groups of inputs and blocks of `share_block` neurons, so that a neuron's
    # logic for one input group can sit where that group's input wires cross the neuron's column
    locality_group: int = 0
    share_block: int = 0
    # the array floorplan: each neuron's sum as a chain of tiles of `chain` inputs down its column,
    # carry-save between tiles (layoutgen/arith/chain.py); 0 = off
    chain: int = 0
    chain_block: int = 1  # neurons per chained tile
    chain_bits: int = 0  # at most this many input bits per chained tile (fewer inputs for wide words); 0: no cap
    # every chained tile passes the whole carry-save word (two bits per column, unused ones tied to 0),
    # so identical weights make one tile on any input group: the array lays it out once
    chain_uniform: bool = False


AUTO_GROUP_LIMIT = 64
AUTO_GROUP = 32


def group_size_for(options: ArithOptions, n_inputs: int) -> int | None:
    if options.locality_group:
        return options.locality_group
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
        group_size=group_size_for(options, len(inputs)), neuron_block=options.share_block or None,
    )
    k = options.locality_group
    home = _input_groups(graph, k) if k else None
    column = user_columns(graph) if k else None
    words: list[Word] = list(inputs)
    for v in range(graph.n_inputs, len(graph.vars)):
        var = graph.vars[v]
        n0 = ctx.n_cells()
        words.append(sum_terms(ctx, [(words[var.a], 0, 1), (words[var.b], var.shift, var.sign)], 0, var.lo, var.hi))
        if k:
            ctx.tag_since(n0, PlaceTag(ctx.layer, column[v], home[v]))
    lo, hi = exact_acc_range(layer.W, layer.b, np.array(in_hi, dtype=object))
    outs = []
    for j, terms in enumerate(graph.outputs):
        items = sorted(terms.items())
        tlist = [(words[var], s, g) for (var, s), g in items]
        groups = [home[var] for (var, s), g in items] if k else None
        acc = sum_terms(ctx, tlist, graph.bias[j], int(lo[j]), int(hi[j]), groups=groups,
                        tag=(ctx.layer, float(j)) if k else None)
        n0 = ctx.n_cells()
        outs.append(requantize(ctx, acc, int(layer.shift), bool(layer.relu), int(layer.out_bits)))
        if k:
            ctx.tag_since(n0, PlaceTag(ctx.layer, float(j), -1))
    return outs, graph


def _input_groups(graph: AdderGraph, k: int) -> list[int]:
    """Input group of every variable: input i is in group i // k; a sum of two variables of the same
    group stays in it, any other sum is in none (-1)."""
    home = [i // k for i in range(graph.n_inputs)]
    for v in graph.vars[graph.n_inputs:]:
        home.append(home[v.a] if home[v.a] == home[v.b] else -1)
    return home


def user_columns(graph: AdderGraph) -> list[float]:
    """Mean index of the neurons that use each variable, directly or through other sums (-1: none)."""
    n = len(graph.vars)
    total = np.zeros(n)
    count = np.zeros(n)
    for j, terms in enumerate(graph.outputs):
        for var in {var for var, _s in terms}:
            total[var] += j
            count[var] += 1
    for v in range(n - 1, graph.n_inputs - 1, -1):  # sums come after their operands
        var = graph.vars[v]
        for u in (var.a, var.b):
            total[u] += total[v]
            count[u] += count[v]
    return [float(t / c) if c else -1.0 for t, c in zip(total, count)]


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
