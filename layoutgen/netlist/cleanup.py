"""Remove cells whose outputs drive nothing (after a pass rewired their users), then renumber nets."""
from __future__ import annotations

from .cells import CellLibrary
from .ir import Module, Port


def remove_dead_cells(module: Module, lib: CellLibrary) -> int:
    """Drop leaf cells none of whose outputs is used; returns how many were removed. Flat modules only."""
    port_nets = {n for p in module.ports for n in p.nets}
    loads = [0] * module.n_nets
    for inst in module.instances:
        m = lib[inst.master]
        for pin in m.inputs + ((m.clock,) if m.clock else ()):
            loads[inst.pins[pin]] += 1
    alive = [True] * len(module.instances)
    driver = {}
    for idx, inst in enumerate(module.instances):
        for pin in lib[inst.master].outputs:
            driver[inst.pins[pin]] = idx
    stack = list(range(len(module.instances)))
    removed = 0
    while stack:
        idx = stack.pop()
        if not alive[idx]:
            continue
        inst = module.instances[idx]
        m = lib[inst.master]
        if m.physical or not m.outputs:
            continue
        outs = [inst.pins[p] for p in m.outputs]
        if any(loads[n] or n in port_nets for n in outs):
            continue
        alive[idx] = False
        removed += 1
        for pin in m.inputs + ((m.clock,) if m.clock else ()):
            n = inst.pins[pin]
            loads[n] -= 1
            if loads[n] == 0 and n in driver:
                stack.append(driver[n])
    if not removed:
        return 0
    module.instances = [inst for inst, keep in zip(module.instances, alive) if keep]
    used = sorted(port_nets | {n for inst in module.instances for n in inst.pins.values()})
    remap = {old: new for new, old in enumerate(used)}
    module.net_names = [module.net_names[old] for old in used]
    for inst in module.instances:
        inst.pins = {p: remap[n] for p, n in inst.pins.items()}
    module.ports = [Port(p.name, p.direction, tuple(remap[n] for n in p.nets)) for p in module.ports]
    return removed
