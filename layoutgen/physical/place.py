"""Floorplan and placement: rows of sites, logic cells where global placement wants them, tap cells
within the tap pitch, every other site covered by fill or decap cells.

Rows alternate R0 / MX (mirrored about x), so neighbouring rows share their VPWR / VGND rail. All
coordinates are integer nm computed from site and row indices.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import LayoutgenError
from ..netlist.ir import Design
from ..pdk.core import Pdk
from .flat import FlatCells, flat_cells
from .congestion import TrackSupply
from .anneal import AnnealOptions, anneal_rows
from .blocks import Block, PlacedBlock, blocked_sites, clustered_cells, legalize_in_segments, place_blocks
from .globalplace import STRATEGIES, Region, Routability, global_place, port_anchors
from .rows import fill_gaps, pack_row, spill_over, tap_reserve
from .wirelength import hpwl_nm

LOGIC, TAP, FILLER = 0, 1, 2


class PlacementError(LayoutgenError):
    """A design that cannot be placed with the given options."""


@dataclass(frozen=True)
class PlaceOptions:
    utilization: float = 0.7  # logic cell area / core area
    aspect_ratio: float = 1.0  # core height / core width
    margin_nm: int = 0  # die edge to core (room for I/O pins and power rings)
    decap: bool = True  # fill gaps of 3+ sites with decap cells instead of plain fill
    rounds: int = 4  # global placement rounds
    refine: int = 0  # detailed placement passes (rows re-ordered and re-packed towards their cells' nets)
    anneal: int = 1000  # detailed placement: annealing move attempts per logic cell (0 = off)
    routability: int = 4  # rounds that inflate cells where the estimated wire demand is high (0 = off)
    max_fanout: int = 64  # larger nets (clock, constants) are ignored by global placement
    strategy: str = "dataflow"  # or the baselines "netlist" (netlist order) / "random" (seeded shuffle)
    seed: int = 0  # for the "random" baseline only
    tight: bool = False  # rows may be narrower than a tap pitch (macros: a small unit stays small)
    core_size: tuple[int, int] | None = None  # (rows, sites) of a fixed core (array tiles); None: from utilization
    # (block name, first row, first site) of blocks whose place is given (a floorplan); the nets that
    # join a fixed block's cells to loose ones pull those towards the block's cells
    block_at: tuple[tuple[str, int, int], ...] = ()
    # (net, x, y) in nm of the core: where a net's cells outside a fixed block are pulled (near a layer
    # array's edge port); for those nets it replaces the mean of the block's cells
    port_at: tuple[tuple[int, int, int], ...] = ()
    # (net, x, y as fractions of the core) where a net meets the outside, in place of the ports along
    # the left and right edges (array tiles: their feed-through tracks and carry-save columns)
    anchors: tuple[tuple[int, float, float], ...] | None = None

    def check(self) -> None:
        if not 0.05 <= self.utilization <= 0.95:
            raise PlacementError(f"utilization {self.utilization} is outside 0.05..0.95; pick e.g. 0.7")
        if not 0.1 <= self.aspect_ratio <= 10:
            raise PlacementError(f"aspect ratio {self.aspect_ratio} is outside 0.1..10")
        if self.strategy not in STRATEGIES:
            raise PlacementError(f"unknown placement strategy '{self.strategy}'; choose one of {', '.join(STRATEGIES)}")
        if self.margin_nm < 0:
            raise PlacementError(f"margin {self.margin_nm} nm is negative")
        if self.anneal < 0:
            raise PlacementError(f"anneal moves per cell {self.anneal} is negative; use 0 to switch annealing off")
        if self.refine < 0:
            raise PlacementError(f"refine passes {self.refine} is negative")
        if self.routability < 0:
            raise PlacementError(f"routability rounds {self.routability} is negative")


@dataclass(frozen=True)
class Placement:
    """Every cell instance of the layout: logic cells first (in FlatCells order), then taps and fillers.

    x, y are the lower-left corner of the cell's LEF box in nm; a mirrored (MX) cell is flipped about
    its horizontal centre line, so its box stays [x, x+w) x [y, y+row height).
    """

    top: str
    site_nm: int
    row_nm: int
    n_rows: int
    row_sites: int
    core: tuple[int, int, int, int]  # x0, y0, x1, y1
    die: tuple[int, int, int, int]
    masters: tuple[str, ...]
    master_width_nm: tuple[int, ...]
    master_of: np.ndarray
    kind: np.ndarray  # LOGIC / TAP / FILLER
    names: tuple[str, ...]
    x: np.ndarray
    y: np.ndarray
    mirrored: np.ndarray
    cells: FlatCells = field(repr=False)
    level: np.ndarray = field(repr=False)
    tap_pitch_nm: int = 0
    blocks: tuple[PlacedBlock, ...] = ()  # macro instances (layoutgen.physical.blocks)
    block_of: np.ndarray | None = field(default=None, repr=False)  # per entry: its block, or -1

    def in_block(self) -> np.ndarray:
        """Per entry: True for the cells, taps and fill inside a macro instance."""
        if self.block_of is None:
            return np.zeros(len(self.names), bool)
        return self.block_of >= 0

    @property
    def n_logic(self) -> int:
        return self.cells.n_cells

    @property
    def width_nm(self) -> np.ndarray:
        return np.asarray(self.master_width_nm, dtype=np.int64)[self.master_of]

    @property
    def row(self) -> np.ndarray:
        return (self.y - self.core[1]) // self.row_nm

    @property
    def utilization(self) -> float:
        core_area = (self.core[2] - self.core[0]) * (self.core[3] - self.core[1])
        logic = self.width_nm[self.kind == LOGIC].sum() * self.row_nm
        return float(logic) / core_area

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) in nm of the centre of every logic cell, where the wire estimates put its pins."""
        n = self.cells.n_cells
        return self.x[:n] + self.width_nm[:n] // 2, self.y[:n] + self.row_nm // 2

    def hpwl_nm(self) -> int:
        """Half-perimeter wire length over all nets, pins taken at their cell's centre."""
        pc = self.cells.pin_cell
        cx, cy = self.centres()
        return hpwl_nm(self.cells.pin_net, cx[pc], cy[pc])


