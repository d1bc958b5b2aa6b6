"""Rigid blocks in row placement: a macro instance (layoutgen.physical.macros) is a box of whole rows
and sites whose cells keep their places inside it.

Global placement sees each block as one cell (its pins: one per net it touches outside itself, its
width its area in sites); blocks are then legalized first, each on the free even row and site nearest
its target (even rows keep the macro's R0 / MX row order), and the standard cells fill the row
segments the blocks leave free, each segment packed with its own taps like a row of its own.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .flat import FlatCells
from .rows import pack_row, spill_over, tap_reserve


@dataclass(frozen=True)
class Block:
    """A group of logic cells placed as one box: `rows` x `sites`, first row even."""

    name: str  # instance name (the extras are named after it)
    cell: str  # the layout cell stamped here (the macro's GDS cell)
    rows: int
    sites: int
    members: np.ndarray  # flat logic cell indices
    member_row: np.ndarray  # row and site of each member inside the box
    member_site: np.ndarray
    extras: tuple[tuple[str, int, int, int, str], ...] = ()  # (master, kind, row, site, name): taps, fill


@dataclass(frozen=True)
class PlacedBlock:
    name: str
    cell: str
    row: int
    site: int
    rows: int
    sites: int

    def box_nm(self, core: tuple[int, int, int, int], site_nm: int, row_nm: int) -> tuple[int, int, int, int]:
        x, y = core[0] + self.site * site_nm, core[1] + self.row * row_nm
        return (x, y, x + self.sites * site_nm, y + self.rows * row_nm)


def clustered_cells(cells: FlatCells, blocks: list[Block], block_pins: bool = True) -> tuple[FlatCells, np.ndarray]:
    """The cells as global placement sees them: every standard cell (in order), then one cell per block.

    A block keeps one pin per net it shares with the outside (an output pin if one of its members
    drives the net); nets wholly inside a block are left out. Returns the cells and the standard
    cells' flat indices."""
    n = cells.n_cells
    member = np.full(n, -1, np.int64)
    for b, blk in enumerate(blocks):
        member[blk.members] = b
    std = np.flatnonzero(member < 0)
    new_id = np.empty(n, np.int64)
    new_id[std] = np.arange(len(std))
    inb = member >= 0
    new_id[inb] = len(std) + member[inb]
    pc, pn, po = new_id[cells.pin_cell], cells.pin_net, cells.pin_output
    is_blk = pc >= len(std)
    # block pins: one per (block, net), driving if any member pin drives
    key = pc[is_blk] * cells.n_nets + pn[is_blk]
    uniq, inv = np.unique(key, return_inverse=True)
    drives = np.zeros(len(uniq), bool)
    np.logical_or.at(drives, inv, po[is_blk])
    b_cell, b_net = uniq // cells.n_nets, uniq % cells.n_nets
    # a net is inside a block when all its pins (and no port) are that block's
    deg = np.bincount(pn, minlength=cells.n_nets)
    for _, nets in cells.inputs + cells.outputs:
        deg[list(nets)] += 1
    in_blk = np.bincount(inv, minlength=len(uniq))
    keep = (in_blk < deg[b_net]) & block_pins  # without pins: a fixed block, its nets anchored instead
    cell_all = np.r_[pc[~is_blk], b_cell[keep]]
    net_all = np.r_[pn[~is_blk], b_net[keep]]
    out_all = np.r_[po[~is_blk], drives[keep]]
    order = np.argsort(cell_all, kind="stable")
    n_new = len(std) + len(blocks)
    start = np.zeros(n_new + 1, np.int64)
    np.cumsum(np.bincount(cell_all, minlength=n_new), out=start[1:])
    rank = np.r_[cells.netlist_rank[std], [int(cells.netlist_rank[b.members].min()) for b in blocks]]
    masters = tuple(cells.masters) + tuple(dict.fromkeys(b.cell for b in blocks))
    mid = {m: k for k, m in enumerate(masters)}
    master_of = np.r_[cells.master_of[std], np.array([mid[b.cell] for b in blocks], np.int32)].astype(np.int32)
    out = FlatCells(
        names=tuple(cells.names[i] for i in std.tolist()) + tuple(b.name for b in blocks),
        masters=masters, master_of=master_of, pin_start=start, pin_net=net_all[order],
        pin_name=("",) * len(order), pin_output=out_all[order], n_nets=cells.n_nets,
        netlist_rank=rank.astype(np.int64), inputs=cells.inputs, outputs=cells.outputs,
    )
    return out, std


