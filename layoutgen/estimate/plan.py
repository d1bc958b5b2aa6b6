"""The wafer-scale plan: area, dies, yield, wafers, power and throughput of a model, from measured figures.

Area per layer = calibrated logic area (layoutgen/estimate/calibration.py) + pipeline registers (a measured
share of the logic at the stage depth) + the port registers of the model's inputs and outputs. Die = cell area / utilization, plus an I/O ring on every side. A model larger than one die
is cut into dies in layer order (whole layers where they fit, else contiguous neuron slices), and each
cut's die-to-die traffic is the bits per clock that cross it times the clock.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import LayoutgenError
from .calibration import Calibration
from .spec import ModelSpec
from .wafer import gross_dies_per_wafer, wafers_needed, yield_murphy, yield_poisson


@dataclass(frozen=True)
class PlanOptions:
    stage_depth: float = 8.0  # full-adder delays per pipeline stage (as `layoutgen build`)
    utilization: float = 0.4  # cell area / core area (the placer's default in `layoutgen build`)
    io_ring_mm: float = 0.2  # pad ring depth on each side (an assumption; set 0 for a core-only block)
    reticle_mm: tuple[float, float] = (26.0, 33.0)
    die_limit_mm2: float | None = None  # a smaller die limit than the reticle (square dies)
    wafer_mm: float = 200.0
    edge_exclusion_mm: float = 3.0
    scribe_mm: float = 0.1
    d0_per_cm2: float = 0.1  # defect density (an assumption; a parameter)
    chips: int = 1000  # complete model instances wanted
    energy_pj_per_um2: float | None = None  # overrides the calibrated energy (e.g. from a build report)
    energy_source: str | None = None

    def validate(self) -> None:
        checks = [
            (0.05 <= self.utilization <= 0.95, f"utilization {self.utilization} outside 0.05..0.95"),
            (self.io_ring_mm >= 0, f"I/O ring {self.io_ring_mm} mm must not be negative"),
            (min(self.reticle_mm) > 2 * self.io_ring_mm, f"reticle {self.reticle_mm} leaves no core inside the I/O ring"),
            (self.die_limit_mm2 is None or self.die_limit_mm2 > (2 * self.io_ring_mm) ** 2,
             f"die limit {self.die_limit_mm2} mm2 leaves no core inside the I/O ring"),
            (self.wafer_mm > 0 and self.edge_exclusion_mm >= 0 and self.scribe_mm >= 0,
             "wafer diameter must be positive and edge exclusion / scribe not negative"),
            (self.d0_per_cm2 >= 0, f"defect density {self.d0_per_cm2} must not be negative"),
            (self.chips >= 1, f"chips {self.chips} must be at least 1"),
        ]
        for ok, msg in checks:
            if not ok:
                raise LayoutgenError(f"estimate: {msg}")

    def core_limits_mm(self) -> tuple[float, float]:
        """Largest core (width, height) a die may have."""
        w, h = self.reticle_mm
        r2 = 2 * self.io_ring_mm
        if self.die_limit_mm2 is not None:
            side = min(math.sqrt(self.die_limit_mm2), w, h)
            return side - r2, side - r2
        return w - r2, h - r2


@dataclass
class Piece:
    layer: int
    first: int  # first neuron
    count: int  # neurons
    cell_area_um2: float


@dataclass
class Die:
    index: int
    pieces: list[Piece]
    cell_area_um2: float
    width_mm: float
    height_mm: float
    dies_per_wafer: int
    yield_poisson: float
    yield_murphy: float
    wafers_poisson: int | None
    wafers_murphy: int | None

    @property
    def area_mm2(self) -> float:
        return self.width_mm * self.height_mm


@dataclass
class Cut:
    after_die: int
    bits_per_clock: int
    gbit_per_s: float


@dataclass
class Plan:
    source: str
    n_weights: int
    layers: list[dict]
    options: PlanOptions
    logic_area_um2: float
    register_area_um2: float
    fmax_mhz_tt: float
    fmax_mhz_ss: float
    energy_pj_per_inference: float
    energy_source: str
    dies: list[Die] = field(default_factory=list)
    cuts: list[Cut] = field(default_factory=list)
    calibration: str = ""
    logic_fit_rms: float = 0.0

    @property
    def cell_area_um2(self) -> float:
        return self.logic_area_um2 + self.register_area_um2

    @property
    def power_mw(self) -> float:
        return self.energy_pj_per_inference * self.fmax_mhz_ss / 1000.0  # pJ x MHz = uW

    @property
    def inferences_per_s(self) -> float:
        return self.fmax_mhz_ss * 1e6  # one result per clock

    def to_dict(self) -> dict:
        def rnd(x, n=4):
            return round(float(x), n)

        return {
            "source": self.source,
            "n_weights": self.n_weights,
            "layers": self.layers,
            "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self.options).items()},
            "calibration": self.calibration,
            "logic_fit_rms_error": self.logic_fit_rms,
            "logic_area_um2": rnd(self.logic_area_um2, 1),
            "register_area_um2": rnd(self.register_area_um2, 1),
            "cell_area_um2": rnd(self.cell_area_um2, 1),
            "cell_area_per_weight_um2": rnd(self.cell_area_um2 / self.n_weights, 3),
            "total_die_area_mm2": rnd(sum(d.area_mm2 for d in self.dies), 4),
            "fmax_mhz_tt": rnd(self.fmax_mhz_tt, 2),
            "fmax_mhz_ss": rnd(self.fmax_mhz_ss, 2),
            "inferences_per_s": round(self.inferences_per_s),
            "energy_pj_per_inference": rnd(self.energy_pj_per_inference, 3),
            "energy_source": self.energy_source,
            "power_mw": rnd(self.power_mw, 3),
            "dies": [{
                "index": d.index,
                "layers": [{"layer": p.layer, "first_neuron": p.first, "neurons": p.count} for p in d.pieces],
                "cell_area_um2": rnd(d.cell_area_um2, 1), "width_mm": rnd(d.width_mm), "height_mm": rnd(d.height_mm),
                "area_mm2": rnd(d.area_mm2), "dies_per_wafer": d.dies_per_wafer,
                "yield_poisson": rnd(d.yield_poisson), "yield_murphy": rnd(d.yield_murphy),
                "wafers_poisson": d.wafers_poisson, "wafers_murphy": d.wafers_murphy,
            } for d in self.dies],
            "cuts": [{"after_die": c.after_die, "bits_per_clock": c.bits_per_clock, "gbit_per_s": rnd(c.gbit_per_s, 3)}
                     for c in self.cuts],
            "wafers_poisson": _total([d.wafers_poisson for d in self.dies]),
            "wafers_murphy": _total([d.wafers_murphy for d in self.dies]),
        }

    def write_json(self, path) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".partial")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        tmp.replace(path)  # never a half-written file under the final name

    def table(self) -> str:
        o = self.options
        out = [f"layoutgen estimate: {self.source}", ""]
        out.append(f"{'layer':>5} {'inputs':>7} {'outputs':>7} {'a bits':>6} {'w bits':>6} {'CSD/w':>6} {'cell um2':>13}")
        for l in _elide(self.layers, out, "layers"):
            out.append(f"{l['layer']:5d} {l['inputs']:7d} {l['outputs']:7d} {l['act_bits']:6d} {l['weight_bits']:6d} "
                       f"{l['csd_digits_per_weight']:6.2f} {l['cell_area_um2']:13.0f}")
        d = self.to_dict()
        rows = [
            ("weights", f"{self.n_weights:,}"),
            ("cell area", f"{self.cell_area_um2 / 1e6:.4f} mm2 ({d['cell_area_per_weight_um2']:.1f} um2/weight; "
                          f"logic {self.logic_area_um2 / 1e6:.4f} + registers {self.register_area_um2 / 1e6:.4f}; "
                          f"fit rms error {self.logic_fit_rms:.1%})"),
            ("die area", f"{d['total_die_area_mm2']:.3f} mm2 in {len(self.dies)} die(s) (utilization {o.utilization:g}, "
                         f"I/O ring {o.io_ring_mm:g} mm)"),
            ("clock", f"fmax {self.fmax_mhz_tt:.1f} MHz tt, {self.fmax_mhz_ss:.1f} MHz ss at stage depth {o.stage_depth:g}"),
            ("throughput", f"{self.inferences_per_s:.4g} inferences (tokens)/s (one per clock, ss)"),
            ("energy / power", f"{self.energy_pj_per_inference:.4g} pJ per inference, {self.power_mw:.4g} mW at the ss "
                               f"fmax ({self.energy_source})"),
            ("wafers", f"{d['wafers_murphy']} (Murphy) / {d['wafers_poisson']} (Poisson) for {o.chips} chips, "
                       f"{o.wafer_mm:g} mm wafers, D0 {o.d0_per_cm2:g}/cm2"),
        ]
        out.append("")
        out += [f"{k:>15}: {v}" for k, v in rows]
        out.append("")
        out.append(f"{'die':>4} {'layers (neurons)':32} {'w x h mm':>15} {'mm2':>9} {'gross/wafer':>11} "
                   f"{'Y Poisson':>9} {'Y Murphy':>9} {'wafers':>7}")
        for die in _elide(self.dies, out, "dies"):
            parts = ", ".join(f"L{p.layer}[{p.first}:{p.first + p.count}]" for p in die.pieces)
            if len(parts) > 32:
                parts = parts[:29] + "..."
            out.append(f"{die.index:4d} {parts:32} {die.width_mm:7.3f}x{die.height_mm:<7.3f} {die.area_mm2:9.3f} "
                       f"{die.dies_per_wafer:11d} {die.yield_poisson:9.3f} {die.yield_murphy:9.3f} "
                       f"{_fmt_wafers(die.wafers_murphy):>7}")
        for c in _elide(self.cuts, out, "cuts"):
            out.append(f"cut after die {c.after_die}: {c.bits_per_clock} bits per clock = {c.gbit_per_s:.2f} Gbit/s")
        return "\n".join(out) + "\n"


SHOWN_ROWS = 12


def _elide(rows: list, out: list[str], what: str) -> list:
    """The first rows of a long list for the table (every row is in the JSON); notes what was left out."""
    if len(rows) <= SHOWN_ROWS:
        return rows
    out.append(f"  ({len(rows)} {what}; the first {SHOWN_ROWS} shown, all of them in --json)")
    return rows[:SHOWN_ROWS]


def _total(values):
    return None if any(v is None for v in values) else sum(values)


def _fmt_wafers(v) -> str:
    return "n/a" if v is None else str(v)


def _die_shape(core_um2: float, options: PlanOptions) -> tuple[float, float]:
    """Die (width, height) in mm: a square core unless the reticle width forces a taller one."""
    core_mm2 = core_um2 / 1e6
    max_w, max_h = options.core_limits_mm()
    w = h = math.sqrt(core_mm2)
    if w > max_w:
        w, h = max_w, core_mm2 / max_w
    r2 = 2 * options.io_ring_mm
    return w + r2, h + r2


def partition(spec: ModelSpec, layer_areas: list[float], capacity_um2: float) -> list[list[Piece]]:
    """Dies in layer order: a layer joins the current die if it fits, starts a new die if it fits one,
    else is cut into contiguous neuron slices that fill dies."""
    dies: list[list[Piece]] = [[]]
    used = 0.0
    for k, (layer, area) in enumerate(zip(spec.layers, layer_areas)):
        if used + area <= capacity_um2:
            dies[-1].append(Piece(k, 0, layer.n_out, area))
            used += area
            continue
        if area <= capacity_um2:
            dies.append([Piece(k, 0, layer.n_out, area)])
            used = area
            continue
        per_neuron = area / layer.n_out
        if per_neuron > capacity_um2:
            raise LayoutgenError(
                f"estimate: one neuron of layer {k} ({per_neuron / 1e6:.2f} mm2 of cells) exceeds a die; "
                "raise --die-limit-mm2 or the utilization")
        first = 0
        while first < layer.n_out:
            room = int((capacity_um2 - used) // per_neuron)
            if room < 1:
                dies.append([])
                used = 0.0
                continue
            count = min(room, layer.n_out - first)
            dies[-1].append(Piece(k, first, count, count * per_neuron))
            used += count * per_neuron
            first += count
    return [d for d in dies if d]


def cut_bits(spec: ModelSpec, dies: list[list[Piece]]) -> list[int]:
    """Bits per clock crossing each cut between consecutive dies (dies form a chain in layer order).

    A vector X_k (the input of layer k; X_0 enters die 0) crosses a cut if part of it is made before
    the cut and a slice of layer k sits after it: all of layer k's inputs travel with it.
    """
    n = len(spec.layers)
    made_before = [0] * (n + 1)  # neurons of X_k produced in dies up to the cut (X_0: all, from outside)
    made_before[0] = spec.layers[0].n_in
    bits = []
    for i in range(len(dies) - 1):
        for p in dies[i]:
            made_before[p.layer + 1] += p.count
        later = {p.layer for d in dies[i + 1:] for p in d}
        total = 0
        for k in later:
            width = spec.layers[k].act_bits
            total += made_before[k] * width
        bits.append(total)
    return bits


def estimate(spec: ModelSpec, calibration: Calibration, options: PlanOptions | None = None) -> Plan:
    options = options or PlanOptions()
    options.validate()
    fmax_tt, fmax_ss = calibration.fmax_at(options.stage_depth, max(l.n_out for l in spec.layers))
    logic = [calibration.logic_area_um2(l) for l in spec.layers]
    last = len(spec.layers) - 1
    cells = [a + calibration.register_area_um2(
        options.stage_depth, a, (l.n_in * l.act_bits if k == 0 else 0) + (l.n_out * l.out_bits if k == last else 0))
        for k, (l, a) in enumerate(zip(spec.layers, logic))]
    layers = [{
        "layer": k, "inputs": l.n_in, "outputs": l.n_out, "act_bits": l.act_bits, "out_bits": l.out_bits,
        "weight_bits": l.weight_bits, "csd_digits_per_weight": round(l.csd_digits / l.n_weights, 4),
        "logic_area_um2": round(a, 1), "cell_area_um2": round(c, 1),
    } for k, (l, a, c) in enumerate(zip(spec.layers, logic, cells))]
    if options.energy_pj_per_um2 is not None:
        pj_um2, e_src = options.energy_pj_per_um2, options.energy_source or "given energy per um2"
    else:
        pj_um2 = calibration.energy_pj_per_um2
        e_src = "calibrated tt energy per um2 of cells, random inputs"
    total_cells = sum(cells)
    plan = Plan(spec.source, spec.n_weights, layers, options, sum(logic), total_cells - sum(logic), fmax_tt, fmax_ss,
                total_cells * pj_um2, e_src, calibration=calibration.source, logic_fit_rms=calibration.logic_fit_rms)

    core_w, core_h = options.core_limits_mm()
    capacity = core_w * core_h * 1e6 * options.utilization
    groups = partition(spec, cells, capacity)
    for i, pieces in enumerate(groups):
        area = sum(p.cell_area_um2 for p in pieces)
        w, h = _die_shape(area / options.utilization, options)
        a = w * h
        dpw = gross_dies_per_wafer(w, h, options.wafer_mm, options.edge_exclusion_mm, options.scribe_mm)
        yp, ym = yield_poisson(a, options.d0_per_cm2), yield_murphy(a, options.d0_per_cm2)
        plan.dies.append(Die(i, pieces, area, w, h, dpw, yp, ym, wafers_needed(options.chips, dpw, yp),
                             wafers_needed(options.chips, dpw, ym)))
    for i, b in enumerate(cut_bits(spec, groups)):
        plan.cuts.append(Cut(i, b, b * fmax_ss * 1e6 / 1e9))
    return plan


def energy_from_report(path) -> tuple[float, str]:
    """pJ per inference per um2 of cells from a build's report.json (energy_pj_per_inference, cell_area_um2)."""
    path = Path(path)
    try:
        rep = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LayoutgenError(f"--energy-from {path}: cannot read a report.json ({exc})") from None
    e, a = rep.get("energy_pj_per_inference"), rep.get("cell_area_um2")
    if not isinstance(e, (int, float)) or not isinstance(a, (int, float)) or a <= 0:
        raise LayoutgenError(f"--energy-from {path}: no energy_pj_per_inference / cell_area_um2 in it; "
                             "use a report.json from a current `layoutgen build`")
    return float(e) / float(a), f"from {path.name}: {e:g} pJ over {a:g} um2 of cells"
