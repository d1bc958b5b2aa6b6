"""The netlist IR: hierarchical netlist of PDK cells; the single source for sim, Verilog, place and LVS."""

from .cells import CellLibrary, CellMaster
from .ir import Design, Instance, Module, Port

__all__ = ["CellLibrary", "CellMaster", "Design", "Instance", "Module", "Port"]