def place_blocks(blocks: list[Block], row: np.ndarray, site: np.ndarray, n_rows: int, row_sites: int,
                 site_nm: int, row_nm: int) -> tuple[np.ndarray, np.ndarray] | None:
    """First row and site of every block: the free position on an even row nearest its global placement
    target (row, site: the block's row and left site there, the block counted as one row of its area).
    Largest blocks first. None when some block finds no room."""
    occ = np.zeros((n_rows, row_sites), np.int64)
    r_out = np.zeros(len(blocks), np.int64)
    s_out = np.zeros(len(blocks), np.int64)
    order = sorted(range(len(blocks)), key=lambda b: (-blocks[b].rows * blocks[b].sites, b))
    for b in order:
        h, w = blocks[b].rows, blocks[b].sites
        if h > n_rows or w > row_sites:
            return None
        cx = site[b] + h * w / 2.0  # centre of the block's stand-in
        tr, ts = row[b] + 0.5 - h / 2.0, cx - w / 2.0
        s2 = np.zeros((n_rows + 1, row_sites + 1), np.int64)
        s2[1:, 1:] = occ.cumsum(0).cumsum(1)
        rs = np.arange(0, n_rows - h + 1, 2)
        ss = np.arange(0, row_sites - w + 1)
        if not len(rs) or not len(ss):
            return None
        area = s2[rs + h][:, ss + w] - s2[rs][:, ss + w] - s2[rs + h][:, ss] + s2[rs][:, ss]
        cost = np.abs(rs - tr)[:, None] * row_nm + np.abs(ss - ts)[None, :] * site_nm
        cost = np.where(area == 0, cost, np.inf)
        k = int(np.argmin(cost))
        if not np.isfinite(cost.flat[k]):
            return None
        r0, s0 = int(rs[k // len(ss)]), int(ss[k % len(ss)])
        occ[r0:r0 + h, s0:s0 + w] = 1
        r_out[b], s_out[b] = r0, s0
    return r_out, s_out


def blocked_sites(placed: list[PlacedBlock], n_rows: int, row_sites: int) -> np.ndarray:
    occ = np.zeros((n_rows, row_sites), bool)
    for p in placed:
        occ[p.row:p.row + p.rows, p.site:p.site + p.sites] = True
    return occ


def segments(blocked_row: np.ndarray) -> list[tuple[int, int]]:
    """Free runs [a, b) of one row."""
    free = np.r_[False, ~blocked_row, False].astype(np.int8)
    d = np.diff(free)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def legalize_in_segments(row: np.ndarray, site: np.ndarray, w: np.ndarray, blocked: np.ndarray, pitch: int,
                         maxw: int):
    """As place._legalize, with the rows cut into the free segments around the blocks: per row, (cell
    indices left to right, their sites, tap sites); None if the cells do not fit."""
    R, W = blocked.shape
    segs = []  # (row, a, b) in row-major order
    for r in range(R):
        segs += [(r, a, b) for a, b in segments(blocked[r])]
    if not segs:
        return None
    seg_row = np.array([s[0] for s in segs])
    seg_a = np.array([s[1] for s in segs])
    seg_b = np.array([s[2] for s in segs])
    cap = np.array([(b - a) - 1 - tap_reserve(b - a, pitch, maxw) for _, a, b in segs])
    # each cell to the segment of its row that is nearest its target
    centre = site + w / 2.0
    first = np.searchsorted(seg_row, row, side="left")
    last = np.searchsorted(seg_row, row, side="right")
    assign = np.empty(len(row), np.int64)
    for c in range(len(row)):
        lo, hi = int(first[c]), int(last[c])
        if lo == hi:  # the whole row is blocked: the nearest segment of a later row
            assign[c] = min(lo, len(segs) - 1)
            continue
        d = np.maximum(seg_a[lo:hi] - centre[c], 0) + np.maximum(centre[c] - seg_b[lo:hi], 0)
        assign[c] = lo + int(np.argmin(d))
    members = [[] for _ in segs]
    order = np.lexsort((np.arange(len(row)), site, assign))
    for c in order.tolist():
        members[assign[c]].append(c)
    members = spill_over(members, cap, w)
    if members is None:
        return None
    rows = [[[], [], []] for _ in range(R)]
    for s, (r, a, b) in enumerate(segs):
        cur = sorted(members[s], key=lambda i: (site[i], i))
        idx = np.asarray(cur, dtype=np.int64)
        tg = (np.round(site[idx]).astype(np.int64) - a) if len(idx) else np.zeros(0, np.int64)
        res = pack_row(w[idx], tg, b - a, pitch)
        if res is None:
            return None
        xs, taps = res
        rows[r][0].append(idx)
        rows[r][1].append(xs + a)
        rows[r][2].extend(int(t) + a for t in taps)
    return [(np.concatenate(i) if i else np.zeros(0, np.int64), np.concatenate(x) if x else np.zeros(0, np.int64), t)
            for i, x, t in rows]
