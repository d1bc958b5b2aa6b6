"""The checks behind each DRC rule kind, on klayout.db collections (hierarchical "deep" regions).

Each check takes the rule and the layout's layers and returns the marker collections it found
(Region or EdgePairs). Kinds are the `kind` values of pdk/<name>/rules.json.
"""
from __future__ import annotations

from typing import Callable, Iterable

import klayout.db as kdb

from ..pdk.tech import Rule


class Layers:
    """Region views of one layout's layers, built on demand and cached.

    deep(name): hierarchical, merged semantics (width, area, wide-metal checks);
    raw(name):  hierarchical, each drawn shape on its own (no merge: merging shapes that overlap across
                instances, such as the shared rails of mirrored rows, would pull them all into the top);
    flat(name): flattened (placement-level checks on one shape per cell, where flat is cheapest).
    """

    def __init__(self, layout: kdb.Layout, cell: kdb.Cell, tech, dss: kdb.DeepShapeStore,
                 focus: kdb.Region | None = None):
        self.layout, self.cell, self.tech, self.dss = layout, cell, tech, dss
        self.focus = focus  # when set, only findings touching it are wanted (checks may skip the rest early)
        self._cache: dict[tuple[str, str], kdb.Region] = {}

    def index(self, name: str):
        gds = self.tech.gds(name)
        return self.layout.find_layer(gds[0], gds[1])

    def _get(self, name: str, how: str) -> kdb.Region:
        key = (name, how)
        if key not in self._cache:
            index = self.index(name)
            if index is None:
                region = kdb.Region()
            elif how == "flat":
                region = kdb.Region(self.layout.begin_shapes(self.cell, index))
            elif how == "deep":
                region = kdb.Region(self.layout.begin_shapes(self.cell, index), self.dss)
            else:
                region = self._get(name, "deep").dup()
                region.merged_semantics = False
            self._cache[key] = region
        return self._cache[key]

    def is_cut(self, name: str) -> bool:
        return any(v.cut == name for v in self.tech.vias.values())

    def deep(self, name: str) -> kdb.Region:
        return self._get(name, "deep")

    def raw(self, name: str) -> kdb.Region:
        return self._get(name, "raw")

    def flat(self, name: str) -> kdb.Region:
        return self._get(name, "flat")


Markers = list  # of kdb.Region | kdb.EdgePairs

EUCLID = kdb.Metrics.Euclidian
NO_ZERO = kdb.ZeroDistanceMode.NeverIncludeZeroDistance


def _um(nm: int) -> str:
    return f"{nm / 1000:g} um"


def width(rule: Rule, layers: Layers, drawn: Iterable[str]) -> Markers:
    return [layers.deep(rule["layer"]).width_check(rule["value_nm"], metrics=EUCLID)]


def space(rule: Rule, layers: Layers, drawn: Iterable[str]) -> Markers:
    """Spacing, notches included (periphery rule x.6).

    Cuts are taken one by one: coinciding copies of a cut (shared rails of mirrored rows) are legal.
    Other layers: candidates come from the drawn shapes one by one (cheap and hierarchical; merging first
    turns rails and all that touches them into row-long polygons whose spacing check is quadratic);
    pairs whose gap is filled by other shapes go, and each remaining candidate is confirmed by the exact
    merged check in a small window around it. A rule marked "merged" in the rule table is checked on
    the merged layer at once (wells: the cells' shapes overlap, and merge into a few strips).
    """
    name, d = rule["layer"], rule["value_nm"]
    if rule.params.get("merged"):  # the rule table's choice for layers whose shapes mostly overlap (wells)
        return [layers.deep(name).space_check(d, metrics=EUCLID)]
    pairs = layers.raw(name).space_check(d, metrics=EUCLID, zero_distance_mode=NO_ZERO)
    if layers.is_cut(name) or pairs.is_empty():
        return [pairs]
    candidates = pairs.interacting(pairs.polygons(0) - layers.raw(name))
    if layers.focus is not None:
        candidates = candidates.interacting(layers.focus)
    return [_confirm_space(layers, name, d, candidates)]


def _confirm_space(layers: Layers, name: str, d: int, candidates: kdb.EdgePairs) -> kdb.EdgePairs:
    """The merged-shape spacing violations at the candidates, found window by window."""
    index = layers.index(name)
    margin = 3 * d  # a pair touching a window's clipped border lies >= 2d from the candidate
    found: dict[str, kdb.EdgePair] = {}
    for candidate in candidates.each():
        box = candidate.bbox().enlarged(margin, margin)
        window = kdb.Region(layers.cell.begin_shapes_rec_overlapping(index, box)) & kdb.Region(box)
        near = kdb.Region(candidate.bbox().enlarged(1, 1))
        for pair in window.space_check(d, metrics=EUCLID).interacting(near).each():
            found.setdefault(str(pair), pair)
    out = kdb.EdgePairs()
    for key in sorted(found):
        out.insert(found[key])
    return out


def wide_space(rule: Rule, layers: Layers, drawn: Iterable[str]) -> Markers:
    """Spacing from the edges of wide metal (parts wider than width_gt_nm) to any metal of the layer."""
    region = layers.deep(rule["layer"])
    half = rule["width_gt_nm"] // 2
    wide = region.sized(-half).sized(half) & region
    if wide.is_empty():
        return []
    all_edges = region.edges()
    wide_edges = wide.edges() & all_edges  # the wide part's edges that are real metal outline
    other_edges = all_edges - wide_edges
    d = rule["value_nm"]
    return [wide_edges.separation_check(other_edges, d, metrics=EUCLID), wide_edges.space_check(d, metrics=EUCLID)]


