"""Wafer-scale planner: area, dies, yield, wafers, power and throughput of a model from measured figures.

    from layoutgen.estimate import estimate, load_calibration, from_file, from_shapes, PlanOptions
    plan = estimate(from_file("digits.int.npz", None, None), load_calibration(pdk.data_dir))
    print(plan.table()); plan.to_dict()
"""
from .calibration import Calibration, load_calibration
from .digits import csd_digit_counts, expected_digits_per_weight
from .plan import Plan, PlanOptions, energy_from_report, estimate, partition
from .spec import EstimateError, LayerSpec, ModelSpec, from_file, from_int_model, from_param_count, from_shapes, parse_layers
from .wafer import gross_dies_per_wafer, wafers_needed, yield_murphy, yield_poisson

__all__ = [
    "Calibration", "EstimateError", "LayerSpec", "ModelSpec", "Plan", "PlanOptions", "csd_digit_counts",
    "energy_from_report", "estimate", "expected_digits_per_weight", "from_file", "from_int_model",
    "from_param_count", "from_shapes", "gross_dies_per_wafer", "load_calibration", "parse_layers", "partition",
    "wafers_needed", "yield_murphy", "yield_poisson",
]
