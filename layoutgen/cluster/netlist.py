"""Netlist of a tiled model: shared partial-sum units plus one accumulation tree per neuron.

Each unique unit (canonical weight vector, input width) is built once as a template Module (ports
`a`: its k input words, `y`: its non-constant output bits), with every input arriving at time 0 so
the template does not depend on where it is used. Every unit instance is then stamped into the flat
top module by copying the template's cells with its nets renamed: all instances of a unit are the
same cells with the same connections, which is what lets the layout place and route a unit once.
The top stays flat because the pipelining pass, the simulator and LVS work on flat modules;
`cell_groups` maps every stamped cell name to (unit id, instance index), and `unit_instance_cells`
recovers the cells of each instance from any later version of the module (names survive pipelining).

A neuron adds the output words of the unit instances it uses (sign -1: the word's inverted bits plus
a constant, folded with the bias into the tree's constant), then requantizes as the plain build does.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..arith.compress import sum_terms
from ..arith.context import ArithContext, PlaceTag
from ..arith.cse import build_adder_graph
from ..arith.layer import ArithOptions, exact_acc_range, requantize, user_columns
from ..arith.network import CombinationalNetwork, new_top, output_width
from ..arith.words import ZERO, Word, is_const
from ..netlist.builder import ModuleBuilder
from ..netlist.cells import CellLibrary
from ..netlist.ir import Module
from ..pdk.core import Pdk
from .tiles import TileTable, keep_shared, tile_model

STAMP_PREFIX = "u"
# partial sums per subexpression-search group in the accumulation (as ArithOptions.group_size for
# inputs), measured on 256x256 ternary, tile 2 (um2/weight, build s): ungrouped 48.1 in 48 s, 128: 51.9 in 8 s,
# 32: 55.5 in 3 s; the plain build (no tiles) gives 53.4 in 7 s
SUM_GROUP = 128


@dataclass
class UnitTemplate:
    unit: int
    module: Module  # the unit as its own module: ports a (k * input_bits) and y
    input_nets: list[list[int]]  # per input word, its template nets (LSB first)
    out_bits: list[int]  # template net or ZERO/ONE per output bit
    lo: int
    hi: int
    arrival: dict[int, float]  # template net -> arrival (FA levels) with inputs at 0


@dataclass
class LayerUnits:
    """Per-layer figures in the shape compile_model's report expects (`n_adders`)."""

    n_adders: int
    unit_instances: int


@dataclass
class TiledNetwork(CombinationalNetwork):
    table: TileTable | None = None
    templates: dict[int, UnitTemplate] = field(default_factory=dict)
    cell_groups: dict[str, tuple[int, int]] = field(default_factory=dict)  # cell name -> (unit, instance)

    def stats(self) -> dict:
        s = self.table.stats()
        cells = {u: len(t.module.instances) for u, t in self.templates.items()}
        s["cells_in_units"] = len(self.cell_groups)
        s["unit_cells_unique"] = int(sum(cells.values()))
        return s


def unit_template(unit: int, weights: np.ndarray, input_bits: int, library: CellLibrary,
                  delays: dict, recoding: str) -> UnitTemplate:
    k = len(weights)
    module = Module(f"unit_{unit}")
    ctx = ArithContext(ModuleBuilder(module, library), delays)
    top = (1 << input_bits) - 1
    nets = [[module.add_net(f"a[{i * input_bits + b}]") for b in range(input_bits)] for i in range(k)]
    module.add_port("a", "input", [n for word in nets for n in word])
    words = [Word(tuple(w), 0, top) for w in nets]
    W = np.asarray(weights, dtype=np.int64)[None, :]
    graph = build_adder_graph(W, np.zeros(1, np.int64), [0] * k, [top] * k, recoding=recoding)
    for v in graph.vars[graph.n_inputs :]:
        words.append(sum_terms(ctx, [(words[v.a], 0, 1), (words[v.b], v.shift, v.sign)], 0, v.lo, v.hi))
    lo, hi = (int(v[0]) for v in exact_acc_range(W, np.zeros(1, np.int64), np.array([top] * k, dtype=object)))
    terms = [(words[var], s, g) for (var, s), g in sorted(graph.outputs[0].items())]
    acc = sum_terms(ctx, terms, 0, lo, hi)
    module.add_port("y", "output", [b for b in acc.bits if not is_const(b)])
    return UnitTemplate(unit, module, nets, list(acc.bits), lo, hi, dict(ctx.arrival))


