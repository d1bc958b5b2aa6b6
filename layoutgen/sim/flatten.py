"""Flatten a hierarchical Design into leaf cells over one global net numbering.

Instances of sub-Modules are expanded recursively. A sub-module port net takes the global net of
the parent net wired to that port pin; when one sub-module net is wired to several parent nets
(a feed-through, or one net on two port bits) the parent nets are merged (union-find), so the
result never depends on net names.
"""
from __future__ import annotations

import bisect
import re
from operator import itemgetter
from dataclasses import dataclass, field

import numpy as np

from ..gcpause import gc_paused as _gc_paused
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
    blocks: list[tuple[str, list[str], np.ndarray]] = field(default_factory=list)  # (path prefix, names, nets)
    nets: np.ndarray | None = None
    _starts: list[int] = field(default_factory=list)

    def path(self, i: int) -> str:
        """Hierarchical instance name of row i (built on demand, for messages)."""
        k = bisect.bisect_right(self._starts, i) - 1
        prefix, names, _ = self.blocks[k]
        return prefix + names[i - self._starts[k]]

    def finish(self, roots: np.ndarray | None) -> None:
        self._starts = list(np.cumsum([0] + [b[2].shape[0] for b in self.blocks[:-1]]))
        nets = np.concatenate([b[2] for b in self.blocks]) if len(self.blocks) > 1 else self.blocks[0][2]
        self.nets = roots[nets] if roots is not None else nets


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


_SUBMODULE = object()
_PHYSICAL = object()


def _getter_for(design: Design, master_name: str, where: str):
    """How to read an instance of this master: its pin nets in pin order, or a marker."""
    if master_name in design.modules:
        return _SUBMODULE
    if master_name not in design.library:
        raise SimulationError(f"{where}: master {master_name} is neither a module of the design nor a {design.library.name} cell")
    master = design.library[master_name]
    if master.physical:
        return _PHYSICAL
    pins = master.pins
    if len(pins) == 1:
        pin = pins[0]
        return lambda p: (p[pin],)
    return itemgetter(*pins)


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

    def expand(mod: Module, netmap: np.ndarray, prefix: str, stack: tuple[str, ...]) -> None:
        nonlocal merged
        local: dict[str, tuple[list, list[str]]] = {}  # master -> (pin nets in module ids, instance names)
        getters: dict[str, object] = {}
        for inst in mod.instances:
            master_name = inst.master
            getter = getters.get(master_name)
            if getter is None:
                getter = getters[master_name] = _getter_for(design, master_name, f"{prefix}{inst.name}")
            if getter is _SUBMODULE:
                where = f"{prefix}{inst.name}"
                if master_name in stack:
                    raise SimulationError(f"{where}: module {master_name} instantiates itself (recursive hierarchy)")
                sub = design.modules[master_name]
                submap: list[int | None] = [None] * sub.n_nets
                for pin, net in inst.pins.items():
                    inner = module_pin_net(sub, pin, where)
                    if not 0 <= net < len(netmap):
                        raise SimulationError(f"{where}: pin {pin} is connected to net {net}, which does not exist in {mod.name}")
                    outer = int(netmap[net])
                    if submap[inner] is None:
                        submap[inner] = outer
                    elif uf.find(submap[inner]) != uf.find(outer):
                        submap[inner] = uf.union(submap[inner], outer)
                        merged = True
                for i, g in enumerate(submap):
                    if g is None:
                        submap[i] = uf.add()
                        names.append(f"{where}/{sub.net_names[i]}")
                expand(sub, np.array(submap, dtype=np.int64), f"{where}/", stack + (master_name,))
                continue
            if getter is _PHYSICAL:
                continue
            entry = local.get(master_name)
            if entry is None:
                entry = local[master_name] = ([], [])
            try:
                entry[0].append(getter(inst.pins))
            except KeyError as exc:
                raise SimulationError(
                    f"{prefix}{inst.name}: pin {exc.args[0]} of {master_name} is not connected"
                ) from None
            entry[1].append(inst.name)
        for master_name, (rows, inst_names) in local.items():
            width = len(lib[master_name].pins)
            arr = np.array(rows, dtype=np.int64).reshape(len(rows), width)
            if arr.size and (arr.min() < 0 or arr.max() >= len(netmap)):
                i = int(np.argwhere((arr < 0) | (arr >= len(netmap)))[0][0])
                raise SimulationError(f"{prefix}{inst_names[i]}: a pin is connected to a net that does not exist in {mod.name}")
            group = groups.get(master_name)
            if group is None:
                group = groups[master_name] = LeafGroup(master_name)
            group.blocks.append((prefix, inst_names, netmap[arr]))

    with _gc_paused():
        expand(top, np.arange(top.n_nets, dtype=np.int64), "", (design.top,))
    n = len(uf.parent)
    roots = np.array([uf.find(i) for i in range(n)], dtype=np.int64) if merged else None
    for group in groups.values():
        group.finish(roots)
    # top ports refer to top nets, which may have been merged too
    top_nets = roots[: top.n_nets] if roots is not None else np.arange(top.n_nets, dtype=np.int64)
    return FlatNetlist(n_nets=n, net_names=names, groups=groups, top_nets=top_nets)
