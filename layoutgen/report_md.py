"""report.md: the build's figures from report.json as readable Markdown with plots.

Plots are PNGs drawn by matplotlib's Agg renderer with the default style (a user's matplotlibrc does
not leak in) and no metadata, so the same report gives byte-identical files. Everything shown comes
from the report dict; the layout picture <top>.png is embedded when it is in the folder.
"""
from __future__ import annotations

import io
from pathlib import Path

PLOT_AREA = "report_area.png"
PLOT_TIMING = "report_timing.png"
PLOT_ENERGY = "report_energy.png"
_DPI = 100


def area_fields(report: dict, design=None) -> dict:
    """report.json keys: area_um2 (the die when a layout exists, else the sum of cell areas), its basis,
    and the cell area per cell type when the design is given."""
    out: dict = {}
    if "die_area_mm2" in report:
        out["area_um2"] = round(float(report["die_area_mm2"]) * 1e6, 3)
        out["area_basis"] = "die (placed and routed layout)"
    else:
        out["area_um2"] = float(report["cell_area_um2"])
        out["area_basis"] = "sum of standard-cell areas (no layout built)"
    if design is not None:
        lib = design.library
        out["area_by_cell_um2"] = {
            name.split("__", 1)[-1]: round(lib[name].area_um2 * n, 3)
            for name, n in sorted(design.cell_counts().items()) if name in lib
        }
    return out


# --- plots ----------------------------------------------------------------------------------------
def _figure(width: float, height: float):
    from matplotlib.figure import Figure  # drawn through FigureCanvasAgg: no pyplot, no global backend

    return Figure(figsize=(width, height), dpi=_DPI)


