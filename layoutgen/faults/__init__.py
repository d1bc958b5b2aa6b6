"""Defects: fault injection into the netlist simulation, functional yield and post-fabrication calibration."""
from .ablation import ablate
from .calibrate import accuracy, fit_offsets, fit_validated_offsets
from .campaign import CampaignOptions, run_campaign
from .inject import FaultySimulator, build_injection, die_outputs
from .kinds import BRIDGE, OPEN, STUCK, Fault
from .sample import DefectMix, draw_die, expected_defects, poisson_yield
from .sites import DefectSites, defect_sites
from .target import FaultTarget, open_build_dir

__all__ = [
    "BRIDGE", "OPEN", "STUCK", "CampaignOptions", "DefectMix", "DefectSites", "Fault", "FaultTarget", "FaultySimulator",
    "ablate", "accuracy", "build_injection", "defect_sites", "die_outputs", "draw_die", "expected_defects",
    "fit_offsets", "fit_validated_offsets", "open_build_dir", "poisson_yield", "run_campaign",
]
