"""`layoutgen faults DIR`: defects injected into the simulated netlist of a build; accuracy, yield, calibration."""
from __future__ import annotations

import math
from pathlib import Path

import click

from ._common import user_errors
from ..errors import LayoutgenError


def _numbers(text: str | None, what: str, kind=float) -> tuple | None:
    if text is None:
        return None
    out = []
    for part in text.split(","):
        try:
            value = kind(part.strip())
        except ValueError:
            raise LayoutgenError(f"{what} '{part.strip()}' in '{text}' is not a number; give a comma-separated list, e.g. 100,1000") from None
        if isinstance(value, float) and not math.isfinite(value) or value < 0:
            raise LayoutgenError(f"{what} {part.strip()} must be a finite number >= 0")
        out.append(value)
    return tuple(out)


def _number(text: str, what: str, kind, lo: float, hi: float):
    try:
        value = kind(text)
    except ValueError:
        raise LayoutgenError(f"{what} '{text}' is not a number") from None
    if not (lo <= value <= hi):
        raise LayoutgenError(f"{what} {text} is outside {lo:g}..{hi:g}")
    return value


@click.command("faults")
@click.argument("build_dir", type=str)
@click.option("--density", "densities", metavar="D[,D...]", help="Defect densities per cm2, comma-separated [default: 0.1..30 expected defects per die].")
@click.option("--counts", metavar="K[,K...]", default="0,1,2,5,10,20,50,100", show_default=True, help="Defect counts per die, comma-separated.")
@click.option("--dies", metavar="N", default="40", show_default=True, help="Simulated dies per point (seeds).")
@click.option("--seed", metavar="S", default="0", show_default=True, help="Base seed.")
@click.option("--tolerance", metavar="T", default="0.01", show_default=True,
              help="Functional yield: a die passes with accuracy >= fault-free accuracy - tolerance.")
@click.option("--open-fraction", metavar="F", default="0.5", show_default=True, help="Fraction of wire defects that are opens (the rest bridges).")
@click.option("--open-value", metavar="0|1", default="0", show_default=True, help="What a cut-off input reads (0 or 1).")
@click.option("--bridge-model", metavar="and|dominant", default="and", show_default=True, help="Bridge model: and (wired-AND) or dominant.")
@click.option("--data", metavar="FILE", type=str, help="Data .npz whose X_calib/y_calib calibrate (held-out: the test set) "
                                       "[default: half of DIR's test set calibrates, the other half is held out].")
@click.option("--offset-bits", metavar="N", default="0", show_default=True, help="Signed bits of each calibration offset (0: the output width).")
@click.option("--utilization", metavar="U", default="0.4", show_default=True, help="Placement utilization for wire areas and neighbours.")
@click.option("--out", "out_dir", metavar="DIR", type=str, help="Output folder [default: DIR/faults].")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@user_errors
def command(build_dir, densities, counts, dies, seed, tolerance, open_fraction, open_value, bridge_model, data,
            offset_bits, utilization, out_dir, quiet):
    """Inject manufacturing defects into the netlist of BUILD_DIR (from `layoutgen build`) and measure
    test accuracy vs defect count and density, functional vs classic yield, and how far per-output
    calibration offsets recover it. Writes faults.json, faults.md and faults.png.
    """
    from ..pdk import load_pdk
    from ..faults.campaign import CampaignOptions, run_campaign
    from ..faults.report import write_results
    from ..faults.sample import DefectMix
    from ..faults.target import open_build_dir
    from ..sim.check import read_report

    def progress(msg: str) -> None:
        if not quiet:
            click.echo(f"layoutgen: {msg}", err=True)

    if data is not None and not Path(data).is_file():
        raise LayoutgenError(f"--data {data}: no such file; pass a data .npz with X_calib and y_calib")
    options = CampaignOptions(
        counts=tuple(int(c) for c in _numbers(counts, "defect count", int)),
        densities=_numbers(densities, "defect density"),
        dies=_number(dies, "--dies", int, 1, 1_000_000),
        seed=_number(seed, "--seed", int, 0, 2**63 - 1),
        tolerance=_number(tolerance, "--tolerance", float, 0.0, 1.0),
        mix=DefectMix(_number(open_fraction, "--open-fraction", float, 0.0, 1.0),
                      _number(open_value, "--open-value", int, 0, 1)),
        bridge_model=bridge_model,
        offset_bits=_number(offset_bits, "--offset-bits", int, 0, 62),
    )
    options.check()
    util = _number(utilization, "--utilization", float, 0.1, 0.9)
    if not Path(build_dir).is_dir():
        raise LayoutgenError(f"{build_dir}: no such build folder; run `layoutgen build --out {build_dir}` first")
    pdk = load_pdk(str(read_report(Path(build_dir)).get("pdk", "sky130")))
    progress(f"load and place {build_dir}")
    target = open_build_dir(build_dir, pdk, data=data, utilization=util, seed=options.seed)
    result = run_campaign(target, options, progress)
    out = write_results(result, Path(out_dir) if out_dir else Path(build_dir) / "faults")
    ff = result["fault_free"]["accuracy"]
    last = result["by_count"][-1]
    click.echo(f"{result['top']}: fault-free accuracy {ff:.4f}; with {last['defects']} defects "
               f"{last['accuracy']['mean']:.4f} (calibrated held-out {last['heldout_after_calibration']['mean']:.4f}); "
               f"{result['_seconds_per_die'] * 1000:.0f} ms per simulated die -> {out}")
    for d in result["by_density"]:
        click.echo(f"  {d['density_per_cm2']:g}/cm2 ({d['expected_defects']:.2f} defects): functional yield "
                   f"{d['functional_yield']['value']:.3f}, held-out {d['heldout_functional_yield']['value']:.3f} -> "
                   f"calibrated {d['calibrated_functional_yield']['value']:.3f}, "
                   f"Poisson {d['poisson_yield']:.3f}")