def _save(fig, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    path.write_bytes(buf.getvalue())


def _corner_order(names) -> list[str]:
    """Typical corner first, then the others by name."""
    return sorted(names, key=lambda c: (not c.startswith("tt"), c))


def _styled(draw):
    import matplotlib.style

    with matplotlib.style.context("default"):
        return draw()


def plot_area(report: dict, path: Path) -> bool:
    areas = report.get("area_by_cell_um2")
    if not areas:
        return False

    def draw():
        items = sorted(areas.items(), key=lambda kv: (kv[1], kv[0]))
        fig = _figure(6.4, 0.3 * len(items) + 1.2)
        ax = fig.add_subplot()
        ax.barh([k for k, _ in items], [v / 1e3 for _, v in items], color="#4477aa")
        ax.set_xlabel("cell area (1000 um^2)")
        ax.set_title(f"Cell area by cell type: {report['cell_area_um2'] / 1e3:.1f} thousand um^2 in all")
        fig.tight_layout()
        _save(fig, path)

    _styled(draw)
    return True


def plot_timing(report: dict, path: Path) -> bool:
    timing = report.get("timing")
    if not timing:
        return False

    def draw():
        fig = _figure(6.4, 3.6)
        ax = fig.add_subplot()
        corners = _corner_order(timing)
        stages = sorted({int(s) for c in corners for s in timing[c]["stage_delays_ps"]})
        width = 0.8 / len(corners)
        for i, c in enumerate(corners):
            d = timing[c]["stage_delays_ps"]
            ax.bar([s + (i - (len(corners) - 1) / 2) * width for s in stages],
                   [d.get(str(s), 0.0) / 1e3 for s in stages], width, label=f"{c} (fmax {timing[c]['fmax_mhz']:.0f} MHz)")
        ax.set_xticks(stages)
        ax.set_xlabel("pipeline stage (register rank that launches it; 0 = inputs)")
        ax.set_ylabel("critical path (ns)")
        ax.set_title("Critical path delay of every pipeline stage")
        ax.legend(fontsize=8)
        fig.tight_layout()
        _save(fig, path)

    _styled(draw)
    return True


def plot_energy(report: dict, path: Path) -> bool:
    energy = report.get("energy")
    if not energy:
        return False

    def draw():
        fig = _figure(9.6, 3.8)
        ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
        corners = [c for c in ("tt", "ss") if c in energy]
        cats = ["switching", "internal", "clock", "leakage"]
        width = 0.8 / len(corners)
        for i, c in enumerate(corners):
            b = energy[c]["breakdown_pj"]
            ax1.bar([k + (i - (len(corners) - 1) / 2) * width for k in range(len(cats))], [b[k] for k in cats],
                    width, label=f"{energy[c]['corner']} ({energy[c]['voltage_v']:g} V)")
        ax1.set_xticks(range(len(cats)), cats)
        ax1.set_ylabel("pJ per inference")
        ax1.set_title("Energy per inference by kind")
        ax1.legend(fontsize=8)
        by = sorted(energy["tt"]["by_cell_pj"].items(), key=lambda kv: (kv[1], kv[0]))
        ax2.barh([k for k, _ in by], [v for _, v in by], color="#cc6677")
        ax2.set_xlabel("pJ per inference (tt)")
        ax2.set_title("Energy by cell type")
        fig.tight_layout()
        _save(fig, path)

    _styled(draw)
    return True


# --- text -----------------------------------------------------------------------------------------
def _rows(pairs) -> list[str]:
    return ["| figure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in pairs]


def _summary(r: dict) -> list[str]:
    pairs = [
        ("weights (non-zero)", f"{r['n_weights']} ({r['n_nonzero_weights']})"),
        ("cells", r["n_cells"]),
        ("area", f"{r['area_um2']:.0f} um2, {r['area_basis']}" if "area_um2" in r else "-"),
        ("cell area", f"{r['cell_area_um2']:.0f} um2 ({r['cell_area_per_weight_um2']:.1f} um2 per weight)"),
        ("logic / register area", f"{r['logic_area_um2']:.0f} / {r['register_area_um2']:.0f} um2"),
        ("full adders", f"{r['full_adders']} ({r['full_adders_per_weight']:.2f} per weight)"),
        ("flip-flops", r["flip_flops"]),
        ("shared adders (CSE) per layer", ", ".join(str(l["shared_adders"]) for l in r["layers"])),
        ("pipeline", f"{r['pipeline_stages']} stages of <= {r['stage_depth_fa_levels']:g} FA delays, "
                     f"latency {r['latency_cycles']} cycles"),
        ("clock (static timing, estimated wire load)", f"fmax {r['fmax_mhz_tt']:.1f} MHz tt, {r['fmax_mhz_ss']:.1f} MHz ss"),
        ("throughput", f"one input per clock cycle: {r['inferences_per_s']:.3g} inferences/s at the ss fmax, "
                       f"latency {r['latency_ns']:.1f} ns"),
    ]
    if "energy_pj_per_inference" in r:
        pairs += [
            ("energy per inference", f"{r['energy_pj_per_inference']:.1f} pJ (tt, "
                                     f"{r['energy_pj_per_inference'] / r['n_weights']:.3f} pJ per weight)"),
            ("power", f"{r['power_mw']:.2f} mW at {r['fmax_mhz_ss']:.1f} MHz (tt silicon at the rated clock)"),
        ]
    if "check" in r:
        c = r["check"]
        pairs.append(("self-check", f"{'bit-exact' if c['bit_exact'] else 'MISMATCH'} on {c['vectors']} vectors "
                                    f"({c['test_vectors']} test inputs)"))
    acc = r.get("accuracy")
    if acc:
        for key, label in (("float_accuracy", "float model"), ("int_accuracy", "integer model"),
                           ("hardware_accuracy", "hardware (simulated netlist)")):
            if acc.get(key) is not None:
                pairs.append((f"accuracy, {label}", f"{acc[key]:.4f} on {acc['samples']} test samples"))
    if "die_width_um" in r:
        pairs += [
            ("die", f"{r['die_width_um']:.2f} x {r['die_height_um']:.2f} um ({r['die_area_mm2']:.4f} mm2), "
                    f"utilization {r['utilization']:.3f}"),
            ("routing", f"{r['routed_nets']} nets, {r['wire_length_um'] / 1000:.1f} mm of wire on met1-met4"),
        ]
        floorplan = r.get("options", {}).get("floorplan")
        if floorplan:
            pairs.append(("floorplan", "crossbar: neurons in columns, input groups in rows (docs/physical.md)"
                          if floorplan == "crossbar" else "free (the placer alone)"))
    if "drc_violations" in r:
        pairs += [("DRC", f"{r['drc_violations']} violations"), ("LVS", "match" if r["lvs_match"] else "MISMATCH")]
    return _rows(pairs)


def _timing(r: dict, plotted: bool) -> list[str]:
    timing = r.get("timing")
    lines = ["## Timing", ""]
    if not timing:
        return lines + [f"fmax {r['fmax_mhz_tt']:.1f} MHz tt, {r['fmax_mhz_ss']:.1f} MHz ss.", ""]
    corners = _corner_order(timing)
    stages = sorted({int(s) for c in corners for s in timing[c]["stage_delays_ps"]})
    lines += [f"Static timing with {timing[corners[0]]['wire_model']}; clock skew "
              f"{timing[corners[0]]['clock_skew_ps']:g} ps. A stage is named by the register rank that launches "
              "its critical path (0 = the input pins).", ""]
    lines += ["| stage | " + " | ".join(f"{c} (ps)" for c in corners) + " |", "|---" * (len(corners) + 1) + "|"]
    for s in stages:
        lines.append(f"| {s} | " + " | ".join(f"{timing[c]['stage_delays_ps'].get(str(s), '-')}" for c in corners) + " |")
    lines.append("| **min period** | " + " | ".join(
        f"**{timing[c]['min_period_ps']}** ({timing[c]['fmax_mhz']:.1f} MHz)" for c in corners) + " |")
    lines.append("")
    if plotted:
        lines += [f"![critical path per stage]({PLOT_TIMING})", ""]
    slow = timing.get("ss_100C_1v60") or timing[corners[-1]]
    path = slow.get("critical_path") or []
    if path:
        lines += [f"Critical path at {slow['corner']} (stage {slow['critical_stage']}):", "",
                  "| instance | cell | pin | arrival (ps) |", "|---|---|---|---|"]
        lines += [f"| {p[0] or '-'} | {str(p[1]).split('__', 1)[-1]} | {p[2]} | {p[3]} |" for p in path]
        lines.append("")
    if "clock" in r:
        c = r["clock"]
        lines += [f"`--clock-mhz {c['clock_target_mhz']:g}`: stage depth {c['stage_depth_fa_levels']:g} full-adder "
                  f"levels is the deepest that meets the target at {c['corner']} ({c['fmax_mhz']:.1f} MHz, "
                  f"{c['flip_flops']} flip-flops, {c['pipeline_stages']} stages; {len(c['trials'])} depths tried).", ""]
    return lines


def _energy(r: dict, plotted: bool) -> list[str]:
    e = r.get("energy")
    if not e:
        return []
    corners = [c for c in ("tt", "ss") if c in e]
    lines = ["## Energy and power", "",
             f"Switching activity from a bit-parallel, zero-delay simulation of the netlist on {e['inputs']}; "
             f"per-cell energies from the sky130_fd_sc_hd liberty data; wire load {e['tt']['wire_model']}. "
             f"Figures per inference = per clock cycle, at {e['clock_mhz']:g} MHz. Glitches are not counted.", "",
             "| | " + " | ".join(f"{e[c]['corner']} ({e[c]['voltage_v']:g} V)" for c in corners) + " |",
             "|---" * (len(corners) + 1) + "|"]
    for k in ("switching", "internal", "clock", "leakage"):
        lines.append(f"| {k} (pJ) | " + " | ".join(f"{e[c]['breakdown_pj'][k]:.4g}" for c in corners) + " |")
    lines.append("| **energy per inference (pJ)** | " + " | ".join(
        f"**{e[c]['energy_pj_per_inference']:.4g}**" for c in corners) + " |")
    lines.append("| power (mW) | " + " | ".join(f"{e[c]['power_mw']:.4g}" for c in corners) + " |")
    lines.append("| leakage power (uW) | " + " | ".join(f"{e[c]['leakage_nw'] / 1e3:.4g}" for c in corners) + " |")
    lines.append("| mean toggles per net and cycle | " + " | ".join(
        f"{e[c]['mean_toggle_rate']:.3f}" for c in corners) + " |")
    lines += ["", f"At the tt fmax ({r['fmax_mhz_tt']:.1f} MHz) typical silicon would draw "
              f"{e['power_mw_tt_at_fmax_tt']:.2f} mW."]
    unit = e.get("unit_delay", {})
    if "energy_pj_per_inference" in unit:
        lines += ["", f"Glitch reference: with one unit of delay per cell and every transition counted, the "
                      f"nets toggle {unit['mean_toggle_rate']:.2f} times per cycle and an inference takes "
                      f"{unit['energy_pj_per_inference']:.1f} pJ ({unit['power_mw']:.2f} mW, tt). Real glitching "
                      "depends on the actual cell delays, which this estimate does not simulate."]
    lines.append("")
    if plotted:
        lines += [f"![energy breakdown]({PLOT_ENERGY})", ""]
    return lines


def _area(r: dict, plotted: bool) -> list[str]:
    areas = r.get("area_by_cell_um2", {})
    lines = ["## Cells and area", "", "| cell | count | area (um2) |", "|---|---|---|"]
    for name, n in sorted(r["cells"].items(), key=lambda kv: (-kv[1], kv[0])):
        a = areas.get(name)
        lines.append(f"| {name} | {n} | {a:.0f} |" if a is not None else f"| {name} | {n} | - |")
    lines.append("")
    if plotted:
        lines += [f"![cell area by type]({PLOT_AREA})", ""]
    return lines


def render_report(report: dict, folder: Path) -> str:
    """Write report.md and its plots into `folder`; return the Markdown."""
    folder = Path(folder)
    r = report
    try:
        import matplotlib  # noqa: F401  (optional: the "plot" extra)
    except ImportError:
        plots = dict.fromkeys((PLOT_AREA, PLOT_TIMING, PLOT_ENERGY), False)
        note = ["Plots need matplotlib (pip install 'layoutgen[plot]').", ""]
    else:
        plots = {
            PLOT_AREA: plot_area(r, folder / PLOT_AREA),
            PLOT_TIMING: plot_timing(r, folder / PLOT_TIMING),
            PLOT_ENERGY: plot_energy(r, folder / PLOT_ENERGY),
        }
        note = []
    head = [f"# {r['top']}: build report", ""]
    if "model" in r:
        m = r["model"]
        head += [f"Model `{m['file']}` ({m['kind']}), {r['n_inputs']} inputs x {r['input_bits']} bits -> "
                 f"{r['n_outputs']} outputs x {r['output_width']} bits (two's complement).", ""]
    lines = head + note + _summary(r) + [""]
    picture = folder / f"{r['top']}.png"
    if picture.is_file():  # written by the layout step (layoutgen.physical.picture)
        lines += ["## Layout", "", f"![layout of {r['top']}]({picture.name})", ""]
        detail = folder / f"{r['top']}.detail.png"
        if detail.is_file():
            lines += [f"A close-up of the die's centre: ![close-up of {r['top']}]({detail.name})", ""]
    lines += _timing(r, plots[PLOT_TIMING]) + _energy(r, plots[PLOT_ENERGY]) + _area(r, plots[PLOT_AREA])
    text = "\n".join(lines)
    (folder / "report.md").write_text(text)
    return text
