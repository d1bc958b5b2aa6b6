"""Generated via cells: stacks of cut arrays between two metals, named by their parameters.

A cell is a pure function of its parameters; its name spells them out, so identical stacks share one
GDS cell however many times they are placed (and the same input always gives the same names).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import LayoutgenError
from ..pdk.tech import Tech

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Shape:
    layer: str  # PDK layer name
    box: Box
    purpose: str = "drawing"

    def moved(self, dx: int, dy: int) -> "Shape":
        return Shape(self.layer, (self.box[0] + dx, self.box[1] + dy, self.box[2] + dx, self.box[3] + dy), self.purpose)


@dataclass(frozen=True)
class GenCell:
    """A generated cell: its deterministic name and its shapes (origin at the stack's centre)."""

    name: str
    shapes: tuple[Shape, ...]


def _snap_down(v: int, grid: int) -> int:
    return (v // grid) * grid


def cut_array(tech: Tech, via: str, w: int, h: int, h_top: int | None = None) -> list[Box]:
    """Cuts of `via` centred in a w x h bottom pad and a w x h_top top pad (default h), as many as
    the enclosure and spacing rules allow."""
    v = tech.vias[via]
    h_top = h if h_top is None else h_top
    step = v.cut_nm + v.spacing_nm
    # enclosure rules: `all` on every side, `opposite` on two opposite sides (taken along the longer side)
    n = {}
    for axis in ("x", "y"):
        counts = []
        for size_x, size_y, enc in ((w, h, v.bottom_enclosure_nm), (w, h_top, v.top_enclosure_nm)):
            long_x = size_x >= size_y
            e = max(enc) if (axis == "x") == long_x else enc[0]
            size = size_x if axis == "x" else size_y
            counts.append((size - 2 * e + v.spacing_nm) // step)
        n[axis] = min(counts)
    nx, ny = n["x"], n["y"]
    if nx < 1 or ny < 1:
        raise LayoutgenError(f"a {w} x {min(h, h_top)} nm pad cannot hold a {via} cut with its enclosure")
    grid = tech.grid_nm
    span_x = nx * v.cut_nm + (nx - 1) * v.spacing_nm
    span_y = ny * v.cut_nm + (ny - 1) * v.spacing_nm
    x0 = _snap_down(-span_x // 2, grid)
    y0 = _snap_down(-span_y // 2, grid)
    return [(x0 + i * step, y0 + j * step, x0 + i * step + v.cut_nm, y0 + j * step + v.cut_nm)
            for j in range(ny) for i in range(nx)]


def via_stack(tech: Tech, bottom: str, top: str, w: int, h: int) -> GenCell:
    """Pads of w x h nm on every metal from `bottom` to `top` with full cut arrays between them."""
    if w % (2 * tech.grid_nm) or h % (2 * tech.grid_nm):
        raise LayoutgenError(f"via stack {w} x {h} nm: sides must be multiples of {2 * tech.grid_nm} nm")
    metals = [r.name for r in tech.routing.values()]
    if bottom not in metals or top not in metals or metals.index(bottom) >= metals.index(top):
        raise LayoutgenError(f"no via stack from {bottom} up to {top}")
    chain = metals[metals.index(bottom): metals.index(top) + 1]
    vias = [tech.via_between(lo, hi) for lo, hi in zip(chain, chain[1:])]
    # the end pads are w x h; a pad in between is only as tall as its vias need (one row of cuts),
    # so that it keeps clear of whatever the router puts next to the stack
    grid2 = 2 * tech.grid_nm
    heights = [h]
    for k in range(1, len(chain) - 1):
        below, above = vias[k - 1], vias[k]
        need = max(below.cut_nm + 2 * below.top_enclosure_nm[0], above.cut_nm + 2 * above.bottom_enclosure_nm[0])
        heights.append(min(h, -(-need // grid2) * grid2))
    heights.append(h)
    shapes = [Shape(m, (-w // 2, -hh // 2, w // 2, hh // 2)) for m, hh in zip(chain, heights)]
    for k, via in enumerate(vias):
        shapes += [Shape(via.cut, b) for b in cut_array(tech, via.name, w, heights[k], heights[k + 1])]
    return GenCell(f"lg_stack_{bottom}_{top}_{w}x{h}", tuple(shapes))
