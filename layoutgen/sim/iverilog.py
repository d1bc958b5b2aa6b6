"""Simulate the written Verilog with Icarus Verilog against the PDK's functional cell models.

An independent check of the netlist: our Verilog writer, the library's own cell models and an
event-driven simulator must agree with layoutgen's simulator. The testbench follows the timing
contract: vector k is applied before edge k+1 and y is sampled shortly after edge k+latency.
Flip-flop models carry a unit delay (`UNIT_DELAY=#1`), so a register chain never races its clock.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..netlist.ir import Design
from ..netlist.verilog import verilog_identifier, write_verilog
from ..pdk.views import CellViews
from .bits import bits_to_signed
from .errors import SimulationError

PERIOD_NS = 10


class IverilogMissing(SimulationError):
    """iverilog/vvp are not installed."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise IverilogMissing(
            f"{name} not found on PATH; install Icarus Verilog (Debian/Ubuntu: apt-get install iverilog)"
        )
    return path


def _hex_digits(width: int) -> int:
    return max(1, (width + 3) // 4)


def testbench(top: str, x_width: int, y_width: int, n_vectors: int, latency: int) -> str:
    """A testbench streaming x.hex through `top` and writing y (hex) for every vector to y.hex."""
    read_at = max(latency - 1, 0)  # cycle (0-based) whose post-edge y belongs to vector 0
    n_cycles = n_vectors + read_at
    half = PERIOD_NS // 2
    return f"""`timescale 1ns / 1ps
module layoutgen_tb;
  reg clk;
  reg [{x_width - 1}:0] x;
  wire [{y_width - 1}:0] y;
  reg [{x_width - 1}:0] vectors [0:{n_vectors - 1}];
  integer t, f;
  {verilog_identifier(top)} dut (.clk(clk), .x(x), .y(y));
  initial begin
    $readmemh("x.hex", vectors);
    f = $fopen("y.hex", "w");
    clk = 0;
    x = 0;
    for (t = 0; t < {n_cycles}; t = t + 1) begin
      x = (t < {n_vectors}) ? vectors[t] : {x_width}'d0;
      #{half} clk = 1;
      #{half - 1};
      if (t >= {read_at}) $fwrite(f, "%h\\n", y);
      clk = 0;
      #1;
    end
    $fclose(f);
    $finish;
  end
endmodule
"""


def _pack_hex(X: np.ndarray, input_bits: int, x_width: int) -> list[str]:
    digits = _hex_digits(x_width)
    lines = []
    for row in X:
        v = 0
        for i, e in enumerate(row):
            v |= int(e) << (i * input_bits)
        lines.append(f"{v:0{digits}x}")
    return lines


def compile_and_run(work: Path, tb_top: str, models: list[str], output: str, what: str) -> str:
    """Compile work/tb.v + work/design.v with the functional cell models, run it with vvp, and return
    the text of the file the testbench writes (`output`, in work)."""
    iverilog, vvp = _tool("iverilog"), _tool("vvp")
    cmd = [iverilog, "-g2005", "-grelative-include", "-DFUNCTIONAL", "-DUNIT_DELAY=#1", "-o", "sim.vvp",
           "-s", tb_top, "tb.v", "design.v", *models]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SimulationError(f"iverilog could not compile {what}: {_first_line(proc.stderr or proc.stdout)}")
    proc = subprocess.run([vvp, "-n", "sim.vvp"], cwd=work, capture_output=True, text=True)
    if proc.returncode != 0 or not (work / output).is_file():
        raise SimulationError(f"vvp failed: {_first_line(proc.stderr or proc.stdout)}")
    return (work / output).read_text()


def run_iverilog(
    design: Design,
    X: np.ndarray,
    *,
    input_bits: int,
    output_width: int,
    latency: int,
    views: CellViews,
    workdir: str | Path | None = None,
) -> np.ndarray:
    """Stream X (n_vectors, n_in) through the design in iverilog; outputs (n_vectors, n_out) signed ints.

    `views` (from layoutgen.pdk.views.locate_cell_views) supplies the functional cell models.
    `workdir` keeps the generated files for inspection; by default a temporary folder is used.
    """
    _tool("iverilog"), _tool("vvp")  # fail early, before any work, if a tool is missing
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or X.dtype.kind not in "iu":
        raise SimulationError(f"input vectors must be a non-empty 2-D integer array, got shape {X.shape} {X.dtype}")
    top = design.top_module
    ports = {p.name: p for p in top.ports}
    if set(ports) != {"clk", "x", "y"}:
        raise SimulationError(f"{design.top} must have exactly the ports clk, x and y, not {sorted(ports)}")
    x_width, y_width = ports["x"].width, ports["y"].width
    n_in = X.shape[1]
    if n_in * input_bits != x_width or y_width % output_width:
        raise SimulationError(
            f"{design.top}: x is {x_width} bits and y {y_width} bits, which does not fit {n_in} inputs of "
            f"{input_bits} bits and outputs of {output_width} bits"
        )
    if X.min() < 0 or int(X.max()) >> input_bits:
        raise SimulationError(f"input values must be unsigned {input_bits}-bit integers")
    cells = sorted(design.cell_counts())
    models = [str(p) for p in views.verilog_models(cells)]

    with tempfile.TemporaryDirectory(prefix="layoutgen-iverilog-") as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        write_verilog(design, work / "design.v")
        (work / "tb.v").write_text(testbench(design.top, x_width, y_width, X.shape[0], latency))
        (work / "x.hex").write_text("\n".join(_pack_hex(X, input_bits, x_width)) + "\n")
        (work / "y.hex").unlink(missing_ok=True)
        lines = compile_and_run(work, "layoutgen_tb", models, "y.hex", "the netlist").split()
    if len(lines) != X.shape[0]:
        raise SimulationError(f"iverilog returned {len(lines)} outputs for {X.shape[0]} vectors")
    n_out = y_width // output_width
    bits = np.zeros((X.shape[0], y_width), dtype=np.uint8)
    for k, line in enumerate(lines):
        try:
            v = int(line, 16)
        except ValueError:
            raise SimulationError(
                f"iverilog output for vector {k} is {line!r} (unknown/undriven bits): the netlist does not settle "
                f"to a value {latency} cycles after the input"
            ) from None
        bits[k] = [(v >> b) & 1 for b in range(y_width)]
    return bits_to_signed(bits.reshape(X.shape[0], n_out, output_width))


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:300]
    return "(no message)"
