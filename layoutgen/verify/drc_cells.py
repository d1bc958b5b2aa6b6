"""DRC cell by cell: every distinct cell under the top is checked once, then the seams between its
placements, flat.

A layer array is thousands of placements of a hundred-odd tile cells that abut. Deep mode gives each
placement its own context (its neighbours differ), so its cost grows with the placements, like a flat
check (256 x 256 ternary array: 22 minutes). Here a cell's own violations are found once, whatever
its neighbours, and what two placements can only do together lies near where they meet:

- a cell checked on its own (all of them at once, spaced apart in a catalog) reports everything that
  is wrong inside it; what a neighbour adds can only hide such a finding (a gap filled, a cut
  enclosed), so the check errs on the safe side;
- a violation made by shapes of two placements lies within the rule's distance of both, so within
  `reach` of a placement's border or of the overlap of two placements: the seam zone. The shapes that
  reach into a window around the zone are flattened and checked; findings that touch the zone are
  kept (the window's margin is wide enough that what a shape left out could cause lies outside it);
- minimum area, latch-up tap distance, grid and angle are properties of merged shapes that a
  neighbour can only make larger, nearer a tap, or of single shapes: the cells' checks cover them,
  and each placement's own offset and rotation are checked against the grid and right angles.

The top may only place cells (and label them): its own drawn shapes would need a flat check.
A violation inside a cell counts once, however often the cell is placed.
"""
from __future__ import annotations

import bisect
import os
from concurrent.futures import Executor
from pathlib import Path
from typing import Iterable

import klayout.db as kdb
import numpy as np

from ..errors import LayoutgenError
from ..pdk.tech import Rule, Tech
from .drc_checks import CHECKS, Layers
from .drc_io import drawn_layers, encode, read_layout, top_cell

# rule kinds the seams need not be checked for (see the module docstring)
CELL_ONLY_KINDS = frozenset({"area", "tap_distance", "grid", "manhattan"})

Found = dict[str, list[tuple[str, object]]]  # rule id -> (cell name, encoded markers) per finding set


def reach_nm(rule: Rule) -> int:
    """How far apart two shapes can be and still make a violation of `rule` (a seam rule) together."""
    return int(rule.params.get("value_nm", 0))


def margin_nm(rule: Rule) -> int:
    """Width of the window beyond the zone. A shape left out lies farther than this from the zone, and
    what its absence could make the rule find (a gap it would have filled) lies within the rule's
    distance of it; a wide-metal check also needs the whole width of a part to call it wide."""
    return reach_nm(rule) + int(rule.params.get("width_gt_nm", 0)) + 10


def rule_layers(rule: Rule) -> set[str]:
    p = rule.params
    return {str(p[k]) for k in ("layer", "outer", "inner", "diff", "tap") if k in p}


class Placements:
    """Every placement in a cell (array references expanded): its cell's name, transformation and box."""

    def __init__(self, top: kdb.Cell):
        layout = top.layout()
        self.names: list[str] = []
        self.trans: list[kdb.ICplxTrans] = []
        self.boxes: list[kdb.Box] = []
        for inst in top.each_inst():
            cell = layout.cell(inst.cell_index)
            for t in inst.cell_inst.each_cplx_trans():
                self.names.append(cell.name)
                self.trans.append(t)
                self.boxes.append(cell.bbox().transformed(t))
        self._xy = np.array([[b.left, b.bottom, b.right, b.top] for b in self.boxes], dtype=np.int64).reshape(-1, 4)

    def holding(self, box: kdb.Box) -> list[int]:
        """The placements whose box contains `box`."""
        xy = self._xy
        inside = (xy[:, 0] <= box.left) & (xy[:, 1] <= box.bottom) & (xy[:, 2] >= box.right) & (xy[:, 3] >= box.top)
        return [int(k) for k in np.flatnonzero(inside)]


