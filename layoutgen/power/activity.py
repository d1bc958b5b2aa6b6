"""Switching activity: how often each net toggles per clock cycle while real inputs stream through.

A bit-parallel, zero-delay, cycle-based simulation over the flat netlist (the leaf groups and logic
levels of the timing graph, the cell functions compiled by layoutgen.sim): 64 independent input
streams per uint64 word. Each cycle applies the next input vector and the flip-flop outputs taken at
the clock edge, settles the logic once, and counts the nets whose settled value differs from the
previous cycle's (a population count over the lane words). Zero delay means glitches are not counted:
real adder trees switch more than this (see docs/power.md).

Lanes: lane l streams the vectors l*chunk, l*chunk+1, ... (wrapping around the input set), preceded
by enough vectors to fill the pipeline, so every counted transition goes from one real input vector
to the next in the order given, and the pipeline holds real data in every stage when counting starts.
Input ports other than x (and the clock) are held at 0, e.g. a calibration scan chain keeps its offsets.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import LayoutgenError
from ..netlist.ir import Design
from ..sim.bits import n_words
from ..sim.compile import CLOCK_PORT
from ..sim.expr import compile_expression, passthrough_input
from ..sim.stream import choose_words
from ..timing.graph import COMB, DFF, TIE, TimingGraph, build_graph
from ..timing.tables import available_corners, load_timing_library

DELAY_MODELS = ("zero", "unit")
MAX_WARMUP = 64  # register loops (e.g. a scan chain holding its value) never "fill": cap the warm-up


@dataclass(frozen=True)
class Activity:
    toggles: np.ndarray  # per flat net: mean transitions per clock cycle (clock nets: 2.0)
    clock_nets: np.ndarray  # flat net ids of the clock network (the clk port and the buffers it feeds)
    cycles: int  # counted clock cycles per lane
    lanes: int
    warmup_cycles: int
    n_vectors: int
    schedule: np.ndarray  # (warmup + cycles, lanes) index of the input vector applied in each cycle
    graph: TimingGraph = field(repr=False, compare=False)  # the flat netlist the toggles index
    delay_model: str = "zero"  # "zero": settled changes only; "unit": one step per cell, glitches counted

    @property
    def transitions_counted(self) -> int:
        return self.cycles * self.lanes

    def mean_toggle_rate(self, nets: np.ndarray | None = None) -> float:
        """Mean transitions per cycle over the given nets (default: every non-clock net that toggles or is driven)."""
        t = self.toggles if nets is None else self.toggles[nets]
        return float(t.mean()) if t.size else 0.0


_BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _popcount_rows(words: np.ndarray) -> np.ndarray:
    """Set bits per row of a (rows, words) uint64 array."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(words).sum(axis=1, dtype=np.int64)
    return _BYTE_BITS[words.view(np.uint8)].sum(axis=1, dtype=np.int64)


@dataclass
class _Block:
    fns: list  # one evaluator per output pin
    ins: list[np.ndarray]  # net ids per input pin
    outs: list[np.ndarray]  # net ids per output pin


def clock_network(design: Design, graph: TimingGraph) -> np.ndarray:
    """The clk port net and every net reached from it through buffers (a clock tree)."""
    top = design.top_module
    port = next((p for p in top.ports if p.name == CLOCK_PORT and p.direction == "input"), None)
    on = np.zeros(graph.n_nets, dtype=bool)
    if port is not None:
        on[graph.flat.top_nets[np.asarray(port.nets, dtype=np.int64)]] = True
    for g in graph.groups:
        if g.kind == DFF and g.master.clock:
            on[g.nets[:, g.col(g.master.clock)]] = True
    bufs = []
    for g in graph.groups:
        if g.kind == COMB and len(g.master.outputs) == 1:
            src = passthrough_input(g.master.functions[g.master.outputs[0]], g.master.inputs)
            if src is not None:
                bufs.append((g.nets[:, g.col(src)], g.nets[:, g.col(g.master.outputs[0])]))
    for _ in range(graph.n_nets + 1):
        grown = False
        for a, y in bufs:
            new = on[a] & ~on[y]
            if new.any():
                on[y[new]] = True
                grown = True
        if not grown:
            break
    return np.flatnonzero(on)


