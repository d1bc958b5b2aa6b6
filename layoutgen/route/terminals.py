"""Route terminals: each connected logic pin's access point, and the top-level I/O pins on the die edge."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import LayoutgenError
from ..physical.pinaccess import PinAccess
from ..physical.place import Placement
from ..physical.vias import Shape
from .grid import BLOCKED, RouteGrid


@dataclass(frozen=True)
class Terminal:
    net: int
    i: int  # grid column
    j: int  # grid row of the node the terminal's met2 stub reaches
    y: int  # the pad's y (nm): the stub runs from y to the node
    shapes: tuple[Shape, ...]  # access shapes (mcon/met1/via/met2 pad) in absolute nm
    label: str | None = None  # I/O pin name
    layer: int = 0  # the node's layer: 0 = met2 (logic pins), 1 = met3 (I/O pins on the left/right edge)

    def moved(self, net: int, di: int, dj: int, dx: int, dy: int) -> "Terminal":
        """The terminal as net `net`, its node di columns and dj rows over, its shapes (dx, dy) nm over."""
        return Terminal(net, self.i + di, self.j + dj, self.y + dy, tuple(s.moved(dx, dy) for s in self.shapes),
                        self.label, self.layer)


@dataclass(frozen=True)
class IoPin:
    name: str
    net: int
    j: int  # met3 row
    edge: str  # "left" (inputs) or "right" (outputs)


def net_names(placement: Placement) -> dict[int, str]:
    names = {}
    for port, nets in placement.cells.inputs + placement.cells.outputs:
        for k, n in enumerate(nets):
            names[int(n)] = port if len(nets) == 1 else f"{port}[{k}]"
    return names


class Obstacles:
    """Boxes of one layer (e.g. power via-stack pads) with a coarse bucket index for spacing queries."""

    BUCKET = 8000

    def __init__(self, boxes, spacing: int):
        self.spacing = spacing
        self.buckets: dict[tuple[int, int], list] = {}
        for b in boxes:
            for bx in range((b[0] - spacing) // self.BUCKET, (b[2] + spacing) // self.BUCKET + 1):
                for by in range((b[1] - spacing) // self.BUCKET, (b[3] + spacing) // self.BUCKET + 1):
                    self.buckets.setdefault((bx, by), []).append(b)

    def near(self, box) -> bool:
        s = self.spacing
        seen = set()
        for bx in range((box[0] - s) // self.BUCKET, (box[2] + s) // self.BUCKET + 1):
            for by in range((box[1] - s) // self.BUCKET, (box[3] + s) // self.BUCKET + 1):
                for b in self.buckets.get((bx, by), ()):
                    if b in seen:
                        continue
                    seen.add(b)
                    if box[0] - s < b[2] and b[0] < box[2] + s and box[1] - s < b[3] and b[1] < box[3] + s:
                        return True
        return False


def logic_terminals(placement: Placement, access: PinAccess, grid: RouteGrid,
                    met2_obstacles: Obstacles | None = None, skip: np.ndarray | None = None) -> list[Terminal]:
    """One terminal per logic pin whose net has at least one other connection.

    Access points whose met2 pad would come too close to an obstacle (a power via stack), or whose
    stub cannot reach a free met3 row, are avoided by choosing other points for that cell.
    skip: logic cells whose terminals come from elsewhere (macro members: their macro chose them).
    """
    cells = placement.cells
    pin_cell = cells.pin_cell
    degree = np.bincount(cells.pin_net, minlength=cells.n_nets)
    for _, nets in cells.inputs + cells.outputs:
        degree[list(nets)] += 1
    out: list[Terminal] = []
    chosen_cache: dict[tuple[str, bool], dict] = {}
    cur_cell, cur_chosen = -1, {}
    claimed: dict[tuple[int, int], int] = {}  # stub node -> net

    def node_row(cx: int, cy: int, ap, net: int) -> int | None:
        i = grid.col(cx + ap.x)
        y = cy + ap.y
        j = grid.nearest_row(y)
        if not (0 <= j < grid.ny) or grid.n2[i, j] == BLOCKED or claimed.get((i, j), net) != net:
            return None
        # the stub node needs a sure way out: up to met3 (neighbouring pins may fill its met2 column)
        if grid.n3[i, j] == BLOCKED:
            return None
        return j

    def bad_at(cx: int, cy: int, nets: dict):
        def bad(ap) -> bool:
            if node_row(cx, cy, ap, nets.get(ap.pin, -1)) is None:
                return True
            if met2_obstacles is None:
                return False
            return any(met2_obstacles.near((sh.box[0] + cx, sh.box[1] + cy, sh.box[2] + cx, sh.box[3] + cy))
                       for sh in ap.shapes if sh.layer == "met2")
        return bad

    for p in range(len(cells.pin_net)):
        net = int(cells.pin_net[p])
        if degree[net] < 2:
            continue
        c = int(pin_cell[p])
        if skip is not None and skip[c]:
            continue
        master = placement.masters[int(placement.master_of[c])]
        mirrored = bool(placement.mirrored[c])
        cx, cy = int(placement.x[c]), int(placement.y[c])
        if c != cur_cell:  # pins of one cell are contiguous
            key = (master, mirrored)
            if key not in chosen_cache:
                chosen_cache[key] = access.choose(master, mirrored)
            chosen = chosen_cache[key]
            lo, hi = int(cells.pin_start[c]), int(cells.pin_start[c + 1])
            nets = {cells.pin_name[q]: int(cells.pin_net[q]) for q in range(lo, hi)}
            bad = bad_at(cx, cy, nets)
            if any(bad(ap) for ap in chosen.values()):
                try:
                    chosen = access.choose(master, mirrored, usable=lambda ap: not bad(ap))
                except LayoutgenError:
                    raise LayoutgenError(
                        f"cell {cells.names[c]} ({master}) at ({cx}, {cy}) nm has no usable pin access next to "
                        "the power grid; lower --utilization or move the straps"
                    ) from None
            cur_cell, cur_chosen = c, chosen
        ap = cur_chosen.get(cells.pin_name[p])
        if ap is None:
            raise LayoutgenError(f"pin {cells.names[c]}/{cells.pin_name[p]} of {master} has no access point")
        y = cy + ap.y
        i, j = grid.col(cx + ap.x), node_row(cx, cy, ap, net)
        claimed[(i, j)] = net
        out.append(Terminal(net, i, j, y, ap.moved(cx, cy)))
    return out


def io_pins(placement: Placement, grid: RouteGrid) -> list[IoPin]:
    """Input ports on the left edge, outputs on the right edge (met3), spread evenly over the rows in
    port and bit order: where global placement anchors them (layoutgen.physical.globalplace)."""
    cells = placement.cells
    pins: list[IoPin] = []
    for edge, ports in (("left", cells.inputs), ("right", cells.outputs)):
        bits = [(port if len(nets) == 1 else f"{port}[{k}]", int(n)) for port, nets in ports for k, n in enumerate(nets)]
        usable = grid.ny - 4
        if len(bits) > usable:
            raise LayoutgenError(
                f"{len(bits)} {edge} I/O pins do not fit {usable} met3 tracks of the die edge; "
                "lower --utilization or widen the die"
            )
        step = usable / max(len(bits), 1)
        for k, (name, net) in enumerate(bits):
            pins.append(IoPin(name, net, 2 + int(k * step + step / 2), edge))
    return pins


def block_cell_met1(grid: RouteGrid, placement: Placement, terminals: list[Terminal], access: PinAccess,
                    tech) -> None:
    """met1 routing stays clear of every cell's own met1 and of the pin pads."""
    kinds = placement.master_of.astype(np.int64) * 2 + placement.mirrored.astype(np.int64)
    for kind in np.unique(kinds):  # one (master, orientation) at a time: its boxes at every placement
        cells = np.flatnonzero(kinds == kind)
        template = np.asarray(access.met1_boxes(placement.masters[int(kind) // 2], bool(kind % 2)), np.int64)
        if not len(template):
            continue
        at = np.stack((placement.x[cells], placement.y[cells]), axis=1).astype(np.int64)
        grid.block_boxes("met1", (template.reshape(1, -1, 4) + np.tile(at, 2).reshape(-1, 1, 4)).reshape(-1, 4), tech)
    grid.block_boxes("met1", np.array([s.box for t in terminals for s in t.shapes if s.layer == "met1"],
                                      np.int64).reshape(-1, 4), tech)
