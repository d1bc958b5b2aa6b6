"""Dies per wafer, yield and wafer counts: the standard first-order formulas.

Gross dies per wafer (e.g. de Vries, "Investigation of gross die per wafer formulas", IEEE TSM 2005):
    DPW = pi d^2 / (4 S) - pi d / sqrt(2 S),  d = usable diameter (wafer minus twice the edge exclusion),
    S = (die width + scribe) x (die height + scribe).
Yield with A the die area and D0 the defect density: Poisson Y = exp(-A D0);
Murphy Y = ((1 - exp(-A D0)) / (A D0))^2.
"""
from __future__ import annotations

import math

from ..errors import LayoutgenError


def gross_dies_per_wafer(die_w_mm: float, die_h_mm: float, wafer_mm: float = 200.0, edge_mm: float = 3.0,
                         scribe_mm: float = 0.1) -> int:
    d = wafer_mm - 2 * edge_mm
    if d <= 0:
        raise LayoutgenError(f"edge exclusion {edge_mm} mm leaves nothing of a {wafer_mm} mm wafer")
    s = (die_w_mm + scribe_mm) * (die_h_mm + scribe_mm)
    if s <= 0:
        raise LayoutgenError("die area must be positive")
    return max(0, int(math.floor(math.pi * d * d / (4 * s) - math.pi * d / math.sqrt(2 * s))))


def yield_poisson(area_mm2: float, d0_per_cm2: float) -> float:
    return math.exp(-area_mm2 / 100.0 * d0_per_cm2)


def yield_murphy(area_mm2: float, d0_per_cm2: float) -> float:
    ad = area_mm2 / 100.0 * d0_per_cm2
    if ad == 0:
        return 1.0
    return ((1.0 - math.exp(-ad)) / ad) ** 2


def wafers_needed(chips: int, dies_per_wafer: int, yield_fraction: float) -> int | None:
    """Wafers for `chips` good dies; None if no good die fits (too large for the wafer)."""
    good = dies_per_wafer * yield_fraction
    if chips <= 0:
        return 0
    if good <= 0:
        return None
    return int(math.ceil(chips / good - 1e-9))
