"""Hierarchical GDSII / OASIS writer.

Every standard cell's GDS is read once and referenced by each instance; generated cells (via stacks)
are written once under their parameter-derived names; the top cell holds references, straps, pins
and labels. The library timestamp is fixed and cells are emitted in a fixed order, so the same input
always gives the same bytes. The file is written next to its destination and renamed into place, so
a failed run never leaves a complete-looking file behind.
"""
from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import gdstk
import numpy as np

from ..errors import LayoutgenError
from ..pdk.core import Pdk
from ..pdk.views import locate_cell_views
from .place import Placement
from .power import PowerGrid
from .vias import GenCell, Shape

FIXED_TIMESTAMP = datetime.datetime(2000, 1, 1, 0, 0, 0)
FORMATS = ("gds", "oas")


class CellSource:
    """sc_hd cell layouts, each GDS file read at most once (one per cell, or one per library)."""

    def __init__(self, library: str, pdk_root: str | Path | None):
        self.views = locate_cell_views(library, pdk_root)
        self._files: dict[Path, dict[str, gdstk.Cell]] = {}

    def cell(self, name: str) -> gdstk.Cell:
        path = self.views.gds(name)
        cells = self._files.get(path)
        if cells is None:
            lib = gdstk.read_gds(str(path), unit=1e-6, filter=None)
            if abs(lib.precision - 1e-9) > 1e-15:
                raise LayoutgenError(f"{path}: database unit {lib.precision} m, expected 1 nm")
            cells = {c.name: c for c in lib.cells}
            self._files[path] = cells
        if name not in cells:
            raise LayoutgenError(f"{path} has no cell {name}")
        return cells[name]


@dataclass
class LayoutCells:
    """Generated cells of one layout, deduplicated by name (same name = same parameters = same shapes)."""

    pdk: Pdk
    cells: dict[str, gdstk.Cell] = field(default_factory=dict)

    def get(self, gen: GenCell) -> gdstk.Cell:
        cell = self.cells.get(gen.name)
        if cell is None:
            cell = gdstk.Cell(gen.name)
            add_shapes(cell, self.pdk, gen.shapes)
            self.cells[gen.name] = cell
        return cell


def add_shapes(cell: gdstk.Cell, pdk: Pdk, shapes) -> None:
    tech = pdk.tech
    for s in shapes:
        layer, dtype = tech.gds(s.layer, s.purpose)
        x0, y0, x1, y1 = s.box
        cell.add(gdstk.rectangle((x0 * 1e-3, y0 * 1e-3), (x1 * 1e-3, y1 * 1e-3), layer=layer, datatype=dtype))


def add_label(cell: gdstk.Cell, pdk: Pdk, text: str, layer: str, x: int, y: int) -> None:
    lay, tt = pdk.tech.gds(layer, "label")
    cell.add(gdstk.Label(text, (x * 1e-3, y * 1e-3), layer=lay, texttype=tt))


def _add_cells(cell: gdstk.Cell, placement: Placement, std: dict[str, gdstk.Cell], keep=None,
               dx: int = 0, dy: int = 0) -> None:
    """References to the placed standard cells (entries where `keep` is True), moved by (dx, dy) nm."""
    h = placement.row_nm
    idx = np.arange(len(placement.names)) if keep is None else np.flatnonzero(keep)
    for k in idx.tolist():
        ref = std[placement.masters[int(placement.master_of[k])]]
        x, y = (int(placement.x[k]) + dx) * 1e-3, int(placement.y[k]) + dy
        if placement.mirrored[k]:
            cell.add(gdstk.Reference(ref, (x, (y + h) * 1e-3), x_reflection=True))
        else:
            cell.add(gdstk.Reference(ref, (x, y * 1e-3)))


def add_standard_cells(lib: gdstk.Library, std: Mapping[str, gdstk.Cell]) -> set[str]:
    """Add the standard cells and their sub-cells to `lib` in a fixed order (by name); their names."""
    seen: set[str] = set()
    for c in sorted(std.values(), key=lambda c: c.name):
        for dep in sorted(c.dependencies(True), key=lambda d: d.name) + [c]:
            if dep.name not in seen:
                seen.add(dep.name)
                lib.add(dep)
    return seen


