"""Gate-level building context: a ModuleBuilder plus arrival times and constant folding."""
from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from ..netlist.builder import ModuleBuilder
from .words import ONE, ZERO, const_value, is_const


def load_logic_delays(pdk_data_dir: Path) -> dict[str, dict[str, float]]:
    data = json.loads((Path(pdk_data_dir) / "logic_delay.json").read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


class PlaceTag(NamedTuple):
    """Where a cell's logic belongs in the crossbar floorplan: layer, neuron column (a mean for a
    shared subexpression, -1 if unknown) and input group (-1: several groups)."""

    layer: int
    column: float
    group: int


class ArithContext:
    """Adds cells through a ModuleBuilder, tracking each net's arrival time (in full-adder levels)."""

    def __init__(self, builder: ModuleBuilder, delays: dict[str, dict[str, float]], local_inverters: bool = False):
        self.b = builder
        self.delays = delays
        self.local_inverters = local_inverters
        self.arrival: dict[int, float] = {}
        self._inv: dict[int, int] = {}
        self.layer = 0  # the layer being built (for place tags)
        self.place_tags: dict[str, PlaceTag] = {}

    def n_cells(self) -> int:
        return len(self.b.module.instances)

    def tag_since(self, n0: int, tag: PlaceTag) -> None:
        """Tag the cells added since the module had n0 of them (a cell keeps its first tag)."""
        for inst in self.b.module.instances[n0:]:
            self.place_tags.setdefault(inst.name, tag)

    def t(self, bit: int) -> float:
        return 0.0 if is_const(bit) else self.arrival.get(bit, 0.0)

    def _emit(self, role: str, **ins: int) -> dict[str, int]:
        outs = self.b.cell(role, **ins)
        start = max((self.t(n) for n in ins.values()), default=0.0)
        for pin, net in outs.items():
            self.arrival[net] = start + self.delays[role][pin]
        return outs

    # --- gates with constant folding -------------------------------------------------
    def inv(self, a: int) -> int:
        if is_const(a):
            return ZERO if a == ONE else ONE
        if a not in self._inv:
            self._inv[a] = self._emit("inv", A=a)["Y"]
        return self._inv[a]

    def inv_for(self, a: int, scope: dict[int, int]) -> int:
        """The inverted bit for one consumer (a neuron's sum): with local_inverters each sum gets its own
        inverter, so the inverted bit is not wired across the die next to the true bit, which reaches
        every neuron anyway; otherwise one shared inverter per bit (fewer cells)."""
        if not self.local_inverters or is_const(a):
            return self.inv(a)
        if a not in scope:
            scope[a] = self._emit("inv", A=a)["Y"]
        return scope[a]

    def xor(self, a: int, b: int) -> int:
        if is_const(a):
            a, b = b, a
        if is_const(b):
            return self.inv(a) if b == ONE else a
        return self._emit("xor2", A=a, B=b)["X"]

    def xnor(self, a: int, b: int) -> int:
        if is_const(a) or is_const(b):
            return self.inv(self.xor(a, b))
        return self._emit("xnor2", A=a, B=b)["Y"]

    def or2(self, a: int, b: int) -> int:
        if is_const(a):
            a, b = b, a
        if is_const(b):
            return ONE if b == ONE else a
        return self._emit("or2", A=a, B=b)["X"]

    def nor2(self, a: int, b: int) -> int:
        if is_const(a) or is_const(b):
            return self.inv(self.or2(a, b))
        return self._emit("nor2", A=a, B=b)["Y"]

    def and2(self, a: int, b: int) -> int:
        if is_const(a):
            a, b = b, a
        if is_const(b):
            return a if b == ONE else ZERO
        return self._emit("and2", A=a, B=b)["X"]

    def fa(self, a: int, b: int, c: int) -> tuple[int, int]:
        o = self._emit("fa", A=a, B=b, CIN=c)
        return o["SUM"], o["COUT"]

    def ha(self, a: int, b: int) -> tuple[int, int]:
        o = self._emit("ha", A=a, B=b)
        return o["SUM"], o["COUT"]

    def net_of(self, bit: int) -> int:
        """A real net for a bit (constants become tie-cell nets)."""
        return self.b.const(const_value(bit)) if is_const(bit) else bit
