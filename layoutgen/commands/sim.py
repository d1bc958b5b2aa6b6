"""`layoutgen sim DIR`: simulate a built netlist and compare it bit for bit with its integer model."""
from __future__ import annotations

import sys

import click

from ._common import user_errors


def _fmt(values) -> str:
    vals = [int(v) for v in values]
    text = " ".join(str(v) for v in vals[:16])
    return text + (f" ... ({len(vals)} values)" if len(vals) > 16 else "")


@click.command("sim")
@click.argument("build_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("--vectors", "-n", default=10_000, show_default=True, type=click.IntRange(min=0),
              help="Random input vectors (all-zero and all-maximum are always added).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the random vectors.")
@click.option("--data", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Data .npz whose test inputs are simulated too (default: DIR/<top>.test.npz if present).")
@click.option("--iverilog", "iverilog_vectors", default=0, show_default=True, type=click.IntRange(min=0),
              help="Also run the first N vectors through Icarus Verilog with the PDK's functional cell models.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@user_errors
def command(build_dir: str, vectors: int, seed: int, data: str | None, iverilog_vectors: int, quiet: bool) -> None:
    """Simulate the netlist in BUILD_DIR (from `layoutgen build`) against its integer model.

    Streams one vector per clock through the gate-level netlist and compares every output with the
    golden model. Exit code 0 if bit-exact, 1 on any mismatch, 2 on bad input.
    """
    from ..sim.check import check_build_dir
    from ._common import pdk_root_from_env

    def progress(msg: str) -> None:
        if not quiet:
            click.echo(f"layoutgen: {msg}", err=True)

    result = check_build_dir(build_dir, n_random=vectors, seed=seed, data=data, progress=progress,
                             iverilog_vectors=iverilog_vectors, pdk_root=pdk_root_from_env())
    sets = ", ".join(f"{n} {name}" for name, n in result.sets.items())
    iv = ""
    if result.iverilog_vectors:
        iv_state = "bit-exact" if result.iverilog_mismatched == 0 else f"{result.iverilog_mismatched} MISMATCH"
        iv = f"; iverilog {iv_state} on the first {result.iverilog_vectors} ({result.iverilog_seconds:.1f} s)"
    if result.ok:
        click.echo(f"{result.top}: bit-exact on {result.n_vectors} vectors ({sets}); "
                   f"{result.n_cells} cells simulated in {result.seconds:.2f} s{iv}")
        return
    ours = (f"{result.n_mismatched} of {result.n_vectors} vectors MISMATCH" if result.n_mismatched
            else f"bit-exact on {result.n_vectors} vectors in the numpy simulator")
    click.echo(f"{result.top}: {ours} ({sets}){iv}")
    for m in result.mismatches:
        click.echo(f"  vector {m.index} ({m.source}): x = {_fmt(m.inputs)}")
        click.echo(f"    golden  y = {_fmt(m.expected)}")
        click.echo(f"    netlist y = {_fmt(m.got)}")
    if result.n_mismatched > len(result.mismatches):
        click.echo(f"  ... and {result.n_mismatched - len(result.mismatches)} more")
    sys.exit(1)