def _stamp(ctx: ArithContext, tmpl: UnitTemplate, inputs: list[Word], name: str,
           groups: dict[str, tuple[int, int]], tag: tuple[int, int]) -> Word:
    """Copy the template's cells into ctx's module with the given input words; the output word."""
    module = ctx.b.module
    net_map: dict[int, int] = {}
    base = 0.0
    for tnets, word in zip(tmpl.input_nets, inputs):
        bits = list(word.bits) + [ZERO] * (len(tnets) - len(word.bits))
        for tn, bit in zip(tnets, bits):
            net_map[tn] = ctx.net_of(bit)  # a constant input bit becomes a tie net: the cell stays the same
            base = max(base, ctx.t(bit))
    for inst in tmpl.module.instances:
        pins = {}
        for pin, tn in inst.pins.items():
            if tn not in net_map:  # an output of this cell (the template is in topological order)
                net_map[tn] = module.add_net()
                ctx.arrival[net_map[tn]] = base + tmpl.arrival[tn]
            pins[pin] = net_map[tn]
        cell = f"{name}_{inst.name}"
        module.add_instance(cell, inst.master, pins)
        groups[cell] = tag
    bits = tuple(b if is_const(b) else net_map[b] for b in tmpl.out_bits)
    return Word(bits, tmpl.lo, tmpl.hi)


