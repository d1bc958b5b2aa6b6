"""The netlist IR as a klayout.db.Netlist: the "schematic" side of LVS.

One circuit per leaf cell master holding pins only (a black box), one circuit per Module whose
subcircuits are its instances. Power is not part of the IR: every circuit gets global VPWR/VGND
nets and pins, and a cell's body pins are folded into their rail (VPB -> VPWR, VNB -> VGND)
because the layout abstracts carry no body-pin shapes.
"""
from __future__ import annotations

import klayout.db as kdb

from ..errors import LayoutgenError
from ..netlist.ir import Design, Module, Port

POWER_NET = "VPWR"
GROUND_NET = "VGND"


def port_bit_names(port: Port) -> list[str]:
    """The names the layout labels use for a port's bits: `p` for one bit, `p[i]` otherwise."""
    if port.width == 1:
        return [port.name]
    return [f"{port.name}[{i}]" for i in range(port.width)]


def rail_of(library, pin: str) -> str | None:
    """VPWR/VGND for a cell's power, ground and body pins; None for a signal pin."""
    kind = library.power_pins.get(pin)
    if kind is None:
        return None
    return POWER_NET if kind == "power" else GROUND_NET


def leaf_pins(library, cell: str) -> list[str]:
    return list(library[cell].pins) + [POWER_NET, GROUND_NET]


def design_to_netlist(design: Design) -> kdb.Netlist:
    nl = kdb.Netlist()
    nl.case_sensitive = True
    used = _used_modules(design)
    leaf_masters = sorted({i.master for m in used for i in design.modules[m].instances
                           if i.master not in design.modules})
    for cell in leaf_masters:
        if cell not in design.library:
            raise LayoutgenError(f"netlist uses cell {cell}, which the {design.library.name} library does not define")
        circ = kdb.Circuit()
        circ.name = cell
        nl.add(circ)
        for pin in leaf_pins(design.library, cell):
            net = circ.create_net(pin)
            circ.connect_pin(circ.create_pin(pin), net)
    # children before parents so that subcircuits can refer to existing circuits
    for name in used:
        _add_module(nl, design, design.modules[name])
    return nl


def _used_modules(design: Design) -> list[str]:
    """Modules reachable from the top, leaves first (post-order)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str, stack: tuple[str, ...]) -> None:
        if name in stack:
            raise LayoutgenError(f"netlist hierarchy has a cycle through module {name}")
        if name in seen:
            return
        for inst in design.modules[name].instances:
            if inst.master in design.modules:
                visit(inst.master, stack + (name,))
        seen.add(name)
        order.append(name)

    if design.top not in design.modules:
        raise LayoutgenError(f"netlist top module {design.top} is not defined")
    visit(design.top, ())
    return order


def _module_pin_names(mod: Module) -> list[tuple[str, int | None]]:
    pins: list[tuple[str, int | None]] = []
    for port in mod.ports:
        pins += list(zip(port_bit_names(port), port.nets))
    return pins + [(POWER_NET, None), (GROUND_NET, None)]


def _add_module(nl: kdb.Netlist, design: Design, mod: Module) -> None:
    circ = kdb.Circuit()
    circ.name = mod.name
    nl.add(circ)
    names = list(mod.net_names)
    for port in mod.ports:  # port nets are named after the port bits, as the layout labels are
        for bit_name, net in zip(port_bit_names(port), port.nets):
            names[net] = bit_name
    # IR names are labels only and may repeat; the comparison needs one name per net
    port_net_ids = {n for p in mod.ports for n in p.nets}
    taken = {names[n] for n in port_net_ids} | {POWER_NET, GROUND_NET}
    for i, name in enumerate(names):
        if i in port_net_ids:
            continue
        if name in taken:
            name = f"{name}#{i}"
        names[i] = name
        taken.add(name)
    nets = [None] * mod.n_nets

    def net(i: int) -> kdb.Net:
        if nets[i] is None:
            nets[i] = circ.create_net(names[i])
        return nets[i]

    rails = {r: circ.create_net(r) for r in (POWER_NET, GROUND_NET)}
    for pin_name, n in _module_pin_names(mod):
        pin = circ.create_pin(pin_name)
        circ.connect_pin(pin, net(n) if n is not None else rails[pin_name])
    for inst in mod.instances:
        master = nl.circuit_by_name(inst.master)
        sub = circ.create_subcircuit(master, inst.name)
        if inst.master in design.modules:
            pin_nets = _hier_pin_nets(design.modules[inst.master], inst, mod)
        else:
            pin_nets = dict(inst.pins)
        for pin_name, n in pin_nets.items():
            pin = master.pin_by_name(pin_name)
            if pin is None:
                raise LayoutgenError(f"{mod.name}/{inst.name}: {inst.master} has no pin {pin_name}")
            sub.connect_pin(pin, net(n))
        for r, rnet in rails.items():
            sub.connect_pin(master.pin_by_name(r), rnet)


def _hier_pin_nets(sub: Module, inst, parent: Module) -> dict[str, int]:
    """Instance pins of a sub-module named `p[i]` (or `p` for one bit) -> parent net."""
    out: dict[str, int] = {}
    for port in sub.ports:
        for i, bit_name in enumerate(port_bit_names(port)):
            key = f"{port.name}[{i}]"
            n = inst.pins.get(key, inst.pins.get(port.name) if port.width == 1 else None)
            if n is not None:
                out[bit_name] = n
    unknown = {p.split("[")[0] for p in inst.pins} - {p.name for p in sub.ports}
    if unknown:
        raise LayoutgenError(f"{parent.name}/{inst.name}: {sub.name} has no port {sorted(unknown)[0]}")
    return out
