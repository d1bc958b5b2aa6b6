"""The checks behind each DRC rule kind, on klayout.db collections (hierarchical "deep" regions).

Each check takes the rule and a layer lookup and returns the marker collections it found
(Region, Edges or EdgePairs). Kinds are the `kind` values of pdk/<name>/rules.json.
"""
from __future__ import annotations

from typing import Callable, Iterable

import klayout.db as kdb

from ..pdk.tech import Rule

Layers = Callable[[str], kdb.Region]  # layer name -> merged-semantics region of its drawing purpose
Markers = list  # of kdb.Region | kdb.Edges | kdb.EdgePairs

EUCLID = kdb.Metrics.Euclidian
PROJECTION = kdb.Metrics.Projection


def _um(nm: int) -> str:
    return f"{nm / 1000:g} um"


def width(rule: Rule, layer: Layers, drawn: Iterable[str]) -> Markers:
    return [layer(rule["layer"]).width_check(rule["value_nm"], metrics=EUCLID)]


def space(rule: Rule, layer: Layers, drawn: Iterable[str]) -> Markers:
    # notches included (periphery rule x.6)
    return [layer(rule["layer"]).space_check(rule["value_nm"], metrics=EUCLID)]


def wide_space(rule: Rule, layer: Layers, drawn: Iterable[str]) -> Markers:
    """Spacing from the edges of wide metal (parts wider than width_gt_nm) to any metal of the layer."""
    region = layer(rule["layer"])
    half = rule["width_gt_nm"] // 2
    wide = region.sized(-half).sized(half) & region
    if wide.is_empty():
        return []
    all_edges = region.edges()
    wide_edges = wide.edges() & all_edges  # the wide part's edges that are real metal outline
    other_edges = all_edges - wide_edges
    d = rule["value_nm"]
    return [wide_edges.separation_check(other_edges, d, metrics=EUCLID), wide_edges.space_check(d, metrics=EUCLID)]


def area(rule: Rule, layer: Layers, drawn: Iterable[str]) -> Markers:
    return [layer(rule["layer"]).with_area(0, rule["value_nm2"], False)]


def cut_size(rule: Rule, layer: Layers, drawn: Iterable[str]) -> Markers:
    """Cuts must be exact squares of value_nm (periphery rules: min and max width and length)."""
    cuts = layer(rule["layer"])
    s = rule["value_nm"]
    bad = cuts.non_rectangles() | cuts.with_bbox_width(s, s + 1, True) | cuts.with_bbox_height(s, s + 1, True)
    return [bad]


def enclosure(rule: Rule, layer: Layers, drawn: Iterable[str]) -> Markers:
    """outer must cover inner, by at least value_nm on every side."""
    outer, inner = layer(rule["outer"]), layer(rule["inner"])
    out: Markers = [inner - outer]
    if rule["value_nm"] > 0:
        out.append(outer.enclosing_check(inner, rule["value_nm"], metrics=EUCLID))
    return out


def enclosure_opposite(rule: Rule, layer: Layers, drawn: Iterable[str]) -> Markers:
    """outer must enclose inner by value_nm on two opposite sides.

    Equivalent form checked here: no two adjacent sides (one horizontal, one vertical edge of the cut)
    both have less than value_nm (if the short sides are all parallel, the other pair is fine).
    """
    outer, inner = layer(rule["outer"]), layer(rule["inner"])
    short = outer.enclosing_check(inner, rule["value_nm"], metrics=PROJECTION).second_edges()
    if short.is_empty():
        return []
    horizontal = short.with_abs_angle(0, False)
    vertical = short.with_abs_angle(90, False)
    return [inner.interacting(horizontal).interacting(vertical)]


def grid(rule: Rule, layer: Layers, drawn: Iterable[str]) -> Markers:
    g = rule["value_nm"]
    return [layer(name).grid_check(g, g) for name in drawn]


def manhattan(rule: Rule, layer: Layers, drawn: Iterable[str]) -> Markers:
    return [layer(name).non_rectilinear() for name in drawn]


def row_gap(rule: Rule, layer: Layers, drawn: Iterable[str]) -> Markers:
    """Empty sites between standard cells of one row: facing vertical edges of the std-cell area."""
    gaps = layer(rule["layer"]).space_check(rule["value_nm"], metrics=PROJECTION)
    return [gaps.with_abs_angle_both(90, False)]


def row_overlap(rule: Rule, layer: Layers, drawn: Iterable[str]) -> Markers:
    cells = layer(rule["layer"])
    raw = cells.dup()
    raw.merged_semantics = False
    return [raw.merged(False, 2)]  # area covered by two or more cells (min wrap count 2)


def tap_distance(rule: Rule, layer: Layers, drawn: Iterable[str]) -> Markers:
    """Diffusion farther than value_nm from every tap (latch-up)."""
    diff, tap = layer(rule["diff"]), layer(rule["tap"])
    if diff.is_empty():
        return []
    return [diff - tap.sized(rule["value_nm"])]


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
