"""Tile-chained arithmetic: each neuron's sum built as a chain of tiles down its column.

The layer is an array: input group g (k consecutive inputs) is a row, neuron j a column. Tile (g, j)
adds the weighted bits of its k inputs to the carry-save partial sum coming from tile (g-1, j) and
passes a carry-save sum (at most two bits per column) to tile (g+1, j); the bottom of the column
adds the last carry-save pair, the bias and the tiles' folded constants with a carry-propagate
adder, then requantizes as the plain build does.

Why a chain: a tile's wires are its own except the input bits of its row and the two carry-save
words to its neighbour below, so a tile can be placed and routed once as its own cell (one macro per
distinct tile, layoutgen.physical.macros) and the array is those cells side by side. The number of
full adders is the same as one tree per neuron (each full adder removes one bit, whatever the
order); what is lost is the subexpression sharing between neurons.

Every tile works modulo 2**w (w: the layer's accumulator width), so tiles of a layer are alike and
identical weights give identical cells; the true sum fits w bits, so the bottom's result is exact.
Constants (from negative digits and signed inputs) leave the tiles and join the bias at the bottom.
In each tile the incoming carry-save bits are the last to be reduced (they arrive late), so the
chain adds about two full-adder levels per tile while the tile's own bits are summed in parallel.

A distinct tile (its inputs' places in the group, weights, input word shapes, incoming carry-save
shape, w) is built once as a
template Module and stamped into the flat top module with its cells named `<prefix><template
cell>`, as the cluster pass stamps its units (layoutgen.cluster.netlist): the pipeline keeps each
stamped tile in one stage (`pipeline.insert_registers(groups=)`) and the layout matches the copies
by these names.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from ..netlist.builder import ModuleBuilder
from ..netlist.cells import CellLibrary
from ..netlist.ir import Module
from ..pdk.core import Pdk
from .compress import sum_terms
from .context import ArithContext, PlaceTag
from .cse import build_adder_graph
from .layer import ArithOptions, exact_acc_range, requantize
from .network import CombinationalNetwork, new_top, output_width
from .words import ONE, ZERO, Word, is_const, term_columns, width_for_range

TILE_PREFIX = "t"
LATE = 1e6  # the template's arrival for the incoming carry-save bits: reduced after the tile's own bits


@dataclass
class TileTemplate:
    """One distinct tile as its own module: ports x (the input words' non-constant bits), si (the
    incoming carry-save bits of its neurons, if any) and so (the outgoing ones)."""

    key: tuple
    positions: tuple[int, ...]  # where each input word sits in its group (its input index minus the group's first)
    si_cols: tuple[tuple[int, ...], ...]  # per neuron of the tile: column of each incoming carry-save bit, in port order
    module: Module
    x_nets: list[list[int | None]]  # per input word and bit: the template net, None where the bit is constant
    si_nets: list[list[int]]  # per neuron: template nets of the incoming carry-save bits, in si_cols order
    so: list[list[tuple[int, int]]]  # per neuron: (column, template net) of every outgoing bit
    constants: tuple[int, ...]  # per neuron: its value = sum(so bits) + constant (mod 2**w)

    @property
    def shapes(self) -> tuple:
        """The input words' shapes (word_shape), in port order."""
        return self.key[3]

    @property
    def width(self) -> int:
        """The carry-save width w the tile works modulo 2**w in."""
        return self.key[-1]


@dataclass
class LayerTiles:
    """Per-layer figures in the shape compile_model's report expects (`n_adders`: shared subexpressions,
    none in chained tiles)."""

    n_adders: int
    tiles: int


