"""Pin access: where and how the router may connect to each logic pin of a cell master.

Computed once per (master, orientation) and cached. An access point lands on a crossing of a met1
track (horizontal) and a met2 track (vertical), relative to the cell origin (cells sit on whole sites,
so the tracks of the core line up with every cell). Kinds, cheapest first:

- "stack":    the li1 pin covers the crossing: mcon + met1 pad + via + met2 pad stacked on it;
- "met1_via": the pin has a met1 port: a met1 pad on the crossing merges with it, via + met2 pad on top;
- "offgrid":  an mcon where the li1 pin has room, a met1 bar over to the nearest crossing, via + met2 pad.

Every candidate is checked against the real cell layout (its GDS): new met1 keeps the met1 spacing from
all cell met1 except the pin's own ports, new mcons keep the mcon spacing from all cell mcons, new mcons
sit inside the pin's li1 (LEF PORT shapes), and everything keeps half a spacing from the cell's left and
right edges so that abutting cells never conflict.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import klayout.db as kdb

from ..errors import LayoutgenError
from ..pdk.core import Pdk
from .gds import CellSource
from .vias import Box, Shape

KINDS = ("stack", "met1_via", "offgrid")


@dataclass(frozen=True)
class AccessPoint:
    pin: str
    x: int  # via / met2 landing point in cell coordinates (orientation applied)
    y: int
    kind: str
    cost: int  # lower is better: kind rank, then met1 bar length
    shapes: tuple[Shape, ...] = field(repr=False)

    def moved(self, dx: int, dy: int) -> tuple[Shape, ...]:
        return tuple(s.moved(dx, dy) for s in self.shapes)


def _box(cx: int, cy: int, w: int, h: int) -> Box:
    return (cx - w // 2, cy - h // 2, cx + w // 2, cy + h // 2)


def _region(boxes) -> kdb.Region:
    r = kdb.Region()
    for b in boxes:
        r.insert(kdb.Box(*b))
    r.merge()
    return r


def _bbox(*boxes: Box) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


class PinAccess:
    """Access points of every logic pin of the library's cells; one object per layout run."""

    def __init__(self, pdk: Pdk, pdk_root: str | Path | None = None, max_points: int = 12):
        self.pdk = pdk
        self.max_points = max_points
        tech = pdk.tech
        self.abstracts = pdk.cell_abstracts(pdk_root)
        self.source = CellSource(pdk.library.name, pdk_root)
        m1, m2 = tech.routing["met1"], tech.routing["met2"]
        self.m1_pitch, self.m1_off = m1.track_pitch_nm, m1.track_offset_nm
        self.m2_pitch, self.m2_off = m2.track_pitch_nm, m2.track_offset_nm
        self.m1_space, self.m2_space = m1.spacing_nm, m2.spacing_nm
        mcon, via = tech.vias["mcon"], tech.vias["via"]
        self.mcon_cut, self.mcon_space = mcon.cut_nm, mcon.spacing_nm
        self.via_cut, self.via_space = via.cut_nm, via.spacing_nm
        # pads: met1 under the via long along x (met1 runs horizontally), met2 long along y
        self.via_m1 = (via.cut_nm + 2 * via.bottom_enclosure_nm[1], via.cut_nm + 2 * via.bottom_enclosure_nm[0])
        self.via_m2 = (via.cut_nm + 2 * via.top_enclosure_nm[0], via.cut_nm + 2 * via.top_enclosure_nm[1])
        self.mcon_m1 = (mcon.cut_nm + 2 * mcon.top_enclosure_nm[1], mcon.cut_nm + 2 * mcon.top_enclosure_nm[0])
        self.m1_min_area = m1.min_area_nm2
        self._cache: dict[tuple[str, bool], dict[str, tuple[AccessPoint, ...]]] = {}
        self._layout: dict[str, tuple[kdb.Region, kdb.Region]] = {}
        self._met1: dict[tuple[str, bool], tuple[Box, ...]] = {}

    # -- cell geometry -------------------------------------------------------------------------
    def _cell_layers(self, master: str) -> tuple[kdb.Region, kdb.Region]:
        """(met1, mcon) of the cell's own layout, R0, nm."""
        if master not in self._layout:
            cell = self.source.cell(master)
            tech = self.pdk.tech
            want = {tech.gds("met1"): kdb.Region(), tech.gds("mcon"): kdb.Region()}
            polys = list(cell.get_polygons(depth=None))
            for poly in polys:
                key = (poly.layer, poly.datatype)
                if key in want:
                    pts = [kdb.Point(round(x * 1000), round(y * 1000)) for x, y in poly.points]
                    want[key].insert(kdb.Polygon(pts))
            for r in want.values():
                r.merge()
            self._layout[master] = (want[tech.gds("met1")], want[tech.gds("mcon")])
        return self._layout[master]

    def met1_boxes(self, master: str, mirrored: bool = False) -> tuple[Box, ...]:
        """All met1 of a cell master (its layout, LEF pins and LEF OBS) in cell coordinates: what routing
        on met1 must keep clear of. Cached per master and orientation."""
        key = (master, bool(mirrored))
        if key not in self._met1:
            mac = self.abstracts.macro(master)
            met1, _mcon = self._cell_layers(master)
            boxes = [(r.x0, r.y0, r.x1, r.y1) for r in mac.obs if r.layer == "met1"]
            for pin in mac.pins.values():
                boxes += [(r.x0, r.y0, r.x1, r.y1) for r in pin.on_layer("met1")]
            region = met1 + _region(boxes)
            region.merge()
            h = mac.height_nm
            out = []
            for b in region.decompose_trapezoids_to_region().each():  # Manhattan: rectangles
                bb = b.bbox()
                out.append((bb.left, h - bb.top, bb.right, h - bb.bottom) if mirrored
                           else (bb.left, bb.bottom, bb.right, bb.top))
            self._met1[key] = tuple(sorted(out))
        return self._met1[key]

    # -- candidates ----------------------------------------------------------------------------
    def points(self, master: str, mirrored: bool = False) -> dict[str, tuple[AccessPoint, ...]]:
        """Access points of each logic pin of `master`, best first (cached per master and orientation)."""
        key = (master, bool(mirrored))
        if key not in self._cache:
            if mirrored:
                base = self.points(master, False)
                h = self.abstracts.macro(master).height_nm
                self._cache[key] = {pin: tuple(_mirror(ap, h) for ap in aps) for pin, aps in base.items()}
            else:
                self._cache[key] = self._compute(master)
        return self._cache[key]

    def _compute(self, master: str) -> dict[str, tuple[AccessPoint, ...]]:
        if master not in self.pdk.library:
            raise LayoutgenError(f"{master} is not a cell of {self.pdk.library.name}")
        cell = self.pdk.library[master]
        mac = self.abstracts.macro(master)
        met1, mcon = self._cell_layers(master)
        out: dict[str, tuple[AccessPoint, ...]] = {}
        for pin in cell.pins:
            if pin not in mac.pins:
                raise LayoutgenError(f"LEF of {master} has no pin {pin}")
            lef = mac.pins[pin]
            li = [(r.x0, r.y0, r.x1, r.y1) for r in lef.on_layer("li1")]
            m1 = [(r.x0, r.y0, r.x1, r.y1) for r in lef.on_layer("met1")]
            own_m1 = _region(m1)
            # cell met1 (GDS) and LEF OBS met1, minus the pin's own met1 ports
            obst_m1 = met1 + _region([(r.x0, r.y0, r.x1, r.y1) for r in mac.obs if r.layer == "met1"])
            obst_m1.merge()
            if m1:
                obst_m1 = obst_m1 - obst_m1.interacting(own_m1)
            # an mcon must not touch li1 of anything else (LEF OBS li1 is other nets' li1)
            li_obs = _region([(r.x0, r.y0, r.x1, r.y1) for r in mac.obs if r.layer == "li1"]) - _region(li)
            cands = self._candidates(mac.width_nm, mac.height_nm, pin, li, own_m1, obst_m1, mcon, li_obs)
            if not cands:
                raise LayoutgenError(f"no access point for pin {pin} of {master}: the router cannot reach it")
            best: dict[tuple[int, int], AccessPoint] = {}
            for ap in sorted(cands, key=lambda a: (a.cost, a.y, a.x)):
                best.setdefault((ap.x, ap.y), ap)  # one way in per landing point: the cheapest
            out[pin] = tuple(best.values())[: self.max_points]
        return out

    def _tracks(self, width: int, height: int) -> tuple[list[int], list[int]]:
        xs = list(range(self.m2_off, width, self.m2_pitch))
        # met1 tracks clear of the follow-pin rails (pad edge >= spacing from the rail)
        ys = [y for y in range(self.m1_off, height, self.m1_pitch)
              if y - self.via_m1[1] // 2 >= 240 + self.m1_space and y + self.via_m1[1] // 2 <= height - 240 - self.m1_space]
        return xs, ys

    def _via_shapes(self, x: int, y: int) -> list[Shape]:
        return [Shape("met1", _box(x, y, *self.via_m1)), Shape("via", _box(x, y, self.via_cut, self.via_cut)),
                Shape("met2", _box(x, y, *self.via_m2))]

    def _candidates(self, width, height, pin, li, own_m1, obst_m1, mcon, li_obs) -> list[AccessPoint]:
        xs, ys = self._tracks(width, height)
        li_reg = _region(li)
        half = self.mcon_cut // 2
        cands: list[AccessPoint] = []
        seen: set = set()

        def consider(kind: str, rank: int, x: int, y: int, m1_boxes: list[Box], mcon_box: Box | None) -> None:
            shapes = []
            if mcon_box is not None:
                shapes.append(Shape("mcon", mcon_box))
            m1_box = _bbox(*m1_boxes)
            shapes += [Shape("met1", m1_box)] + self._via_shapes(x, y)[1:]
            key = (x, y, m1_box, mcon_box)
            if key in seen or not self._legal(width, m1_box, mcon_box, li_reg, own_m1, obst_m1, mcon, li_obs):
                return
            seen.add(key)
            bar = (m1_box[2] - m1_box[0]) + (m1_box[3] - m1_box[1])
            cands.append(AccessPoint(pin, x, y, kind, rank * 100000 + bar, tuple(shapes)))

        for y in ys:
            for x in xs:
                via_m1 = _box(x, y, *self.via_m1)
                if li and _inside(_box(x, y, self.mcon_cut, self.mcon_cut), li_reg):
                    consider("stack", 0, x, y, [via_m1], _box(x, y, self.mcon_cut, self.mcon_cut))
                if not own_m1.is_empty() and not (own_m1 & _region([via_m1])).is_empty():
                    consider("met1_via", 1, x, y, [via_m1], None)
        if not li:
            return cands
        # off-track: mcon positions inside the pin's li1 nearest each track, bar to the nearest crossing
        for (x0, y0, x1, y1) in li:
            if x1 - x0 < self.mcon_cut or y1 - y0 < self.mcon_cut:
                continue
            mxs = sorted({min(max(x, x0 + half), x1 - half) for x in xs} | {(x0 + x1) // 2 // 5 * 5})
            mys = sorted({min(max(y, y0 + half), y1 - half) for y in ys} | {(y0 + y1) // 2 // 5 * 5})
            for my in mys:
                for mx in mxs:
                    mbox = _box(mx, my, self.mcon_cut, self.mcon_cut)
                    if not _inside(mbox, li_reg):
                        continue
                    pad = _box(mx, my, *self.mcon_m1)
                    for y in sorted(ys, key=lambda t: (abs(t - my), t))[:2]:
                        for x in sorted(xs, key=lambda t: (abs(t - mx), t))[:2]:
                            consider("offgrid", 2, x, y, [pad, _box(x, y, *self.via_m1)], mbox)
        return cands

    def _legal(self, width: int, m1_box: Box, mcon_box: Box | None, li_reg, own_m1, obst_m1, mcon, li_obs) -> bool:
        if m1_box[0] < self.m1_space // 2 or m1_box[2] > width - self.m1_space // 2:
            return False
        new_m1 = _region([m1_box])
        if not (new_m1 & obst_m1).is_empty() or not new_m1.separation_check(obst_m1, self.m1_space).is_empty():
            return False
        if not own_m1.is_empty():
            # merged with the pin's own met1 the pad must not leave a notch narrower than the spacing
            merged = own_m1 + new_m1
            merged.merge()
            if not merged.space_check(self.m1_space).is_empty():
                return False
        if mcon_box is not None:
            if mcon_box[0] < self.mcon_space // 2 or mcon_box[2] > width - self.mcon_space // 2:
                return False
            c = _region([mcon_box])
            if not _inside(mcon_box, li_reg):
                return False
            if not (c & mcon).is_empty() or not c.separation_check(mcon, self.mcon_space).is_empty():
                return False
            if not (c & li_obs).is_empty():
                return False
        return True

    # -- choosing one point per pin --------------------------------------------------------------
    def compatible(self, a: AccessPoint, b: AccessPoint, dx: int = 0, dy: int = 0) -> bool:
        """Whether `a` and `b` (shifted by dx, dy) can both be built: spacing on every layer they use."""
        space = {"met1": self.m1_space, "mcon": self.mcon_space, "via": self.via_space, "met2": self.m2_space}
        for layer, s in space.items():
            ra = _region([sh.box for sh in a.shapes if sh.layer == layer])
            rb = _region([sh.box for sh in b.moved(dx, dy) if sh.layer == layer])
            if ra.is_empty() or rb.is_empty():
                continue
            if not (ra & rb).is_empty() or not ra.separation_check(rb, s).is_empty():
                return False
        return True

    def choose(self, master: str, mirrored: bool = False, usable=None) -> dict[str, AccessPoint]:
        """One access point per pin, all mutually compatible, cheapest first (depth-first search).

        usable(ap) -> bool, when given, leaves out points that the caller cannot use (e.g. next to a
        power via stack at this instance's position).
        """
        pts = self.points(master, mirrored)
        if usable is not None:
            pts = {p: tuple(ap for ap in aps if usable(ap)) for p, aps in pts.items()}
        pins = sorted(pts, key=lambda p: (len(pts[p]), p))
        chosen: dict[str, AccessPoint] = {}

        def search(k: int) -> bool:
            if k == len(pins):
                return True
            for ap in pts[pins[k]]:
                if all(self.compatible(ap, other) for other in chosen.values()):
                    chosen[pins[k]] = ap
                    if search(k + 1):
                        return True
                    del chosen[pins[k]]
            return False

        if not search(0):
            raise LayoutgenError(f"no compatible set of access points for the pins of {master}")
        return {p: chosen[p] for p in sorted(chosen)}


def _inside(box: Box, region: kdb.Region) -> bool:
    return (_region([box]) - region).is_empty()


def _mirror(ap: AccessPoint, h: int) -> AccessPoint:
    shapes = tuple(Shape(s.layer, (s.box[0], h - s.box[3], s.box[2], h - s.box[1]), s.purpose) for s in ap.shapes)
    return AccessPoint(ap.pin, ap.x, h - ap.y, ap.kind, ap.cost, shapes)
