"""Netlist IR.

A Design is a set of Modules and a top module name. A Module owns integer-numbered nets,
ordered ports (buses, LSB first) and instances. An instance's master is either a PDK cell
(a name in the CellLibrary) or another Module of the same Design (hierarchy). Connectivity is
the pin -> net maps of the instances; names are labels only and never carry connectivity.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .cells import CellLibrary


@dataclass(frozen=True)
class Port:
    name: str
    direction: str  # "input" | "output"
    nets: tuple[int, ...]  # LSB first; a 1-bit port has one net

    @property
    def width(self) -> int:
        return len(self.nets)


@dataclass
class Instance:
    name: str
    master: str  # PDK cell name or Module name
    pins: dict[str, int]  # pin name -> net id


@dataclass
class Module:
    name: str
    net_names: list[str] = field(default_factory=list)
    ports: list[Port] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)

    def add_net(self, name: str | None = None) -> int:
        nid = len(self.net_names)
        self.net_names.append(name if name is not None else f"n{nid}")
        return nid

    def add_port(self, name: str, direction: str, nets: list[int] | tuple[int, ...]) -> Port:
        if direction not in ("input", "output"):
            raise ValueError(f"port direction must be input or output, not {direction!r}")
        if any(p.name == name for p in self.ports):
            raise ValueError(f"module {self.name}: duplicate port {name}")
        port = Port(name, direction, tuple(int(n) for n in nets))
        self.ports.append(port)
        return port

    def port(self, name: str) -> Port:
        for p in self.ports:
            if p.name == name:
                return p
        raise KeyError(f"module {self.name} has no port {name}")

    def add_instance(self, name: str, master: str, pins: dict[str, int]) -> Instance:
        inst = Instance(name, master, dict(pins))
        self.instances.append(inst)
        return inst

    @property
    def n_nets(self) -> int:
        return len(self.net_names)


@dataclass
class Design:
    top: str
    library: CellLibrary
    modules: dict[str, Module] = field(default_factory=dict)

    def add_module(self, module: Module) -> Module:
        if module.name in self.modules:
            raise ValueError(f"duplicate module {module.name}")
        self.modules[module.name] = module
        return module

    @property
    def top_module(self) -> Module:
        return self.modules[self.top]

    def cell_counts(self, module: str | None = None) -> dict[str, int]:
        """Leaf cell counts by cell name, hierarchy expanded."""
        counts: dict[str, int] = {}
        self._count(self.modules[module or self.top], 1, counts)
        return dict(sorted(counts.items()))

    def _count(self, mod: Module, mult: int, counts: dict[str, int]) -> None:
        for inst in mod.instances:
            if inst.master in self.modules:
                self._count(self.modules[inst.master], mult, counts)
            else:
                counts[inst.master] = counts.get(inst.master, 0) + mult

    def cell_area_um2(self, module: str | None = None) -> float:
        return sum(self.library[name].area_um2 * n for name, n in self.cell_counts(module).items())

    def validate(self) -> None:
        """Every net has exactly one driver (an input port or a cell output), every pin is known and
        instance names are unique within their module (Verilog, GDS and LVS name instances)."""
        for mod in self.modules.values():
            names = [inst.name for inst in mod.instances]
            if len(set(names)) != len(names):
                seen: set[str] = set()
                dup = next(n for n in names if n in seen or seen.add(n))
                raise ValueError(f"{mod.name}: instance name {dup} is used twice")
            drivers = [0] * mod.n_nets
            for p in mod.ports:
                if p.direction == "input":
                    for n in p.nets:
                        drivers[n] += 1
            for inst in mod.instances:
                if inst.master in self.modules:
                    sub = self.modules[inst.master]
                    outs = {p.name for p in sub.ports if p.direction == "output"}
                    known = {p.name for p in sub.ports}
                    # hierarchical pins are named <port>[<bit>]
                    for pin, net in inst.pins.items():
                        base = pin.split("[")[0]
                        if base not in known:
                            raise ValueError(f"{mod.name}/{inst.name}: {inst.master} has no port {pin}")
                        if base in outs:
                            drivers[net] += 1
                    continue
                master = self.library[inst.master]
                for pin, net in inst.pins.items():
                    if pin not in master.pins:
                        raise ValueError(f"{mod.name}/{inst.name}: {master.name} has no pin {pin}")
                    if not 0 <= net < mod.n_nets:
                        raise ValueError(f"{mod.name}/{inst.name}.{pin}: net {net} out of range")
                    if pin in master.outputs:
                        drivers[net] += 1
                missing = [p for p in master.pins if p not in inst.pins]
                if missing:
                    raise ValueError(f"{mod.name}/{inst.name}: unconnected pins {missing}")
            bad = [i for i, d in enumerate(drivers) if d != 1]
            if bad:
                n = bad[0]
                raise ValueError(
                    f"module {mod.name}: net {mod.net_names[n]} has {drivers[n]} drivers ({len(bad)} such nets)"
                )
