"""Structural gate-level Verilog of a Design.

One Verilog module per Module (children before parents, the top last), ports exactly as the
Module's ports (a 1-bit port is a scalar, wider ports are [w-1:0] buses, LSB = nets[0]), library
cells instantiated with named port connections and no power pins (simulate with the functional
models, iverilog -DFUNCTIONAL). Names come from the IR labels made legal and unique; the output is
a pure function of the Design, so the same design always gives byte-identical text.

Connectivity in the IR is by net id, so a net can sit on several port bits (an input fed through to
an output, one net on two output bits); such extra port bits are tied with `assign`.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import IO

from ..errors import LayoutgenError
from .ir import Design, Module
from .serialize import gc_paused

_SIMPLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_BUS_PIN = re.compile(r"^(.*)\[(\d+)\]$")

# IEEE 1364-2005 reserved words (an identifier equal to one must be escaped)
KEYWORDS = frozenset("""
always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign default
defparam design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive
endspecify endtable endtask event for force forever fork function generate genvar highz0 highz1 if
ifnone incdir include initial inout input instance integer join large liblist library localparam
macromodule medium module nand negedge nmos nor noshowcancelled not notif0 notif1 or output parameter
pmos posedge primitive pull0 pull1 pulldown pullup pulsestyle_onevent pulsestyle_ondetect rcmos real
realtime reg release repeat rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed small
specify specparam strong0 strong1 supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1
triand trior trireg unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor
""".split())


class VerilogError(LayoutgenError):
    """A design that cannot be written as Verilog."""


def verilog_identifier(name: str) -> str:
    """`name` as a legal Verilog identifier: itself if simple, else an escaped identifier."""
    if _SIMPLE.match(name) and name not in KEYWORDS:
        return name
    cleaned = "".join(c if 33 <= ord(c) <= 126 else "_" for c in name) or "_"
    return "\\" + cleaned + " "


def _name_of(ident: str) -> str:
    """The name an identifier denotes: escaped `\\abc ` and simple `abc` are the same identifier."""
    return ident[1:-1] if ident.startswith("\\") else ident


class _Namer:
    """Hands out unique legal identifiers, in call order (hence deterministic)."""

    def __init__(self, reserved: set[str] = frozenset()):
        self.used: set[str] = set(reserved)  # names (escaped identifiers without \\ and the space)

    def take(self, label: str, fallback: str) -> str:
        ident = verilog_identifier(label) if label else fallback
        if _name_of(ident) in self.used:
            base = label if label and _SIMPLE.match(label) else fallback
            k = 1
            while f"{base}_{k}" in self.used:
                k += 1
            ident = f"{base}_{k}"
        self.used.add(_name_of(ident))
        return ident


def module_order(design: Design) -> list[str]:
    """Modules children-first: post-order from the top, then any module the top does not use."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, stack: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise VerilogError(f"module {name} instantiates itself through {' -> '.join(stack)}; hierarchy must be a tree")
        state[name] = 1
        for inst in design.modules[name].instances:
            if inst.master in design.modules:
                visit(inst.master, stack + (inst.master,))
        state[name] = 2
        order.append(name)

    for name in sorted(design.modules):
        if name != design.top:
            visit(name, (name,))
    if design.top not in design.modules:
        raise VerilogError(f"design top {design.top!r} is not one of its modules")
    visit(design.top, (design.top,))
    # keep the top last, the others in dependency order
    order.remove(design.top)
    order.append(design.top)
    return order


def _port_decl(direction: str, ident: str, width: int) -> str:
    return f"  {direction} {ident};" if width == 1 else f"  {direction} [{width - 1}:0] {ident};"


def _bit(ident: str, width: int, i: int) -> str:
    return ident if width == 1 else f"{ident}[{i}]"


def _port_identifiers(mod: Module) -> tuple[_Namer, list[str]]:
    names = _Namer()
    return names, [names.take(p.name, f"p{i}") for i, p in enumerate(mod.ports)]


def _split_pins(inst_pins: dict[str, int]) -> dict[str, dict[int, int]]:
    """Hierarchical pins 'port[bit]' (or 'port' for bit 0) grouped by port."""
    by_port: dict[str, dict[int, int]] = {}
    for pin, net in inst_pins.items():
        m = _BUS_PIN.match(pin)
        base, bit = (m.group(1), int(m.group(2))) if m else (pin, 0)
        by_port.setdefault(base, {})[bit] = net
    return by_port