def build_library(placement: Placement, pdk: Pdk, *, pdk_root: str | Path | None = None,
                  power: PowerGrid | None = None, extra_shapes: tuple[Shape, ...] = (),
                  extra_refs: tuple[tuple[GenCell, int, int], ...] = (),
                  labels: tuple[tuple[str, str, int, int], ...] = (),
                  macros: Mapping[str, tuple[Placement, tuple[Shape, ...]]] | None = None) -> gdstk.Library:
    """A gdstk library whose top cell is `placement.top` (units: 1 um, database unit 1 nm).

    macros: layout cell name -> (its placement, its wires) for the macro instances of
    `placement.blocks`: each becomes one cell, referenced by every instance."""
    source = CellSource(pdk.library.name, pdk_root)
    generated = LayoutCells(pdk)
    lib = gdstk.Library(placement.top, unit=1e-6, precision=1e-9)
    top = gdstk.Cell(placement.top)
    macros = dict(macros or {})
    std: dict[str, gdstk.Cell] = {}
    for name in sorted(set(placement.masters).union(*(set(p.masters) for p, _ in macros.values()))):
        c = source.cell(name)
        if c.name == placement.top or c.name in macros:
            raise LayoutgenError(f"cell name {c.name} of the design clashes with a library cell; rename the design")
        std[name] = c
    _add_cells(top, placement, std, ~placement.in_block())
    macro_cells = {}
    for name in sorted({b.cell for b in placement.blocks}):
        if name not in macros:
            raise LayoutgenError(f"no layout given for macro {name}")
        sub, shapes = macros[name]
        cell = gdstk.Cell(name)
        _add_cells(cell, sub, std)
        add_shapes(cell, pdk, shapes)
        macro_cells[name] = cell
    for b in placement.blocks:
        x0, y0, _, _ = b.box_nm(placement.core, placement.site_nm, placement.row_nm)
        top.add(gdstk.Reference(macro_cells[b.cell], (x0 * 1e-3, y0 * 1e-3)))
    if power is not None:
        add_shapes(top, pdk, power.shapes)
        stack = generated.get(power.stack)
        for cx, cy in power.stack_refs:
            top.add(gdstk.Reference(stack, (cx * 1e-3, cy * 1e-3)))
        for text, layer, lx, ly in power.labels:
            add_label(top, pdk, text, layer, lx, ly)
    add_shapes(top, pdk, extra_shapes)
    for text, layer, lx, ly in labels:
        add_label(top, pdk, text, layer, lx, ly)
    for gen, rx, ry in extra_refs:
        top.add(gdstk.Reference(generated.get(gen), (rx * 1e-3, ry * 1e-3)))
    x0, y0, x1, y1 = placement.die
    add_shapes(top, pdk, (Shape("prbndry", (x0, y0, x1, y1), "boundary"),))
    # fixed order: standard cells (with their own sub-cells) by name, generated cells by name, top last
    seen = add_standard_cells(lib, std)
    for name in sorted(generated.cells):
        if name in seen:
            raise LayoutgenError(f"generated cell {name} clashes with a library cell")
        lib.add(generated.cells[name])
    for name in sorted(macro_cells):
        if name in seen or name in generated.cells:
            raise LayoutgenError(f"macro cell {name} clashes with another cell of the layout")
        lib.add(macro_cells[name])
    lib.add(top)
    return lib


def write_library(lib: gdstk.Library, path: str | Path, fmt: str = "gds") -> Path:
    """Write `lib` as GDSII or OASIS atomically (temporary file, then rename)."""
    if fmt not in FORMATS:
        raise LayoutgenError(f"unknown layout format '{fmt}': choose one of {', '.join(FORMATS)}")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        if fmt == "gds":
            lib.write_gds(str(tmp), timestamp=FIXED_TIMESTAMP)
        else:
            lib.write_oas(str(tmp), compression_level=6, detect_rectangles=True, detect_trapezoids=True,
                          standard_properties=False, validation=None)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LayoutgenError(f"cannot write {path}: {exc.strerror}; check the directory exists and is writable") from None
    return path


def write_layout(placement: Placement, pdk: Pdk, path: str | Path, *, fmt: str = "gds",
                 pdk_root: str | Path | None = None, power: PowerGrid | None = None) -> Path:
    """Write the placed (and powered) layout of `placement` to `path` as GDSII or OASIS."""
    if fmt not in FORMATS:
        raise LayoutgenError(f"unknown layout format '{fmt}': choose one of {', '.join(FORMATS)}")
    return write_library(build_library(placement, pdk, pdk_root=pdk_root, power=power), path, fmt)
