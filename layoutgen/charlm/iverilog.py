"""The chip's written Verilog in Icarus Verilog (sky130 functional cell models), driven by the same schedule.

An independent check of the whole generating chip: Verilog writer, the library's own cell models
and an event-driven simulator. Per cycle the testbench applies (rst, in_valid, in_token) from a
hex file, takes the rising edge and, shortly after it, writes the registered outputs.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from ..netlist.verilog import verilog_identifier, write_verilog
from ..pdk.views import CellViews
from ..sim.errors import SimulationError
from ..sim.iverilog import PERIOD_NS, _tool, compile_and_run
from .generation import check_prompt_tokens, check_prompts, collect, reset_inputs, schedule, total_rounds
from .hardware import Chip


def chip_testbench(chip: Chip, n_cycles: int) -> str:
    tb, sb = chip.token_bits, chip.stream_bits
    w = tb + 2
    half = PERIOD_NS // 2
    return f"""`timescale 1ns / 1ps
module charlm_tb;
  reg clk, rst, in_valid;
  reg [{tb - 1}:0] in_token;
  wire [{tb - 1}:0] out_token;
  wire [{sb - 1}:0] out_stream;
  wire out_valid;
  reg [{w - 1}:0] stim [0:{n_cycles - 1}];
  integer t, f;
  {verilog_identifier(chip.design.top)} dut (.clk(clk), .rst(rst), .in_valid(in_valid), .in_token(in_token),
    .out_token(out_token), .out_stream(out_stream), .out_valid(out_valid));
  initial begin
    $readmemh("stim.hex", stim);
    f = $fopen("out.txt", "w");
    clk = 0;
    for (t = 0; t < {n_cycles}; t = t + 1) begin
      {{in_token, in_valid, rst}} = stim[t];
      #{half} clk = 1;
      #{half - 1};
      $fwrite(f, "%h %h %h\\n", out_token, out_stream, out_valid);
      clk = 0;
      #1;
    end
    $fclose(f);
    $finish;
  end
endmodule
"""


def run_chip_iverilog(chip: Chip, prompts: list[list[int]], n_tokens: int, views: CellViews,
                      workdir: str | Path | None = None) -> list[list[int]]:
    """Generated tokens per stream, as the Verilog netlist produces them in iverilog."""
    _tool("iverilog"), _tool("vvp")  # fail early if a tool is missing
    P = chip.streams
    check_prompts(prompts, P)
    check_prompt_tokens(prompts, chip.spec)
    rounds = total_rounds(prompts, n_tokens)
    parts = [reset_inputs(P), schedule(P, prompts, (0, rounds))]
    stim = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    n_cycles = len(stim["rst"])
    words = stim["rst"] | (stim["in_valid"] << 1) | (stim["in_token"] << 2)
    models = [str(p) for p in views.verilog_models(sorted(chip.design.cell_counts()))]
    with tempfile.TemporaryDirectory(prefix="layoutgen-charlm-") as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        write_verilog(chip.design, work / "design.v")
        (work / "tb.v").write_text(chip_testbench(chip, n_cycles))
        (work / "stim.hex").write_text("".join(f"{int(v):x}\n" for v in words))
        (work / "out.txt").unlink(missing_ok=True)
        lines = compile_and_run(work, "charlm_tb", models, "out.txt", "the chip").split("\n")[P:n_cycles]
    try:
        rows = np.array([[int(x, 16) for x in line.split()] for line in lines], dtype=np.int64)
    except ValueError:
        bad = next(line for line in lines if any(c in line.lower() for c in "xz"))
        raise SimulationError(f"iverilog outputs {bad!r} hold unknown bits after the reset: the netlist does not "
                              "settle") from None
    out = {"out_token": rows[:, 0], "out_stream": rows[:, 1], "out_valid": rows[:, 2]}
    tokens: list[list[int]] = [[] for _ in prompts]
    collect(out, 0, P, tokens, n_tokens)
    return tokens
