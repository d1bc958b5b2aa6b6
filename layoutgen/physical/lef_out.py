"""LEF abstract of a whole layout, so it can be used as a hard macro (OpenLane / LibreLane, OpenROAD).

One MACRO of CLASS BLOCK: SIZE is the die, one PIN per I/O port bit and per power net (named as the
Verilog ports: clk, x[3], y[0], VPWR, VGND) whose PORT rectangles are the pin shapes drawn in the
layout, and OBS: deliberately coarse, the whole die on every layer the layout routes on (li1 to met4),
minus each pin shape grown by the layer's spacing so the pins stay reachable. The parent design thus
routes over the macro on met5 only and connects its power grid to the met4 straps, as with OpenLane's
own macros. Units: DATABASE MICRONS 1000 (1 nm).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import gdstk
import klayout.db as kdb

from ..errors import LayoutgenError
from ..pdk.core import Pdk
from ..pdk.tech import Tech

OBS_LAYERS = ("li1", "met1", "met2", "met3", "met4")
DIRECTIONS = {"input": "INPUT", "output": "OUTPUT", "inout": "INOUT"}
USES = ("SIGNAL", "POWER", "GROUND", "CLOCK")
Box = tuple[int, int, int, int]


class LefWriteError(LayoutgenError):
    """A LEF abstract that cannot be written (unknown pin, pin without shape, bad geometry)."""


@dataclass(frozen=True)
class PinSpec:
    name: str  # port bit name as in the Verilog: clk, x[3], VPWR
    direction: str  # INPUT / OUTPUT / INOUT
    use: str  # SIGNAL / POWER / GROUND / CLOCK
    rects: tuple[tuple[str, Box], ...]  # (LEF layer name, box in nm, die coordinates)


def _um(v: int) -> str:
    """nm -> micron text with 3 decimals (exact: the layout is on a 1 nm grid)."""
    sign = "-" if v < 0 else ""
    v = abs(int(v))
    return f"{sign}{v // 1000}.{v % 1000:03d}"


def lef_text(top: str, die: Box, pins: list[PinSpec], obstructions: list[tuple[str, Box]]) -> str:
    """The LEF text of MACRO `top`; coordinates are taken relative to the die's lower-left corner."""
    x0, y0, x1, y1 = die
    if x1 <= x0 or y1 <= y0:
        raise LefWriteError(f"LEF {top}: die box {die} is empty")
    seen: set[str] = set()
    for p in pins:
        if p.name in seen:
            raise LefWriteError(f"LEF {top}: pin {p.name} listed twice; merge its shapes into one PinSpec")
        seen.add(p.name)
        if p.direction not in DIRECTIONS.values() or p.use not in USES:
            raise LefWriteError(f"LEF {top}: pin {p.name} has direction {p.direction!r} / use {p.use!r}; "
                                f"use one of {sorted(DIRECTIONS.values())} / {list(USES)}")
        if not p.rects:
            raise LefWriteError(f"LEF {top}: pin {p.name} has no shape; draw its pin shape in the layout first")

    def rect(box: Box) -> str:
        bx0, by0, bx1, by1 = box
        if not (x0 <= bx0 < bx1 <= x1 and y0 <= by0 < by1 <= y1):
            raise LefWriteError(f"LEF {top}: rectangle {box} is empty or outside the die {die}")
        return f"RECT {_um(bx0 - x0)} {_um(by0 - y0)} {_um(bx1 - x0)} {_um(by1 - y0)} ;"

    def by_layer(rects) -> list[str]:
        out, layer = [], None
        for lay, box in sorted(rects, key=lambda r: (r[0], r[1])):
            if lay != layer:
                out.append(f"      LAYER {lay} ;")
                layer = lay
            out.append(f"        {rect(box)}")
        return out

    lines = [
        "VERSION 5.8 ;",
        'BUSBITCHARS "[]" ;',
        'DIVIDERCHAR "/" ;',
        "UNITS",
        "  DATABASE MICRONS 1000 ;",
        "END UNITS",
        "",
        f"MACRO {top}",
        "  CLASS BLOCK ;",
        f"  FOREIGN {top} ;",
        "  ORIGIN 0.000 0.000 ;",
        f"  SIZE {_um(x1 - x0)} BY {_um(y1 - y0)} ;",
    ]
    for p in pins:
        lines += [f"  PIN {p.name}", f"    DIRECTION {p.direction} ;", f"    USE {p.use} ;"]
        lines.append("    PORT")
        lines += by_layer(p.rects)
        lines += ["    END", f"  END {p.name}"]
    if obstructions:
        lines.append("  OBS")
        lines += [ln[2:] for ln in by_layer(obstructions)]
        lines.append("  END")
    lines += [f"END {top}", "", "END LIBRARY", ""]
    return "\n".join(lines)


