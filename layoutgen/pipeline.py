"""Pipelining pass: register ranks so no stage holds more than `stage_depth` full-adder levels.

Input: a combinational module (nets of the x bus, bits of the y bus) whose instances only use nets
that exist before them. Each cell is placed, in topological order, in the earliest stage where its
inputs have arrived and its own delay still fits the stage budget; a net used k stages after the one
that makes it passes through a chain of k flip-flops (shared by all its late users), so every path
crosses the same number of ranks and one input is accepted per clock. The x bus enters through an
input rank and every y bit leaves through its own output flip-flop, so latency = stages + 1.
An inverter used stages after its input is made is re-made in the using stage from its delayed input
(an inverter is a fifth of a flip-flop), and the scheduler counts its delay there.
"""
from __future__ import annotations

import heapq
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass

from .netlist.builder import ModuleBuilder
from .netlist.cells import CellLibrary
from .netlist.cleanup import remove_dead_cells
from .netlist.ir import Module
from .arith.words import ONE, is_const


@dataclass(frozen=True)
class PipelineResult:
    latency_cycles: int
    stages: int
    flip_flops: int
    max_stage_delay: float  # in full-adder levels
    groups_cut: int = 0  # cell groups (tiles) too deep for one stage, scheduled cell by cell


def _topological(module: Module, lib: CellLibrary) -> list[int]:
    driver = {}
    for idx, inst in enumerate(module.instances):
        for pin in lib[inst.master].outputs:
            driver[inst.pins[pin]] = idx
    indeg = [0] * len(module.instances)
    users = defaultdict(list)
    for idx, inst in enumerate(module.instances):
        m = lib[inst.master]
        for pin in m.inputs:
            d = driver.get(inst.pins[pin])
            if d is not None:
                indeg[idx] += 1
                users[d].append(idx)
    queue = deque(i for i, d in enumerate(indeg) if d == 0)
    order = []
    while queue:
        i = queue.popleft()
        order.append(i)
        for u in users[i]:
            indeg[u] -= 1
            if indeg[u] == 0:
                queue.append(u)
    if len(order) != len(module.instances):
        raise ValueError(f"module {module.name} has a combinational loop")
    return order


