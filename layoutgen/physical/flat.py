"""The leaf cells of a Design as flat arrays, the form the placer and router work on.

Hierarchy is expanded by layoutgen.sim.flatten (one global net numbering, merged feed-throughs);
this module only turns its per-master groups into one instance list with a pin table.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..netlist.ir import Design
from ..sim.flatten import flatten


@dataclass(frozen=True)
class FlatCells:
    """Leaf instances i = 0..n-1 and their pins p = 0..m-1 (pins of one instance are contiguous)."""

    names: tuple[str, ...]  # hierarchical instance paths
    masters: tuple[str, ...]  # distinct cell names, in first-seen order
    master_of: np.ndarray  # (n,) int32 index into masters
    pin_start: np.ndarray  # (n+1,) int64: pins of instance i are pin_start[i]:pin_start[i+1]
    pin_net: np.ndarray  # (m,) int64 global net id
    pin_name: tuple[str, ...]  # (m,) pin names
    pin_output: np.ndarray  # (m,) bool: the pin drives its net
    n_nets: int
    netlist_rank: np.ndarray  # (n,) position of each instance in depth-first netlist order
    inputs: tuple[tuple[str, tuple[int, ...]], ...]  # top input ports -> global nets, LSB first
    outputs: tuple[tuple[str, tuple[int, ...]], ...]

    @property
    def n_cells(self) -> int:
        return len(self.names)

    @property
    def pin_cell(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_cells, dtype=np.int64), np.diff(self.pin_start))


def flat_cells(design: Design) -> FlatCells:
    flat = flatten(design)
    lib = design.library
    names: list[str] = []
    masters: list[str] = []
    master_of: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    nets: list[np.ndarray] = []
    pin_name: list[str] = []
    pin_out: list[np.ndarray] = []
    for mi, (master, group) in enumerate(flat.groups.items()):
        cell = lib[master]
        paths = _group_paths(group)
        n = len(paths)
        masters.append(master)
        names.extend(paths)
        master_of.append(np.full(n, mi, dtype=np.int32))
        counts.append(np.full(n, len(cell.pins), dtype=np.int64))
        nets.append(group.nets.reshape(-1))
        pin_name.extend(list(cell.pins) * n)
        outs = np.array([p in cell.outputs for p in cell.pins], dtype=bool)
        pin_out.append(np.tile(outs, n))
    start = np.zeros(len(names) + 1, dtype=np.int64)
    if counts:
        np.cumsum(np.concatenate(counts), out=start[1:])
    rank_of = _netlist_order(design)
    top = design.top_module
    ports = {d: tuple((p.name, tuple(int(flat.top_nets[n]) for n in p.nets)) for p in top.ports if p.direction == d)
             for d in ("input", "output")}
    cat = (lambda xs, dt: np.concatenate(xs) if xs else np.zeros(0, dtype=dt))
    return FlatCells(
        names=tuple(names),
        masters=tuple(masters),
        master_of=cat(master_of, np.int32),
        pin_start=start,
        pin_net=cat(nets, np.int64),
        pin_name=tuple(pin_name),
        pin_output=cat(pin_out, bool),
        n_nets=flat.n_nets,
        netlist_rank=np.array([rank_of[p] for p in names], dtype=np.int64),
        inputs=ports["input"],
        outputs=ports["output"],
    )


def _netlist_order(design: Design) -> dict[str, int]:
    """Instance path -> position in a depth-first walk of the hierarchy (the order the netlist was built)."""
    out: dict[str, int] = {}

    def walk(mod, prefix: str) -> None:
        for inst in mod.instances:
            path = f"{prefix}{inst.name}"
            if inst.master in design.modules:
                walk(design.modules[inst.master], f"{path}/")
            else:
                out[path] = len(out)

    walk(design.top_module, "")
    return out


def _group_paths(group) -> list[str]:
    """Instance paths of a flatten() group (a list `paths`, or blocks of (prefix, names, nets))."""
    if hasattr(group, "blocks"):
        return [prefix + name for prefix, names, _ in group.blocks for name in names]
    return list(group.paths)