def seam_zone(boxes: list[kdb.Box], reach: int) -> kdb.Region:
    """Points within `reach` of a placement's border, or of where two placements overlap."""
    zone = kdb.Region()
    r = max(reach, 1)
    for b in boxes:
        zone.insert(kdb.Box(b.left - r, b.bottom - r, b.left + r, b.top + r))
        zone.insert(kdb.Box(b.right - r, b.bottom - r, b.right + r, b.top + r))
        zone.insert(kdb.Box(b.left - r, b.bottom - r, b.right + r, b.bottom + r))
        zone.insert(kdb.Box(b.left - r, b.top - r, b.right + r, b.top + r))
    raw = kdb.Region(boxes)
    raw.merged_semantics = False
    zone += raw.merged(False, 2).sized(r)
    return zone.merged()


def placement_faults(placed: Placements, grid_nm: int) -> tuple[kdb.Region, kdb.Region]:
    """(off-grid placements, placements turned by other than right angles or scaled), as their boxes."""
    off_grid, bent = kdb.Region(), kdb.Region()
    for t, box in zip(placed.trans, placed.boxes):
        if t.disp.x % grid_nm or t.disp.y % grid_nm:
            off_grid.insert(box)
        if t.angle % 90 or t.mag != 1:
            bent.insert(box)
    return off_grid, bent


def own_drawing(top: kdb.Cell) -> str | None:
    """A layer on which the top cell draws shapes of its own (not only labels), or None."""
    layout = top.layout()
    for li in layout.layer_indexes():
        shapes = top.shapes(li)
        if shapes.size() and any(not s.is_text() for s in shapes.each()):
            return str(layout.get_info(li))
    return None


def check_plan(layout: kdb.Layout, top: kdb.Cell) -> list[str]:
    """The distinct cells the top places, by name; an error if the top draws shapes of its own."""
    drawn = own_drawing(top)
    if drawn is not None:
        raise LayoutgenError(f"cell {top.name} draws shapes on layer {drawn} itself: checking cell by cell "
                             "needs a top that only places cells; check the layout whole instead")
    return sorted({layout.cell(inst.cell_index).name for inst in top.each_inst()})


def catalog_gap_nm(rules: Iterable[Rule]) -> int:
    """Room between the cells of a catalog: farther than any rule reaches (latch-up taps included)."""
    return 2 * max(int(r.params.get("value_nm", 0)) for r in rules) + 1000


