"""Energy per inference and power: switching activity times per-net and per-cell energies.

Per clock cycle (one inference leaves the pipeline per cycle, so this is also the energy per inference):
  switching  sum over data nets of toggles x 0.5 C V^2, C = sink pin capacitances + wire estimate
             (the same per-fanout estimate or routed per-net capacitances as layoutgen.timing);
  internal   sum over cell outputs of toggles x internal energy per output transition (at the net's
             load and a nominal input transition), plus input-pin internal energy per input toggle;
  clock      the clock network toggles twice per cycle: 2 x 0.5 C V^2 of its nets, the flip-flop
             clock pins' internal energy (rise + fall), and any clock buffers;
  leakage    sum of cell leakage power x the clock period.
Power at a clock frequency f is that energy x f. Liberty's split power model keeps the load's
0.5 C V^2 out of the internal tables, so nothing is counted twice.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import LayoutgenError
from ..netlist.ir import Design
from ..timing.analyze import WIRE_CAP_PER_FANOUT_FF
from .activity import Activity, measure_activity
from .library import PowerLibrary, load_power_library

CATEGORIES = ("switching", "internal", "clock", "leakage")
INPUT_PORTS = "input ports"
CLOCK_NETWORK = "clock network"


@dataclass(frozen=True)
class EnergyReport:
    corner: str
    voltage_v: float
    fmax_mhz: float  # the clock the power figure is quoted at
    energy_pj_per_inference: float  # = per clock cycle
    power_mw: float
    breakdown_pj: dict[str, float]  # switching / internal / clock / leakage
    by_cell_pj: dict[str, float]  # energy per cycle attributed to each cell type (its internal + leakage +
    # the switching of the nets it drives), plus "input ports" and "clock network"
    leakage_nw: float
    mean_toggle_rate: float  # transitions per cycle, averaged over the non-clock nets
    vectors: int
    cycles_counted: int  # lanes x counted cycles
    wire_model: str
    slew_ps: float
    delay_model: str = "zero"  # of the activity simulation
    activity: Activity | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        return {
            "corner": self.corner,
            "voltage_v": self.voltage_v,
            "clock_mhz": self.fmax_mhz,
            "energy_pj_per_inference": _r(self.energy_pj_per_inference),
            "power_mw": _r(self.power_mw),
            "breakdown_pj": {k: _r(v) for k, v in self.breakdown_pj.items()},
            "by_cell_pj": {k: _r(v) for k, v in sorted(self.by_cell_pj.items())},
            "leakage_nw": _r(self.leakage_nw),
            "mean_toggle_rate": _r(self.mean_toggle_rate),
            "vectors": self.vectors,
            "cycles_counted": self.cycles_counted,
            "wire_model": self.wire_model,
            "slew_ps": self.slew_ps,
            "activity_delay_model": self.delay_model,
        }


def _r(x: float) -> float:
    """Six significant digits: stable text for reports, far below the model's accuracy."""
    return float(f"{x:.6g}")


def _short(cell: str) -> str:
    return cell.split("__", 1)[-1]


def _positive(name: str, value: float, allow_zero: bool = False) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise LayoutgenError(f"energy option {name}={value!r} must be a finite number {'>=' if allow_zero else '>'} 0")
    return v


def net_loads_ff(design: Design, activity: Activity, plib: PowerLibrary, *, wire_cap_per_fanout_ff: float,
                 net_wire_cap_ff: dict[int, float] | None, output_load_ff: float) -> tuple[np.ndarray, str]:
    """Capacitance on every flat net: sink pins + wire (+ an external load on output ports), fF."""
    graph = activity.graph
    n = graph.n_nets
    load = np.zeros(n)
    for g in graph.groups:
        cp = plib.cell(g.master.name)
        for pin in g.master.inputs + ((g.master.clock,) if g.master.clock else ()):
            load += np.bincount(g.nets[:, g.col(pin)], minlength=n) * cp.input_cap_ff.get(pin, 0.0)
    load[graph.output_nets] += output_load_ff
    if net_wire_cap_ff is None:
        load += wire_cap_per_fanout_ff * graph.fanout
        return load, f"{wire_cap_per_fanout_ff:g} fF per fanout pin (estimate)"
    n_top = design.top_module.n_nets
    for k, v in net_wire_cap_ff.items():
        if not 0 <= int(k) < n_top:
            raise LayoutgenError(f"net_wire_cap_ff: net {k} is not a net of top module {design.top} (ids 0..{n_top - 1})")
        _positive("net_wire_cap_ff value", v, allow_zero=True)
    keys = np.fromiter((int(k) for k in net_wire_cap_ff), dtype=np.int64, count=len(net_wire_cap_ff))
    vals = np.fromiter((float(v) for v in net_wire_cap_ff.values()), dtype=float, count=len(net_wire_cap_ff))
    np.add.at(load, graph.flat.top_nets[keys], vals)
    return load, f"per-net wire capacitance ({len(net_wire_cap_ff)} nets given)"


