"""`layoutgen lmbuild`: build the chip of a character language model (generation on chip) into DIR."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ._common import pdk_root_from_env, user_errors
from ..errors import LayoutgenError

EXAMPLE = "charlm"


def _default_model() -> Path:
    from ..resources import example_dir

    folder = example_dir(EXAMPLE)
    if folder is None:
        raise LayoutgenError("no MODEL given and the bundled example examples/charlm is not installed; pass an "
                             "int-v1 .npz with its <stem>.lm.json beside it")
    return folder / f"{EXAMPLE}.int.npz"


@click.command("lmbuild")
@click.argument("model", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder [default: build/<top>].")
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Vocabulary and context (layoutgen-charlm-v1 JSON) [default: <model stem>.lm.json beside MODEL].")
@click.option("--pdk", "pdk_name", default="sky130", show_default=True, help="Process design kit (pdk/<name>/).")
@click.option("--top", default="charlm_chip", show_default=True, help="Name of the top module/cell.")
@click.option("--stage-depth", default=8.0, show_default=True, type=click.FloatRange(min=0.5),
              help="Most logic per pipeline stage, in full-adder delays (smaller: faster clock, more streams).")
@click.option("--temperature", default=0.0, show_default=True, type=float,
              help="0: greedy argmax; > 0: sample at this temperature with an on-chip random source (Gumbel-max).")
@click.option("--seed", default=1, show_default=True, type=click.IntRange(1, 2**31 - 1),
              help="Reset state of the on-chip random source (with --temperature).")
@click.option("--check-tokens", default=24, show_default=True, type=click.IntRange(min=1),
              help="Tokens per stream the build generates in simulation and compares with the numpy reference.")
@click.option("--layout", "with_layout", is_flag=True,
              help="Also place, route and write DIR/<top>.gds, checked by DRC and LVS (the `build --layout` path).")
@click.option("--utilization", default=0.4, show_default=True, type=click.FloatRange(0.05, 0.9),
              help="With --layout: target logic cell area / core area of the placement.")
@click.option("--floorplan", type=click.Choice(["crossbar", "free"]), default="crossbar", show_default=True,
              help="With --layout: crossbar (the network built and placed as neuron columns x input-group rows; "
                   "docs/physical.md) or free (the placer alone).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@user_errors
def command(model, out_dir, spec_path, pdk_name, top, stage_depth, temperature, seed, check_tokens, with_layout,
            utilization, floorplan, quiet):
    """Build the generating chip of MODEL (int-v1 character model; default: examples/charlm).

    The chip holds the network, an argmax unit (with --temperature: Gumbel noise from an on-chip
    random source added to the logits first) and a ring of context registers for P streams
    (P = pipeline latency + 1, chosen automatically). Writes DIR/<top>.v, <top>.netlist.json.gz,
    <top>.int.npz, <top>.lm.json and report.json (with --layout also <top>.gds, checked by DRC and
    LVS; exit code 1 if they fail); `layoutgen generate DIR` runs it.
    """
    from ..build import Progress, check_top_name
    from ..charlm.chipdir import build_chip_dir
    from ..charlm.hardware import ChipOptions
    from ..pdk import load_pdk

    model = model or _default_model()
    if not model.is_file():
        raise LayoutgenError(f"{model}: no such model file; pass an int-v1 .npz character model")
    top = check_top_name(top)
    out_dir = out_dir or Path("build") / top
    pdk = load_pdk(pdk_name)
    options = ChipOptions(top=top, stage_depth=stage_depth, crossbar=with_layout and floorplan == "crossbar")
    result = build_chip_dir(model, pdk, out_dir, options, spec_path=spec_path,
                            temperature=temperature, seed=seed, check_tokens=check_tokens,
                            progress=Progress(enabled=not quiet), layout=with_layout, utilization=utilization,
                            pdk_root=pdk_root_from_env())
    r = result.report
    mode = f"sampling at T={temperature:g}" if r["sampling"] else "greedy"
    click.echo(
        f"{top} ({mode}): {r['n_cells']} cells, {r['cell_area_um2'] / 1e6:.4f} mm2 of cells, {r['streams']} streams "
        f"(core latency {r['core_latency_cycles']} + 1), fmax {r['fmax_mhz_tt']:.0f} MHz tt / "
        f"{r['fmax_mhz_ss']:.0f} MHz ss: {r['tokens_per_s_tt'] / 1e6:.0f}M tokens/s in total, "
        f"{r['tokens_per_s_per_stream_tt'] / 1e6:.1f}M per stream (tt); identical to the numpy reference on "
        f"{r['check']['streams']} streams x {r['check']['tokens_per_stream']} tokens -> {out_dir}"
    )
    if with_layout:
        clean = r["drc_violations"] == 0 and r["lvs_match"]
        click.echo(f"layout: {r['die_width_um']:.1f} x {r['die_height_um']:.1f} um, DRC {r['drc_violations']} "
                   f"violations, LVS {'match' if r['lvs_match'] else 'MISMATCH'}")
        if not clean:
            sys.exit(1)
