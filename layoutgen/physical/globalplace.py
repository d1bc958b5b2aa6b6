"""Global placement: where each logic cell wants to be, before rows and sites exist.

1. Dataflow levels: longest path from the inputs (flip-flops included, so a pipeline unrolls left to
   right and each register sits just after the logic that feeds it).
2. Quadratic wire length: every net is a star around its driver (a 2-pin net exactly, larger nets
   approximately); input ports are fixed on the left edge and output ports on the right edge in bit
   order; a weak pull towards the level's column keeps the dataflow order. Solved with conjugate
   gradients on a sparse system (near-linear in the number of pins).
3. Spreading: recursive bisection by position into equal-capacity regions (SimPL-style), then a few
   rounds of re-solving with pseudo-nets that pull cells towards their spread positions.
4. Routability: when a track supply is given, cells in bins whose estimated wire demand exceeds the
   target share of the tracks are inflated and spread again (layoutgen.physical.congestion), so
   wire-heavy regions get more room.
Nets with more than `max_fanout` pins (clock, constants) are left out: they say nothing about locality.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .congestion import TrackSupply, demand_ratio, inflation
from .flat import FlatCells


TARGET_WEIGHT = 0.05


@dataclass(frozen=True)
class Region:
    """Placement area in sites (columns) x rows."""

    n_rows: int
    row_sites: int
    site_nm: int
    row_nm: int
    # the widest cell that spreading must balance (0: the widest of all); macros stand in as one cell
    # of their area and would otherwise make every region look too narrow to cut across
    max_cell_sites: int = 0
    # (n_rows, row_sites) True where a fixed block sits: spreading counts only the free sites
    blocked: np.ndarray | None = field(default=None, compare=False, repr=False)

    def free_sites(self) -> np.ndarray | None:
        """Summed-area table of the free sites ((n_rows + 1) x (row_sites + 1)), None without blocks."""
        if self.blocked is None:
            return None
        table = np.zeros((self.n_rows + 1, self.row_sites + 1), np.int64)
        table[1:, 1:] = (~self.blocked).cumsum(0).cumsum(1)
        return table

    @property
    def width_nm(self) -> int:
        return self.row_sites * self.site_nm

    @property
    def height_nm(self) -> int:
        return self.n_rows * self.row_nm


def dataflow_levels(cells: FlatCells) -> np.ndarray:
    """Longest-path level of each cell from the primary inputs; cells in loops go after all others."""
    n = cells.n_cells
    pin_cell = cells.pin_cell
    driver = np.full(cells.n_nets, -1, dtype=np.int64)
    driver[cells.pin_net[cells.pin_output]] = pin_cell[cells.pin_output]
    sink = ~cells.pin_output
    src = driver[cells.pin_net[sink]]
    dst = pin_cell[sink]
    keep = (src >= 0) & (src != dst)
    src, dst = src[keep], dst[keep]
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    start = np.searchsorted(src, np.arange(n + 1))
    indeg = np.bincount(dst, minlength=n)
    level = np.full(n, -1, dtype=np.int64)
    frontier = np.flatnonzero(indeg == 0)
    lev = 0
    while len(frontier):
        level[frontier] = lev
        counts = start[frontier + 1] - start[frontier]
        if counts.sum() == 0:
            break
        idx = np.repeat(start[frontier] - np.cumsum(np.r_[0, counts[:-1]]), counts) + np.arange(counts.sum())
        # per level work proportional to the edges leaving the frontier (deep netlists stay linear)
        sinks = dst[idx]
        np.subtract.at(indeg, sinks, 1)
        touched = np.unique(sinks)
        frontier = touched[indeg[touched] == 0]
        lev += 1
    loose = level < 0
    if loose.any():
        level[loose] = level.max() + 1
    return level


def _star_edges(cells: FlatCells, anchors: dict[int, tuple[float, float]], max_fanout: int):
    """(cell a, cell b, weight) springs and (cell, x, y, weight) anchor springs of the star net model."""
    pin_cell = cells.pin_cell
    net = cells.pin_net
    size = np.bincount(net, minlength=cells.n_nets)
    driver = np.full(cells.n_nets, -1, dtype=np.int64)
    driver[net[cells.pin_output]] = pin_cell[cells.pin_output]
    sink = ~cells.pin_output & (size[net] <= max_fanout)
    s_net = net[sink]
    s_cell = pin_cell[sink]
    d = driver[s_net]
    w = 1.0 / np.maximum(size[s_net] - 1, 1)
    internal = (d >= 0) & (d != s_cell)
    springs = (d[internal], s_cell[internal], w[internal])
    # nets driven by an input port: the sink is tied to the port's fixed position
    ax, ay, aw, ac = [], [], [], []
    port_driven = d < 0
    for c, nid, wt in zip(s_cell[port_driven].tolist(), s_net[port_driven].tolist(), w[port_driven].tolist()):
        if nid in anchors:
            ac.append(c); ax.append(anchors[nid][0]); ay.append(anchors[nid][1]); aw.append(wt)
    # nets that leave through an output port: the driver is tied to the port
    out_pins = np.flatnonzero(cells.pin_output)
    for p in out_pins.tolist():
        nid = int(net[p])
        if nid in anchors and size[nid] <= max_fanout:
            ac.append(int(pin_cell[p])); ax.append(anchors[nid][0]); ay.append(anchors[nid][1]); aw.append(1.0)
    return springs, (np.array(ac, dtype=np.int64), np.array(ax), np.array(ay), np.array(aw))


def port_anchors(cells: FlatCells, region: Region) -> dict[int, tuple[float, float]]:
    """Input bits evenly along the left edge, output bits along the right edge, in port/bit order."""
    out: dict[int, tuple[float, float]] = {}
    h = float(region.height_nm)
    for ports, x in ((cells.inputs, 0.0), (cells.outputs, float(region.width_nm))):
        bits = [n for _, nets in ports for n in nets]
        for k, nid in enumerate(bits):
            out.setdefault(nid, (x, h * (k + 0.5) / max(len(bits), 1)))
    return out


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # elementwise product + sum, not BLAS: a fixed summation order (reproducible bits whatever the
    # BLAS thread count) and no BLAS thread start-up on a busy machine
    return float(np.multiply(a, b).sum())


def _solve(lap: sp.csr_matrix, diag: np.ndarray, rhs: np.ndarray, x0: np.ndarray,
           rtol: float = 1e-5, maxiter: int = 300) -> np.ndarray:
    """Jacobi-preconditioned conjugate gradients for (lap + diag) x = rhs (symmetric positive definite)."""
    a = (lap + sp.diags(diag)).tocsr()
    inv = 1.0 / a.diagonal()
    x = x0.astype(np.float64).copy()
    r = rhs - a @ x
    z = inv * r
    p = z.copy()
    rz = _dot(r, z)
    stop = (rtol ** 2) * _dot(rhs, rhs)
    for _ in range(maxiter):
        if _dot(r, r) <= stop:
            break
        ap = a @ p
        alpha = rz / _dot(p, ap)
        x += alpha * p
        r -= alpha * ap
        z = inv * r
        rz_new = _dot(r, z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return x


def spread(x: np.ndarray, y: np.ndarray, widths: np.ndarray, region: Region, leaf_cells: int = 12
           ) -> tuple[np.ndarray, np.ndarray]:
    """Row and target site of every cell after recursive bisection into capacity-proportional regions.

    A region is cut across its longer side; the cells, ordered by position along the cut, are split
    where their summed width reaches the share of the first part's capacity.
    """
    n = len(x)
    maxw = region.max_cell_sites or (int(widths.max()) if n else 1)
    free = region.free_sites()

    def capacity(r0, r1, s0, s1):
        return free[r1, s1] - free[r0, s1] - free[r1, s0] + free[r0, s0]

    row = np.zeros(n, dtype=np.int64)
    site = np.zeros(n, dtype=np.float64)
    stack = [(np.lexsort((np.arange(n), x, y)), 0, region.n_rows, 0, region.row_sites)]
    while stack:
        idx, r0, r1, s0, s1 = stack.pop()
        if len(idx) == 0:
            continue
        rows, cols = r1 - r0, s1 - s0
        # columns narrower than a few cells cannot be balanced: cut rows first there
        narrow = cols < 4 * maxw
        horizontal = rows > 1 and (rows * region.row_nm >= cols * region.site_nm or narrow)
        if rows == 1 and (len(idx) <= leaf_cells or narrow):
            order = idx[np.lexsort((idx, x[idx]))]
            w = widths[order].astype(np.float64)
            cum = np.cumsum(w) - w
            total = w.sum()
            row[order] = r0
            if total <= cols:
                # even spacing inside the leaf, in the cells' x order
                gap = (cols - total) / len(order)
                site[order] = s0 + cum + gap * (np.arange(len(order)) + 0.5)
            else:
                site[order] = s0 + cum * (cols / total)
            if free is not None:  # onto the leaf's free sites, in the same order
                open_ = np.flatnonzero(~region.blocked[r0, s0:s1]) + s0
                if len(open_):
                    k = np.clip(((site[order] - s0) * len(open_) / cols).astype(np.int64), 0, len(open_) - 1)
                    site[order] = open_[k]
            continue
        if horizontal:
            cut = r0 + rows // 2
            frac = (cut - r0) / rows
            if free is not None and capacity(r0, r1, s0, s1):
                frac = capacity(r0, cut, s0, s1) / capacity(r0, r1, s0, s1)
            order = idx[np.lexsort((idx, x[idx], y[idx]))]
        else:
            cut = s0 + cols // 2
            frac = (cut - s0) / cols
            if free is not None and capacity(r0, r1, s0, s1):
                frac = capacity(r0, r1, s0, cut) / capacity(r0, r1, s0, s1)
            order = idx[np.lexsort((idx, y[idx], x[idx]))]
        w = widths[order]
        cum = np.cumsum(w)
        # split at the cell whose middle is nearest the capacity share: no bias to either side
        k = int(np.searchsorted(cum - w / 2, frac * cum[-1], side="left"))
        k = min(max(k, 0), len(order))
        if horizontal:
            stack.append((order[k:], cut, r1, s0, s1))
            stack.append((order[:k], r0, cut, s0, s1))
        else:
            stack.append((order[k:], r0, r1, cut, s1))
            stack.append((order[:k], r0, r1, s0, cut))
    return row, site


STRATEGIES = ("dataflow", "netlist", "random")


@dataclass(frozen=True)
class Routability:
    supply: TrackSupply
    rounds: int = 2  # inflate-and-spread rounds after the wire-length rounds
    target: float = 0.3  # demand / supply above which a bin's cells grow
    step_max: float = 1.3  # largest growth of a cell in one round
    total_max: float = 4.0  # largest growth of a cell overall
    bins: int = 0  # bins per side; 0 = about 40 cells per bin


def global_place(cells: FlatCells, widths_sites: np.ndarray, region: Region, *, max_fanout: int = 64,
                 rounds: int = 4, strategy: str = "dataflow", seed: int = 0,
                 routability: Routability | None = None,
                 targets: tuple[np.ndarray, np.ndarray] | None = None,
                 anchors: dict[int, tuple[float, float]] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, target site, level) per cell.

    "netlist" (cells in netlist order, row by row) and "random" (a seeded shuffle) are baselines
    that measure what the dataflow placement gains. targets: per cell, x and y as fractions of the
    region (nan: none; layoutgen.physical.floorplan): a spring to that point replaces the dataflow
    pull on that axis. anchors: net -> fixed (x, y) in nm where it meets the outside (default:
    port_anchors).
    """
    n = cells.n_cells
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    level = dataflow_levels(cells)
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown placement strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if strategy != "dataflow":
        order = np.argsort(cells.netlist_rank) if strategy == "netlist" else np.random.default_rng(seed).permutation(n)
        w = widths_sites[order].astype(np.float64)
        start = (np.cumsum(w) - w) / w.sum() * region.n_rows  # fractional row position of each cell
        r = np.minimum(start.astype(np.int64), region.n_rows - 1)
        frac = start - r
        # serpentine: odd rows run right to left, so consecutive cells stay close at row ends
        frac = np.where(r % 2 == 0, frac, 1.0 - frac - w / w.sum() * region.n_rows)
        row = np.empty(n, dtype=np.int64)
        site = np.empty(n, dtype=np.float64)
        row[order] = r
        site[order] = np.clip(frac, 0, 1) * region.row_sites
        return row, site, level
    if anchors is None:
        anchors = port_anchors(cells, region)
    (a, b, w), (ac, ax, ay, aw) = _star_edges(cells, anchors, max_fanout)
    adj = sp.coo_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()
    lap = sp.diags(np.asarray(adj.sum(axis=1)).ravel()) - adj
    W, H = float(region.width_nm), float(region.height_nm)
    # dataflow column of each level and a weak pull to the middle height (keeps the system definite)
    col = (level + 0.5) / (level.max() + 1) * W
    w_level, w_mid = np.full(n, 0.05), np.full(n, 0.002)
    mid = np.full(n, H / 2)
    if targets is not None:
        # as weak as the dataflow pull: on digits 0.02 and 0.2 gave 3% higher estimated demand
        for w_axis, goal, frac, size in ((w_level, col, targets[0], W), (w_mid, mid, targets[1], H)):
            has = np.isfinite(frac)
            w_axis[has] = TARGET_WEIGHT
            goal[has] = frac[has] * size
    diag0 = w_level + np.bincount(ac, weights=aw, minlength=n)
    rhs_x0 = w_level * col + np.bincount(ac, weights=aw * ax, minlength=n)
    diag_y0 = w_mid + np.bincount(ac, weights=aw, minlength=n)
    rhs_y0 = w_mid * mid + np.bincount(ac, weights=aw * ay, minlength=n)
    x = _solve(lap, diag0, rhs_x0, col.copy())
    y = _solve(lap, diag_y0, rhs_y0, mid.copy())
    row, site = spread(x, y, widths_sites, region)
    alpha = 0.0
    for k in range(1, rounds):
        # pull towards the spread positions, harder each round
        alpha = 0.02 * (4 ** k)
        x, y = _pull(lap, diag0, rhs_x0, diag_y0, rhs_y0, alpha, row, site, widths_sites, region)
        row, site = spread(x, y, widths_sites, region)
    if routability is not None and routability.rounds > 0:
        row, site = _routability_rounds(cells, widths_sites, region, routability, max_fanout, row, site,
                                        (lap, diag0, rhs_x0, diag_y0, rhs_y0), max(alpha, 0.32))
    return row, site, level


