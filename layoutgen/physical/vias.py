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


@dataclass(frozen=True)
class GenCell:
    """A generated cell: its deterministic name and its shapes (origin at the stack's centre)."""

    name: str
    shapes: tuple[Shape, ...]


def _snap_down(v: int, grid: int) -> int:
    return (v // grid) * grid


def cut_array(tech: Tech, via: str, w: int, h: int) -> list[Box]:
    """Cuts of `via` centred in a w x h pad pair, as many as the enclosure and spacing rules allow."""
    v = tech.vias[via]
    # enclosure rules: `all` on every side, `opposite` on two opposite sides (taken along the longer side)
    enc_all = max(v.bottom_enclosure_nm[0], v.top_enclosure_nm[0])
    enc_opp = max(v.bottom_enclosure_nm[1], v.top_enclosure_nm[1], enc_all)
    enc_x, enc_y = (enc_opp, enc_all) if w >= h else (enc_all, enc_opp)
    step = v.cut_nm + v.spacing_nm
    nx = (w - 2 * enc_x + v.spacing_nm) // step
    ny = (h - 2 * enc_y + v.spacing_nm) // step
    if nx < 1 or ny < 1:
        raise LayoutgenError(f"a {w} x {h} nm pad cannot hold a {via} cut with {enc_x}/{enc_y} nm enclosure")
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
    pad = (-w // 2, -h // 2, w // 2, h // 2)
    shapes = [Shape(m, pad) for m in chain]
    for lo, hi in zip(chain, chain[1:]):
        via = tech.via_between(lo, hi)
        shapes += [Shape(via.cut, b) for b in cut_array(tech, via.name, w, h)]
    return GenCell(f"lg_stack_{bottom}_{top}_{w}x{h}", tuple(shapes))
