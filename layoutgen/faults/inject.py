"""Faults -> the simulator's fault-injection hook (layoutgen.sim.simulator.Injection), and faulty dies
streamed through the bit-parallel simulator."""
from __future__ import annotations

import numpy as np

from ..netlist.cells import CellLibrary
from ..physical.flat import FlatCells
from ..sim.expr import ONES, ZERO
from ..sim.simulator import Injection, Shadow, Simulator
from ..sim.stream import stream
from .kinds import BRIDGE, BRIDGE_MODELS, OPEN, STUCK, Fault

# a bridge can make a reader see a value its partner gets later in the same cycle: settle again
# until nothing changes (a bridge that closes a loop may oscillate; such cycles are counted)
BRIDGE_SETTLE_PASSES = 8


def _net_ops(ops: list[tuple[str, int]]):
    """fn(values) for a net read through its faults: values[0] is the net, values[k] its partners."""

    def fn(values: list[np.ndarray]):
        v = values[0]
        for op, k in ops:
            if op == "const":
                v = ONES if k else ZERO
            elif op == "and":
                v = v & values[k]
            else:  # "copy": a dominant partner
                v = values[k]
        return v

    return fn


def _const(value: int):
    word = ONES if value else ZERO
    return lambda values: word


def build_injection(sim: Simulator, cells: FlatCells, library: CellLibrary, faults: list[Fault],
                    bridge_model: str = "and") -> Injection:
    """The Injection that makes `sim` behave like a die with `faults` (nets as in `cells`)."""
    if bridge_model not in BRIDGE_MODELS:
        raise ValueError(f"bridge model {bridge_model!r} is not one of {BRIDGE_MODELS}")
    row = sim.program.net_row
    per_net: dict[int, list[tuple[str, object]]] = {}
    pins: list[tuple[int, int, int]] = []
    shadows: list[Shadow] = []
    for f in faults:
        if f.kind == STUCK:
            per_net.setdefault(f.net, []).append(("const", f.value))
        elif f.kind == BRIDGE:
            per_net.setdefault(f.net, []).append(("and" if bridge_model == "and" else "copy", f.other))
            if bridge_model == "and":
                per_net.setdefault(f.other, []).append(("and", f.net))
        elif f.kind == OPEN:
            master = library[cells.masters[cells.master_of[f.reader]]]
            lo, hi = cells.pin_start[f.reader], cells.pin_start[f.reader + 1]
            out_net = next(int(cells.pin_net[p]) for p in range(lo, hi) if cells.pin_output[p])
            pins.append((int(row[out_net]), master.inputs.index(f.pin), len(shadows)))
            shadows.append(Shadow((), _const(f.value)))
        else:
            raise ValueError(f"unknown fault kind {f.kind!r}")
    read_all = {}
    for net, ops in per_net.items():
        partners: list[int] = []
        coded = []
        for op, arg in ops:
            if op == "const":
                coded.append((op, int(arg)))
            else:
                partners.append(int(arg))
                coded.append((op, len(partners)))
        sources = (int(row[net]),) + tuple(int(row[p]) for p in partners)
        read_all[int(row[net])] = len(shadows)
        shadows.append(Shadow(sources, _net_ops(coded)))
    has_bridge = any(f.kind == BRIDGE for f in faults)
    return Injection(shadows=shadows, read_all=read_all, read_pin=pins,
                     settle_passes=BRIDGE_SETTLE_PASSES if has_bridge else 1)


class FaultySimulator(Simulator):
    """A compiled Simulator whose every run goes through one Injection (shares the compiled program)."""

    def __init__(self, base: Simulator, injection: Injection):  # noqa: super().__init__ would recompile
        self.design = base.design
        self.program = base.program
        self.injection = injection

    def run_packed(self, packed_inputs, n_cycles, words, injection=None):
        return super().run_packed(packed_inputs, n_cycles, words, injection or self.injection)


def die_outputs(sim: Simulator, injection: Injection | None, X: np.ndarray, *, input_bits: int,
                output_width: int, latency: int, offsets=None, offset_bits: int = 0) -> np.ndarray:
    """Outputs (n, n_out) of the die on inputs X: the fault-free netlist when injection is None.

    With offset_bits > 0 the design has scan-loaded offset registers (layoutgen.calibration):
    `offsets` are shifted in through the (possibly faulty) scan chain before X streams through
    (None: no load, the registers at their power-on 0)."""
    target = sim if injection is None else FaultySimulator(sim, injection)
    if not offset_bits:
        return stream(target, X, input_bits=input_bits, output_width=output_width, latency=latency)
    from ..calibration import stream_calibrated

    return stream_calibrated(target, X, offsets, input_bits=input_bits, output_width=output_width,
                             latency=latency, offset_bits=offset_bits)


__all__ = ["BRIDGE_SETTLE_PASSES", "FaultySimulator", "build_injection", "die_outputs"]
