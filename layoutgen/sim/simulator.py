"""Bit-parallel, cycle-accurate simulation of a netlist Design.

Lanes are independent input streams; 64 lanes share one uint64 word, so each bitwise numpy
operation advances 64 streams of one net. A cycle with inputs v applies v, settles the logic,
takes the rising clock edge, settles again and reads the outputs (still with v applied): the value
returned for cycle t is what the output ports show just after edge t+1, where edge t+1 samples
the inputs of cycle t. Flip-flops start at 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from ..netlist.ir import Design
from .bits import bits_to_unsigned, n_words, pack_lanes, unpack_lanes, values_to_bits
from .compile import CLOCK_PORT, Program, Step, compile_program
from .errors import SimulationError
from .flatten import flatten


# Words of one temporary array per evaluation chunk: big steps are cut so that their operands stay
# in the CPU cache (a whole level at once streams every temporary through DRAM, several times slower).
CHUNK_WORDS = 1 << 14

ChunkOp = tuple[list[np.ndarray], list[tuple[object, "slice | np.ndarray"]]]


def _sub_target(target: slice | np.ndarray, lo: int, hi: int) -> slice | np.ndarray:
    if isinstance(target, slice):
        return slice(target.start + lo, target.start + hi)
    return target[lo:hi]


def _chunked(steps: list[Step], words: int) -> list[ChunkOp]:
    """Steps cut into pieces of at most CHUNK_WORDS words per operand."""
    size = max(64, CHUNK_WORDS // words)
    ops: list[ChunkOp] = []
    for step in steps:
        for lo in range(0, step.n_cells, size):
            hi = min(step.n_cells, lo + size)
            ops.append(([r[lo:hi] for r in step.in_rows], [(fn, _sub_target(t, lo, hi)) for fn, t in step.outs]))
    return ops


def _settle(state: np.ndarray, ops: list[ChunkOp]) -> None:
    for in_rows, outs in ops:
        ins = [np.take(state, r, axis=0) for r in in_rows]
        for fn, target in outs:
            state[target] = fn(ins)


def _settle_into(state: np.ndarray, ops: list[ChunkOp], buffer: np.ndarray) -> None:
    """Like _settle, but results go to `buffer` (targets are slices of it) and state is only read."""
    for in_rows, outs in ops:
        ins = [np.take(state, r, axis=0) for r in in_rows]
        for fn, target in outs:
            buffer[target] = fn(ins)


@dataclass(frozen=True)
class Shadow:
    """A state row that stands in for what some readers see: value = fn([state rows of `sources`]).

    It is recomputed right after every write of one of its sources (and at start), so a reader
    evaluated later in the cycle sees it; `fn` may return a uint64 scalar (all lanes) or a row.
    """

    sources: tuple[int, ...]
    fn: Callable[[list[np.ndarray]], "np.ndarray | np.uint64"]


@dataclass
class Injection:
    """Fault-injection hook of run_packed: readers are redirected to shadow rows (shadow i is row n_rows + i).

    read_all maps a state row to a shadow every reader of it sees (cells, flip-flops, output ports);
    read_pin redirects one reader: (a row the reading cell or flip-flop writes, its input index, shadow).
    Drivers keep writing the true values, so a shadow may combine several nets (a bridge). With
    settle_passes > 1 each settle repeats until the state stops changing (a shadow read before one of
    its sources is written this cycle); cycles still changing after the last pass are counted.
    """

    shadows: list[Shadow] = field(default_factory=list)
    read_all: dict[int, int] = field(default_factory=dict)
    read_pin: list[tuple[int, int, int]] = field(default_factory=list)
    settle_passes: int = 1
    unsettled_cycles: int = 0


def _redirected(steps: list[Step], read_map: np.ndarray, pins: list[tuple[int, int, int]], shadow_row0: int) -> list[Step]:
    """Steps whose input rows go through read_map, plus the single-pin redirections that hit them."""
    out = []
    for step in steps:
        in_rows = [read_map[r] for r in step.in_rows]
        for ident, j, sh in pins:
            for _, target in step.outs:
                rows = np.arange(target.start, target.stop) if isinstance(target, slice) else target
                hit = np.flatnonzero(rows == ident)
                if hit.size and j < len(in_rows):
                    in_rows[j][hit[0]] = shadow_row0 + sh
        out.append(Step(in_rows, step.outs, step.n_cells))
    return out


def _updates_after(ops: list[ChunkOp], n_rows: int, shadows_of_row: dict[int, list[int]]) -> list[list[int]]:
    """For each chunk, the shadows to recompute after it (those with a source it writes)."""
    is_source = np.zeros(n_rows, dtype=bool)
    is_source[list(shadows_of_row)] = True
    after: list[list[int]] = []
    for _, outs in ops:
        hit: set[int] = set()
        for _, target in outs:
            rows = np.arange(target.start, target.stop) if isinstance(target, slice) else target
            for r in rows[is_source[rows]].tolist():
                hit.update(shadows_of_row[r])
        after.append(sorted(hit))
    return after


class Simulator:
    """Compiles `design` once (hierarchy flattened, logic levelized); `run` simulates many lanes."""

    def __init__(self, design: Design):
        self.design = design
        self.program: Program = compile_program(design, flatten(design))

    # -- what the compiled design looks like -------------------------------------------------
    @property
    def inputs(self) -> dict[str, int]:
        """Non-clock input ports and their widths."""
        return {p.name: p.width for p in self.program.inputs}

    @property
    def outputs(self) -> dict[str, int]:
        return {p.name: p.width for p in self.program.outputs}

    @property
    def n_cells(self) -> int:
        return self.program.n_cells

    @property
    def n_flops(self) -> int:
        return self.program.n_flops

    @property
    def n_levels(self) -> int:
        return self.program.n_levels

    # -- simulation ------------------------------------------------------------------------------
    def run(self, inputs: Mapping[str, np.ndarray], n_lanes: int, *, bits: bool = False) -> dict[str, np.ndarray]:
        """Simulate len(cycles) clock cycles of n_lanes independent streams.

        inputs[name] is, for every non-clock input port, either an integer array of shape
        (n_cycles, n_lanes) holding the unsigned port value (integer dtype for ports up to 64 bits,
        dtype=object of Python ints for any width), or a 0/1 array of shape (n_cycles, n_lanes, width),
        LSB first. Returns, per output port, the value just after each rising edge, shape
        (n_cycles, n_lanes): int64 for ports up to 63 bits, Python ints (object) for wider ones;
        with bits=True a uint8 array (n_cycles, n_lanes, width) instead.
        """
        packed, n_cycles = self._pack_inputs(inputs, n_lanes)
        out = self.run_packed(packed, n_cycles, n_words(n_lanes))
        result = {}
        offsets = self.output_offsets()
        for port in self.program.outputs:
            lo = offsets[port.name]
            port_bits = unpack_lanes(out[:, lo:lo + port.width], n_lanes)  # (cycles, width, lanes)
            port_bits = np.ascontiguousarray(port_bits.transpose(0, 2, 1))
            result[port.name] = port_bits if bits else bits_to_unsigned(port_bits)
        return result

    def output_offsets(self) -> dict[str, int]:
        """First bit of each output port in the packed output rows of run_packed."""
        offsets, lo = {}, 0
        for port in self.program.outputs:
            offsets[port.name] = lo
            lo += port.width
        return offsets

    def _pack_inputs(self, inputs: Mapping[str, np.ndarray], n_lanes: int) -> tuple[np.ndarray, int]:
        if not isinstance(n_lanes, (int, np.integer)) or n_lanes < 1:
            raise SimulationError(f"n_lanes must be a positive integer, not {n_lanes!r}")
        expected = self.inputs
        unknown = sorted(set(inputs) - set(expected))
        if unknown:
            hint = " (the clock is implicit)" if CLOCK_PORT in unknown else ""
            raise SimulationError(
                f"{self.design.top} has no input port {unknown[0]}{hint}; its inputs are {sorted(expected)}"
            )
        missing = sorted(set(expected) - set(inputs))
        if missing:
            raise SimulationError(f"no stimulus for input port {missing[0]} of {self.design.top}")
        n_cycles = None
        parts = []
        for port in self.program.inputs:
            arr = np.asarray(inputs[port.name])
            what = f"input {port.name}[{port.width - 1}:0]"
            if arr.ndim == 3:
                if arr.shape[1:] != (n_lanes, port.width):
                    raise SimulationError(f"{what}: bit array shape {arr.shape} is not (n_cycles, {n_lanes}, {port.width})")
                if arr.size and (arr.dtype.kind not in "biu" or arr.max() > 1):
                    raise SimulationError(f"{what}: a bit array must hold only 0 and 1")
                port_bits = arr
            elif arr.ndim == 2:
                if arr.shape[1] != n_lanes:
                    raise SimulationError(f"{what}: shape {arr.shape} is not (n_cycles, {n_lanes})")
                port_bits = values_to_bits(arr, port.width, what)
            else:
                raise SimulationError(f"{what}: expected shape (n_cycles, n_lanes) or (n_cycles, n_lanes, width), got {arr.shape}")
            if n_cycles is None:
                n_cycles = arr.shape[0]
            elif arr.shape[0] != n_cycles:
                raise SimulationError(f"{what}: {arr.shape[0]} cycles, but other inputs have {n_cycles}")
            parts.append(pack_lanes(np.ascontiguousarray(port_bits.transpose(0, 2, 1))))
        if n_cycles is None:
            raise SimulationError(f"{self.design.top} has no inputs besides the clock; nothing to stream")
        packed = np.concatenate(parts, axis=1) if parts else np.zeros((n_cycles, 0, n_words(n_lanes)), np.uint64)
        return packed, n_cycles

    def run_packed(self, packed_inputs: np.ndarray, n_cycles: int, words: int,
                   injection: Injection | None = None) -> np.ndarray:
        """Core loop: packed_inputs (n_cycles, n_input_bits, words) -> packed outputs (n_cycles, n_output_bits, words).

        Input bits are ordered as the input ports (LSB first, port after port), output bits likewise.
        `injection` (fault injection) redirects readers to shadow rows; without it the loop is untouched.
        """
        prog = self.program
        n_in = sum(p.width for p in prog.inputs)
        if packed_inputs.shape != (n_cycles, n_in, words):
            raise SimulationError(f"packed inputs have shape {packed_inputs.shape}, expected {(n_cycles, n_in, words)}")
        if injection is not None:
            return self._run_injected(packed_inputs, n_cycles, words, n_in, injection)
        state = np.zeros((prog.n_rows, words), dtype=np.uint64)
        if prog.const_rows.size:
            state[prog.const_rows] = prog.const_values[:, None]
        out_rows = np.concatenate([p.rows for p in prog.outputs]) if prog.outputs else np.zeros(0, np.int64)
        out = np.empty((n_cycles, out_rows.size, words), dtype=np.uint64)
        settle_d, settle_out = _chunked(prog.settle_d, words), _chunked(prog.settle_out, words)
        # flip-flop outputs occupy one contiguous block of rows: compute all next states, then write
        q_lo, q_hi = prog.flop_rows
        edge = [(in_rows, [(fn, slice(t.start - q_lo, t.stop - q_lo)) for fn, t in outs])
                for in_rows, outs in _chunked(prog.edge, words)]
        q_next = np.empty((q_hi - q_lo, words), dtype=np.uint64)
        for t in range(n_cycles):
            state[:n_in] = packed_inputs[t]
            _settle(state, settle_d)
            _settle_into(state, edge, q_next)
            state[q_lo:q_hi] = q_next
            _settle(state, settle_out)
            np.take(state, out_rows, axis=0, out=out[t])
        return out

    def _run_injected(self, packed_inputs: np.ndarray, n_cycles: int, words: int, n_in: int,
                      inj: Injection) -> np.ndarray:
        """run_packed with readers redirected to shadow rows (see Injection)."""
        prog = self.program
        base = prog.n_rows
        n_sh = len(inj.shadows)
        for row, sh in list(inj.read_all.items()) + [(r, sh) for r, _, sh in inj.read_pin]:
            if not (0 <= row < base and 0 <= sh < n_sh):
                raise SimulationError(f"injection refers to row {row} or shadow {sh}, outside the design")
        read_map = np.arange(base + n_sh, dtype=np.int64)
        for row, sh in inj.read_all.items():
            read_map[row] = base + sh
        shadows_of_row: dict[int, list[int]] = {}
        for i, shadow in enumerate(inj.shadows):
            for r in shadow.sources:
                shadows_of_row.setdefault(int(r), []).append(i)

        def phase(steps: list[Step]) -> tuple[list[ChunkOp], list[list[int]]]:
            ops = _chunked(_redirected(steps, read_map, inj.read_pin, base), words)
            return ops, _updates_after(ops, base, shadows_of_row)

        (settle_d, after_d), (settle_out, after_out) = phase(prog.settle_d), phase(prog.settle_out)
        q_lo, q_hi = prog.flop_rows
        edge = [(in_rows, [(fn, slice(t.start - q_lo, t.stop - q_lo)) for fn, t in outs])
                for in_rows, outs in _chunked(_redirected(prog.edge, read_map, inj.read_pin, base), words)]
        after_in = sorted({i for r in range(n_in) for i in shadows_of_row.get(r, ())})
        after_edge = sorted({i for r in range(q_lo, q_hi) for i in shadows_of_row.get(r, ())})

        state = np.zeros((base + n_sh, words), dtype=np.uint64)
        if prog.const_rows.size:
            state[prog.const_rows] = prog.const_values[:, None]

        def update(indices: list[int]) -> None:
            for i in indices:
                shadow = inj.shadows[i]
                state[base + i] = shadow.fn([state[r] for r in shadow.sources])

        def settle(ops: list[ChunkOp], after: list[list[int]]) -> None:
            for _ in range(inj.settle_passes):
                before = state.copy() if inj.settle_passes > 1 else None
                for (in_rows, outs), upd in zip(ops, after):
                    ins = [np.take(state, r, axis=0) for r in in_rows]
                    for fn, target in outs:
                        state[target] = fn(ins)
                    update(upd)
                if before is None or np.array_equal(before, state):
                    return
            inj.unsettled_cycles += 1

        update(list(range(n_sh)))
        out_rows = read_map[np.concatenate([p.rows for p in prog.outputs])] if prog.outputs else np.zeros(0, np.int64)
        out = np.empty((n_cycles, out_rows.size, words), dtype=np.uint64)
        q_next = np.empty((q_hi - q_lo, words), dtype=np.uint64)
        for t in range(n_cycles):
            state[:n_in] = packed_inputs[t]
            update(after_in)
            settle(settle_d, after_d)
            _settle_into(state, edge, q_next)
            state[q_lo:q_hi] = q_next
            update(after_edge)
            settle(settle_out, after_out)
            np.take(state, out_rows, axis=0, out=out[t])
        return out