def filler_masters(pdk: Pdk, decap: bool) -> dict[int, str]:
    """Filler width in sites -> cell name, derived from the library's fill / decap roles."""
    fill = pdk.library.role("fill").name
    decap_cell = pdk.library.role("decap").name
    fill_base = re.sub(r"_\d+$", "", fill)
    decap_base = re.sub(r"_\d+$", "", decap_cell)
    out = {k: f"{fill_base}_{k}" for k in (8, 4, 2, 1)}
    if decap:
        out.update({k: f"{decap_base}_{k}" for k in (12, 8, 6, 4, 3)})
    return dict(sorted(out.items(), reverse=True))


def decap_instances(placement: Placement, pdk: Pdk) -> list[tuple[str, str]]:
    """(instance name, cell) of every decap the placement filled gaps with: physical cells that hold
    transistors on the rails, which a device-level LVS reference must list."""
    base = re.sub(r"_\d+$", "", pdk.library.role("decap").name)
    out = []
    for k in np.flatnonzero(placement.kind == FILLER).tolist():
        cell = placement.masters[int(placement.master_of[k])]
        if re.sub(r"_\d+$", "", cell) == base:
            out.append((placement.names[k], cell))
    return out


def _sites(width_nm: int, site_nm: int, cell: str) -> int:
    if width_nm % site_nm:
        raise PlacementError(f"cell {cell} is {width_nm} nm wide, not a whole number of {site_nm} nm sites")
    return width_nm // site_nm