class Catalog:
    """Every distinct cell placed once, side by side, so far apart that no rule sees two of them: one
    hierarchical check of this cell checks each of them alone, and builds each layer once for all."""

    def __init__(self, layout: kdb.Layout, names: list[str], gap_nm: int):
        self.cell = layout.create_cell("$catalog")
        self.names, self.lefts, self.shifts = [], [], []
        x = 0
        for name in names:
            child = layout.cell(name)
            box = child.bbox()
            shift = kdb.Trans(x - box.left, 0)
            self.cell.insert(kdb.CellInstArray(child.cell_index(), shift))
            self.names.append(name)
            self.lefts.append(x - gap_nm // 2)  # a finding belongs to the cell its centre is nearest
            self.shifts.append(shift)
            x += box.width() + gap_nm

    def split(self, markers) -> list[tuple[str, object]]:
        """The findings per cell, each in its cell's own coordinates."""
        if markers.is_empty():
            return []
        per: dict[int, list] = {}
        for m in markers.each():
            k = bisect.bisect_right(self.lefts, m.bbox().center().x) - 1
            per.setdefault(k, []).append(m.transformed(self.shifts[k].inverted()))
        out = []
        for k in sorted(per):
            local = kdb.EdgePairs() if isinstance(markers, kdb.EdgePairs) else kdb.Region()
            for m in per[k]:
                local.insert(m)
            out.append((self.names[k], local))
        return out


def check_group(gds_path: Path, pdk, top_name: str, rules: tuple[Rule, ...], threads: int = 1) -> Found:
    """One group of rules: on every distinct placed cell alone, and on the seams of the top."""
    layout = read_layout(gds_path)
    top = top_cell(layout, gds_path, top_name)
    tech: Tech = pdk.tech
    found: Found = {r.id: [] for r in rules}
    dss = kdb.DeepShapeStore()
    dss.threads = threads
    drawn = drawn_layers(tech, layout)
    catalog = Catalog(layout, check_plan(layout, top), catalog_gap_nm(tech.rules))
    layers = Layers(layout, catalog.cell, tech, dss)
    for rule in rules:
        for m in CHECKS[rule.kind](rule, layers, drawn):
            for name, local in catalog.split(m):
                found[rule.id].append((name, encode(local)))
    placed = Placements(top)
    boxes = placed.boxes
    in_cells = {(rule_id, name): {_marker(kind, t).to_s() for t in texts}
                for rule_id, items in found.items() for name, (kind, texts) in items}
    # the group's rules share a zone and a window, flattened once; wide-metal rules need a wider window
    windows: dict[bool, list[Rule]] = {}
    for rule in rules:
        if rule.kind not in CELL_ONLY_KINDS and boxes:
            windows.setdefault(rule.kind == "wide_space", []).append(rule)
    for _wide, seam_rules in sorted(windows.items()):
        zone = seam_zone(boxes, max(reach_nm(r) for r in seam_rules))
        window = zone.sized(max(margin_nm(r) for r in seam_rules))
        flat = window_copy(layout, top, tech, set().union(*(rule_layers(r) for r in seam_rules)), window)
        layers = Layers(flat, flat.top_cell(), tech, kdb.DeepShapeStore(), focus=zone)
        for rule in seam_rules:
            for m in CHECKS[rule.kind](rule, layers, ()):
                kept = m.interacting(zone)
                if not kept.is_empty():
                    kind, texts = encode(kept)
                    texts = [t for t in texts if not _found_in_cell(t, kind, rule.id, placed, in_cells)]
                    if texts:
                        found[rule.id].append((top.name, (kind, texts)))
    for rule in rules:
        if rule.kind in ("grid", "manhattan"):
            off_grid, bent = placement_faults(placed, int(rule.params.get("value_nm", 1)))
            bad = off_grid if rule.kind == "grid" else bent
            if not bad.is_empty():
                found[rule.id].append((top.name, encode(bad)))
    return found


def _marker(kind: str, text: str):
    return (kdb.EdgePair if kind == "pairs" else kdb.Polygon).from_s(text)


def _found_in_cell(text: str, kind: str, rule_id: str, placed: Placements, in_cells) -> bool:
    """Whether a seam finding lies inside one placement and is that placement's cell's own finding
    (a violation near a cell's border is in the zone too; it counts once, in the cell)."""
    marker = _marker(kind, text)
    holders = placed.holding(marker.bbox())
    if len(holders) != 1:
        return False
    k = holders[0]
    return marker.transformed(placed.trans[k].inverted()).to_s() in in_cells.get((rule_id, placed.names[k]), ())


def window_copy(layout: kdb.Layout, top: kdb.Cell, tech: Tech, names: set[str], window: kdb.Region) -> kdb.Layout:
    """A one-cell layout of the named layers' shapes under `top` that reach into `window`, flattened
    whole (cutting them to the window costs four times as much and adds borders of its own; taken
    hierarchically, the window's cell variants made the checks twice as slow)."""
    out = kdb.Layout()
    out.dbu = layout.dbu
    cell = out.create_cell(top.name)
    for name in sorted(names):
        gds = tech.gds(name)
        li = layout.find_layer(gds[0], gds[1])
        if li is not None:
            cell.shapes(out.layer(gds[0], gds[1])).insert(kdb.RecursiveShapeIterator(layout, top, li, window, True))
    return out


def check_by_cell(pool: Executor | None, gds_path: Path, pdk, top: str, groups: list[tuple[Rule, ...]]) -> Found:
    """Every group's findings, in `pool` (one task per group) or here."""
    found: Found = {}
    if pool is None:
        for group in groups:
            found.update(check_group(gds_path, pdk, top, group, min(4, os.cpu_count() or 1)))
        return found
    for future in [pool.submit(check_group, gds_path, pdk, top, group, 1) for group in groups]:
        found.update(future.result())
    return found
