"""`layoutgen drc GDS [--top CELL] [--report FILE.lyrdb] [--jobs N] [--by-cell]`: our sky130 DRC deck on a layout.

Exit codes: 0 clean, 1 violations, 2 bad input.
"""
from __future__ import annotations

import sys

import click

from ._common import user_errors


@click.command("drc")
@click.argument("gds", type=click.Path(dir_okay=False))
@click.option("--top", default=None, help="Top cell to check (default: the file's only top cell).")
@click.option("--report", type=click.Path(dir_okay=False), default=None,
              help="Write a KLayout marker database (.lyrdb) for KLayout's marker browser.")
@click.option("--pdk", "pdk_name", default="sky130", show_default=True, help="PDK whose rule table is used.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Processes to check rules in (default: one per core for layouts over 4 MB, else 1).")
@click.option("--by-cell", is_flag=True,
              help="Check each distinct cell the top places once, then the seams between placements "
                   "(fast for arrays of reused cells; the top may only place cells).")
@user_errors
def command(gds, top, report, pdk_name, jobs, by_cell):
    """Check GDS against the PDK's design rules; print a per-rule summary."""
    from ..pdk import load_pdk
    from ..verify.drc import run_drc

    result = run_drc(gds, load_pdk(pdk_name), top=top, report=report, workers=jobs, by_cell=by_cell)
    click.echo(result.summary())
    if result.report is not None:
        click.echo(f"markers: {result.report}")
    sys.exit(0 if result.clean else 1)
