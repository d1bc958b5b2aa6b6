"""`--clock-mhz F`: choose the pipeline cuts so the design meets F at the slow corner.

The pipeliner cuts stages by a logic budget in full-adder levels (stage depth); static timing tells
what clock a cut reaches. A deeper stage means fewer register ranks and a slower clock, so the search
looks for the largest stage depth on a grid (GRID_STEP levels) whose fmax at the slow corner is at
least F: first the whole network in one stage, then depths predicted by a straight line of period
over depth through the nearest known points, narrowing a bracket until neighbouring grid points
straddle F (if even the smallest depth fails, F cannot be met). Each trial pipelines a fresh copy of the combinational network,
so the adder graph is built once. Timing uses the pre-layout wire estimate of layoutgen.timing:
routed wires are longer on large dies, so leave some margin.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from .arith.context import load_logic_delays
from .errors import LayoutgenError
from .netlist.ir import Design, Instance, Module
from .pipeline import insert_registers

SLOW_CORNER = "ss_100C_1v60"
GRID_STEP = 0.25  # full-adder levels
MIN_DEPTH = 0.5  # the smallest --stage-depth the CLI accepts


@dataclass(frozen=True)
class Trial:
    stage_depth: float
    fmax_mhz: float  # at the corner searched
    flip_flops: int
    stages: int
    latency_cycles: int
    max_stage_delay: float = 0.0  # full-adder levels, as the pipeliner counts them
    overhead_ps: float = 0.0  # the critical path's clock-to-Q plus setup: the period of a stage without logic


@dataclass(frozen=True)
class ClockChoice:
    clock_mhz: float  # the target
    corner: str
    stage_depth: float  # the chosen depth (full-adder levels)
    fmax_mhz: float  # what that depth reaches at the corner
    flip_flops: int
    stages: int
    latency_cycles: int
    trials: tuple[Trial, ...] = field(default=())

    def to_dict(self) -> dict:
        return {
            "clock_target_mhz": self.clock_mhz,
            "corner": self.corner,
            "stage_depth_fa_levels": self.stage_depth,
            "fmax_mhz": self.fmax_mhz,
            "flip_flops": self.flip_flops,
            "pipeline_stages": self.stages,
            "latency_cycles": self.latency_cycles,
            "trials": [[t.stage_depth, t.fmax_mhz, t.flip_flops] for t in self.trials],
        }


def copy_module(module: Module) -> Module:
    """A copy the pipeliner may change (it rewires instance pins and adds nets, cells and ports)."""
    return Module(
        module.name,
        list(module.net_names),
        list(module.ports),
        [Instance(i.name, i.master, dict(i.pins)) for i in module.instances],
    )


def pipeline_trial(net, pdk, stage_depth: float, top: str, corner: str = SLOW_CORNER,
                   delays: dict | None = None) -> Trial:
    """Pipeline a copy of the combinational network `net` (arith.network.build_network) and time it."""
    from .timing import analyze

    module = copy_module(net.module)
    pipe = insert_registers(module, pdk.library, delays or load_logic_delays(pdk.data_dir), net.x_nets,
                            net.y_bits, stage_depth)
    design = Design(top, pdk.library, {top: module})
    rep = analyze(design, pdk, corner=corner)
    path = rep.critical_path
    launch = path[1].arrival_ps if len(path) > 1 and path[0].instance and path[0].instance == path[1].instance else 0.0
    dff = pdk.library.role("dff").name
    flops = sum(1 for inst in module.instances if inst.master == dff)  # after the pipeliner's dead-cell cleanup
    return Trial(float(stage_depth), float(rep.fmax_mhz), flops, int(pipe.stages), int(pipe.latency_cycles),
                 float(pipe.max_stage_delay), float(launch + rep.setup_ps))


def choose_stage_depth(net, pdk, clock_mhz: float, *, top: str, corner: str = SLOW_CORNER,
                       min_depth: float = MIN_DEPTH, step: float = GRID_STEP) -> ClockChoice:
    """The largest stage depth (fewest register ranks) whose fmax at `corner` is >= clock_mhz."""
    target = float(clock_mhz)
    if not math.isfinite(target) or target <= 0:
        raise LayoutgenError(f"--clock-mhz {clock_mhz!r}: give a clock frequency in MHz greater than 0")
    if not (min_depth > 0 and step > 0):
        raise LayoutgenError(f"clock search: min_depth ({min_depth}) and step ({step}) must be > 0")
    delays = load_logic_delays(pdk.data_dir)
    trials: dict[float, Trial] = {}

    def run(depth: float) -> Trial:
        if depth not in trials:
            trials[depth] = pipeline_trial(net, pdk, depth, top, corner, delays)
        return trials[depth]

    # the whole network in one stage: its logic depth bounds every useful stage depth (any depth at or
    # above it gives this same pipeline)
    whole = pipeline_trial(net, pdk, math.inf, top, corner, delays)
    n_steps = max(0, math.ceil((whole.max_stage_delay - min_depth) / step))
    grid = [round(min_depth + k * step, 6) for k in range(n_steps + 1)]
    trials[grid[-1]] = replace(whole, stage_depth=grid[-1])
    if whole.fmax_mhz >= target:
        return _choice(target, corner, trials[grid[-1]], trials)
    # The period grows about linearly with the stage depth, from the flip-flop overhead at depth 0:
    # probe where the line through the nearest known points meets the target period, then the grid
    # point beside it on the other side. lo = -1 stands for that depth-0 point (no passing depth yet).
    want = 1e6 / target
    lo, hi = -1, len(grid) - 1  # grid[lo] meets the target, grid[hi] does not
    neighbour = None
    while hi - lo > 1 or lo < 0:
        if hi == 0:
            fastest = trials[grid[0]]
            raise LayoutgenError(
                f"--clock-mhz {target:g}: not reachable at the {corner} corner; the shortest pipeline stages "
                f"(stage depth {grid[0]:g} full-adder levels, {fastest.flip_flops} flip-flops) reach "
                f"{fastest.fmax_mhz:.1f} MHz: ask for at most that"
            )
        if neighbour is not None and lo < neighbour < hi:
            k, neighbour = neighbour, None
        else:
            d_lo, p_lo = (grid[lo], 1e6 / trials[grid[lo]].fmax_mhz) if lo >= 0 else (0.0, whole.overhead_ps)
            d_hi, p_hi = grid[hi], 1e6 / trials[grid[hi]].fmax_mhz
            d = d_lo + (want - p_lo) / (p_hi - p_lo) * (d_hi - d_lo) if p_hi > p_lo else (d_lo + d_hi) / 2
            k = min(hi - 1, max(lo + 1, int(math.floor((d - min_depth) / step + 1e-9))))
            neighbour = -1
        meets = run(grid[k]).fmax_mhz >= target
        if meets:
            lo = k
        else:
            hi = k
        if neighbour == -1:
            neighbour = k + 1 if meets else k - 1
    return _choice(target, corner, trials[grid[lo]], trials)


def _choice(target: float, corner: str, best: Trial, trials: dict[float, Trial]) -> ClockChoice:
    ordered = tuple(trials[k] for k in sorted(trials))
    return ClockChoice(target, corner, best.stage_depth, best.fmax_mhz, best.flip_flops, best.stages,
                       best.latency_cycles, ordered)