@dataclass
class ChainNetwork(CombinationalNetwork):
    templates: dict[int, TileTemplate] = field(default_factory=dict)
    stamps: list[tuple[int, str]] = field(default_factory=list)  # (template id, cell-name prefix) per tile
    cell_tile: dict[str, int] = field(default_factory=dict)  # stamped cell name -> index into stamps
    places: list[tuple[int, int, int]] = field(default_factory=list)  # per stamp: (layer, input group, first neuron)
    outs: list[list[list[tuple[int, int]]]] = field(default_factory=list)  # per stamp, per neuron: (column, net) leaving it
    layer_inputs: list[list[tuple[int, ...]]] = field(default_factory=list)  # per layer: its input words' bits
    groups: list[int] = field(default_factory=list)  # per layer: inputs per tile (the array's row height in inputs)
    block: int = 1  # neurons per tile (the array's column width in neurons)
    # every tile but a block's first takes the whole carry-save word (two bits per column) and every
    # tile leaves it: a tile is then its weights and input shapes only, wherever it sits
    uniform: bool = False

    def stats(self) -> dict:
        """Tiles stamped, distinct tiles, their cells, the reuse ratio."""
        return {
            "group_inputs": self.groups,
            "block_neurons": self.block,
            "tiles": len(self.stamps),
            "distinct_tiles": len(self.templates),
            "cells_in_tiles": len(self.cell_tile),
            "distinct_tile_cells": int(sum(len(t.module.instances) for t in self.templates.values())),
            "reuse_ratio": round(len(self.stamps) / len(self.templates), 4) if self.templates else 0.0,
        }


def word_shape(word: Word) -> tuple:
    """What a template needs to know of an input word: each bit's constant value or 'n' (a net), and
    whether the word is signed."""
    return tuple("n" if not is_const(b) else (1 if b == ONE else 0) for b in word.bits), word.signed


def _reduce(ctx: ArithContext, cols: list[list[tuple[float, int]]]) -> None:
    """Full adders on each column's earliest bits until it holds at most two (a half adder where the
    incoming pair meets a late carry); the top column keeps only its parity (its carries would leave
    the width), so it is reduced with XORs."""
    top = len(cols) - 1
    for c, col in enumerate(cols):
        col.sort()
        while len(col) > 2:
            if c == top:
                (_, a), (_, b) = col[:2]
                del col[:2]
                _insert(col, ctx, ctx.xor(a, b))
                continue
            if len(col) == 3 and col[0][0] >= LATE and col[2][0] > col[1][0]:
                # the third bit comes late (a carry from the column below): a half adder on the two
                # early ones leaves two bits without waiting for it. A full adder would wait, and where
                # a column holds only the incoming pair and that carry, carries would ripple up the
                # columns (a tile then as deep as its width)
                (_, a), (_, b) = col[:2]
                del col[:2]
                s, cy = ctx.ha(a, b)
                _insert(col, ctx, s)
                _insert(cols[c + 1], ctx, cy)
                continue
            (_, a), (_, b), (_, d) = col[:3]
            del col[:3]
            s, cy = ctx.fa(a, b, d)
            _insert(col, ctx, s)
            _insert(cols[c + 1], ctx, cy)


def _insert(col: list[tuple[float, int]], ctx: ArithContext, net: int) -> None:
    bisect.insort(col, (ctx.t(net), net))


def word_range(shape: tuple) -> tuple[int, int]:
    """The widest range a word of this shape can hold (a template serves every word of the shape)."""
    bits, signed = shape
    w = len(bits)
    return (-(1 << (w - 1)), (1 << (w - 1)) - 1) if signed else (0, (1 << w) - 1)