def _blocks(graph: TimingGraph) -> tuple[list[_Block], np.ndarray, np.ndarray, list[tuple[np.ndarray, int]]]:
    fn_cache: dict[str, list] = {}
    blocks = []
    for _level, gi, rows in graph.blocks:
        g = graph.groups[gi]
        m = g.master
        if m.name not in fn_cache:
            fn_cache[m.name] = [compile_expression(m.functions[p], m.inputs, where=f"{m.name}.{p}") for p in m.outputs]
        nets = g.nets[rows]
        blocks.append(_Block(fn_cache[m.name], [nets[:, g.col(p)] for p in m.inputs],
                             [nets[:, g.col(p)] for p in m.outputs]))
    d_parts, q_parts, consts = [], [], []
    for g in graph.groups:
        m = g.master
        if g.kind == DFF:
            if len(m.inputs) != 1 or len(m.outputs) != 1 or m.functions[m.outputs[0]].strip() != m.inputs[0]:
                raise LayoutgenError(f"flip-flop {m.name}: activity simulation supports Q = D flip-flops only")
            d_parts.append(g.nets[:, g.col(m.inputs[0])])
            q_parts.append(g.nets[:, g.col(m.outputs[0])])
        elif g.kind == TIE:
            for p in m.outputs:
                value = compile_expression(m.functions[p], (), where=f"{m.name}.{p}")(())
                consts.append((g.nets[:, g.col(p)], int(value != 0)))
    empty = np.zeros(0, dtype=np.int64)
    d = np.concatenate(d_parts) if d_parts else empty
    q = np.concatenate(q_parts) if q_parts else empty
    return blocks, d, q, consts


def _settle(state: np.ndarray, blocks: list[_Block]) -> None:
    """Zero delay: evaluate the logic level by level, in place."""
    for b in blocks:
        ins = [state[i] for i in b.ins]
        for fn, o in zip(b.fns, b.outs):
            state[o] = fn(ins)


def _settle_unit_delay(state: np.ndarray, blocks: list[_Block], max_steps: int, counts: np.ndarray | None) -> np.ndarray:
    """Unit delay: every cell output takes its inputs' values of the previous step; adds each step's
    changes to counts (when given) until nothing changes. Returns the settled state."""
    for _ in range(max_steps):
        nxt = state.copy()
        for b in blocks:
            ins = [state[i] for i in b.ins]
            for fn, o in zip(b.fns, b.outs):
                nxt[o] = fn(ins)
        changed = nxt ^ state
        state = nxt
        if not changed.any():
            break
        if counts is not None:
            counts += _popcount_rows(changed)
    return state


def sequential_depth(graph: TimingGraph, blocks: list[_Block], d: np.ndarray, q: np.ndarray) -> int:
    """Most flip-flops on any path from an input (the cycles until every stage holds real data)."""
    rank = np.zeros(graph.n_nets, dtype=np.int64)
    for _ in range(MAX_WARMUP):
        before = rank[q].copy()
        rank[q] = rank[d] + 1
        for b in blocks:
            r = np.max(np.stack([rank[i] for i in b.ins]), axis=0) if b.ins else 0
            for o in b.outs:
                rank[o] = r
        if np.array_equal(rank[q], before):
            return int(rank[q].max()) if q.size else 0
    return MAX_WARMUP


def _input_bit_nets(design: Design, graph: TimingGraph, n_in: int, input_bits: int) -> np.ndarray:
    top = design.top_module
    x = next((p for p in top.ports if p.name == "x" and p.direction == "input"), None)
    if x is None:
        raise LayoutgenError(
            f"design {design.top}: activity simulation streams vectors into an input port 'x', which it lacks "
            f"(inputs: {sorted(p.name for p in top.ports if p.direction == 'input')})"
        )
    if x.width != n_in * input_bits:
        raise LayoutgenError(
            f"design {design.top}: {n_in} inputs x {input_bits} bits = {n_in * input_bits} bits, but port x has {x.width}"
        )
    return graph.flat.top_nets[np.asarray(x.nets, dtype=np.int64)]


