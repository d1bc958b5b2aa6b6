"""The routing grid: met2 tracks (columns, vertical wires) x met3 tracks (rows, horizontal wires),
met4 (vertical) on every second met2 column (met4 pitch 0.92 um = 2 x met2 pitch), and met1
(horizontal) on the met3 rows wherever the cells, rails and pin pads leave it free.

Node (i, j) sits at x = x0 + i * met2 pitch, y = y0 + j * met3 pitch. Each layer keeps an owner per
node (a net id, FREE or BLOCKED) and per edge to the next node along its direction. The spacing rules
that the pitches alone do not guarantee are encoded as usage rules (checked on real sky130 cells and
the official deck; design notes, DESIGN.md section 4):
- met3 nodes of different nets may not be neighbours on one row (via2 landing pads 460 nm apart
  violate the 0.3 um met3 spacing), so a node is usable only if its row neighbours are not another's;
- a met2 edge that runs past another net's pin pad is that net's (pads sit between met3 rows).
Obstacles (power via stacks, pads) are blocked by geometry: every node or edge whose wire or pad
would come closer than the layer spacing to an obstacle shape.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..pdk.tech import Tech

FREE = -1
BLOCKED = -2


@njit(cache=True)
def _fill_blocked(owners, i0, i1, j0, j1):
    for k in range(len(i0)):
        owners[i0[k]:i1[k], j0[k]:j1[k]] = BLOCKED


@dataclass
class RouteGrid:
    x0: int
    y0: int
    nx: int
    ny: int
    px: int  # met2 pitch (column step)
    py: int  # met3 pitch (row step)
    # owners: met2 nodes/edges (edges along y), met3 nodes/edges (edges along x)
    n2: np.ndarray
    e2: np.ndarray
    n3: np.ndarray
    e3: np.ndarray
    n4: np.ndarray  # met4 nodes: BLOCKED on odd columns
    e4: np.ndarray
    n1: np.ndarray  # met1 nodes (via1 down from met2) and edges along x
    e1: np.ndarray

    @classmethod
    def covering(cls, tech: Tech, box: tuple[int, int, int, int], origin: tuple[int, int]) -> "RouteGrid":
        """Grid over `box` whose tracks pass through the track origin `origin` (column 0 / row 0 offsets)."""
        m2, m3 = tech.routing["met2"], tech.routing["met3"]
        px, py = m2.track_pitch_nm, m3.track_pitch_nm
        ox, oy = origin
        margin_x = (m2.width_nm // 2 + m2.spacing_nm)
        margin_y = (m3.width_nm // 2 + m3.spacing_nm)
        i_lo = (ox - box[0] - margin_x) // px
        j_lo = (oy - box[1] - margin_y) // py
        x0 = ox - i_lo * px
        y0 = oy - j_lo * py
        nx = (box[2] - margin_x - x0) // px + 1
        ny = (box[3] - margin_y - y0) // py + 1
        return cls.empty(int(x0), int(y0), int(nx), int(ny), px, py)

    @classmethod
    def empty(cls, x0: int, y0: int, nx: int, ny: int, px: int, py: int) -> "RouteGrid":
        """nx x ny free nodes from (x0, y0) (met4 on even columns only)."""
        n4 = np.full((nx, ny), FREE, np.int32)
        n4[1::2] = BLOCKED
        return cls(
            x0, y0, int(nx), int(ny), px, py,
            np.full((nx, ny), FREE, np.int32), np.full((nx, max(ny - 1, 0)), FREE, np.int32),
            np.full((nx, ny), FREE, np.int32), np.full((max(nx - 1, 0), ny), FREE, np.int32),
            n4, np.full((nx, max(ny - 1, 0)), FREE, np.int32),
            np.full((nx, ny), FREE, np.int32), np.full((max(nx - 1, 0), ny), FREE, np.int32),
        )

    def x(self, i) -> int:
        return self.x0 + i * self.px

    def y(self, j) -> int:
        return self.y0 + j * self.py

    def col(self, x: int) -> int:
        i, r = divmod(x - self.x0, self.px)
        if r:
            raise ValueError(f"x = {x} nm is not on a met2 track")
        return int(i)

    def nearest_row(self, y: int) -> int:
        return int(round((y - self.y0) / self.py))

    # --- blocking by geometry -------------------------------------------------------------
    def block_box(self, layer: str, box, tech: Tech) -> None:
        """Block nodes/edges of `layer` that would come within spacing of an obstacle `box`."""
        self.block_boxes(layer, np.asarray([box], np.int64), tech)

    def block_boxes(self, layer: str, boxes: np.ndarray, tech: Tech) -> None:
        """block_box for every row (x0, y0, x1, y1) of `boxes`, at once."""
        boxes = np.asarray(boxes, np.int64).reshape(-1, 4)
        if not len(boxes):
            return
        x0, y0, x1, y1 = boxes.T
        if layer in ("met2", "met4"):
            r = tech.routing[layer]
            pad = tech.vias["via2"].bottom_pad_nm if layer == "met2" else tech.vias["via3"].top_pad_nm
            nodes, edges = (self.n2, self.e2) if layer == "met2" else (self.n4, self.e4)
            hx, hy = max(r.width_nm, pad[0]) // 2, pad[1] // 2  # (x, y) half sizes of the via landing pad
            s = r.spacing_nm
            self._fill(nodes, self._span(x0 - s - hx, x1 + s + hx, self.x0, self.px, self.nx),
                       self._span(y0 - s - hy, y1 + s + hy, self.y0, self.py, self.ny))
            # edges: the wire (half width) runs between nodes
            hw = r.width_nm // 2
            self._fill(edges, self._span(x0 - s - hw, x1 + s + hw, self.x0, self.px, self.nx),
                       self._span(y0 - s - self.py, y1 + s, self.y0, self.py, self.ny - 1))
        elif layer in ("met1", "met3"):
            r = tech.routing[layer]
            if layer == "met3":
                pads = (tech.vias["via2"].top_pad_nm, tech.vias["via3"].bottom_pad_nm)
                nodes, edges = self.n3, self.e3
            else:
                pads = (tech.vias["via"].bottom_pad_nm,)
                nodes, edges = self.n1, self.e1
            hx = max(p[0] for p in pads) // 2
            hy = max([r.width_nm] + [p[1] for p in pads]) // 2
            s = r.spacing_nm
            self._fill(nodes, self._span(x0 - s - hx, x1 + s + hx, self.x0, self.px, self.nx),
                       self._span(y0 - s - hy, y1 + s + hy, self.y0, self.py, self.ny))
            # met1 wires are drawn as tall as the via1 pad (route.shapes): no notches at the pads
            hw = r.width_nm // 2 if layer == "met3" else hy
            self._fill(edges, self._span(x0 - s - self.px, x1 + s, self.x0, self.px, self.nx - 1),
                       self._span(y0 - s - hw, y1 + s + hw, self.y0, self.py, self.ny))

    @staticmethod
    def _fill(owners: np.ndarray, i: tuple[np.ndarray, np.ndarray], j: tuple[np.ndarray, np.ndarray]) -> None:
        _fill_blocked(owners, i[0], i[1], j[0], j[1])

    @staticmethod
    def _span(lo: np.ndarray, hi: np.ndarray, origin: int, pitch: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Index ranges [k0, k1) with lo < origin + k * pitch < hi (strict: touching at spacing is legal)."""
        k0 = (lo - origin) // pitch + 1
        k1 = -((origin - hi) // pitch)  # ceil((hi - origin) / pitch)
        return np.maximum(k0, 0), np.minimum(np.maximum(k1, 0), n)
