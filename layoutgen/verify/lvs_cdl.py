"""The netlist IR as a SPICE/CDL reference for device-level LVS with a transistor-level deck.

One .SUBCKT per Module (ports LSB first, then VPWR VGND), one X line per instance with the cell's
pins in the order of its own CDL .SUBCKT line, body pins on their rails (VPB -> VPWR, VNB -> VGND),
and an .include of each cell's CDL. `cell_cdl(cell)` gives the CDL file of a cell (for example the
cell netlists that come with the LVS deck, whose device names the deck expects). `rail_cells` adds
physical cells that only touch the rails (the decaps of a placement: they hold transistors that a
device-level deck extracts) to the top circuit.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Sequence

from ..errors import LayoutgenError
from ..netlist.ir import Design, Module
from .lvs_reference import GROUND_NET, POWER_NET, port_bit_names, rail_of

_SUBCKT = re.compile(r"^\s*\.subckt\s+(\S+)\s+(.*)$", re.IGNORECASE)


def cdl_pin_order(path: Path, cell: str) -> list[str]:
    lines = Path(path).read_text().splitlines()
    for k, line in enumerate(lines):
        m = _SUBCKT.match(line)
        if m and m.group(1) == cell:
            pins = m.group(2).split()
            for cont in lines[k + 1:]:  # "+" continuation lines
                if not cont.startswith("+"):
                    break
                pins += cont[1:].split()
            return pins
    raise LayoutgenError(f"{path} has no .SUBCKT {cell}; pass the CDL folder of the same cell library")


def _spice_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\[\]<>.$#]", "_", name)


def design_to_cdl(design: Design, cell_cdl: Callable[[str], Path], rail_cells: Sequence[tuple[str, str]] = ()) -> str:
    """rail_cells: (instance name, cell name) of rail-only physical cells placed in the top module."""
    lib = design.library
    cells = sorted({i.master for m in design.modules.values() for i in m.instances if i.master not in design.modules}
                   | {cell for _name, cell in rail_cells})
    orders = {}
    out = []
    for cell in cells:
        path = cell_cdl(cell)
        orders[cell] = cdl_pin_order(path, cell)
        out.append(f".include {os.fspath(path)}")
    for name in _post_order(design):
        lines = _module_cdl(design.modules[name], design, orders, lib)
        if name == design.top:
            rails = {"VPWR": POWER_NET, "VPB": POWER_NET, "VGND": GROUND_NET, "VNB": GROUND_NET}
            for inst, cell in rail_cells:
                pins = orders[cell]
                if any(pin not in rails for pin in pins):
                    raise LayoutgenError(f"{cell} has pins other than the rails ({' '.join(pins)}); it is not a rail-only cell")
                lines.insert(-1, f"X{_spice_name(inst)} {' '.join(rails[pin] for pin in pins)} {cell}")
        out += lines
    return "\n".join(out) + "\n"


def write_reference_cdl(design: Design, path, cell_cdl: Callable[[str], Path],
                        rail_cells: Sequence[tuple[str, str]] = ()) -> Path:
    path = Path(path)
    text = design_to_cdl(design, cell_cdl, rail_cells)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def _post_order(design: Design) -> list[str]:
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for inst in design.modules[name].instances:
            if inst.master in design.modules:
                visit(inst.master)
        order.append(name)

    visit(design.top)
    return order


def _module_cdl(mod: Module, design: Design, orders: dict, lib) -> list[str]:
    names = list(mod.net_names)
    for port in mod.ports:
        for bit_name, net in zip(port_bit_names(port), port.nets):
            names[net] = bit_name
    names = [_spice_name(n) for n in names]
    ports = [_spice_name(b) for p in mod.ports for b in port_bit_names(p)] + [POWER_NET, GROUND_NET]
    lines = [f".SUBCKT {mod.name} {' '.join(ports)}"]
    for inst in mod.instances:
        if inst.master in design.modules:
            sub = design.modules[inst.master]
            conns = []
            for port in sub.ports:
                for i in range(port.width):
                    n = inst.pins.get(f"{port.name}[{i}]", inst.pins.get(port.name) if port.width == 1 else None)
                    conns.append(names[n])
            conns += [POWER_NET, GROUND_NET]
        else:
            conns = []
            for pin in orders[inst.master]:
                rail = rail_of(lib, pin)
                conns.append(rail if rail is not None else names[inst.pins[pin]])
        lines.append(f"X{_spice_name(inst.name)} {' '.join(conns)} {inst.master}")
    lines.append(f".ENDS {mod.name}")
    return lines