def tile_template(name: str, key: tuple, positions: tuple[int, ...], weights: np.ndarray, shapes: tuple,
                  si_cols: tuple[tuple[int, ...], ...], width: int, library: CellLibrary, delays: dict,
                  recoding: str, local_inverters: bool, uniform: bool = False) -> TileTemplate:
    """Build one tile: for each of its neurons n, sum of weights[n, i] * x_i plus n's incoming
    carry-save bits (columns si_cols[n]), modulo 2**width, as at most two bits per column (uniform:
    exactly two, so that every tile of the layer has the same outgoing ports).

    No subexpressions are shared inside a tile: each would be a ripple-carry word, and a tile must fit
    one pipeline stage (digits, 16 inputs x 4 neurons, stage depth 12: with sharing 21,787 cells but 14
    of 38 tiles too deep for a stage; without, 22,868 cells and every tile whole)."""
    module = Module(name)
    ctx = ArithContext(ModuleBuilder(module, library), delays, local_inverters)
    x_nets: list[list[int | None]] = []
    words = []
    n = 0
    for shape in shapes:
        bits, _signed = shape
        nets, wb = [], []
        for b in bits:
            if b == "n":
                net = module.add_net(f"x[{n}]")
                n += 1
                nets.append(net)
                wb.append(net)
            else:
                nets.append(None)
                wb.append(ONE if b else ZERO)
        x_nets.append(nets)
        words.append(Word(tuple(wb), *word_range(shape)))
    module.add_port("x", "input", [net for nets in x_nets for net in nets if net is not None])
    si_nets = []
    q = 0
    for cols_n in si_cols:
        si_nets.append([module.add_net(f"si[{q + k}]") for k in range(len(cols_n))])
        q += len(cols_n)
    if q:
        module.add_port("si", "input", [net for nets in si_nets for net in nets])
    for nets in si_nets:
        for net in nets:
            ctx.arrival[net] = LATE
    graph = build_adder_graph(weights, np.zeros(len(weights), np.int64), [w.lo for w in words],
                              [w.hi for w in words], recoding=recoding, share=False)
    for v in graph.vars[graph.n_inputs:]:
        words.append(sum_terms(ctx, [(words[v.a], 0, 1), (words[v.b], v.shift, v.sign)], 0, v.lo, v.hi))
    so, constants = [], []
    for terms, cols_n, nets in zip(graph.outputs, si_cols, si_nets):
        cols: list[list[tuple[float, int]]] = [[] for _ in range(width)]
        const = 0
        inverted: dict[int, int] = {}
        for (var, shift), sign in sorted(terms.items()):
            bits, c = term_columns(words[var], shift, sign, width)
            const += c
            for col, bit, inv in bits:
                if is_const(bit):
                    const += ((1 if bit == ONE else 0) ^ int(inv)) << col
                    continue
                net = ctx.inv_for(bit, inverted) if inv else bit
                cols[col].append((ctx.t(net), net))
        for c, net in zip(cols_n, nets):
            cols[c].append((LATE, net))
        _reduce(ctx, cols)
        if uniform:  # every column leaves exactly two bits, the missing ones tied to 0
            for col in cols:
                col += [(0.0, ctx.net_of(ZERO))] * (2 - len(col))
        so.append([(c, net) for c, col in enumerate(cols) for _t, net in col])
        constants.append(const % (1 << width))
    module.add_port("so", "output", [net for outs in so for _c, net in outs])
    return TileTemplate(key, positions, si_cols, module, x_nets, si_nets, so, tuple(constants))


def _stamp(ctx: ArithContext, tmpl: TileTemplate, inputs: list[Word], si: list[list[int]], prefix: str,
           cell_tile: dict[str, int], index: int) -> list[list[tuple[int, int]]]:
    """Copy the template's cells into ctx's module; returns the stamped outgoing bits of each neuron."""
    module = ctx.b.module
    net_map: dict[int, int] = {}
    for nets, word in zip(tmpl.x_nets, inputs):
        for tn, bit in zip(nets, word.bits):
            if tn is not None:
                net_map[tn] = bit
    for tnets, nets in zip(tmpl.si_nets, si):
        for tn, net in zip(tnets, nets):
            net_map[tn] = net
    delays = ctx.delays
    for inst in tmpl.module.instances:  # in topological order: inputs are mapped before they are used
        role = ctx.b.lib[inst.master].role
        start = max((ctx.t(net_map[n]) for n in inst.pins.values() if n in net_map), default=0.0)
        pins = {}
        for pin, tn in inst.pins.items():
            if tn not in net_map:
                net_map[tn] = module.add_net()
                ctx.arrival[net_map[tn]] = start + delays[role][pin]
            pins[pin] = net_map[tn]
        name = prefix + inst.name
        module.add_instance(name, inst.master, pins)
        cell_tile[name] = index
    return [[(c, net_map[tn]) for c, tn in outs] for outs in tmpl.so]