def area(rule: Rule, layers: Layers, drawn: Iterable[str]) -> Markers:
    return [layers.deep(rule["layer"]).with_area(0, rule["value_nm2"], False)]


def cut_size(rule: Rule, layers: Layers, drawn: Iterable[str]) -> Markers:
    """Every drawn cut is an exact square of value_nm (periphery rules: min and max width and length).
    Shapes are taken one by one: identical cuts of mirrored rows that coincide are legal."""
    cuts = layers.raw(rule["layer"])
    s = rule["value_nm"]
    rects = cuts.rectangles()
    wide_ok = rects.with_bbox_width(s, s + 1, False)
    # three disjoint sets, so each bad cut is one marker
    return [cuts.non_rectangles(), rects.with_bbox_width(s, s + 1, True), wide_ok.with_bbox_height(s, s + 1, True)]


def enclosure(rule: Rule, layers: Layers, drawn: Iterable[str]) -> Markers:
    """outer covers inner with at least value_nm on every side: the cut grown by value_nm lies in outer.
    (Markers are the uncovered parts; a cut outside outer is reported too.)"""
    cuts, outer = layers.raw(rule["inner"]), layers.raw(rule["outer"])
    e = rule["value_nm"]
    grown = cuts.sized(e) if e else cuts
    return [grown - outer]


def enclosure_opposite(rule: Rule, layers: Layers, drawn: Iterable[str]) -> Markers:
    """outer encloses inner by value_nm on two opposite sides: the cut grown by value_nm in x, or the cut
    grown in y, lies in outer. (Same as: no two adjacent sides both short.)"""
    cuts, outer = layers.raw(rule["inner"]), layers.raw(rule["outer"])
    o = rule["value_nm"]
    grown_x, grown_y = cuts.sized(o, 0, 2), cuts.sized(0, o, 2)
    short_x = grown_x.interacting(grown_x - outer)
    if short_x.is_empty():
        return []
    short_y = grown_y.interacting(grown_y - outer)
    bad = cuts.inside(short_x).inside(short_y)
    return [bad.not_interacting(bad - outer)]  # a cut outside outer is the enclosure rule's finding


def grid(rule: Rule, layers: Layers, drawn: Iterable[str]) -> Markers:
    g = rule["value_nm"]
    return [layers.raw(name).grid_check(g, g) for name in drawn]


def manhattan(rule: Rule, layers: Layers, drawn: Iterable[str]) -> Markers:
    return [layers.raw(name).non_rectilinear() for name in drawn]


def row_gap(rule: Rule, layers: Layers, drawn: Iterable[str]) -> Markers:
    """Empty sites between standard cells of one row: where closing the std-cell area horizontally
    (by value_nm) adds area. One marker per gap."""
    cells = layers.flat(rule["layer"])
    half = rule["value_nm"] // 2
    return [cells.sized(half, 0, 2).sized(-half, 0, 2) - cells]


def row_overlap(rule: Rule, layers: Layers, drawn: Iterable[str]) -> Markers:
    raw = layers.flat(rule["layer"]).dup()
    raw.merged_semantics = False
    return [raw.merged(False, 2)]  # area covered by two or more cells (min wrap count 2)


def tap_distance(rule: Rule, layers: Layers, drawn: Iterable[str]) -> Markers:
    """Diffusion farther than value_nm (in x or y) from every tap (latch-up)."""
    diff = layers.flat(rule["diff"])
    if diff.is_empty():
        return []
    v = rule["value_nm"]
    # grow in x, merge, then grow in y: the same square zones, without merging 10^4 overlapping squares
    zone = layers.flat(rule["tap"]).sized(v, 0, 2).merged().sized(0, v, 2)
    return [diff - zone]


CHECKS: dict[str, Callable[[Rule, Layers, Iterable[str]], Markers]] = {
    "width": width,
    "space": space,
    "wide_space": wide_space,
    "area": area,
    "cut_size": cut_size,
    "enclosure": enclosure,
    "enclosure_opposite": enclosure_opposite,
    "grid": grid,
    "manhattan": manhattan,
    "row_gap": row_gap,
    "row_overlap": row_overlap,
    "tap_distance": tap_distance,
}


def describe(rule: Rule) -> str:
    """One line saying what the rule requires."""
    p = rule.params
    k = rule.kind
    if k == "width":
        return f"{p['layer']} width >= {_um(p['value_nm'])}"
    if k == "space":
        return f"{p['layer']} spacing >= {_um(p['value_nm'])}"
    if k == "wide_space":
        return f"{p['layer']} spacing to metal wider than {_um(p['width_gt_nm'])} >= {_um(p['value_nm'])}"
    if k == "area":
        return f"{p['layer']} area >= {p['value_nm2'] / 1e6:g} um^2"
    if k == "cut_size":
        return f"{p['layer']} cuts exactly {_um(p['value_nm'])} square"
    if k == "enclosure":
        if p["value_nm"] == 0:
            return f"{p['inner']} covered by {p['outer']}"
        return f"{p['outer']} enclosure of {p['inner']} >= {_um(p['value_nm'])} (and covers it)"
    if k == "enclosure_opposite":
        return f"{p['outer']} enclosure of {p['inner']} >= {_um(p['value_nm'])} on two opposite sides"
    if k == "grid":
        return f"vertices on the {_um(p['value_nm'])} manufacturing grid"
    if k == "manhattan":
        return "edges horizontal or vertical only"
    if k == "row_gap":
        return f"no empty sites between standard cells of a row (gaps < {_um(p['value_nm'])})"
    if k == "row_overlap":
        return "standard cells do not overlap"
    if k == "tap_distance":
        return f"{p['diff']} within {_um(p['value_nm'])} of a {p['tap']}"
    return k
