"""The flat timing graph: leaf cells grouped by master, net drivers, pin loads and logic levels.

Combinational cells are levelled by a frontier walk (Kahn's algorithm on whole arrays at a time), so
the work grows linearly with the number of pins; propagation then runs one level and one cell master
at a time over numpy arrays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import LayoutgenError
from ..netlist.cells import CellMaster
from ..netlist.ir import Design
from ..sim.flatten import FlatNetlist, LeafGroup, flatten
from .tables import CellTiming, TimingLibrary

COMB, DFF, TIE = 0, 1, 2


@dataclass
class Group:
    master: CellMaster
    timing: CellTiming
    leaves: LeafGroup
    kind: int

    @property
    def nets(self) -> np.ndarray:
        return self.leaves.nets

    def col(self, pin: str) -> int:
        return self.master.pins.index(pin)


@dataclass
class TimingGraph:
    flat: FlatNetlist
    groups: list[Group]
    driver_group: np.ndarray  # net -> group index, -1 when driven by a port
    driver_row: np.ndarray
    driver_col: np.ndarray  # pin column of the driving output
    pin_cap_ff: np.ndarray  # net -> sum of the input pin capacitances on it
    fanout: np.ndarray  # net -> number of input pins (and output ports) on it
    blocks: list[tuple[int, int, np.ndarray]]  # (level, group index, rows), in propagation order
    n_levels: int
    port_bits: dict[int, str]  # net -> "x[3]" for top-level port bits
    input_nets: np.ndarray
    output_nets: np.ndarray

    @property
    def n_nets(self) -> int:
        return self.flat.n_nets


def _gather(ptr: np.ndarray, values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Concatenation of values[ptr[k]:ptr[k+1]] for every k in keys (CSR rows)."""
    starts = ptr[keys]
    counts = ptr[keys + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return values[:0]
    ends = np.cumsum(counts)
    return values[np.repeat(starts - ends + counts, counts) + np.arange(total)]


def _csr(keys: np.ndarray, values: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(n_keys + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n_keys), out=ptr[1:])
    return ptr, values[order]


def build_graph(design: Design, tlib: TimingLibrary) -> TimingGraph:
    flat = flatten(design)
    n = flat.n_nets
    groups: list[Group] = []
    for name, leaves in flat.groups.items():
        master = design.library[name]
        timing = tlib.cell(name)
        kind = DFF if master.sequential else (TIE if not master.inputs else COMB)
        g = Group(master, timing, leaves, kind)
        for pin in master.inputs:
            if kind == COMB and not any(a.from_pin == pin for a in timing.arcs):
                raise LayoutgenError(f"cell {name} has no timing arc from pin {pin} at corner {tlib.corner}")
        if kind == DFF and (timing.setup is None or not timing.arcs_to(master.outputs[0])):
            raise LayoutgenError(f"flip-flop {name} lacks clock-to-Q or setup data at corner {tlib.corner}")
        groups.append(g)

    driver_group = np.full(n, -1, dtype=np.int64)
    driver_row = np.full(n, -1, dtype=np.int64)
    driver_col = np.full(n, -1, dtype=np.int64)
    pin_cap = np.zeros(n)
    fanout = np.zeros(n, dtype=np.int64)
    for gi, g in enumerate(groups):
        rows = np.arange(g.nets.shape[0], dtype=np.int64)
        for pin in g.master.outputs:
            c = g.col(pin)
            driver_group[g.nets[:, c]] = gi
            driver_row[g.nets[:, c]] = rows
            driver_col[g.nets[:, c]] = c
        for pin in g.master.inputs + ((g.master.clock,) if g.master.clock else ()):
            nets = g.nets[:, g.col(pin)]
            pin_cap += np.bincount(nets, minlength=n) * g.timing.input_cap_ff.get(pin, 0.0)
            fanout += np.bincount(nets, minlength=n)

    top = design.top_module
    port_bits: dict[int, str] = {}
    ins, outs = [], []
    for port in top.ports:
        for i, net in enumerate(port.nets):
            gnet = int(flat.top_nets[net])
            port_bits.setdefault(gnet, port.name if port.width == 1 else f"{port.name}[{i}]")
            (ins if port.direction == "input" else outs).append(gnet)
    input_nets = np.array(sorted(set(ins)), dtype=np.int64)
    output_nets = np.array(outs, dtype=np.int64)
    fanout += np.bincount(output_nets, minlength=n)

    blocks, n_levels = _levelize(groups, driver_group, n)
    return TimingGraph(flat, groups, driver_group, driver_row, driver_col, pin_cap, fanout, blocks, n_levels,
                       port_bits, input_nets, output_nets)


def _levelize(groups: list[Group], driver_group: np.ndarray, n_nets: int):
    comb = [gi for gi, g in enumerate(groups) if g.kind == COMB]
    sizes = [groups[gi].nets.shape[0] for gi in comb]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n_cells = int(offsets[-1])
    if n_cells == 0:
        return [], 0
    comb_driven = np.zeros(n_nets, dtype=bool)
    for gi in comb:
        g = groups[gi]
        for pin in g.master.outputs:
            comb_driven[g.nets[:, g.col(pin)]] = True
    e_net, e_cell, o_cell, o_net = [], [], [], []
    for k, gi in enumerate(comb):
        g = groups[gi]
        ids = offsets[k] + np.arange(sizes[k], dtype=np.int64)
        for pin in g.master.inputs:
            nets = g.nets[:, g.col(pin)]
            keep = comb_driven[nets]
            e_net.append(nets[keep])
            e_cell.append(ids[keep])
        for pin in g.master.outputs:
            o_cell.append(ids)
            o_net.append(g.nets[:, g.col(pin)])
    e_net, e_cell = np.concatenate(e_net), np.concatenate(e_cell)
    o_cell, o_net = np.concatenate(o_cell), np.concatenate(o_net)
    remaining = np.bincount(e_cell, minlength=n_cells)
    cons_ptr, cons = _csr(e_net, e_cell, n_nets)
    out_ptr, outs = _csr(o_cell, o_net, n_cells)
    level = np.full(n_cells, -1, dtype=np.int64)
    frontier = np.flatnonzero(remaining == 0)
    depth = 0
    while frontier.size:
        level[frontier] = depth
        users = _gather(cons_ptr, cons, _gather(out_ptr, outs, frontier))
        if users.size == 0:
            break
        u, c = np.unique(users, return_counts=True)
        remaining[u] -= c
        frontier = u[remaining[u] == 0]
        depth += 1
    stuck = np.flatnonzero(level < 0)
    if stuck.size:
        k = int(np.searchsorted(offsets, stuck[0], side="right") - 1)
        g = groups[comb[k]]
        where = g.leaves.path(int(stuck[0] - offsets[k]))
        raise LayoutgenError(
            f"combinational loop through {stuck.size} cells, e.g. {where} ({g.master.name}): "
            "static timing needs every loop to pass through a flip-flop"
        )
    group_of = np.repeat(np.arange(len(comb)), sizes)
    order = np.lexsort((np.arange(n_cells), level))
    lv, gk = level[order], group_of[order]
    cut = np.flatnonzero((np.diff(lv) != 0) | (np.diff(gk) != 0)) + 1
    blocks = []
    for part in np.split(order, cut):
        k = int(group_of[part[0]])
        blocks.append((int(level[part[0]]), comb[k], part - offsets[k]))
    return blocks, int(level.max()) + 1
