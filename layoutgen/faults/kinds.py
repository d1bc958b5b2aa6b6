"""Manufacturing defects as logic faults on the flat netlist (nets numbered as layoutgen.sim.flatten does).

Kinds:
- stuck-at: every reader of `net` sees the constant `value` (a defect inside the driving cell).
- open: one reader, input pin `pin` of flat cell `reader`, is cut off its net and sees `value`
  (a floating CMOS input settles to a level; we model it as a constant, 0 by default).
- bridge: `net` is shorted to its placement neighbour `other`. Model "and" (wired-AND: readers of
  either net see a & b, the usual model for CMOS where the pull-down wins) or "dominant" (readers
  of `net` see `other`, the stronger driver; readers of `other` are unaffected).
"""
from __future__ import annotations

from dataclasses import dataclass

STUCK, OPEN, BRIDGE = "stuck-at", "open", "bridge"
KINDS = (STUCK, OPEN, BRIDGE)
BRIDGE_MODELS = ("and", "dominant")


@dataclass(frozen=True)
class Fault:
    kind: str
    net: int
    value: int = 0  # stuck-at / open: the constant read
    reader: int = -1  # open: flat cell index (layoutgen.physical.flat order) of the cut-off reader
    pin: str = ""  # open: its input pin
    other: int = -1  # bridge: the neighbouring net

    def describe(self, net_names: list[str], cell_names: tuple[str, ...] = ()) -> str:
        name = net_names[self.net]
        if self.kind == STUCK:
            return f"{name} stuck-at-{self.value}"
        if self.kind == OPEN:
            who = cell_names[self.reader] if cell_names else f"cell {self.reader}"
            return f"open: {who}.{self.pin} cut from {name}, reads {self.value}"
        return f"bridge {name} <-> {net_names[self.other]}"
