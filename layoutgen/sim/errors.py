"""Errors raised while compiling or running a simulation."""
from __future__ import annotations

from ..errors import LayoutgenError


class SimulationError(LayoutgenError):
    """A design that cannot be simulated (loop, undriven net, bad clock) or bad stimulus."""