def place(design: Design, pdk: Pdk, *, pdk_root: str | Path | None = None,
          options: PlaceOptions = PlaceOptions(),
          targets: Mapping[str, tuple[float, float]] | None = None,
          blocks: list[Block] | None = None, cells: FlatCells | None = None) -> Placement:
    """Place the leaf cells of `design` (hierarchy flattened) in rows; see the module docstring.

    targets: flat instance name -> (x, y) as fractions of the core, nan for none (the crossbar
    floorplan, layoutgen.physical.floorplan); global placement pulls those cells there.
    blocks: groups of cells placed as rigid boxes (macro instances, layoutgen.physical.blocks);
    cells: flat_cells(design) when the caller has it already."""
    options.check()
    cells = cells if cells is not None else flat_cells(design)
    blocks = list(blocks or ())
    fixed_at = {name: (r, s_) for name, r, s_ in options.block_at}
    if fixed_at and (options.core_size is None or set(fixed_at) != {b.name for b in blocks}):
        raise PlacementError("fixed block places need a fixed core and a place for every block")
    pulls = None
    if targets:
        fx = np.full(cells.n_cells, np.nan)
        fy = np.full(cells.n_cells, np.nan)
        for c, name in enumerate(cells.names[:cells.n_cells]):
            t = targets.get(name)
            if t is not None:
                fx[c], fy[c] = t
        pulls = (fx, fy)
    if cells.n_cells == 0 and options.core_size is None:
        raise PlacementError(f"design {design.top} has no logic cells to place")
    abstracts = pdk.cell_abstracts(pdk_root)
    tech = pdk.tech
    site_nm, row_nm = tech.site.width_nm, tech.site.height_nm
    pitch = tech.tap.max_tap_pitch_nm // site_nm
    tap_cell = pdk.library.role(tech.tap.cell_role).name
    fillers = filler_masters(pdk, options.decap)
    masters = list(cells.masters) + [tap_cell] + [m for m in fillers.values() if m not in cells.masters]
    widths_nm = []
    for m in masters:
        mac = abstracts.macro(m)
        if mac.height_nm != row_nm:
            raise PlacementError(f"cell {m} is {mac.height_nm} nm high; rows are {row_nm} nm")
        widths_nm.append(mac.width_nm)
    sites_of = np.array([_sites(w, site_nm, m) for w, m in zip(widths_nm, masters)], dtype=np.int64)
    w_sites = sites_of[cells.master_of]
    maxw = int(w_sites.max(initial=1))
    if maxw >= pitch:
        raise PlacementError(f"a cell of {maxw} sites does not fit between taps {pitch} sites apart")

    gcells, std, gw = cells, np.arange(cells.n_cells), w_sites
    if blocks:
        gcells, std = clustered_cells(cells, blocks, block_pins=not fixed_at)
        gw = np.r_[w_sites[std], [b.rows * b.sites for b in blocks]].astype(np.int64)
        if pulls is not None:  # a block is pulled to the mean of its members' targets
            pulls = tuple(np.r_[p[std], [np.nanmean(p[b.members]) if np.isfinite(p[b.members]).any() else np.nan
                                         for b in blocks]] for p in pulls)
    n_std = len(std)
    total = int(gw.sum())
    core_sites = math.ceil(total / options.utilization)
    core_sites += math.ceil(core_sites / pitch)
    n_rows = max(1, round(math.sqrt(core_sites * site_nm * options.aspect_ratio / row_nm)))
    n_rows = max(n_rows, max((b.rows for b in blocks), default=1))
    row_sites = max(math.ceil(core_sites / n_rows), maxw + (2 if options.tight else pitch),
                    max((b.sites + pitch for b in blocks), default=0))
    if options.core_size is not None:
        n_rows, row_sites = options.core_size
    routability = Routability(track_supply(pdk), rounds=options.routability) if options.routability else None
    placed: list[PlacedBlock] = []
    blocked = None
    for _attempt in range(40):
        # fixed blocks' own sites are taken: spreading fills the rest
        taken = blocked_sites([PlacedBlock(b.name, b.cell, *fixed_at[b.name], b.rows, b.sites) for b in blocks],
                              n_rows, row_sites) if fixed_at else None
        region = Region(n_rows, row_sites, site_nm, row_nm, maxw if blocks else 0, taken)
        anchors = port_anchors(gcells, region) if options.anchors is None else {
            n: (fx * region.width_nm, fy * region.height_nm) for n, fx, fy in options.anchors}
        if fixed_at:
            anchors.update(block_anchors(cells, blocks, fixed_at, site_nm, row_nm))
            anchors.update({n: (float(x), float(y)) for n, x, y in options.port_at})
        if cells.n_cells == 0:  # a fixed frame of taps and fill only (an array's pass-through tile)
            row = site = np.zeros(0)
            level = np.zeros(0, np.int64)
        else:
            row, site, level = global_place(gcells, np.where(np.arange(len(gw)) >= n_std, 0, gw) if fixed_at else gw,
                                            region, max_fanout=options.max_fanout,
                                            rounds=options.rounds, strategy=options.strategy, seed=options.seed,
                                            routability=routability, targets=pulls, anchors=anchors)
        if blocks:
            if fixed_at:
                at = (np.asarray([fixed_at[b.name][0] for b in blocks], np.int64),
                      np.asarray([fixed_at[b.name][1] for b in blocks], np.int64))
            else:
                at = place_blocks(blocks, row[n_std:], site[n_std:], n_rows, row_sites, site_nm, row_nm)
            rows = None
            if at is not None:
                placed = [PlacedBlock(b.name, b.cell, int(r), int(s_), b.rows, b.sites)
                          for b, r, s_ in zip(blocks, *at)]
                blocked = blocked_sites(placed, n_rows, row_sites)
                rows = legalize_in_segments(row[:n_std], site[:n_std], gw[:n_std], blocked, pitch, maxw)
        else:
            rows = _legalize(row, site, w_sites, region, pitch, maxw)
        if rows is not None:
            if options.strategy == "dataflow" and cells.n_cells:
                if not blocks:
                    rows = _refine_rows(rows, cells, w_sites, region, pitch, options.refine, options.max_fanout)
                fixed = {n_std + k: ((p.site + p.sites / 2.0) * site_nm, (p.row + p.rows / 2.0) * row_nm)
                         for k, p in enumerate(placed)}
                rows = anneal_rows(rows, gcells.pin_cell, gcells.pin_net, gcells.n_nets, gw,
                                   n_rows, row_sites, site_nm, row_nm,
                                   anchors, options.max_fanout,
                                   AnnealOptions(moves_per_cell=options.anneal), blocked=blocked,
                                   fixed_centres=fixed)
            break
        if options.core_size is not None:
            raise PlacementError(f"the {cells.n_cells} cells of {design.top} do not fit in its {n_rows} x {row_sites} "
                                 f"site frame; lower the utilization")
        row_sites += max(1, row_sites // 50)
    else:
        raise PlacementError(f"could not legalize {cells.n_cells} cells of {design.top}; lower the utilization")
    if blocks:
        # back from the clustered cells to every flat cell: standard cells by index, members in their box
        rows = [(std[idx], xs, taps) for idx, xs, taps in rows]
        flat_level = np.zeros(cells.n_cells, np.int64)
        flat_level[std] = level[:n_std]
        for k, b in enumerate(blocks):
            flat_level[b.members] = level[n_std + k]
        level = flat_level

    m = options.margin_nm
    core = (m, m, m + row_sites * site_nm, m + n_rows * row_nm)
    die = (0, 0, core[2] + m, core[3] + m)
    tap_id = masters.index(tap_cell)
    filler_id = {k: masters.index(v) for k, v in fillers.items()}
    n = cells.n_cells
    cx = np.zeros(n, dtype=np.int64)
    cr = np.zeros(n, dtype=np.int64)
    extra_master, extra_site, extra_row, extra_kind, extra_names = [], [], [], [], []
    extra_block: list[int] = []
    for k, (b, p) in enumerate(zip(blocks, placed)):
        cx[b.members] = p.site + b.member_site
        cr[b.members] = p.row + b.member_row
        for master, kind, r, s_, name in b.extras:
            if master not in masters:
                masters.append(master)
                widths_nm.append(abstracts.macro(master).width_nm)
            extra_master.append(masters.index(master)); extra_site.append(p.site + s_); extra_row.append(p.row + r)
            extra_kind.append(kind); extra_names.append(f"{b.name}/{name}"); extra_block.append(k)
    n_block_extras = len(extra_names)
    for r, (members, xs, taps) in enumerate(rows):
        cx[members] = xs
        cr[members] = r
        in_row = [p for p in placed if p.row <= r < p.row + p.rows]
        starts = np.r_[xs, taps, [p.site for p in in_row]].astype(np.int64)
        ends = np.r_[xs + w_sites[members], np.asarray(taps, dtype=np.int64) + 1,
                     [p.site + p.sites for p in in_row]].astype(np.int64)
        order = np.argsort(starts, kind="stable")
        for k, t in enumerate(taps):
            extra_master.append(tap_id); extra_site.append(t); extra_row.append(r); extra_kind.append(TAP)
            extra_names.append(f"TAP_{r}_{k}")
        for s, size in fill_gaps(starts[order], ends[order], row_sites, list(fillers)):
            extra_master.append(filler_id[size]); extra_site.append(s); extra_row.append(r); extra_kind.append(FILLER)
            extra_names.append(f"FILL_{r}_{s}")
    master_of = np.r_[cells.master_of.astype(np.int32), np.asarray(extra_master, dtype=np.int32)]
    # keep only masters in use (the writer emits every master), logic masters keep their indices
    used = sorted(set(range(len(cells.masters))) | set(np.unique(master_of).tolist()))
    remap = np.full(len(masters), -1, dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    master_of = remap[master_of]
    masters = [masters[i] for i in used]
    widths_nm = [widths_nm[i] for i in used]
    all_site = np.r_[cx, np.asarray(extra_site, dtype=np.int64)]
    all_row = np.r_[cr, np.asarray(extra_row, dtype=np.int64)]
    block_of = None
    if blocks:
        block_of = np.full(len(all_site), -1, np.int64)
        for k, b in enumerate(blocks):
            block_of[b.members] = k
        block_of[n:n + n_block_extras] = extra_block
    return Placement(
        top=design.top, site_nm=site_nm, row_nm=row_nm, n_rows=n_rows, row_sites=row_sites,
        core=core, die=die, masters=tuple(masters), master_width_nm=tuple(widths_nm),
        master_of=master_of,
        kind=np.r_[np.zeros(n, dtype=np.int8), np.asarray(extra_kind, dtype=np.int8)],
        names=cells.names + tuple(extra_names),
        x=core[0] + all_site * site_nm, y=core[1] + all_row * row_nm, mirrored=(all_row % 2) == 1,
        cells=cells, level=level, tap_pitch_nm=pitch * site_nm, blocks=tuple(placed), block_of=block_of,
    )


def block_anchors(cells: FlatCells, blocks: list[Block], fixed_at: dict[str, tuple[int, int]], site_nm: int,
                  row_nm: int) -> dict[int, tuple[float, float]]:
    """Net -> (x, y) in the core: for each net between a fixed block's cells and cells outside it, the
    mean centre of its pins on the block's cells."""
    n = cells.n_cells
    block_of = np.full(n, -1, np.int64)
    cx = np.zeros(n)
    cy = np.zeros(n)
    for k, b in enumerate(blocks):
        r0, s0 = fixed_at[b.name]
        block_of[b.members] = k
        cx[b.members] = (s0 + b.member_site + 0.5) * site_nm
        cy[b.members] = (r0 + b.member_row + 0.5) * row_nm
    pc, net = cells.pin_cell, cells.pin_net
    inside = block_of[pc] >= 0
    touches_out = np.bincount(net[~inside], minlength=cells.n_nets) > 0
    use = inside & touches_out[net]
    count = np.bincount(net[use], minlength=cells.n_nets)
    sx = np.bincount(net[use], weights=cx[pc[use]], minlength=cells.n_nets)
    sy = np.bincount(net[use], weights=cy[pc[use]], minlength=cells.n_nets)
    return {int(k): (float(sx[k] / count[k]), float(sy[k] / count[k])) for k in np.flatnonzero(count)}


def track_supply(pdk: Pdk) -> TrackSupply:
    """Signal tracks per nm as the router uses them: met3 rows plus met1 on about half of them (the rest
    lie on the rails), met2 columns plus met4 on every second column."""
    r = pdk.tech.routing
    m2, m3 = r["met2"].track_pitch_nm, r["met3"].track_pitch_nm
    return TrackSupply(horizontal=1.5 / m3, vertical=1.5 / m2)


def _legalize(row: np.ndarray, site: np.ndarray, w: np.ndarray, region: Region, pitch: int, maxw: int):
    """Per row: (cell indices left to right, their sites, tap sites); None if some row overflows."""
    R, W = region.n_rows, region.row_sites
    cap = W - 1 - tap_reserve(W, pitch, maxw)
    members = [[] for _ in range(R)]
    order = np.lexsort((np.arange(len(row)), site, row))
    bounds = np.searchsorted(row[order], np.arange(R + 1))
    for r in range(R):
        members[r] = order[bounds[r]:bounds[r + 1]].tolist()
    # overflowing rows hand their cells to the next row down, then (for the last row) back up
    members = spill_over(members, [cap] * R, w)
    if members is None:
        return None
    rows = []
    for r in range(R):
        cur = sorted(members[r], key=lambda i: (site[i], i))
        idx = np.asarray(cur, dtype=np.int64)
        tg = np.round(site[idx]).astype(np.int64) if len(idx) else np.zeros(0, np.int64)
        res = pack_row(w[idx], tg, W, pitch)
        if res is None:
            return None
        xs, taps = res
        rows.append((idx, xs, taps))
    return rows


def _refine_rows(rows, cells: FlatCells, w: np.ndarray, region: Region, pitch: int, passes: int, max_fanout: int):
    """Detailed placement along the rows: each pass moves every cell's target to the mean position of
    the other pins on its nets (nets up to max_fanout pins), then re-orders and re-packs each row.
    Rows keep their cells, so the legal row capacities stay as _legalize made them."""
    pin_cell, net = cells.pin_cell, cells.pin_net
    deg = np.bincount(net, minlength=cells.n_nets)
    use = (deg[net] <= max_fanout) & (deg[net] > 1)
    pin_cell_u, net_u, deg_u = pin_cell[use], net[use], deg[net[use]]
    n = len(w)
    for _ in range(passes):
        centre = np.zeros(n)
        for idx, xs, _taps in rows:
            centre[idx] = xs + w[idx] / 2
        px = centre[pin_cell_u]
        total = np.bincount(net_u, weights=px, minlength=cells.n_nets)
        others = (total[net_u] - px) / (deg_u - 1)
        tsum = np.bincount(pin_cell_u, weights=others, minlength=n)
        tcnt = np.bincount(pin_cell_u, minlength=n)
        target = np.where(tcnt > 0, tsum / np.maximum(tcnt, 1), centre)
        new = []
        for idx, xs, taps in rows:
            order = idx[np.lexsort((idx, target[idx]))]
            res = pack_row(w[order], np.round(target[order] - w[order] / 2).astype(np.int64), region.row_sites, pitch)
            new.append((idx, xs, taps) if res is None else (order, res[0], res[1]))
        rows = new
    return rows