def energy_from_activity(design: Design, pdk, activity: Activity, corner: str, fmax_mhz: float, *,
                         wire_cap_per_fanout_ff: float = WIRE_CAP_PER_FANOUT_FF,
                         net_wire_cap_ff: dict[int, float] | None = None, output_load_ff: float = 0.0,
                         slew_ps: float = 100.0) -> EnergyReport:
    """Energy per cycle and power at fmax_mhz from measured toggle rates, at one corner."""
    fmax_mhz = _positive("fmax_mhz", fmax_mhz)
    wire_cap_per_fanout_ff = _positive("wire_cap_per_fanout_ff", wire_cap_per_fanout_ff, allow_zero=True)
    output_load_ff = _positive("output_load_ff", output_load_ff, allow_zero=True)
    slew_ps = _positive("slew_ps", slew_ps, allow_zero=True)
    plib = load_power_library(pdk.data_dir, corner)
    graph = activity.graph
    n = graph.n_nets
    v2 = plib.voltage_v ** 2
    load, wire_model = net_loads_ff(design, activity, plib, wire_cap_per_fanout_ff=wire_cap_per_fanout_ff,
                                    net_wire_cap_ff=net_wire_cap_ff, output_load_ff=output_load_ff)
    a = activity.toggles
    is_clock = np.zeros(n, dtype=bool)
    is_clock[activity.clock_nets] = True
    period_ns = 1e3 / fmax_mhz

    total = dict.fromkeys(CATEGORIES, 0.0)  # fJ
    by_cell: dict[str, float] = {}
    switching = 0.5 * v2 * load * a  # fJ per cycle on every net
    driven = np.zeros(n, dtype=bool)
    leak_nw = 0.0
    for g in graph.groups:
        m = g.master
        cp = plib.cell(m.name)
        cell_fj = 0.0
        for pin in m.outputs:
            nets = g.nets[:, g.col(pin)]
            driven[nets] = True
            table = cp.output_energy.get(pin)
            internal = a[nets] * table(np.full(nets.shape, slew_ps), load[nets]) if table is not None else np.zeros(nets.shape)
            clk = is_clock[nets]
            total["clock"] += float(internal[clk].sum() + switching[nets[clk]].sum())
            total["internal"] += float(internal[~clk].sum())
            total["switching"] += float(switching[nets[~clk]].sum())
            cell_fj += float(internal[~clk].sum() + switching[nets[~clk]].sum())
        for pin, pe in cp.input_energy.items():
            nets = g.nets[:, g.col(pin)]
            e = a[nets] * pe(slew_ps)
            clk = is_clock[nets]
            total["clock"] += float(e[clk].sum())
            total["internal"] += float(e[~clk].sum())
            cell_fj += float(e[~clk].sum())
        cell_leak = cp.leakage_nw * g.nets.shape[0]
        leak_nw += cell_leak
        cell_fj += cell_leak * period_ns * 1e-3  # nW x ns = 1e-3 fJ
        name = _short(m.name)
        by_cell[name] = by_cell.get(name, 0.0) + cell_fj
    # nets no cell drives: input ports (charged from outside the block, counted as the block's load) and clocks
    undriven = ~driven
    ports = undriven & ~is_clock
    total["switching"] += float(switching[ports].sum())
    total["clock"] += float(switching[undriven & is_clock].sum())
    by_cell[INPUT_PORTS] = float(switching[ports].sum())
    by_cell[CLOCK_NETWORK] = total["clock"]
    total["leakage"] = leak_nw * period_ns * 1e-3
    energy_fj = sum(total.values())
    data = ~is_clock & ((a > 0) | driven)
    return EnergyReport(
        corner=corner,
        voltage_v=plib.voltage_v,
        fmax_mhz=fmax_mhz,
        energy_pj_per_inference=energy_fj / 1e3,
        power_mw=energy_fj * fmax_mhz * 1e-6,  # fJ x MHz = nW
        breakdown_pj={k: v / 1e3 for k, v in total.items()},
        by_cell_pj={k: v / 1e3 for k, v in by_cell.items()},
        leakage_nw=leak_nw,
        mean_toggle_rate=activity.mean_toggle_rate(np.flatnonzero(data)),
        vectors=activity.n_vectors,
        cycles_counted=activity.transitions_counted,
        wire_model=wire_model,
        slew_ps=slew_ps,
        delay_model=activity.delay_model,
        activity=activity,
    )


def estimate_energy(design: Design, pdk, model, inputs: np.ndarray, corner: str = "tt_025C_1v80",
                    fmax_mhz: float = 100.0, *, activity: Activity | None = None, delay_model: str = "zero",
                    **options) -> EnergyReport:
    """Energy per inference and power at fmax_mhz of `design` (the pipelined netlist of `model`)
    while the input vectors `inputs` (n, model.n_inputs) stream through it, one per clock.

    options: wire_cap_per_fanout_ff, net_wire_cap_ff, output_load_ff, slew_ps (see energy_from_activity).
    Pass an `activity` from an earlier call (report.activity) to price the same toggles at another corner.
    delay_model "unit" counts glitches under a unit-delay model (slower; see power.activity).
    """
    if activity is None:
        activity = measure_activity(design, pdk, np.asarray(inputs), int(model.input_bits), delay_model=delay_model)
    return energy_from_activity(design, pdk, activity, corner, fmax_mhz, **options)
