"""`layoutgen estimate`: plan a chip (or several dies) for a model too large to build here."""
from __future__ import annotations

import click

from ._common import user_errors


@click.command("estimate")
@click.argument("model_file", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--layers", help="Layer shapes INxOUT,... e.g. 784x256,256x10 (instead of a model file).")
@click.option("--params", type=float, help="A parameter count, as square layers of --fan-in inputs.")
@click.option("--fan-in", default=1024, show_default=True, type=int, help="Layer width for --params.")
@click.option("--weight-bits", type=click.IntRange(2, 32), help="Weight bits (2 = ternary) [default: 4; int-v1 files: their own].")
@click.option("--act-bits", type=click.IntRange(1, 32), help="Activation bits [default: 8; int-v1 files: their own].")
@click.option("--sparsity", type=float, help="Fraction of zero weights (default: uniform random weights).")
@click.option("--stage-depth", default=8.0, show_default=True, type=float, help="Full-adder delays per pipeline stage.")
@click.option("--utilization", default=0.4, show_default=True, type=float, help="Cell area / core area.")
@click.option("--io-ring-mm", default=0.2, show_default=True, type=float, help="Pad ring depth per side (assumed).")
@click.option("--die-limit-mm2", type=float, help="Largest die (square); default: the reticle.")
@click.option("--reticle-mm", default=(26.0, 33.0), show_default=True, type=(float, float), help="Reticle field W H.")
@click.option("--wafer-mm", default=200.0, show_default=True, type=float, help="Wafer diameter.")
@click.option("--edge-mm", default=3.0, show_default=True, type=float, help="Edge exclusion.")
@click.option("--scribe-mm", default=0.1, show_default=True, type=float, help="Scribe lane width.")
@click.option("--d0", default=0.1, show_default=True, type=float, help="Defect density per cm2 (assumed).")
@click.option("--chips", default=1000, show_default=True, type=int, help="Complete model instances wanted.")
@click.option("--energy-from", type=click.Path(dir_okay=False, path_type=str),
              help="A build's report.json whose energy per um2 of cells replaces the calibrated figure.")
@click.option("--pdk", "pdk_name", default="sky130", show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=str), help="Also write the plan as JSON.")
@user_errors
def command(model_file, layers, params, fan_in, weight_bits, act_bits, sparsity, stage_depth, utilization, io_ring_mm,
            die_limit_mm2, reticle_mm, wafer_mm, edge_mm, scribe_mm, d0, chips, energy_from, pdk_name, json_path):
    """Estimate area, dies per wafer, yield, wafers, power and throughput for MODEL_FILE (int-v1/float .npz
    or ONNX), --layers shapes or a --params count, from figures measured on real layoutgen builds."""
    from ..estimate import PlanOptions, energy_from_report, estimate, from_file, from_param_count, from_shapes, load_calibration, parse_layers
    from ..estimate.spec import EstimateError
    from ..pdk import load_pdk

    given = [n for n, v in (("MODEL_FILE", model_file), ("--layers", layers), ("--params", params)) if v is not None]
    if len(given) != 1:
        raise EstimateError("give exactly one of MODEL_FILE, --layers or --params "
                            f"({'none' if not given else ' and '.join(given)} given)")
    if model_file is not None:
        if sparsity is not None:
            raise EstimateError("--sparsity applies to --layers/--params; a model file has its own weights")
        spec = from_file(model_file, weight_bits, act_bits)
    elif layers is not None:
        spec = from_shapes(parse_layers(layers), weight_bits or 4, act_bits or 8, sparsity,
                           source=f"layers {layers}")
    else:
        spec = from_param_count(params, weight_bits or 4, act_bits or 8, fan_in, sparsity)
    e_um2 = e_src = None
    if energy_from is not None:
        e_um2, e_src = energy_from_report(energy_from)
    options = PlanOptions(stage_depth=stage_depth, utilization=utilization, io_ring_mm=io_ring_mm,
                          reticle_mm=tuple(reticle_mm), die_limit_mm2=die_limit_mm2, wafer_mm=wafer_mm,
                          edge_exclusion_mm=edge_mm, scribe_mm=scribe_mm, d0_per_cm2=d0, chips=chips,
                          energy_pj_per_um2=e_um2, energy_source=e_src)
    pdk = load_pdk(pdk_name)
    plan = estimate(spec, load_calibration(pdk.data_dir), options)
    if json_path:
        plan.write_json(json_path)
    click.echo(plan.table(), nl=False)
