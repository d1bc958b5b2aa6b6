"""`layoutgen lvs GDS NETLIST [--top CELL] [--report FILE]` or `layoutgen lvs DIR` (a build directory:
DIR/report.json names the top; DIR/<top>.gds (or .oas) and DIR/<top>.netlist.json.gz are compared).

Exit codes: 0 the layout matches the netlist, 1 mismatch, 2 bad input.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import LayoutgenError
from ._common import pdk_root_from_env, user_errors


def _build_dir_inputs(directory: Path) -> tuple[Path, Path]:
    report = directory / "report.json"
    try:
        top = json.loads(report.read_text())["top"]
    except FileNotFoundError:
        raise LayoutgenError(f"{report} is missing; pass a directory written by `layoutgen build`, "
                             "or a GDS file and a netlist file") from None
    except (ValueError, KeyError, TypeError):
        raise LayoutgenError(f"{report} has no \"top\" entry; rebuild with `layoutgen build`") from None
    layouts = [directory / f"{top}.{ext}" for ext in ("gds", "oas")]
    gds = next((p for p in layouts if p.is_file()), layouts[0])
    netlist = directory / f"{top}.netlist.json.gz"
    for path in (gds, netlist):
        if not path.is_file():
            raise LayoutgenError(f"{path} is missing from the build directory; rebuild with `layoutgen build`")
    return gds, netlist


@click.command("lvs")
@click.argument("layout", type=click.Path())
@click.argument("netlist", type=click.Path(dir_okay=False), required=False)
@click.option("--top", default=None, help="Layout top cell (default: the file's only top cell).")
@click.option("--report", type=click.Path(dir_okay=False), default=None,
              help="Write the mismatch report to FILE (*.lvsdb: KLayout netlist-browser database).")
@click.option("--power/--no-power", default=None,
              help="Check VPWR/VGND connectivity (default: when the layout labels VPWR or VGND).")
@click.option("--pdk", "pdk_name", default="sky130", show_default=True, help="PDK of the layout.")
@user_errors
def command(layout, netlist, top, report, power, pdk_name):
    """Compare a layout's connectivity with its netlist: every cell pin on the right net."""
    from ..netlist.serialize import load_design
    from ..pdk import load_pdk
    from ..verify.lvs import run_lvs

    path = Path(layout)
    if path.is_dir():
        if netlist is not None:
            raise LayoutgenError(f"{path} is a build directory: pass it alone, without a netlist file")
        gds, netlist_path = _build_dir_inputs(path)
    else:
        if netlist is None:
            raise LayoutgenError(f"missing NETLIST: use `layoutgen lvs {layout} TOP.netlist.json.gz` "
                                 "or `layoutgen lvs BUILD_DIR`")
        gds, netlist_path = path, Path(netlist)
    pdk = load_pdk(pdk_name)
    design = load_design(netlist_path, pdk.library)
    result = run_lvs(gds, design, pdk, top=top, pdk_root=pdk_root_from_env(), report=report, power=power)
    click.echo(result.report(), nl=False)
    click.echo(f"time: {result.runtime_s:.2f} s")
    if report is not None:
        click.echo(f"report: {report}")
    sys.exit(0 if result.match else 1)
