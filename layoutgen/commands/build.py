"""`layoutgen build`: compile a model into a pipelined netlist of PDK cells and write DIR."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from ._common import pdk_root_from_env, user_errors
from ..errors import LayoutgenError

EXAMPLE = "digits"


def _default_model(float_wanted: bool) -> Path:
    from ..resources import example_dir

    folder = example_dir(EXAMPLE)
    if folder is None:
        raise LayoutgenError(
            "no MODEL given and the bundled example examples/digits is not installed; pass a model file "
            "(int-v1 .npz, float .npz or .onnx)"
        )
    return folder / (f"{EXAMPLE}.float.npz" if float_wanted else f"{EXAMPLE}.int.npz")


def _top_from(path: Path) -> str:
    stem = path.name.split(".")[0]
    name = re.sub(r"\W", "_", stem)
    return name if name and not name[0].isdigit() else f"m_{name}"


@click.command("build")
@click.argument("model", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pdk", "pdk_name", default="sky130", show_default=True, help="Process design kit (pdk/<name>/).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Output folder [default: build/<top>].")
@click.option("--top", help="Name of the top module/cell [default: from the model file name].")
@click.option("--weight-bits", type=click.IntRange(2, 8), help="Quantize a float model's weights to N bits (2 = ternary).")
@click.option("--act-bits", type=click.IntRange(1, 8), help="Quantize a float model's activations to N bits.")
@click.option("--stage-depth", default=8.0, show_default=True, type=click.FloatRange(min=0.5),
              help="Most logic per pipeline stage, in full-adder delays (smaller: faster clock, more flip-flops).")
@click.option("--clock-mhz", type=float, default=None,
              help="Target clock (MHz) at the slow corner (ss, 100 C, 1.60 V): chooses the stage depth with the "
                   "fewest register ranks that meets it (overrides --stage-depth).")
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path),
              help="Calibration/test data .npz [default: <model stem>.data.npz beside the model].")
@click.option("--calibration", "calibration_bits", type=click.IntRange(0, 62), default=None, is_flag=False, flag_value=0,
              help="Add per-output offset registers loaded by a scan chain (ports scan_in, scan_en, scan_out), "
                   "--calibration=N for N-bit offsets [default width: the output width]; see docs/faults.md.")
@click.option("--no-share", is_flag=True, help="Disable common-subexpression sharing (for comparisons).")
@click.option("--recoding", type=click.Choice(["csd", "binary"]), default="csd", show_default=True,
              help="Weight digit recoding.")
@click.option("--check-vectors", default=2000, show_default=True, type=click.IntRange(min=0),
              help="Random vectors the build simulates against the golden model (test inputs are always added).")
@click.option("--utilization", default=0.4, show_default=True, type=click.FloatRange(0.1, 0.9),
              help="Target logic cell area / core area of the placement.")
@click.option("--format", "layout_format", type=click.Choice(["gds", "oas"]), default="gds", show_default=True,
              help="Layout file format.")
@click.option("--layout", "with_layout", is_flag=True,
              help="Also place, route and write the layout (GDS/OASIS), checked by DRC and LVS. "
                   "The router is young: small designs route; large ones may not yet.")
@click.option("--no-verify", is_flag=True, help="With --layout: skip DRC and LVS.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="With --layout: processes for DRC and LVS (default: one per core for layouts over 4 MB, "
                   "else 1). Results do not depend on it.")
@click.option("--floorplan", type=click.Choice(["crossbar", "free"]), default="crossbar", show_default=True,
              help="With --layout: crossbar (neurons in columns, input groups in rows, logic built to match; "
                   "about 19% more cells on digits, far less wire) or free (the placer alone).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@click.option("--tile", type=int, default=None,
              help="Build shared partial-sum units on weight tiles of K inputs (docs/cluster.md).")
@click.option("--cluster", "cluster_spec",
              help="Vector-quantize weight tiles: K clusters per layer, K0,K1,... per layer, or drop=F "
                   "(smallest K losing at most F accuracy); writes the clustered int model built.")
@click.option("--no-units", is_flag=True,
              help="With --cluster: build the clustered model with the plain shared adder graph, not tile units.")
@click.option("--no-macros", is_flag=True,
              help="With --tile and --layout: lay out every unit copy as loose cells instead of stamping "
                   "one placed and routed macro per unit.")
@user_errors
def command(model, pdk_name, out_dir, top, weight_bits, act_bits, stage_depth, clock_mhz, data, no_share, recoding,
            check_vectors, utilization, layout_format, with_layout, no_verify, floorplan, quiet, tile, cluster_spec,
            calibration_bits, no_units, no_macros, jobs):
    """Compile MODEL (default: the bundled digits example) into a hardwired pipelined netlist.

    Writes DIR/<top>.v (gate-level Verilog), <top>.int.npz (the integer model built),
    <top>.netlist.json.gz, report.json and report.md; with --layout also <top>.gds (placed and
    routed, checked by DRC and LVS) and <top>.lyp. Exits 1 if the netlist, DRC or LVS check fails.
    """
    from ..build import BuildOptions, Progress, build_model_dir, check_top_name
    from ..pdk import load_pdk

    if model is None:
        model = _default_model(weight_bits is not None or act_bits is not None)
    if not model.is_file():
        raise LayoutgenError(f"{model}: no such model file; pass an int-v1 .npz, float .npz or .onnx file")
    top = check_top_name(top or _top_from(model))
    out_dir = out_dir or Path("build") / top
    if tile is not None or cluster_spec is not None:
        from ..cluster.build import DEFAULT_TILE
        from ..cluster.tiles import check_tile

        tile = check_tile(tile if tile is not None else DEFAULT_TILE)
    pdk = load_pdk(pdk_name)
    if no_units and cluster_spec is None:
        raise LayoutgenError("--no-units applies to a clustered build: add --cluster K (or drop --no-units)")
    options = BuildOptions(tile=0 if no_units else (tile or 0), cluster=cluster_spec, cluster_tile=tile or 0,
                           top=top, stage_depth=stage_depth, recoding=recoding, share=not no_share,
                           layout=with_layout, verify=not no_verify, utilization=utilization,
                           layout_format=layout_format, clock_mhz=clock_mhz, calibration_bits=calibration_bits,
                           floorplan=floorplan, macros=not no_macros, jobs=jobs)
    progress = Progress(enabled=not quiet)
    result = build_model_dir(
        model, pdk, out_dir, options, weight_bits=weight_bits, act_bits=act_bits, data=data,
        check_vectors=check_vectors, progress=progress, pdk_root=pdk_root_from_env(),
    )
    r = result.report
    click.echo(
        f"{top}: {r['n_cells']} cells, {r['cell_area_um2'] / 1e6:.4f} mm2 of cells "
        f"({r['cell_area_per_weight_um2']:.1f} um2/weight, {r['full_adders_per_weight']:.2f} FA/weight), "
        f"latency {r['latency_cycles']} cycles, fmax {r['fmax_mhz_tt']:.0f} MHz tt / {r['fmax_mhz_ss']:.0f} MHz ss, "
        f"bit-exact on {r['check']['vectors']} vectors -> {out_dir}"
    )
    click.echo(f"{top}: energy {r['energy_pj_per_inference']:.1f} pJ per inference, {r['power_mw']:.2f} mW at "
               f"{r['fmax_mhz_ss']:.0f} MHz (tt silicon at the ss fmax)")
    acc = r.get("accuracy")
    if acc:
        parts = [f"{k.replace('_accuracy', '')} {acc[k]:.4f}" for k in ("float_accuracy", "int_accuracy", "hardware_accuracy") if acc.get(k) is not None]
        click.echo(f"{top}: accuracy on {acc['samples']} test samples: " + ", ".join(parts))
    if "die_width_um" in r:
        click.echo(f"{top}: die {r['die_width_um']:.1f} x {r['die_height_um']:.1f} um, utilization "
                   f"{r['utilization']:.2f}, {r['routed_nets']} nets routed ({r['wire_length_um'] / 1000:.2f} mm)")
    if "drc_violations" in r:
        click.echo(f"{top}: DRC {r['drc_violations']} violations, LVS {'match' if r['lvs_match'] else 'MISMATCH'}")
    failed = not r["check"]["bit_exact"] or r.get("drc_violations", 0) > 0 or r.get("lvs_match") is False
    if failed:
        sys.exit(1)
