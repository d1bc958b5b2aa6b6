"""The result of static timing analysis."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class PathPoint(NamedTuple):
    instance: str  # hierarchical instance name; "" for a top-level port
    cell: str  # PDK cell name, or "input port" / "output port"
    pin: str  # cell pin, or the port bit such as x[3]
    arrival_ps: float


@dataclass(frozen=True)
class TimingReport:
    corner: str
    fmax_mhz: float
    min_period_ps: float  # worst stage delay + its setup + clock skew
    worst_stage_ps: float  # arrival at the critical endpoint: clock-to-Q (or input delay) + logic
    setup_ps: float  # setup time at the critical endpoint
    clock_skew_ps: float
    critical_stage: int | None
    stages_identified: bool  # False when register loops hide the rank structure (all endpoints in stage 0)
    stage_delays_ps: dict[int, float]  # stage (rank of the launching registers, inputs = 0) -> worst arrival
    stage_setup_ps: dict[int, float]
    stage_paths: dict[int, list[PathPoint]]
    critical_path: list[PathPoint]
    endpoints: int
    logic_levels: int
    wire_model: str

    def to_dict(self, paths: bool = False) -> dict:
        """JSON-ready figures; the per-stage paths only when asked (they can be long)."""
        out = {
            "corner": self.corner,
            "fmax_mhz": self.fmax_mhz,
            "min_period_ps": self.min_period_ps,
            "worst_stage_ps": self.worst_stage_ps,
            "setup_ps": self.setup_ps,
            "clock_skew_ps": self.clock_skew_ps,
            "critical_stage": self.critical_stage,
            "stages_identified": self.stages_identified,
            "stage_delays_ps": {str(k): v for k, v in sorted(self.stage_delays_ps.items())},
            "endpoints": self.endpoints,
            "logic_levels": self.logic_levels,
            "wire_model": self.wire_model,
            "critical_path": [list(p) for p in self.critical_path],
        }
        if paths:
            out["stage_paths"] = {str(k): [list(p) for p in v] for k, v in sorted(self.stage_paths.items())}
        return out
