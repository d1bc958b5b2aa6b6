"""Random netlists with dataflow locality, for tests and benchmarks of the physical flow.

Each new cell takes its inputs mostly from recently created nets (exponentially distributed
look-back), like the adder trees the arithmetic generator builds; flip-flops share one clock.
"""
from __future__ import annotations

import numpy as np

from ..netlist.builder import ModuleBuilder
from ..netlist.cells import CellLibrary
from ..netlist.ir import Design, Module

LOGIC_ROLES = ("fa", "ha", "xor2", "xnor2", "inv", "buf", "clkbuf", "nand2", "nor2", "and2", "or2",
               "nor3", "or3", "maj3", "mux2", "dff", "tie")


def random_design(library: CellLibrary, n_cells: int, *, seed: int = 0, n_inputs: int = 16,
                  n_outputs: int = 8, lookback: float = 30.0, top: str = "rand") -> Design:
    """A valid single-module design of about `n_cells` cells using every logic role."""
    rng = np.random.default_rng(seed)
    design = Design(top, library)
    mod = design.add_module(Module(top))
    b = ModuleBuilder(mod, library)
    clk = b.net("clk")
    mod.add_port("clk", "input", [clk])
    xs = [b.net(f"x{i}") for i in range(n_inputs)]
    mod.add_port("x", "input", xs)
    pool = list(xs)
    roles = [r for r in LOGIC_ROLES if r in library.by_role and r != "tie"]
    picks = rng.integers(len(roles), size=n_cells - 1)
    looks = rng.exponential(lookback, size=(n_cells, 3)).astype(np.int64)
    tie = b.cell("tie", name="tie0")
    pool.extend(tie.values())
    for k in range(n_cells - 1):
        # every role at least once, then random
        role = roles[k] if k < len(roles) else roles[int(picks[k])]
        master = library.role(role)
        ins = {p: pool[max(0, len(pool) - 1 - int(looks[k, j]))] for j, p in enumerate(master.inputs)}
        if k < n_inputs and master.inputs:
            ins[master.inputs[0]] = xs[k]  # every input bit is used
        if k < 2 and len(master.inputs) > 1:
            ins[master.inputs[-1]] = (tie["HI"], tie["LO"])[k]  # and both constants
        if master.clock:
            ins[master.clock] = clk
        pool.extend(b.cell(role, **ins).values())
    mod.add_port("y", "output", pool[-n_outputs:])
    design.validate()
    return design