def chain_group(options: ArithOptions, word_bits: int) -> int:
    """Inputs per tile for a layer whose input words have `word_bits` bits: options.chain, fewer when
    options.chain_bits caps the input bits a tile takes (each is a feed-through track in the array)."""
    if options.chain_bits:
        return max(1, min(options.chain, options.chain_bits // max(word_bits, 1)))
    return options.chain


def build_chain_network(model, pdk: Pdk, top: str, options: ArithOptions) -> ChainNetwork:
    """The model with each layer as an array of tiles of `options.chain` inputs by `options.chain_block`
    neurons, chained down each neuron's column (one flat module)."""
    c = max(1, options.chain_block)
    uniform = options.chain_uniform
    groups: list[int] = []
    ctx, x_nets, words = new_top(model, pdk, top, options)
    module, delays = ctx.b.module, ctx.delays
    templates: dict[int, TileTemplate] = {}
    by_key: dict[tuple, int] = {}
    stamps: list[tuple[int, str]] = []
    cell_tile: dict[str, int] = {}
    per_layer: list[LayerTiles] = []
    places: list[tuple[int, int, int]] = []
    stamp_outs: list[list[list[tuple[int, int]]]] = []
    layer_inputs: list[list[tuple[int, ...]]] = []
    for li, layer in enumerate(model.layers):
        ctx.layer = li
        layer_inputs.append([w.bits for w in words])
        W = np.asarray(layer.W, dtype=np.int64)
        n_out, n_in = W.shape
        lo, hi = exact_acc_range(W, layer.b, np.array([w.hi for w in words], dtype=object))
        width = max(width_for_range(int(a), int(b)) for a, b in zip(lo, hi))
        shapes = [word_shape(w) for w in words]
        k = chain_group(options, max(len(w.bits) for w in words))
        full = tuple(col for col in range(width) for _ in range(2))
        groups.append(k)
        carry: list[list[tuple[int, int]]] = [[] for _ in range(n_out)]  # per neuron: (column, net) leaving its last tile
        consts = [int(v) for v in layer.b]
        for j0 in range(0, n_out, c):
            block = list(range(j0, min(j0 + c, n_out)))
            for g in range(-(-n_in // k)):
                cols = list(range(g * k, min((g + 1) * k, n_in)))
                Wb = W[np.ix_(block, cols)]
                if not Wb.any():
                    continue
                used = [i for q, i in enumerate(cols) if Wb[:, q].any()]
                Wb = W[np.ix_(block, used)]
                positions = tuple(i - g * k for i in used)
                if uniform:  # the whole carry-save word, once the block's first tile has started it
                    started = any(carry[j] for j in block)
                    si_cols = tuple(full if started else () for _j in block)
                else:
                    si_cols = tuple(tuple(col for col, _n in carry[j]) for j in block)
                key = (li, positions, tuple(map(tuple, Wb.tolist())), tuple(shapes[i] for i in used), si_cols, width)
                tid = by_key.get(key)
                if tid is None:
                    tid = by_key[key] = len(templates)
                    templates[tid] = tile_template(f"tile_{tid}", key, positions, Wb, key[3], si_cols, width,
                                                   pdk.library, delays, options.recoding, options.local_inverters,
                                                   uniform)
                tmpl = templates[tid]
                prefix = f"{TILE_PREFIX}{li}_{g}_{j0}_"
                n0 = ctx.n_cells()
                outs = _stamp(ctx, tmpl, [words[i] for i in used], [[n for _c, n in carry[j]] for j in block], prefix,
                              cell_tile, len(stamps))
                stamps.append((tid, prefix))
                places.append((li, g, j0))
                stamp_outs.append(outs)
                for j, out, const in zip(block, outs, tmpl.constants):
                    carry[j] = out
                    consts[j] += const
                ctx.tag_since(n0, PlaceTag(li, float(np.mean(block)), g))
        outputs: list[Word] = []
        for j in range(n_out):
            rows: list[list[int]] = [[ZERO] * width, [ZERO] * width]
            for col, net in carry[j]:
                rows[0 if rows[0][col] == ZERO else 1][col] = net
            terms = [(Word(tuple(r), 0, (1 << width) - 1), 0, 1) for r in rows if any(not is_const(b) for b in r)]
            n0 = ctx.n_cells()
            acc = sum_terms(ctx, terms, consts[j], int(lo[j]), int(hi[j]))
            outputs.append(requantize(ctx, acc, int(layer.shift), bool(layer.relu), int(layer.out_bits)))
            ctx.tag_since(n0, PlaceTag(li, float(j), -1))
        words = outputs
        per_layer.append(LayerTiles(0, len(stamps) - sum(p.tiles for p in per_layer)))
    width = output_width(model) or max(w.width + (0 if w.signed else 1) for w in words)
    y_bits: list[int] = []
    for w in words:
        fill = w.bits[-1] if w.signed else ZERO
        y_bits.extend(list(w.bits[:width]) + [fill] * (width - w.width))
    return ChainNetwork(module, ctx, x_nets, y_bits, width, per_layer, templates, stamps, cell_tile, places, stamp_outs,
                        layer_inputs, groups, c, uniform)