def build_tiled_network(model, pdk: Pdk, top: str, options: ArithOptions | None = None,
                        tile: int | None = None) -> TiledNetwork:
    """The model as shared unit instances plus per-neuron accumulation trees (one flat module)."""
    options = options or ArithOptions()
    k = tile or options.tile
    table = keep_shared(tile_model(model, k), options.tile_min_uses)
    ctx, x_nets, words = new_top(model, pdk, top, options)
    module, delays = ctx.b.module, ctx.delays
    templates: dict[int, UnitTemplate] = {}
    groups: dict[str, tuple[int, int]] = {}
    per_layer = []
    by_layer: dict[int, list[int]] = {}
    for idx, inst in enumerate(table.instances):
        by_layer.setdefault(inst.layer, []).append(idx)
    for li, layer in enumerate(model.layers):
        ctx.layer = li
        n_in = layer.W.shape[1]
        made: dict[int, Word] = {}
        for idx in by_layer.get(li, []):
            inst = table.instances[idx]
            if inst.unit not in templates:
                templates[inst.unit] = unit_template(inst.unit, table.units[inst.unit], table.unit_input_bits[inst.unit],
                                                     pdk.library, delays, options.recoding)
            group_words = words[inst.group * k : min((inst.group + 1) * k, n_in)]
            name = f"{STAMP_PREFIX}{inst.unit}_{inst.index}"
            n0 = ctx.n_cells()
            made[idx] = _stamp(ctx, templates[inst.unit], group_words, name, groups, (inst.unit, inst.index))
            if options.locality_group:  # the crossbar: where its input group's row meets its users' columns
                users = [j for j, _s in inst.uses]
                ctx.tag_since(n0, PlaceTag(li, float(np.mean(users)), inst.group * k // options.locality_group))
        lo, hi = exact_acc_range(layer.W, layer.b, np.array([w.hi for w in words], dtype=object))
        accs, shared = _accumulate(ctx, table, li, made, words, layer, lo, hi, options)
        words = []
        for j, acc in enumerate(accs):
            n0 = ctx.n_cells()
            words.append(requantize(ctx, acc, int(layer.shift), bool(layer.relu), int(layer.out_bits)))
            if options.locality_group:
                ctx.tag_since(n0, PlaceTag(li, float(j), -1))
        per_layer.append(LayerUnits(shared, len(made)))
    width = output_width(model) or max(w.width + (0 if w.signed else 1) for w in words)
    y_bits: list[int] = []
    for w in words:
        fill = w.bits[-1] if w.signed else ZERO
        y_bits.extend(list(w.bits[:width]) + [fill] * (width - w.width))
    return TiledNetwork(module, ctx, x_nets, y_bits, width, per_layer, table, templates, groups)


def _accumulate(ctx: ArithContext, table: TileTable, li: int, made: dict[int, Word], inputs: list[Word], layer,
                lo, hi, options: ArithOptions) -> tuple[list[Word], int]:
    """Each neuron's accumulator: bias + its shared partial sums (with their signs) + its flat tiles.

    Columns, per input group: that group's unit instances, then its raw inputs (carrying the weights
    of the tiles left flat). With options.share, two-term patterns used by several neurons (over
    partial sums and inputs alike) are made once by the same greedy common-subexpression search as
    the plain build; these adders sit outside the units, so every unit stays a whole, stampable cell.
    """
    inst_of, sign = table.tile_instance[li], table.tile_sign[li]
    k = table.tile
    n_out, n_in = layer.W.shape
    flat = np.repeat((inst_of < 0) & (sign != 0), k, axis=1)[:, :n_in]
    R = np.where(flat, layer.W, 0)
    by_group: dict[int, list[int]] = {}
    for idx in sorted(made):
        by_group.setdefault(table.instances[idx].group, []).append(idx)
    cols: list[tuple[str, int]] = []
    for g in range(inst_of.shape[1]):
        cols += [("u", idx) for idx in by_group.get(g, [])]
        cols += [("x", i) for i in range(g * k, min((g + 1) * k, n_in)) if R[:, i].any()]
    M = np.zeros((n_out, len(cols)), dtype=np.int64)
    col_words = []
    for c, (kind, idx) in enumerate(cols):
        if kind == "x":
            M[:, c] = R[:, idx]
            col_words.append(inputs[idx])
        else:
            inst = table.instances[idx]
            for j, sg in inst.uses:
                M[j, c] = sg
            col_words.append(made[idx])
    kx = options.locality_group
    home = None
    if kx:  # the crossbar: each column's input group (a row of the crossbar)
        home = [(table.instances[idx].group * k if kind == "u" else idx) // kx for kind, idx in cols]
    graph = build_adder_graph(M, layer.b, [w.lo for w in col_words], [w.hi for w in col_words],
                              recoding=options.recoding, share=options.share and len(cols) > 1,
                              group_size=options.group_size or (SUM_GROUP if len(cols) > SUM_GROUP else None),
                              input_groups=home, neuron_block=options.share_block or None)
    column = None
    if kx:
        for v in graph.vars[graph.n_inputs:]:
            home.append(home[v.a] if home[v.a] == home[v.b] else -1)
        column = user_columns(graph)
    words = list(col_words)
    for vi in range(graph.n_inputs, len(graph.vars)):
        v = graph.vars[vi]
        n0 = ctx.n_cells()
        words.append(sum_terms(ctx, [(words[v.a], 0, 1), (words[v.b], v.shift, v.sign)], 0, v.lo, v.hi))
        if kx:
            ctx.tag_since(n0, PlaceTag(li, column[vi], home[vi]))
    accs = []
    for j, terms in enumerate(graph.outputs):
        items = sorted(terms.items())
        tlist = [(words[var], s, g) for (var, s), g in items]
        accs.append(sum_terms(ctx, tlist, graph.bias[j], int(lo[j]), int(hi[j]),
                              groups=[home[var] for (var, s), g in items] if kx else None,
                              tag=(li, float(j)) if kx else None))
    return accs, graph.n_adders


def unit_instance_cells(module: Module, cell_groups: dict[str, tuple[int, int]]) -> dict[tuple[int, int], list[str]]:
    """(unit, instance) -> names of its cells still present in `module` (e.g. after pipelining)."""
    out: dict[tuple[int, int], list[str]] = {}
    for inst in module.instances:
        tag = cell_groups.get(inst.name)
        if tag is not None:
            out.setdefault(tag, []).append(inst.name)
    return dict(sorted(out.items()))


def unit_integrity(module: Module, library: CellLibrary, net: TiledNetwork) -> dict:
    """How many unit instances are still whole copies of their unit after later passes.

    An instance is *complete* when all its template cells are present (trivially so for a wiring-only
    unit, which has none), and *cut* when a register
    sits on one of its internal connections (a pipeline rank through the unit): a cut or incomplete
    instance can no longer be stamped from the unit's layout as is.
    """
    cells = unit_instance_cells(module, net.cell_groups)
    driver: dict[int, object] = {}
    for inst in module.instances:
        for pin in library[inst.master].outputs:
            driver[inst.pins[pin]] = inst
    n_complete = n_cut = n_wiring = 0
    for inst in net.table.instances:
        size = len(net.templates[inst.unit].module.instances)
        n_wiring += size == 0  # a lone +-1 weight: the unit is its input word, no cells
        if len(cells.get((inst.unit, inst.index), ())) == size:
            n_complete += 1
    by_name = {inst.name: inst for inst in module.instances}
    for tag, names in cells.items():
        cut = False
        for name in names:
            inst = by_name[name]
            for pin in library[inst.master].inputs:
                d = driver.get(inst.pins[pin])
                while d is not None and library[d.master].sequential:
                    d = driver.get(d.pins[library[d.master].inputs[0]])
                    if d is not None and net.cell_groups.get(d.name) == tag:
                        cut = True
                        break
                if cut:
                    break
            if cut:
                break
        n_cut += cut
    return {"unit_instances": len(net.table.instances), "complete": n_complete, "cut_by_registers": n_cut,
            "wiring_only": n_wiring}


def unit_table_json(net: TiledNetwork) -> dict:
    """The tile-unit table as plain data (sorted, no machine paths): what the layout stamps where.

    units[i]: weights, input_bits, the template's cells, and every instance with its layer, input
    group, users (neuron, sign) and the name prefix of its cells in the flat module.
    """
    units = []
    for u, w in enumerate(net.table.units):
        tmpl = net.templates.get(u)
        units.append({
            "unit": u,
            "weights": [int(v) for v in w],
            "input_bits": int(net.table.unit_input_bits[u]),
            "cells": [[i.name, i.master] for i in tmpl.module.instances] if tmpl else [],
            "instances": [],
        })
    for inst in net.table.instances:
        units[inst.unit]["instances"].append({
            "index": inst.index, "layer": inst.layer, "group": inst.group,
            "uses": [[j, s] for j, s in inst.uses], "cell_prefix": f"{STAMP_PREFIX}{inst.unit}_{inst.index}_",
        })
    return {"tile": net.table.tile, "stats": net.stats(), "units": units}
