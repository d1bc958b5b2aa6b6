"""Flatten a hierarchical Design into leaf cells over one global net numbering.

Instances of sub-Modules are expanded recursively. A sub-module port net takes the global net of
the parent net wired to that port pin; when one sub-module net is wired to several parent nets
(a feed-through, or one net on two port bits) the parent nets are merged (union-find), so the
result never depends on net names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..netlist.ir import Design, Module
from .errors import SimulationError

_BUS_PIN = re.compile(r"^(.*)\[(\d+)\]$")


def split_module_pin(pin: str) -> tuple[str, int | None]:
    """'x[3]' -> ('x', 3); 'clk' -> ('clk', None)."""
    m = _BUS_PIN.match(pin)
    if m:
        return m.group(1), int(m.group(2))
    return pin, None


def module_pin_net(sub: Module, pin: str, where: str) -> int:
    """The net inside `sub` that the hierarchical pin name `pin` refers to."""
    base, bit = split_module_pin(pin)
    for port in sub.ports:
        if port.name == base:
            if bit is None:
                if port.width != 1:
                    raise SimulationError(f"{where}: pin {pin} of {sub.name} needs a bit index (port is {port.width} bits)")
                return port.nets[0]
            if not 0 <= bit < port.width:
                raise SimulationError(f"{where}: pin {pin} is outside port {base}[{port.width - 1}:0] of {sub.name}")
            return port.nets[bit]
    raise SimulationError(f"{where}: module {sub.name} has no port {base}")


@dataclass
class LeafGroup:
    """All leaf instances of one cell master: nets[i, j] is the global net on pin j of instance i."""

    master: str
    paths: list[str] = field(default_factory=list)
    rows: list[list[int]] = field(default_factory=list)
    nets: np.ndarray | None = None


@dataclass
class FlatNetlist:
    n_nets: int
    net_names: list[str]  # hierarchical names, for messages
    groups: dict[str, LeafGroup]  # by cell master name, in first-seen order
    top_nets: np.ndarray  # top-module net id -> global net id


class _UnionFind:
    def __init__(self) -> None:
        self.parent: list[int] = []

    def add(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, a: int) -> int:
        p = self.parent
        root = a
        while p[root] != root:
            root = p[root]
        while p[a] != root:
            p[a], a = root, p[a]
        return root

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = min(ra, rb), max(ra, rb)
            self.parent[hi] = lo
        return min(ra, rb)


def flatten(design: Design) -> FlatNetlist:
    if design.top not in design.modules:
        raise SimulationError(f"design top {design.top!r} is not one of its modules")
    top = design.top_module
    uf = _UnionFind()
    names: list[str] = []
    for name in top.net_names:
        uf.add()
        names.append(name)
    groups: dict[str, LeafGroup] = {}
    merged = False
    lib = design.library

    def expand(mod: Module, netmap: list[int], prefix: str, stack: tuple[str, ...]) -> None:
        nonlocal merged
        for inst in mod.instances:
            where = f"{prefix}{inst.name}"
            if inst.master in design.modules:
                if inst.master in stack:
                    raise SimulationError(f"{where}: module {inst.master} instantiates itself (recursive hierarchy)")
                sub = design.modules[inst.master]
                submap: list[int | None] = [None] * sub.n_nets
                for pin, net in inst.pins.items():
                    inner = module_pin_net(sub, pin, where)
                    outer = netmap[net]
                    if submap[inner] is None:
                        submap[inner] = outer
                    elif uf.find(submap[inner]) != uf.find(outer):
                        submap[inner] = uf.union(submap[inner], outer)
                        merged = True
                for i, g in enumerate(submap):
                    if g is None:
                        submap[i] = uf.add()
                        names.append(f"{where}/{sub.net_names[i]}")
                expand(sub, submap, f"{where}/", stack + (inst.master,))
                continue
            if inst.master not in lib:
                raise SimulationError(f"{where}: master {inst.master} is neither a module of the design nor a {lib.name} cell")
            master = lib[inst.master]
            if master.physical:
                continue
            group = groups.get(inst.master)
            if group is None:
                group = groups[inst.master] = LeafGroup(inst.master)
            try:
                row = [netmap[inst.pins[p]] for p in master.pins]
            except KeyError as exc:
                raise SimulationError(f"{where}: pin {exc.args[0]} of {master.name} is not connected") from None
            except IndexError:
                raise SimulationError(f"{where}: a pin is connected to a net that does not exist in {mod.name}") from None
            group.paths.append(where)
            group.rows.append(row)

    expand(top, list(range(top.n_nets)), "", (design.top,))
    n = len(uf.parent)
    if merged:
        roots = np.array([uf.find(i) for i in range(n)], dtype=np.int64)
    else:
        roots = None
    for group in groups.values():
        width = len(lib[group.master].pins)
        arr = np.array(group.rows, dtype=np.int64).reshape(len(group.rows), width)
        group.nets = roots[arr] if roots is not None else arr
        group.rows = []
    # top ports refer to top nets, which may have been merged too
    top_nets = roots[: top.n_nets] if roots is not None else np.arange(top.n_nets, dtype=np.int64)
    return FlatNetlist(n_nets=n, net_names=names, groups=groups, top_nets=top_nets)
