"""Compile a flat netlist into a levelized, vectorized program over a state array of lane words.

State layout (one row per net, each row n_words uint64 words = 64 lanes per word):
    [input port bits, port by port, LSB first] [clk] [constants] [flip-flop outputs]
    [combinational outputs, level by level, grouped by cell master and output pin] [undriven]
so that inputs, flip-flop updates and most combinational results are written as contiguous slices.

A cycle is: settle the logic that feeds flip-flop inputs, clock every flip-flop at once, settle
the logic that feeds the output ports, read the outputs. Logic that feeds neither is never evaluated.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..netlist.cells import CellLibrary, CellMaster
from ..netlist.ir import Design
from .errors import SimulationError
from .expr import Evaluator, compile_expression, passthrough_input
from .flatten import FlatNetlist

CLOCK_PORT = "clk"


@dataclass
class Step:
    """Evaluate one kind of cell for many instances: gather input rows, compute, write output rows."""

    in_rows: list[np.ndarray]
    outs: list[tuple[Evaluator, slice | np.ndarray]]
    n_cells: int


@dataclass
class PortMap:
    name: str
    width: int
    rows: np.ndarray  # state row of each bit, LSB first


@dataclass
class Program:
    n_rows: int
    inputs: list[PortMap]  # non-clock input ports; their rows are 0..n_input_bits-1 in order
    outputs: list[PortMap]
    const_rows: np.ndarray
    const_values: np.ndarray  # uint64 word per constant row
    settle_d: list[Step]  # before the clock edge: the cone of flip-flop inputs
    edge: list[Step]  # flip-flop updates (evaluated together, then written)
    settle_out: list[Step]  # after the edge: the cone of the output ports
    n_cells: int  # leaf logic cells (combinational + sequential + constant)
    n_flops: int
    n_levels: int
    clock_row: int | None
    flop_rows: tuple[int, int]  # the contiguous rows of all flip-flop outputs
    net_row: np.ndarray | None = None  # state row of each flat net (fault injection addresses nets)


def _master_evaluators(master: CellMaster) -> list[tuple[str, Evaluator]]:
    return [
        (pin, compile_expression(master.functions[pin], master.inputs, where=f"{master.name}.{pin}"))
        for pin in master.outputs
    ]


def _levelize(n_cells: int, edge_cell: np.ndarray, edge_producer: np.ndarray) -> np.ndarray:
    """Level of each combinational cell (1 + deepest producer); 0 where the cell sits on a loop."""
    keep = edge_producer >= 0
    consumer, producer = edge_cell[keep], edge_producer[keep]
    indeg = np.bincount(consumer, minlength=n_cells).astype(np.int64)
    order = np.argsort(producer, kind="stable")
    consumer_by_producer = consumer[order]
    ptr = np.zeros(n_cells + 1, dtype=np.int64)
    np.cumsum(np.bincount(producer, minlength=n_cells), out=ptr[1:])
    level = np.zeros(n_cells, dtype=np.int64)
    frontier = np.flatnonzero(indeg == 0)
    lv = 0
    while frontier.size:
        lv += 1
        level[frontier] = lv
        starts, ends = ptr[frontier], ptr[frontier + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            break
        # concatenated ranges [starts[i], ends[i]) without a Python loop
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        succ = consumer_by_producer[offsets + np.arange(total)]
        indeg -= np.bincount(succ, minlength=n_cells)
        cand = np.unique(succ)
        frontier = cand[indeg[cand] == 0]
    return level


def _describe_loop(level: np.ndarray, cell_path, in_nets: np.ndarray, net_driver: np.ndarray,
                   net_names: list[str]) -> str:
    """Walk backwards from a cell on a loop until a cell repeats; name the nets of that loop."""
    stuck = np.flatnonzero(level == 0)
    cell = int(stuck[0])
    seen: dict[int, int] = {}
    path: list[tuple[int, int]] = []  # (cell, net feeding the next cell)
    while cell not in seen:
        seen[cell] = len(path)
        for net in in_nets[cell]:
            if net < 0:
                continue
            drv = int(net_driver[net])
            if drv >= 0 and level[drv] == 0:
                path.append((cell, int(net)))
                cell = drv
                break
        else:  # pragma: no cover - a stuck cell always has a stuck producer
            break
    loop = path[seen[cell]:]
    shown = " <- ".join(f"{cell_path(c)} ({net_names[n]})" for c, n in loop[:6])
    more = f" ... ({len(loop)} cells)" if len(loop) > 6 else ""
    return f"combinational loop through {len(loop)} cell(s): {shown}{more}"


def _check_clock(design: Design, flat: FlatNetlist, comb: list, seq: list, clock_net: int | None,
                 group_of_cell: np.ndarray, net_driver: np.ndarray, in_pad: np.ndarray) -> None:
    """Every flip-flop clock pin must reach the clk port through pass-through cells (buffers) only."""
    if clock_net is None:
        raise SimulationError(
            f"design {design.top} has flip-flops but no 1-bit input port named '{CLOCK_PORT}'; add the clock port"
        )
    n_comb = group_of_cell.size
    passthrough_col = np.full(n_comb, -1, dtype=np.int64)  # which input a buffer passes on, per cell
    for gi, (master, group) in enumerate(comb):
        if len(master.outputs) == 1:
            src = passthrough_input(master.functions[master.outputs[0]], master.inputs)
            if src is not None:
                passthrough_col[group_of_cell == gi] = master.inputs.index(src)
    for master, group in seq:
        cur = group.nets[:, master.pins.index(master.clock)].copy()
        for _ in range(n_comb + 1):  # walk back through buffer chains, all flip-flops at once
            drv = net_driver[cur]
            step = (cur != clock_net) & (drv >= 0)
            step[step] &= passthrough_col[drv[step]] >= 0
            if not step.any():
                break
            cur[step] = in_pad[drv[step], passthrough_col[drv[step]]]
        bad = np.flatnonzero(cur != clock_net)
        if bad.size:
            i = int(bad[0])
            raise SimulationError(
                f"flip-flop {group.path(i)}: its {master.clock} pin is driven by {flat.net_names[cur[i]]}, "
                f"not by the '{CLOCK_PORT}' port through buffers ({bad.size} such flip-flops); "
                "all flip-flops must share the design clock"
            )


def compile_program(design: Design, flat: FlatNetlist) -> Program:
    lib: CellLibrary = design.library
    top = design.top_module
    n_nets = flat.n_nets
    driver_count = np.zeros(n_nets, dtype=np.int64)
    clock_net = None
    input_ports: list[tuple[str, np.ndarray]] = []
    output_ports: list[tuple[str, np.ndarray]] = []
    for port in top.ports:
        bad = [n for n in port.nets if not 0 <= n < top.n_nets]
        if bad:
            raise SimulationError(f"{design.top}: port {port.name} uses net {bad[0]}, which does not exist in the module")
        nets = flat.top_nets[np.array(port.nets, dtype=np.int64)] if port.nets else np.zeros(0, np.int64)
        if port.direction == "input":
            np.add.at(driver_count, nets, 1)
            if port.name == CLOCK_PORT and port.width == 1:
                clock_net = int(nets[0])
            else:
                input_ports.append((port.name, nets))
        else:
            output_ports.append((port.name, nets))

    # classify leaf groups
    comb, seq, const = [], [], []
    for name in sorted(flat.groups):
        group = flat.groups[name]
        master = lib[name]
        if master.sequential:
            seq.append((master, group))
        elif not master.inputs:
            const.append((master, group))
        else:
            comb.append((master, group))
    for master, group in comb + seq + const:
        for j, pin in enumerate(master.pins):
            if pin in master.outputs:
                np.add.at(driver_count, group.nets[:, j], 1)
    multi = np.flatnonzero(driver_count > 1)
    if multi.size:
        raise SimulationError(
            f"net {flat.net_names[multi[0]]} has {driver_count[multi[0]]} drivers ({multi.size} such nets); "
            "each net needs exactly one driver"
        )

    # combinational cells in one global numbering
    cell_master: list[CellMaster] = []
    bases: list[int] = []
    n_comb = sum(g.nets.shape[0] for _, g in comb)
    max_in = max((len(m.inputs) for m, _ in comb), default=0)
    max_out = max((len(m.outputs) for m, _ in comb), default=0)
    in_pad = np.full((n_comb, max(max_in, 1)), -1, dtype=np.int64)
    out_pad = np.full((n_comb, max(max_out, 1)), -1, dtype=np.int64)
    group_of_cell = np.zeros(n_comb, dtype=np.int64)
    net_driver = np.full(n_nets, -1, dtype=np.int64)  # combinational driver cell of each net
    base = 0
    for gi, (master, group) in enumerate(comb):
        k = group.nets.shape[0]
        pin_col = {p: j for j, p in enumerate(master.pins)}
        for j, pin in enumerate(master.inputs):
            in_pad[base:base + k, j] = group.nets[:, pin_col[pin]]
        for j, pin in enumerate(master.outputs):
            nets = group.nets[:, pin_col[pin]]
            out_pad[base:base + k, j] = nets
            net_driver[nets] = np.arange(base, base + k)
        group_of_cell[base:base + k] = gi
        cell_master.append(master)
        bases.append(base)
        base += k

    if seq:
        _check_clock(design, flat, comb, seq, clock_net, group_of_cell, net_driver, in_pad)

    # undriven nets that something reads
    readers = [in_pad[in_pad >= 0]] + [nets for _, nets in output_ports]
    for master, group in seq:
        readers.append(group.nets[:, [master.pins.index(p) for p in master.inputs]].ravel())
    read = np.concatenate(readers) if readers else np.zeros(0, np.int64)
    undriven = read[driver_count[read] == 0]
    if undriven.size:
        raise SimulationError(
            f"net {flat.net_names[undriven[0]]} is read but has no driver "
            f"({np.unique(undriven).size} such nets); connect it to a cell output or an input port"
        )

    # levelize the combinational logic
    edge_cell = np.repeat(np.arange(n_comb), in_pad.shape[1])
    edge_net = in_pad.ravel()
    valid = edge_net >= 0
    edge_cell, edge_net = edge_cell[valid], edge_net[valid]
    level = _levelize(n_comb, edge_cell, net_driver[edge_net])
    if n_comb and (level == 0).any():
        def path_of(c: int) -> str:
            gi = int(group_of_cell[c])
            return comb[gi][1].path(c - bases[gi])

        raise SimulationError(_describe_loop(level, path_of, in_pad, net_driver, flat.net_names))
    n_levels = int(level.max()) if n_comb else 0

    # state rows
    row = np.full(n_nets, -1, dtype=np.int64)
    nxt = 0
    inputs: list[PortMap] = []
    for name, nets in input_ports:
        row[nets] = np.arange(nxt, nxt + nets.size)
        inputs.append(PortMap(name, int(nets.size), row[nets].copy()))
        nxt += nets.size
    clock_row = None
    if clock_net is not None:
        row[clock_net] = clock_row = nxt
        nxt += 1
    const_rows, const_values = [], []
    for master, group in const:
        for pin, fn in _master_evaluators(master):
            nets = group.nets[:, master.pins.index(pin)]
            row[nets] = np.arange(nxt, nxt + nets.size)
            const_rows.append(row[nets])
            const_values.append(np.full(nets.size, np.uint64(fn(())), dtype=np.uint64))
            nxt += nets.size
    flop_outs = []
    q_lo = nxt
    for master, group in seq:
        for pin in master.outputs:
            nets = group.nets[:, master.pins.index(pin)]
            row[nets] = np.arange(nxt, nxt + nets.size)
            flop_outs.append((master, group, pin, slice(nxt, nxt + nets.size)))
            nxt += nets.size
    q_hi = nxt
    # combinational: sort cells by (level, group), keeping instance order inside a group
    comb_order = np.lexsort((np.arange(n_comb), group_of_cell, level))
    level_sorted = level[comb_order]
    group_sorted = group_of_cell[comb_order]
    bounds = np.flatnonzero(np.diff(level_sorted * (len(comb) + 1) + group_sorted)) + 1
    segments = np.split(comb_order, bounds) if n_comb else []
    seg_rows: list[list[slice]] = []
    for seg in segments:
        master = cell_master[int(group_of_cell[seg[0]])]
        slices = []
        for j in range(len(master.outputs)):
            nets = out_pad[seg, j]
            row[nets] = np.arange(nxt, nxt + seg.size)
            slices.append(slice(nxt, nxt + seg.size))
            nxt += seg.size
        seg_rows.append(slices)
    rest = np.flatnonzero(row < 0)
    row[rest] = np.arange(nxt, nxt + rest.size)
    nxt += rest.size

    # cones: which combinational cells feed flip-flop inputs, which feed the outputs
    def cone(sink_nets: np.ndarray) -> np.ndarray:
        needed_net = np.zeros(n_nets + 1, dtype=bool)  # last entry: padding sentinel
        needed_net[sink_nets] = True
        needed_cell = np.zeros(n_comb, dtype=bool)
        by_level: dict[int, list[np.ndarray]] = {}
        for seg in segments:
            by_level.setdefault(int(level[seg[0]]), []).append(seg)
        for lv in sorted(by_level, reverse=True):
            cells = np.concatenate(by_level[lv])
            need = needed_net[out_pad[cells]].any(axis=1)
            hit = cells[need]
            needed_cell[hit] = True
            needed_net[in_pad[hit].ravel()] = True
            needed_net[-1] = False
        return needed_cell

    def steps_for(needed_cell: np.ndarray) -> list[Step]:
        steps = []
        for seg, slices in zip(segments, seg_rows):
            need = needed_cell[seg]
            if not need.any():
                continue
            master = cell_master[int(group_of_cell[seg[0]])]
            cells = seg[need]
            in_rows = [row[in_pad[cells, j]] for j in range(len(master.inputs))]
            if need.all():
                targets = slices
            else:
                targets = [row[out_pad[cells, j]] for j in range(len(master.outputs))]
            evals = [fn for _, fn in _master_evaluators(master)]
            steps.append(Step(in_rows, list(zip(evals, targets)), int(cells.size)))
        return steps

    d_sinks = [np.zeros(0, np.int64)]
    edge: list[Step] = []
    for master, group, pin, sl in flop_outs:
        cols = [master.pins.index(p) for p in master.inputs]
        d_sinks.append(group.nets[:, cols].ravel())
        fn = dict(_master_evaluators(master))[pin]
        edge.append(Step([row[group.nets[:, c]] for c in cols], [(fn, sl)], group.nets.shape[0]))
    out_sinks = np.concatenate([n for _, n in output_ports]) if output_ports else np.zeros(0, np.int64)
    settle_d = steps_for(cone(np.concatenate(d_sinks)))
    settle_out = steps_for(cone(out_sinks))

    return Program(
        n_rows=nxt,
        inputs=inputs,
        outputs=[PortMap(name, int(nets.size), row[nets]) for name, nets in output_ports],
        const_rows=np.concatenate(const_rows) if const_rows else np.zeros(0, np.int64),
        const_values=np.concatenate(const_values) if const_values else np.zeros(0, np.uint64),
        settle_d=settle_d,
        edge=edge,
        settle_out=settle_out,
        n_cells=n_comb + sum(g.nets.shape[0] for _, g in seq + const),
        n_flops=sum(g.nets.shape[0] for _, g in seq),
        n_levels=n_levels,
        clock_row=clock_row,
        flop_rows=(q_lo, q_hi),
        net_row=row,
    )
