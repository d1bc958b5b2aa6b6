"""The routing grid: met2 tracks (vertical, one per site column) crossed by met3 tracks (horizontal),
both anchored at the core's lower-left corner, and what blocks them.

Node n = layer * (NJ * NI) + j * NI + i for layer 0 (met2) / 1 (met3), column i, row j. A met2 node
moves along its column (j +- 1), a met3 node along its row (i +- 1), and a via2 joins the two layers.
Every geometry rule of the router reduces to node rules here:
- a via2 may sit on any free node (its pads fit between neighbouring tracks of both layers);
- met3 pads of different nets on neighbouring nodes of a row would be closer than the met3 spacing,
  so a met3 node used by one net keeps its row neighbours from other nets (see maze.py);
- shapes that are already there (power via stacks) block every node and edge whose wire or via pad,
  grown by the spacing, would touch them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...pdk.tech import Tech
from ..place import Placement

MET2, MET3 = 0, 1
LAYERS = ("met2", "met3")


@dataclass(frozen=True)
class WireRules:
    """Widths and pads of the router's wires, from the PDK's rules (nm)."""

    m2_width: int
    m3_width: int  # also the met3 via2 pad: one-edge segments then meet the met3 minimum area
    m2_space: int
    m3_space: int
    via2_cut: int
    via2_m2_pad: tuple[int, int]  # x, y
    via2_m3_pad: tuple[int, int]

    @classmethod
    def from_tech(cls, tech: Tech) -> "WireRules":
        m2, m3 = tech.routing["met2"], tech.routing["met3"]
        v2 = tech.via_between("met2", "met3")
        m3_pad = v2.cut_nm + 2 * v2.top_enclosure_nm[0]
        return cls(m2.width_nm, max(m3.width_nm, m3_pad), m2.spacing_nm, m3.spacing_nm, v2.cut_nm,
                   (v2.cut_nm + 2 * v2.bottom_enclosure_nm[0], v2.cut_nm + 2 * v2.bottom_enclosure_nm[1]),
                   (m3_pad, m3_pad))


@dataclass
class Grid:
    ni: int
    nj: int
    x0: int  # x of column 0
    y0: int  # y of row 0
    dx: int  # met2 pitch
    dy: int  # met3 pitch
    rules: WireRules
    blocked: np.ndarray  # (2 * nj * ni,) bool: no net may use the node
    blocked_edge: np.ndarray  # (2 * nj * ni,) bool: the edge from node n to its +1 neighbour (j+1 on met2, i+1 on met3)

    @property
    def n_nodes(self) -> int:
        return 2 * self.ni * self.nj

    def node(self, layer: int, i: int, j: int) -> int:
        return layer * self.ni * self.nj + j * self.ni + i

    def unpack(self, n: int) -> tuple[int, int, int]:
        layer, rest = divmod(n, self.ni * self.nj)
        j, i = divmod(rest, self.ni)
        return layer, i, j

    def xy(self, i: int, j: int) -> tuple[int, int]:
        return self.x0 + i * self.dx, self.y0 + j * self.dy


def make_grid(placement: Placement, tech: Tech) -> Grid:
    m2, m3 = tech.routing["met2"], tech.routing["met3"]
    x0c, y0c, x1c, y1c = placement.core
    x0 = x0c + m2.track_offset_nm
    y0 = y0c + m3.track_offset_nm
    ni = (x1c - x0) // m2.track_pitch_nm + 1
    nj = (y1c - y0) // m3.track_pitch_nm + 1
    n = 2 * ni * nj
    return Grid(ni, nj, x0, y0, m2.track_pitch_nm, m3.track_pitch_nm, WireRules.from_tech(tech),
                np.zeros(n, dtype=bool), np.zeros(n, dtype=bool))


def block_boxes(grid: Grid, layer: int, boxes: list[tuple[int, int, int, int]]) -> None:
    """Block nodes and edges of `layer` whose shapes, grown by the layer's spacing, touch a box."""
    r = grid.rules
    if layer == MET2:
        half_w, pad, space = r.m2_width // 2, r.via2_m2_pad, r.m2_space
    else:
        half_w, pad, space = r.m3_width // 2, r.via2_m3_pad, r.m3_space
    xs = grid.x0 + np.arange(grid.ni) * grid.dx
    ys = grid.y0 + np.arange(grid.nj) * grid.dy
    base = layer * grid.ni * grid.nj
    for bx0, by0, bx1, by1 in boxes:
        # nodes: the via pad around the node
        ci = np.flatnonzero((xs + pad[0] // 2 + space > bx0) & (xs - pad[0] // 2 - space < bx1))
        cj = np.flatnonzero((ys + pad[1] // 2 + space > by0) & (ys - pad[1] // 2 - space < by1))
        if len(ci) and len(cj):
            grid.blocked[base + (cj[:, None] * grid.ni + ci[None, :]).ravel()] = True
        # edges: the wire from a node to its next node along the layer's direction
        if layer == MET2:
            ei = np.flatnonzero((xs + half_w + space > bx0) & (xs - half_w - space < bx1))
            ej = np.flatnonzero((ys + grid.dy + space > by0) & (ys - space < by1) & (np.arange(grid.nj) < grid.nj - 1))
        else:
            ei = np.flatnonzero((xs + grid.dx + space > bx0) & (xs - space < bx1) & (np.arange(grid.ni) < grid.ni - 1))
            ej = np.flatnonzero((ys + half_w + space > by0) & (ys - half_w - space < by1))
        if len(ei) and len(ej):
            grid.blocked_edge[base + (ej[:, None] * grid.ni + ei[None, :]).ravel()] = True
