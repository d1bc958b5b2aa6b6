"""Detailed routing on the PDK track grid: met2 (vertical) and met3 (horizontal) with via2 between them;
pins are reached through the per-master access points (met1/via to a met2 pad)."""

from .grid import RouteGrid
from .router import RouteOptions, RouteResult, route

__all__ = ["RouteGrid", "RouteOptions", "RouteResult", "route"]