def write_lef(path: str | Path, top: str, die: Box, pins: list[PinSpec],
              obstructions: list[tuple[str, Box]]) -> Path:
    """Write the LEF abstract atomically (a temporary file renamed into place)."""
    text = lef_text(top, die, pins, obstructions)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LefWriteError(f"cannot write {path}: {exc.strerror}; check the directory exists and is writable") from None
    return path


# ---------------------------------------------------------------------------------------------
# from a written layout


def _port_bits(ports: dict[str, tuple[str, int]]) -> dict[str, str]:
    """Port name -> (direction, width) to bit name -> direction ("x" of width 3 -> x[0..2])."""
    out = {}
    for name, (direction, width) in ports.items():
        if direction not in DIRECTIONS:
            raise LefWriteError(f"port {name}: direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
        for k in range(width):
            out[name if width == 1 else f"{name}[{k}]"] = DIRECTIONS[direction]
    return out


def layout_pins(cell: gdstk.Cell, pdk: Pdk, ports: dict[str, tuple[str, int]],
                clock: str | None = None) -> list[PinSpec]:
    """Pins of the top cell of a layout: every pin-purpose shape on a routing layer, named by the
    label of that layer inside it. `ports` maps each Verilog port to (direction, width); labels of
    the library's power pins (VPWR, VGND: pdk.library.power_pins) become POWER / GROUND pins.
    Every port bit must have a shape; pins come out in port order, then power pins."""
    tech = pdk.tech
    bits = _port_bits(ports)
    power = {n: ("POWER" if kind == "power" else "GROUND") for n, kind in pdk.library.power_pins.items()}
    layers = [name for name in tech.routing if tech.layers[name].pin and tech.layers[name].label]
    shapes: dict[str, list[tuple[str, Box]]] = {}
    for name in layers:
        pl, pd = tech.gds(name, "pin")
        ll, lt = tech.gds(name, "label")
        labels = [(lb.text, round(lb.origin[0] * 1000), round(lb.origin[1] * 1000))
                  for lb in cell.labels if lb.layer == ll and lb.texttype == lt]
        for poly in cell.polygons:
            if poly.layer != pl or poly.datatype != pd:
                continue
            (bx0, by0), (bx1, by1) = poly.bounding_box()
            box = (round(bx0 * 1000), round(by0 * 1000), round(bx1 * 1000), round(by1 * 1000))
            inside = sorted({t for t, x, y in labels if box[0] <= x <= box[2] and box[1] <= y <= box[3]})
            if len(inside) > 1:
                raise LefWriteError(f"pin shape {box} on {name} carries several labels ({', '.join(inside)})")
            if inside:
                shapes.setdefault(inside[0], []).append((name, box))
    unknown = sorted(set(shapes) - set(bits) - set(power))
    if unknown:
        raise LefWriteError(f"layout pin {unknown[0]} is neither a port of the design nor a power net "
                            f"({len(unknown)} such); check the labels")
    missing = [b for b in bits if b not in shapes]
    if missing:
        raise LefWriteError(f"port bit {missing[0]} has no pin shape in cell {cell.name} ({len(missing)} such); "
                            "the layout must draw every I/O pin")
    out = [PinSpec(b, d, "CLOCK" if clock and b == clock else "SIGNAL", tuple(shapes[b])) for b, d in bits.items()]
    out += [PinSpec(n, "INOUT", power[n], tuple(shapes[n])) for n in power if n in shapes]
    return out


def coarse_obstructions(die: Box, pins: list[PinSpec], tech: Tech, layers: tuple[str, ...] = OBS_LAYERS
                        ) -> list[tuple[str, Box]]:
    """The die on each layer minus every pin shape of that layer grown by the layer's spacing (so a
    router can reach the pin), as non-overlapping rectangles."""
    out: list[tuple[str, Box]] = []
    for layer in layers:
        region = kdb.Region(kdb.Box(*die))
        space = tech.routing[layer].spacing_nm
        holes = kdb.Region()
        for p in pins:
            for lay, (bx0, by0, bx1, by1) in p.rects:
                if lay == layer:
                    holes.insert(kdb.Box(bx0 - space, by0 - space, bx1 + space, by1 + space))
        region -= holes
        for poly in _rectangles(region):
            out.append((layer, poly))
    return out


def _rectangles(region: kdb.Region) -> list[Box]:
    """A Manhattan region as rectangles (horizontal slabs), in a fixed order."""
    rects = []
    for poly in region.merged().each():
        for part in poly.decompose_trapezoids(kdb.Polygon.TD_htrapezoids):
            b = part.bbox()
            if part.area() == b.area():
                rects.append((b.left, b.bottom, b.right, b.top))
            else:
                raise LefWriteError(f"obstruction piece {part} is not a rectangle (non-Manhattan pin shape?)")
    return sorted(rects)
