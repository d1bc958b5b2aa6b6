"""Energy per inference and power from simulated switching activity and liberty-derived cell energies."""
from .activity import Activity, measure_activity, simulate_activity
from .energy import EnergyReport, energy_from_activity, estimate_energy
from .library import available_power_corners, load_power_library

__all__ = [
    "Activity", "EnergyReport", "available_power_corners", "energy_from_activity", "estimate_energy",
    "load_power_library", "measure_activity", "simulate_activity",
]