def simulate_activity(design: Design, graph: TimingGraph, X: np.ndarray, input_bits: int, *,
                      lanes: int | None = None, warmup_cycles: int | None = None,
                      delay_model: str = "zero") -> Activity:
    """Toggle rate of every net while the vectors X (n, n_inputs), unsigned input_bits each, stream in.

    `graph` is timing.graph.build_graph(design, ...) (its levels and leaf groups drive the simulation).
    lanes (rounded up to a multiple of 64) and warmup_cycles default to choices from the design.
    delay_model "zero" counts settled changes only; "unit" gives every cell one time step of delay and
    counts every change on the way (glitches included), as a rough upper reference: real cells differ
    in delay, so it neither equals nor strictly bounds the true glitching.
    """
    if delay_model not in DELAY_MODELS:
        raise LayoutgenError(f"delay_model '{delay_model}': use one of {', '.join(DELAY_MODELS)}")
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0:
        raise LayoutgenError(f"activity inputs must be a non-empty 2-D array (n_vectors, n_inputs), got shape {X.shape}")
    if X.dtype.kind not in "iu":
        raise LayoutgenError(f"activity inputs must be integers, not {X.dtype}")
    if X.min() < 0 or int(X.max()) >> input_bits:
        raise LayoutgenError(f"activity input value {int(X.max()) if X.min() >= 0 else int(X.min())} is not an "
                             f"unsigned {input_bits}-bit integer")
    x_nets = _input_bit_nets(design, graph, X.shape[1], input_bits)
    blocks, d, q, consts = _blocks(graph)
    warm = sequential_depth(graph, blocks, d, q) + 1 if warmup_cycles is None else int(warmup_cycles)
    if warm < 1:
        raise LayoutgenError(f"warmup_cycles must be >= 1 (got {warmup_cycles})")
    n = X.shape[0]
    n_cells = sum(b.ins[0].size if b.ins else 0 for b in blocks) + d.size
    words = n_words(lanes) if lanes else choose_words(n, warm + 1, len(blocks), max(n_cells, 1))
    L = 64 * words
    chunk = math.ceil(n / L)
    T = warm + chunk
    schedule = (np.arange(L)[None, :] * chunk + np.arange(T)[:, None] - warm) % n  # (T, L)

    # input bits per cycle, packed 64 lanes per word: (T, n_bits, words)
    bits = np.unpackbits(X.astype(">u8").view(np.uint8).reshape(n, X.shape[1], 8), axis=-1)[:, :, ::-1]
    bits = np.ascontiguousarray(bits[:, :, :input_bits]).reshape(n, -1)  # element i at [i*bits, (i+1)*bits), LSB first
    lane_bits = bits[schedule]  # (T, L, n_bits)
    packed = np.packbits(lane_bits.transpose(0, 2, 1), axis=-1, bitorder="little")  # (T, n_bits, L/8)
    packed = np.ascontiguousarray(packed).view(np.uint64)

    state = np.zeros((graph.n_nets, words), dtype=np.uint64)
    for nets, value in consts:
        state[nets] = np.uint64(0xFFFF_FFFF_FFFF_FFFF) if value else np.uint64(0)
    prev = np.empty_like(state)
    counts = np.zeros(graph.n_nets, dtype=np.int64)
    for t in range(T):
        if q.size and t:
            state[q] = state[d]  # the clock edge between cycles t-1 and t
        state[x_nets] = packed[t]
        if delay_model == "zero":
            _settle(state, blocks)
            if t >= warm:
                counts += _popcount_rows(state ^ prev)
        else:
            if t >= warm:
                counts += _popcount_rows(state ^ prev)  # the inputs and flip-flops at the edge
            state = _settle_unit_delay(state, blocks, graph.n_levels + 1, counts if t >= warm else None)
        prev[...] = state
    clocks = clock_network(design, graph)
    toggles = counts / float(chunk * L)
    toggles[clocks] = 2.0
    return Activity(toggles, clocks, chunk, L, warm, n, schedule, graph, delay_model)


def netlist_graph(design: Design, pdk) -> TimingGraph:
    """The flat, levelled netlist (structure only: any corner's timing data gives the same graph)."""
    corners = available_corners(pdk.data_dir)
    if not corners:
        raise LayoutgenError(f"PDK {pdk.name} has no timing data (pdk/{pdk.name}/timing/*.json)")
    corner = "tt_025C_1v80" if "tt_025C_1v80" in corners else corners[0]
    return build_graph(design, load_timing_library(pdk.data_dir, corner))


def measure_activity(design: Design, pdk, X: np.ndarray, input_bits: int, **kwargs) -> Activity:
    """simulate_activity on the design's flat netlist graph."""
    return simulate_activity(design, netlist_graph(design, pdk), X, input_bits, **kwargs)
