"""Routes as layout shapes: met1..met4 wires, via1..via3 with their pads, pin stubs and I/O pins."""
from __future__ import annotations

from ..gcpause import gc_paused
from ..pdk.tech import Tech
from ..physical.vias import Shape
from .grid import RouteGrid
from .router import M1, M2, M3, M4, RouteResult, stacked_vias
from .terminals import IoPin


def _runs(edges: list[tuple[int, int]]):
    """Merge unit edges (track, k) -> runs (track, k0, k1) covering k0..k1 nodes."""
    runs = []
    for track, k in sorted(edges):
        if runs and runs[-1][0] == track and runs[-1][2] == k:
            runs[-1][2] = k + 1
        else:
            runs.append([track, k, k + 1])
    return runs


def drawn_half_widths(tech: Tech) -> dict[int, int]:
    """Half the drawn width of each routing layer's wires (nm). met1 wires are as tall as the via1
    landing pad (the grid blocks met1 for that height) and met3 wires as wide as the via2 landing pad:
    no notches where a pad meets its wire."""
    r, v = tech.routing, tech.vias
    return {
        M1: max(r["met1"].width_nm, v["via"].bottom_pad_nm[1]) // 2,
        M2: r["met2"].width_nm // 2,
        M3: max(r["met3"].width_nm, v["via2"].top_pad_nm[1]) // 2,
        M4: r["met4"].width_nm // 2,
    }


def route_shapes(result: RouteResult, tech: Tech) -> list[Shape]:
    """Every routed net's wires, vias and pads. Millions of small acyclic shapes: the cyclic collector
    rests meanwhile (digits: 3.6 s of collections, mostly rescans of the older ones)."""
    with gc_paused():
        return _route_shapes(result, tech)


def _route_shapes(result: RouteResult, tech: Tech) -> list[Shape]:
    g = result.grid
    widths = drawn_half_widths(tech)
    m1w, m2w, m3w, m4w = widths[M1], widths[M2], widths[M3], widths[M4]
    via1, via2, via3 = tech.vias["via"], tech.vias["via2"], tech.vias["via3"]
    c1 = via1.cut_nm // 2
    b1 = (via1.bottom_pad_nm[0] // 2, via1.bottom_pad_nm[1] // 2)
    t2 = (via1.top_pad_nm[0] // 2, via1.top_pad_nm[1] // 2)
    c2, c3 = via2.cut_nm // 2, via3.cut_nm // 2
    b2 = (via2.bottom_pad_nm[0] // 2, via2.bottom_pad_nm[1] // 2)
    t3 = (via2.top_pad_nm[0] // 2, via2.top_pad_nm[1] // 2)
    b3 = (via3.bottom_pad_nm[0] // 2, via3.bottom_pad_nm[1] // 2)
    t4 = (via3.top_pad_nm[0] // 2, via3.top_pad_nm[1] // 2)
    # a met3 node with vias but no met3 wire (a via2 + via3 stack) is stretched along its row to the
    # met3 minimum area; the row neighbours are never another net's, so the stretch stays clear
    grid_nm = tech.grid_nm
    m3_min_len = -(-tech.routing["met3"].min_area_nm2 // (2 * m3w) // grid_nm) * grid_nm
    shapes: list[Shape] = []
    for net in sorted(result.routes):
        r = result.routes[net]
        e2 = [(i, j) for layer, i, j in r.edges if layer == M2]
        e3 = [(j, i) for layer, i, j in r.edges if layer == M3]
        e4 = [(i, j) for layer, i, j in r.edges if layer == M4]
        e1 = [(j, i) for layer, i, j in r.edges if layer == M1]
        for j, i0, i1 in _runs(e1):
            y = g.y(j)
            shapes.append(Shape("met1", (g.x(i0), y - m1w, g.x(i1), y + m1w)))
        for i, j in sorted(r.vias1):
            x, y = g.x(i), g.y(j)
            shapes.append(Shape("via", (x - c1, y - c1, x + c1, y + c1)))
            shapes.append(Shape("met1", (x - b1[0], y - b1[1], x + b1[0], y + b1[1])))
            shapes.append(Shape("met2", (x - t2[0], y - t2[1], x + t2[0], y + t2[1])))
        for i, j0, j1 in _runs(e2):
            x = g.x(i)
            shapes.append(Shape("met2", (x - m2w, g.y(j0), x + m2w, g.y(j1))))
        for j, i0, i1 in _runs(e3):
            y = g.y(j)
            shapes.append(Shape("met3", (g.x(i0), y - m3w, g.x(i1), y + m3w)))
        for i, j0, j1 in _runs(e4):
            x = g.x(i)
            shapes.append(Shape("met4", (x - m4w, g.y(j0), x + m4w, g.y(j1))))
        for i, j in sorted(r.vias):
            x, y = g.x(i), g.y(j)
            shapes.append(Shape("via2", (x - c2, y - c2, x + c2, y + c2)))
            shapes.append(Shape("met2", (x - b2[0], y - b2[1], x + b2[0], y + b2[1])))
            shapes.append(Shape("met3", (x - t3[0], y - t3[1], x + t3[0], y + t3[1])))
        for i, j in sorted(r.vias3):
            x, y = g.x(i), g.y(j)
            shapes.append(Shape("via3", (x - c3, y - c3, x + c3, y + c3)))
            shapes.append(Shape("met3", (x - b3[0], y - b3[1], x + b3[0], y + b3[1])))
            shapes.append(Shape("met4", (x - t4[0], y - t4[1], x + t4[0], y + t4[1])))
        for i, j in sorted(stacked_vias(r)):
            x, y = g.x(i), g.y(j)
            half = max(b3[0], t3[0])
            extra = m3_min_len - 2 * half
            if extra <= 0:
                continue
            # both row neighbours are free of other nets and obstacles (the router puts via3 only where
            # they are clear of obstacles) and no other net's stack is two columns away (a conflict the
            # router negotiates away), so a centred stretch keeps met3 spacing to both sides
            box = (x - half - extra // 2, y - m3w, x + half + extra - extra // 2, y + m3w)
            shapes.append(Shape("met3", box))
    for t in sorted(result.terminals, key=lambda t: (t.net, t.i, t.j, t.y)):
        if t.net not in result.routes:
            continue
        shapes.extend(t.shapes)
        x, ny = g.x(t.i), g.y(t.j)
        if t.y != ny:
            shapes.append(Shape("met2", (x - m2w, min(t.y, ny), x + m2w, max(t.y, ny))))
    return shapes


def io_shapes(pins: list[IoPin], grid: RouteGrid, die: tuple[int, int, int, int], tech: Tech):
    """Met3 from each I/O pin's node to the die edge (drawing + pin purpose) and its label position."""
    half = drawn_half_widths(tech)[M3]  # as wide as the wires
    shapes, labels = [], []
    for p in pins:
        y = grid.y(p.j)
        if p.edge == "left":
            box = (die[0], y - half, grid.x(0), y + half)
        else:
            box = (grid.x(grid.nx - 1), y - half, die[2], y + half)
        shapes.append(Shape("met3", box))
        shapes.append(Shape("met3", box, "pin"))
        labels.append((p.name, "met3", (box[0] + box[2]) // 2, y))
    return shapes, labels