def insert_registers(
    module: Module,
    lib: CellLibrary,
    delays: dict[str, dict[str, float]],
    x_nets: list[int],
    y_bits: list[int],
    stage_depth: float,
    groups: Mapping[str, int] | None = None,
) -> PipelineResult:
    """Pipeline `module` in place; adds ports clk, x and y. Returns latency and register counts.

    groups: instance name -> group; the cells of a group (a stamped tile, layoutgen.arith.chain) are
    put in one stage together, so no register rank cuts through the group. A group deeper than a
    stage is scheduled cell by cell (and cut); `groups_cut` counts those."""
    if stage_depth <= 0:
        raise ValueError("stage depth must be positive")
    order = _topological(module, lib)
    group_of = [-1] * len(module.instances)
    if groups:
        group_of = [groups.get(inst.name, -1) for inst in module.instances]
        order = _group_order(module, lib, order, group_of)
    stage: dict[int, int] = {n: 0 for n in x_nets}  # x is "made" before the input rank
    time: dict[int, float] = {n: 0.0 for n in x_nets}
    free: set[int] = set()  # tie-cell nets need no registers
    tie_value: dict[int, int] = {}
    inst_stage = [0] * len(module.instances)
    inv_of: dict[int, int] = {}  # inverter output net -> its input net
    inv_delay = delays["inv"]["Y"]
    placed_cells: set[int] = set()
    worst = 0.0
    members: dict[int, list[int]] = defaultdict(list)
    for idx in order:
        if group_of[idx] >= 0:
            members[group_of[idx]].append(idx)
    placed: set[int] = set()  # groups already given a stage
    cut = 0
    for idx in order:
        inst = module.instances[idx]
        m = lib[inst.master]
        g = group_of[idx]
        if g >= 0 and g not in placed:
            placed.add(g)
            fit = _group_stage(module, lib, delays, members[g], stage, time, free, inv_of, inv_delay, stage_depth)
            if fit is None:
                cut += 1
            else:
                for k, (s_k, outs) in fit.items():
                    inst_stage[k] = s_k
                    for net, t_net in outs.items():
                        stage[net] = s_k
                        time[net] = t_net
                        worst = max(worst, t_net)
                    ki = module.instances[k]
                    if lib[ki.master].role == "inv" and ki.pins["A"] not in free:
                        inv_of[ki.pins["Y"]] = ki.pins["A"]
                placed_cells.update(fit)
        if idx in placed_cells:
            continue
        if m.role == "tie":
            for p in m.outputs:
                free.add(inst.pins[p])
                tie_value[inst.pins[p]] = 1 if p == "HI" else 0
            continue
        ins = [inst.pins[p] for p in m.inputs if inst.pins[p] not in free]
        d = max(delays[m.role][p] for p in m.outputs)
        remake = inv_delay + d <= stage_depth  # room to re-make a late inverter in this cell's stage

        def start(n: int, s: int) -> float:
            if stage.get(n, 0) == s:
                return time[n]
            return inv_delay if (n in inv_of and remake) else 0.0

        s = max([max(stage.get(n, 0), 1) for n in ins], default=1)
        t = max([start(n, s) for n in ins], default=0.0)
        if t > 0 and t + d > stage_depth:
            s += 1
            t = max([start(n, s) for n in ins], default=0.0)
        inst_stage[idx] = s
        if m.role == "inv" and inst.pins["A"] not in free:
            inv_of[inst.pins["Y"]] = inst.pins["A"]
        for p in m.outputs:
            net = inst.pins[p]
            stage[net] = s
            time[net] = t + delays[m.role][p]
            worst = max(worst, time[net])
    last = max([stage[b] for b in y_bits if not is_const(b) and b not in free] + [1])

    builder = ModuleBuilder(module, lib)
    clk = module.add_net("clk")
    chains: dict[int, list[int]] = {}
    n_ff = 0

    def delayed(net: int, k: int) -> int:
        nonlocal n_ff
        chain = chains.setdefault(net, [net])
        while len(chain) <= k:
            chain.append(builder.dff(chain[-1], clk))
            n_ff += 1
        return chain[k]

    remade: dict[tuple[int, int], int] = {}

    def late_inverse(net: int, s: int) -> int:
        """The inverter output `net`, re-made in stage s from its delayed input."""
        key = (net, s)
        if key not in remade:
            src = inv_of[net]
            remade[key] = builder.cell("inv", A=delayed(src, s - stage.get(src, 0)))["Y"]
        return remade[key]

    n_orig = len(order)
    for idx in range(n_orig):
        inst = module.instances[idx]
        m = lib[inst.master]
        if m.role == "tie":
            continue
        s = inst_stage[idx]
        remake = inv_delay + max(delays[m.role][p] for p in m.outputs) <= stage_depth
        for p in m.inputs:
            net = inst.pins[p]
            if net in free:
                continue
            lag = s - stage.get(net, 0)
            if lag > 0:
                inst.pins[p] = late_inverse(net, s) if (net in inv_of and remake) else delayed(net, lag)

    y_nets = []
    for bit in y_bits:
        if is_const(bit) or bit in free:
            value = (1 if bit == ONE else 0) if is_const(bit) else tie_value[bit]
            tie = builder.cell("tie")
            y_nets.append(tie["HI" if value else "LO"])
        else:
            pre = delayed(bit, last - stage.get(bit, 0))
            y_nets.append(builder.dff(pre, clk))
            n_ff += 1
    module.add_port("clk", "input", [clk])
    module.add_port("x", "input", x_nets)
    module.add_port("y", "output", y_nets)
    remove_dead_cells(module, lib)
    return PipelineResult(latency_cycles=last + 1, stages=last, flip_flops=n_ff, max_stage_delay=worst,
                          groups_cut=cut)