def _write_module(design: Design, mod: Module, mod_idents: dict[str, str], out: list[str]) -> None:
    lib = design.library
    names, port_idents = _port_identifiers(mod)
    expr: list[str | None] = [None] * mod.n_nets
    aliases: list[tuple[str, int]] = []
    # inputs first: an input bit is its net's canonical name; outputs reuse it via assign
    for kind in ("input", "output"):
        for port, ident in zip(mod.ports, port_idents):
            if port.direction != kind:
                continue
            for i, net in enumerate(port.nets):
                if not 0 <= net < mod.n_nets:
                    raise VerilogError(f"module {mod.name}: port {port.name} bit {i} uses net {net}, which does not exist")
                bit = _bit(ident, port.width, i)
                if expr[net] is None:
                    expr[net] = bit
                else:
                    aliases.append((bit, net))
    wires: list[str] = []
    used_nets = set()
    for inst in mod.instances:
        used_nets.update(inst.pins.values())
    for net in sorted(used_nets):
        if not 0 <= net < mod.n_nets:
            raise VerilogError(f"module {mod.name}: an instance uses net {net}, which does not exist")
        if expr[net] is None:
            expr[net] = names.take(mod.net_names[net], f"n{net}")
            wires.append(expr[net])

    # unconnected output bits of sub-module instances get their own wires
    dangling: dict[tuple[int, str, int], str] = {}
    for k, inst in enumerate(mod.instances):
        if inst.master in design.modules:
            by_port = _split_pins(inst.pins)
            for port in design.modules[inst.master].ports:
                if port.direction == "output":
                    for i in range(port.width):
                        if i not in by_port.get(port.name, {}):
                            w = names.take(f"{inst.name}_{port.name}_{i}_nc", f"nc{k}_{i}")
                            dangling[(k, port.name, i)] = w
                            wires.append(w)
    inst_names = _Namer(set(names.used))
    inst_idents = [inst_names.take(inst.name, f"u{k}") for k, inst in enumerate(mod.instances)]

    out.append(f"module {mod_idents[mod.name]}({', '.join(port_idents)});")
    for port, ident in zip(mod.ports, port_idents):
        out.append(_port_decl(port.direction, ident, port.width))
    for w in wires:
        out.append(f"  wire {w};")
    for bit, net in aliases:
        out.append(f"  assign {bit} = {expr[net]};")
    for k, inst in enumerate(mod.instances):
        ident = inst_idents[k]
        where = f"{mod.name}/{inst.name}"
        if inst.master in design.modules:
            sub = design.modules[inst.master]
            by_port = _split_pins(inst.pins)
            _, sub_idents = _port_identifiers(sub)
            conns = []
            for port, pident in zip(sub.ports, sub_idents):
                bits = by_port.pop(port.name, {})
                if any(not 0 <= b < port.width for b in bits):
                    raise VerilogError(f"{where}: pin index out of range for port {port.name}[{port.width - 1}:0] of {sub.name}")
                parts = []
                for i in range(port.width - 1, -1, -1):
                    if i in bits:
                        parts.append(expr[bits[i]])
                    elif port.direction == "input":
                        raise VerilogError(f"{where}: input {port.name}[{i}] of {sub.name} is not connected; connect every input bit")
                    else:
                        parts.append(dangling[(k, port.name, i)])
                value = parts[0] if len(parts) == 1 else "{" + ", ".join(parts) + "}"
                conns.append(f".{pident}({value})")
            if by_port:
                raise VerilogError(f"{where}: module {sub.name} has no port {sorted(by_port)[0]}")
            out.append(f"  {mod_idents[sub.name]} {ident} ({', '.join(conns)});")
            continue
        if inst.master not in lib:
            raise VerilogError(f"{where}: master {inst.master} is neither a module nor a {lib.name} cell")
        master = lib[inst.master]
        unknown = sorted(set(inst.pins) - set(master.pins))
        if unknown:
            raise VerilogError(f"{where}: {master.name} has no pin {unknown[0]}")
        conns = [f".{pin}({expr[inst.pins[pin]]})" for pin in master.pins if pin in inst.pins]
        out.append(f"  {master.name} {ident} ({', '.join(conns)});")
    out.append("endmodule")
    out.append("")


def verilog_text(design: Design) -> str:
    order = module_order(design)
    mod_names = _Namer(set(design.library.by_name))
    mod_idents = {name: mod_names.take(name, f"m{i}") for i, name in enumerate(order)}
    out = [
        f"// Structural netlist of {design.top}: {design.library.name} cells, written by layoutgen.",
        "// Simulate with the library's functional models (no power pins).",
        "",
    ]
    for name in order:
        _write_module(design, design.modules[name], mod_idents, out)
    return "\n".join(out)


def write_verilog(design: Design, path_or_stream: str | os.PathLike | IO[str]) -> None:
    """Write the design as structural Verilog to a path (written atomically) or a text stream."""
    with gc_paused():
        text = verilog_text(design)
    if isinstance(path_or_stream, (str, os.PathLike)):
        path = Path(path_or_stream)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="ascii", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    else:
        path_or_stream.write(text)


__all__ = ["VerilogError", "module_order", "verilog_identifier", "verilog_text", "write_verilog"]