def _pull(lap, diag0, rhs_x0, diag_y0, rhs_y0, alpha, row, site, widths_sites, region):
    sx = (site + widths_sites / 2) * region.site_nm
    sy = (row + 0.5) * region.row_nm
    x = _solve(lap, diag0 + alpha, rhs_x0 + alpha * sx, sx)
    y = _solve(lap, diag_y0 + alpha, rhs_y0 + alpha * sy, sy)
    return x, y


def _routability_rounds(cells, widths_sites, region, opt: Routability, max_fanout, row, site, system, alpha):
    W, H = float(region.width_nm), float(region.height_nm)
    bins = opt.bins or max(4, min(64, int(np.sqrt(cells.n_cells / 40))))
    grow = np.ones(cells.n_cells)
    pc = cells.pin_cell
    for _ in range(opt.rounds):
        cx = (site + widths_sites / 2) * region.site_nm
        cy = (row + 0.5) * region.row_nm
        ratio = demand_ratio(cells.pin_net, cx[pc], cy[pc], cells.n_nets, W, H, opt.supply, bins, max_fanout)
        target = max(opt.target, 1.25 * float(ratio.mean()))
        if ratio.max() <= target:
            break
        grow = np.minimum(grow * inflation(ratio, cx, cy, W, H, target, opt.step_max), opt.total_max)
        x, y = _pull(*system, alpha, row, site, widths_sites, region)
        # spread by inflated widths: congested cells claim more sites; legalization packs the real widths
        row, site = spread(x, y, widths_sites * grow, region)
        site = site + (widths_sites * grow - widths_sites) / 2  # each cell centred in its claimed span
    return row, site
