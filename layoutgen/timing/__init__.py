"""Static timing analysis on the netlist IR with NLDM tables derived from the PDK's liberty data."""
from .analyze import WIRE_CAP_PER_FANOUT_FF, analyze
from .report import PathPoint, TimingReport
from .tables import available_corners, load_timing_library

__all__ = ["analyze", "TimingReport", "PathPoint", "WIRE_CAP_PER_FANOUT_FF", "available_corners", "load_timing_library"]
