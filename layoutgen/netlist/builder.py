"""ModuleBuilder: add cells by logic role and get their output nets back."""
from __future__ import annotations

from .cells import CellLibrary
from .ir import Module


class ModuleBuilder:
    def __init__(self, module: Module, library: CellLibrary):
        self.module = module
        self.lib = library
        self._count: dict[str, int] = {}
        # names already in the module (a builder may extend a module another builder made)
        self._names = {inst.name for inst in module.instances}
        self._tie: tuple[int, int] | None = None
        self._inv_cache: dict[int, int] = {}

    def net(self, name: str | None = None) -> int:
        return self.module.add_net(name)

    def cell(self, role: str, *, name: str | None = None, **inputs: int) -> dict[str, int]:
        """Instantiate the PDK cell of `role`, connecting its inputs; new nets drive its outputs."""
        master = self.lib.role(role)
        if name is None:
            k = self._count.get(role, 0)
            while f"{role}_{k}" in self._names:
                k += 1
            self._count[role] = k + 1
            name = f"{role}_{k}"
        elif name in self._names:
            raise ValueError(f"{self.module.name}: instance name {name} is taken")
        self._names.add(name)
        pins = {}
        for pin in master.inputs:
            pins[pin] = inputs.pop(pin)
        if master.clock:
            pins[master.clock] = inputs.pop(master.clock)
        if inputs:
            raise ValueError(f"{role}: unknown pins {sorted(inputs)}")
        outs = {}
        for pin in master.outputs:
            outs[pin] = pins[pin] = self.net()
        self.module.add_instance(name, master.name, pins)
        return outs

    # convenience wrappers for the roles the arithmetic uses
    def fa(self, a: int, b: int, c: int) -> tuple[int, int]:
        o = self.cell("fa", A=a, B=b, CIN=c)
        return o["SUM"], o["COUT"]

    def ha(self, a: int, b: int) -> tuple[int, int]:
        o = self.cell("ha", A=a, B=b)
        return o["SUM"], o["COUT"]

    def inv(self, a: int) -> int:
        """Inverter, one per net (cached)."""
        if a not in self._inv_cache:
            self._inv_cache[a] = self.cell("inv", A=a)["Y"]
        return self._inv_cache[a]

    def gate(self, role: str, *ins: int) -> int:
        master = self.lib.role(role)
        o = self.cell(role, **dict(zip(master.inputs, ins)))
        return o[master.outputs[0]]

    def dff(self, d: int, clk: int) -> int:
        return self.cell("dff", D=d, CLK=clk)["Q"]

    def const(self, value: int) -> int:
        """Net tied to 0 or 1 (one tie cell per module)."""
        if self._tie is None:
            o = self.cell("tie", name="tie")
            self._tie = (o["LO"], o["HI"])
        return self._tie[1 if value else 0]
