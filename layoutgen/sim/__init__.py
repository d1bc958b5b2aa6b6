"""Bit-parallel cycle-accurate simulation of the netlist IR (numpy; 64 lanes per uint64 word)."""

from .errors import SimulationError
from .simulator import Simulator
from .stream import stream

__all__ = ["SimulationError", "Simulator", "stream"]