def _group_order(module: Module, lib: CellLibrary, order: list[int], group_of: list[int]) -> list[int]:
    """A topological order in which every group's cells come one after another (each group is
    contracted to one node; inside it the cells keep `order`). A group that a path leaves and
    re-enters cannot be contracted: ValueError."""
    node = [("g", g) if g >= 0 else ("c", i) for i, g in enumerate(group_of)]
    driver = {}
    for idx, inst in enumerate(module.instances):
        for pin in lib[inst.master].outputs:
            driver[inst.pins[pin]] = idx
    succ: dict[tuple, set] = defaultdict(set)
    indeg: dict[tuple, int] = {n: 0 for n in node}
    for idx, inst in enumerate(module.instances):
        for pin in lib[inst.master].inputs:
            d = driver.get(inst.pins[pin])
            if d is not None and node[d] != node[idx] and node[idx] not in succ[node[d]]:
                succ[node[d]].add(node[idx])
                indeg[node[idx]] += 1
    cells_of: dict[tuple, list[int]] = defaultdict(list)
    for idx in order:
        cells_of[node[idx]].append(idx)
    first = {}
    for pos, idx in enumerate(order):
        first.setdefault(node[idx], pos)
    heap = sorted((first[n], n) for n, d in indeg.items() if d == 0)
    out: list[int] = []
    while heap:
        _pos, n = heapq.heappop(heap)
        out.extend(cells_of[n])
        for u in succ[n]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(heap, (first[u], u))
    if len(out) != len(order):
        raise ValueError(f"module {module.name}: a path leaves a cell group and comes back into it")
    return out


def group_depths(module: Module, lib: CellLibrary, delays: dict[str, dict[str, float]],
                 groups: Mapping[str, int]) -> dict[int, float]:
    """Longest path through each group's own cells, its inputs arriving at 0 (full-adder levels): the
    stage depth that keeps the group whole."""
    t: dict[int, tuple[int, float]] = {}  # net made inside a group -> (group, time)
    depth: dict[int, float] = defaultdict(float)
    for idx in _topological(module, lib):
        inst = module.instances[idx]
        g = groups.get(inst.name)
        m = lib[inst.master]
        if g is None or m.role == "tie":
            continue
        start = max([t[n][1] for n in (inst.pins[p] for p in m.inputs) if n in t and t[n][0] == g], default=0.0)
        for p in m.outputs:
            t[inst.pins[p]] = (g, start + delays[m.role][p])
            depth[g] = max(depth[g], start + delays[m.role][p])
    return dict(depth)


def _group_stage(module: Module, lib: CellLibrary, delays, cells: list[int], stage, time, free, inv_of,
                 inv_delay: float, stage_depth: float) -> dict[int, tuple[int, dict[int, float]]] | None:
    """The stage of a group and its cells' output times: the earliest stage where all of its cells
    fit, inputs from earlier stages arriving registered. None if the group is deeper than a stage."""
    insts = [module.instances[k] for k in cells]
    inside = {i.pins[p] for i in insts for p in lib[i.master].outputs}
    ext = {i.pins[p] for i in insts for p in lib[i.master].inputs} - inside - free
    s0 = max([max(stage.get(n, 0), 1) for n in ext], default=1)
    for s in (s0, s0 + 1):
        local: dict[int, float] = {}
        fit: dict[int, tuple[int, dict[int, float]]] = {}
        ok = True
        for k in cells:
            inst = module.instances[k]
            m = lib[inst.master]
            d = max(delays[m.role][p] for p in m.outputs)
            remake = inv_delay + d <= stage_depth
            t = 0.0
            for p in m.inputs:
                n = inst.pins[p]
                if n in free:
                    continue
                if n in local:
                    t = max(t, local[n])
                elif stage.get(n, 0) == s:
                    t = max(t, time[n])
                elif n in inv_of and remake:
                    t = max(t, inv_delay)
            outs = {inst.pins[p]: t + delays[m.role][p] for p in m.outputs}
            if max(outs.values()) > stage_depth:
                ok = False
                break
            local.update(outs)
            fit[k] = (s, outs)
        if ok:
            return fit
    return None
