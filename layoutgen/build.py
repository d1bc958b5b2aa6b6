"""`layoutgen build`: integer model -> adder graph -> gates -> pipeline -> netlist IR -> outputs.

Outputs go to a sibling staging folder that replaces DIR only when every file is written, so a failed
build never leaves a folder that looks complete. Reports hold no timings or paths, so the same input
and options give byte-identical files.
"""
from __future__ import annotations

import json
import math
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .arith.context import load_logic_delays
from .arith.layer import ArithOptions
from .arith.network import build_network
from .physical.floorplan import array_arith, crossbar_arith, crossbar_targets, layer_shapes
from .errors import LayoutgenError
from .netlist.ir import Design
from .pdk.core import Pdk
from .pipeline import group_depths, insert_registers
from .staging import staged_folder


@dataclass
class BuildOptions:
    top: str = "layoutgen_top"
    stage_depth: float = 8.0
    recoding: str = "csd"
    share: bool = True
    layout: bool = False  # place, route and write GDS
    verify: bool = True  # run DRC and LVS on the layout
    utilization: float = 0.4
    layout_format: str = "gds"
    tile: int = 0  # inputs per weight tile: shared partial-sum units (layoutgen/cluster); 0 = plain build
    cluster: str | None = None  # --cluster spec: K, K0,K1,... or drop=F (layoutgen/cluster/build.py)
    cluster_tile: int = 0  # tile width the clustering uses when it differs from `tile` (--no-units: tile 0)
    clock_mhz: float | None = None  # --clock-mhz: stage depth chosen to meet this at ss (layoutgen/clocking.py)
    calibration_bits: int | None = None  # --calibration: scan-loaded output offsets of N bits, 0 = output width (layoutgen/calibration.py)
    floorplan: str = "crossbar"  # with layout: "crossbar" (layoutgen/physical/floorplan.py) or "free"
    macros: bool = True  # with tile and layout: one placed and routed macro per repeated unit (physical/macros.py)
    jobs: int | None = None  # processes for DRC and LVS (None: verify.drc.default_workers); never changes a result

    @property
    def crossbar(self) -> bool:
        return self.layout and self.floorplan == "crossbar"

    @property
    def array(self) -> bool:
        return self.layout and self.floorplan == "array"


@dataclass
class BuildResult:
    design: Design
    model: object
    report: dict
    out_dir: Path | None = None
    timings: dict = field(default_factory=dict)
    network: object = None  # the arithmetic's result; a cluster.netlist.TiledNetwork carries the unit cells
    # the crossbar floorplan's pulls: flat instance name -> (x, y) fractions of the core (None: free)
    place_targets: dict | None = None


class Progress:
    """One line per step on stderr with its run time."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, name: str):
        t = time.perf_counter()
        if self.enabled:
            print(f"layoutgen: {name} ...", file=sys.stderr, flush=True)
        yield
        dt = time.perf_counter() - t
        self.timings[name] = dt
        if self.enabled:
            print(f"layoutgen: {name} done in {dt:.2f} s", file=sys.stderr, flush=True)


def check_top_name(top: str) -> str:
    if not top.isidentifier() or not top.isascii():
        raise LayoutgenError(f"--top '{top}' is not a valid Verilog/GDS name: use letters, digits and _")
    return top


def compile_model(model, pdk: Pdk, options: BuildOptions, progress: Progress | None = None) -> BuildResult:
    """The integer model as a pipelined netlist of PDK cells, with its figures."""
    progress = progress or Progress(False)
    arith = ArithOptions(recoding=options.recoding, share=options.share, tile=options.tile,
                         local_inverters=options.layout,
                         **(array_arith() if options.array else crossbar_arith(options.crossbar)))
    with progress.step("arithmetic (shared adder graph, compressor trees)"):
        net = build_network(model, pdk, options.top, arith)
    clock = None
    if options.clock_mhz is not None:  # the deepest stages that meet the clock at ss (layoutgen/clocking.py)
        from .clocking import choose_stage_depth

        with progress.step(f"choose pipeline cuts for {options.clock_mhz:g} MHz at the ss corner"):
            clock = choose_stage_depth(net, pdk, options.clock_mhz, top=options.top)
        options = replace(options, stage_depth=clock.stage_depth)
    groups = None
    delays = load_logic_delays(pdk.data_dir)
    if options.array:  # each layer's array is one stage: no register may cut between its tiles
        groups = {name: net.places[s][0] for name, s in net.cell_tile.items()}
        # an inverter in front of the array may be re-made in its stage: room for one more
        need = max(group_depths(net.module, pdk.library, delays, groups).values()) + delays["inv"]["Y"]
        options = replace(options, stage_depth=max(options.stage_depth, math.ceil(need * 100) / 100))
    with progress.step(f"pipeline (stage depth {options.stage_depth:g} full-adder levels)"):
        pipe = insert_registers(
            net.module, pdk.library, delays, net.x_nets, net.y_bits, options.stage_depth,
            groups=groups,
        )
        if pipe.groups_cut:
            raise LayoutgenError(f"the pipeline cut {pipe.groups_cut} layer arrays at stage depth "
                                 f"{options.stage_depth:g}; raise --stage-depth")
        design = Design(options.top, pdk.library, {options.top: net.module})
        design.validate()
    offsets = None
    if options.calibration_bits is not None:  # per-output offset registers on a scan chain (issue 8)
        from .calibration import add_offset_registers

        offsets = add_offset_registers(net.module, pdk.library, load_logic_delays(pdk.data_dir), n_outputs=model.n_outputs,
                                       output_width=net.output_width, offset_bits=options.calibration_bits,
                                       stage_depth=options.stage_depth)
    with progress.step("static timing (tt and ss corners)"):
        from .timing import analyze

        timing = {c: analyze(design, pdk, corner=c) for c in CORNERS}
    n_weights = int(sum(np.asarray(l.W).size for l in model.layers))
    n_nonzero = int(sum(np.count_nonzero(l.W) for l in model.layers))
    report = {
        "top": options.top,
        "pdk": pdk.name,
        "input_bits": int(model.input_bits),
        "n_inputs": int(model.n_inputs),
        "n_outputs": int(model.n_outputs),
        "output_width": int(net.output_width),
        "latency_cycles": int(pipe.latency_cycles),
        "pipeline_stages": int(pipe.stages),
        "stage_depth_fa_levels": float(options.stage_depth),
        "max_stage_delay_fa_levels": round(float(pipe.max_stage_delay), 3),
        "layers": [
            {"inputs": int(l.W.shape[1]), "outputs": int(l.W.shape[0]), "shared_adders": int(g.n_adders)}
            for l, g in zip(model.layers, net.graphs)
        ],
        "n_weights": n_weights,
        "n_nonzero_weights": n_nonzero,
        **cell_fields(design, n_weights),
        "options": {"recoding": options.recoding, "share": options.share, "local_inverters": options.layout,
                    "floorplan": options.floorplan if options.crossbar or options.array else "free"},
    }
    if options.tile:  # clustering pass (layoutgen/cluster): unique units, instances, reuse ratio
        report["options"]["tile"] = int(options.tile)
        from .cluster.netlist import unit_integrity

        report["tiles"] = {**net.stats(), "after_pipeline": unit_integrity(design.top_module, pdk.library, net)}
    report.update(timing_fields(timing, pipe.latency_cycles))
    if clock is not None:
        report["clock"] = clock.to_dict()
    if offsets is not None:
        from .calibration import update_report

        update_report(report, offsets)
    from .report_md import area_fields

    report.update(area_fields(report, design))  # area_um2: cell area here; the die once a layout exists
    targets = None
    if options.crossbar:
        targets = crossbar_targets(net.ctx.place_tags, layer_shapes(model))
    return BuildResult(design, model, report, timings=progress.timings, network=net, place_targets=targets)


CORNERS = ("tt_025C_1v80", "ss_100C_1v60")


def cell_fields(design: Design, n_weights: int | None) -> dict:
    """Cell counts and areas of `design` for report.json (per weight when the weight count is known)."""
    lib = design.library
    counts = design.cell_counts()
    area = design.cell_area_um2()
    dff = lib.role("dff")
    fa = counts.get(lib.role("fa").name, 0)
    comb_area = area - dff.area_um2 * counts.get(dff.name, 0)
    fields = {
        "cells": {c.split("__", 1)[-1]: n for c, n in counts.items()},
        "n_cells": int(sum(counts.values())),
        "cell_area_um2": round(area, 3),
        "logic_area_um2": round(comb_area, 3),
        "register_area_um2": round(area - comb_area, 3),
        "flip_flops": int(counts.get(dff.name, 0)),
        "full_adders": int(fa),
    }
    if n_weights:
        fields.update({
            "full_adders_per_weight": round(fa / n_weights, 4),
            "cell_area_per_weight_um2": round(area / n_weights, 3),
            "logic_area_per_weight_um2": round(comb_area / n_weights, 3),
        })
    return fields


def timing_fields(timing: dict, latency_cycles: int | None) -> dict:
    tt, ss = timing["tt_025C_1v80"], timing["ss_100C_1v60"]
    fields = {
        "fmax_mhz_tt": round(tt.fmax_mhz, 2),
        "fmax_mhz_ss": round(ss.fmax_mhz, 2),
        # one result leaves per clock: throughput is the clock rate
        "inferences_per_s": round(ss.fmax_mhz * 1e6),
        "timing_wire_model": tt.wire_model,
        "timing": {c: t.to_dict() for c, t in timing.items()},  # per-stage delays and critical paths
    }
    if latency_cycles is not None:
        fields["latency_ns"] = round(latency_cycles * 1e3 / ss.fmax_mhz, 2)
    return fields


def write_outputs(result: BuildResult, out_dir: Path, writers: list) -> Path:
    """Write every output into a staging folder, then move it into place."""
    out_dir = Path(out_dir)
    with staged_folder(out_dir) as staging:
        for writer in writers:
            writer(result, staging)
        (staging / "report.json").write_text(json.dumps(result.report, indent=2, sort_keys=True) + "\n")
        if "model" in result.report:
            from .report_md import render_report

            render_report(result.report, staging)  # report.md and its plots
    result.out_dir = out_dir
    return out_dir


def _accuracy(loaded, int_model, hw_outputs) -> dict | None:
    from .model import accuracy_report, predictions

    if loaded.data is None:
        return None
    float_model = loaded.float_model
    if float_model is None and loaded.kind == "int-v1":
        # an int-v1 model beside its float original (<stem>.float.npz): report the float accuracy too
        from .model import load_float_model

        src = Path(loaded.source)
        sibling = src.with_name(src.name.split(".")[0] + ".float.npz")
        if sibling.is_file():
            float_model = load_float_model(sibling)
    acc = accuracy_report(int_model, loaded.data, float_model)
    if acc is None:
        return None
    acc["data"] = Path(str(acc["data"])).name  # no machine paths in reports
    acc["hardware_accuracy"] = float(np.mean(predictions(hw_outputs) == loaded.data.y_test))
    return acc


def build_model_dir(model_path, pdk: Pdk, out_dir, options: BuildOptions, *, weight_bits=None, act_bits=None,
                    data=None, check_vectors: int = 2000, progress: Progress | None = None,
                    pdk_root=None) -> BuildResult:
    """Load, compile, self-check by simulation, and write every output into out_dir."""
    from .model import golden, load_model_with_info, save_data, save_int_model
    from .netlist.serialize import save_design
    from .netlist.verilog import write_verilog
    from .sim import Simulator, stream

    progress = progress or Progress(False)
    with progress.step(f"load {Path(model_path).name}"):
        loaded = load_model_with_info(model_path, weight_bits=weight_bits, act_bits=act_bits, calib=data)
        model = loaded.int_model
    cluster_info = None
    if options.cluster:
        from .cluster.build import cluster_for_build

        with progress.step(f"cluster weight tiles ({options.cluster})"):
            model, cluster_info = cluster_for_build(model, loaded.data, options.cluster,
                                                    options.cluster_tile or options.tile)
    result = compile_model(model, pdk, options, progress)
    rep = result.report
    if cluster_info is not None:
        rep["cluster"] = cluster_info

    # self-check: the netlist, streamed one vector per clock, equals the golden model bit for bit
    with progress.step("simulate the netlist against the golden model"):
        rng = np.random.default_rng(0)
        top_val = (1 << model.input_bits) - 1
        sets = [np.zeros((1, model.n_inputs), np.int64), np.full((1, model.n_inputs), top_val, np.int64),
                rng.integers(0, top_val + 1, (check_vectors, model.n_inputs), dtype=np.int64)]
        n_test = 0
        if loaded.data is not None:
            sets.append(loaded.data.X_test)
            n_test = len(loaded.data.X_test)
        X = np.concatenate(sets)
        sim = Simulator(result.design)
        if "calibration" in rep:  # scan ports: the offset registers stay 0 (layoutgen/calibration.py)
            from .calibration import stream_build

            Y = stream_build(sim, X, rep)
        else:
            Y = stream(sim, X, input_bits=model.input_bits, output_width=rep["output_width"], latency=rep["latency_cycles"])
        G = golden(model, X)
        bad = int(np.count_nonzero((np.asarray(Y, dtype=object) != np.asarray(G, dtype=object)).any(axis=1)))
    rep["check"] = {"vectors": int(len(X)), "test_vectors": n_test, "mismatched": bad, "bit_exact": bad == 0}
    rep["model"] = {"file": Path(model_path).name, "kind": loaded.kind, "weight_bits": loaded.weight_bits,
                    "act_bits": loaded.act_bits}
    acc = _accuracy(loaded, model, Y[len(X) - n_test:]) if n_test else None
    if acc:
        rep["accuracy"] = acc

    top = options.top

    def netlist_files(res: BuildResult, folder: Path) -> None:
        write_verilog(res.design, folder / f"{top}.v")
        save_design(res.design, folder / f"{top}.netlist.json.gz")
        save_int_model(model, folder / f"{top}.int.npz")
        if loaded.data is not None:
            d = loaded.data
            arrays = {"X_test": d.X_test}
            if d.y_test is not None:
                arrays["y_test"] = d.y_test
            save_data(folder / f"{top}.test.npz", **arrays)

    writers = [netlist_files]
    wire_caps = None
    if options.layout:  # first: the clock tree joins the design, routed wires give the loads
        layout_writer, wire_caps = _layout_writer(result, pdk, options, progress, pdk_root)
        writers.append(layout_writer)

    # energy per inference and power: switching activity on the test inputs (else seeded random ones)
    from .power.summary import energy_fields

    test_inputs = loaded.data.X_test if loaded.data is not None else None
    with progress.step("energy (switching activity, tt and ss)"):
        rep.update(energy_fields(result.design, pdk, model, test_inputs, rep, net_wire_cap_ff=wire_caps))
    from .report_md import area_fields

    rep.update(area_fields(rep, result.design))
    with progress.step(f"write {out_dir}"):
        write_outputs(result, Path(out_dir), writers)
    return result


DETAIL_UM = 40.0  # side of <top>.detail.png's view: at 2000 px, 50 px per um (a site is 23 px)


def detail_window_um(die_nm) -> tuple[float, float, float, float]:
    """A DETAIL_UM square at the centre of the die (the whole die if it is smaller), in um."""
    x0, y0, x1, y1 = (v / 1000 for v in die_nm)
    half_w, half_h = min(DETAIL_UM, x1 - x0) / 2, min(DETAIL_UM, y1 - y0) / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def unit_stamps(network):
    """The stamped units of a tiled build's network (cluster.netlist.TiledNetwork), for the macros."""
    from .cluster.netlist import STAMP_PREFIX
    from .physical.macros import UnitStamps

    return UnitStamps({u: t.module for u, t in sorted(network.templates.items())},
                      tuple((i.unit, f"{STAMP_PREFIX}{i.unit}_{i.index}_") for i in network.table.instances))


def layer_arrays(result: BuildResult, pdk: Pdk, pdk_root) -> list:
    """Every layer of an array build as its array macro: distinct tiles placed and routed once."""
    from .physical.array import layer_array
    from .physical.array_macro import array_macro
    from .physical.floorplan import ARRAY_UTILIZATION
    from .physical.pinaccess import PinAccess

    net = result.network
    access = PinAccess(pdk, pdk_root)
    return [array_macro(net, layer_array(net, layer, pdk, access, ARRAY_UTILIZATION, pdk_root), result.design.top_module,
                        pdk, pdk_root)
            for layer in range(len(net.groups))]


def _layout_writer(result: BuildResult, pdk: Pdk, options: BuildOptions, progress: Progress, pdk_root):
    """Place, route and write the layout; verify it with DRC and LVS; figures into the report."""
    from .layout import make_layout, write_layout_files

    top = options.top
    with progress.step(f"place and route ({result.report['n_cells']} cells)"):
        log = (lambda msg: print(f"layoutgen:   route {msg}", file=sys.stderr, flush=True)) if progress.enabled else None
        arrays = layer_arrays(result, pdk, pdk_root) if options.array else ()
        layout = make_layout(result.design, pdk, pdk_root=pdk_root, utilization=options.utilization, log=log,
                             place_targets=result.place_targets,
                             units=unit_stamps(result.network) if options.tile and options.macros else None,
                             arrays=arrays)
    result.design = layout.design  # with its clock tree: Verilog, netlist, LVS and energy see the buffers
    wire_caps = layout.wire_cap_ff()
    with progress.step("static timing with routed wire loads and clock skew"):
        from .timing import analyze

        timing = {c: analyze(layout.design, pdk, corner=c, net_wire_cap_ff=wire_caps,
                             clock_skew_ps=layout.clock.corners[c].skew_ps if layout.clock else 0.0)
                  for c in CORNERS}
    result.report.update(timing_fields(timing, result.report.get("latency_cycles")))
    if layout.clock:
        result.report["clock_tree"] = layout.clock.as_dict()
    result.report.update(cell_fields(layout.design, result.report.get("n_weights")))  # with the clock buffers
    pl = layout.placement
    die_w, die_h = (pl.die[2] - pl.die[0]) / 1000, (pl.die[3] - pl.die[1]) / 1000
    if layout.macros or (options.tile and options.macros):
        from .physical.macros import macro_stats

        result.report["macros"] = macro_stats(list(layout.macros))
    result.report.update({
        "die_width_um": die_w,
        "die_height_um": die_h,
        "die_area_mm2": round(die_w * die_h / 1e6, 6),
        "utilization": round(pl.utilization, 4),
        "wire_length_um": round(layout.wire_length_nm / 1000, 3),
        "routed_nets": int(layout.routing.stats["nets"]),
        "layout_format": options.layout_format,
    })

    def write(res: BuildResult, folder: Path) -> None:
        from .physical.lef_out import coarse_obstructions, layout_pins, write_lef
        from .physical.picture import render_png
        from .route.wiremap import save_wire_map, wire_map

        path = write_layout_files(layout, folder, top, options.layout_format)
        (folder / f"{top}.lyp").write_text((pdk.data_dir / f"{pdk.name}.lyp").read_text())
        cell = next(c for c in layout.library.cells if c.name == top)
        ports = {p.name: (p.direction, p.width) for p in res.design.top_module.ports}
        pins = layout_pins(cell, pdk, ports, clock="clk" if "clk" in ports else None)
        write_lef(folder / f"{top}.lef", top, layout.placement.die, pins,
                  coarse_obstructions(layout.placement.die, pins, pdk.tech))
        render_png(path, folder / f"{top}.png", pdk.tech, top=top, width=2000)
        render_png(path, folder / f"{top}.detail.png", pdk.tech, top=top, width=2000,
                   window_um=detail_window_um(layout.placement.die))
        # routed wire areas and side-by-side neighbours: where `layoutgen faults` draws opens and bridges
        save_wire_map(wire_map(layout.routing, pdk.tech, layout.placement.cells.n_nets), folder / f"{top}.wires.npz")
        if not options.verify:
            return
        from .verify.both import check_layout

        with progress.step("DRC and LVS"):
            drc, lvs = check_layout(path, res.design, pdk, top=top, pdk_root=pdk_root,
                                    drc_report=folder / f"{top}.drc.lyrdb", workers=options.jobs)
            (folder / f"{top}.lvs.txt").write_text(lvs.report() + "\n")
        res.report["drc_violations"] = int(drc.total)
        res.report["drc_by_rule"] = {k: int(v) for k, v in sorted(drc.counts.items()) if v}
        res.report["lvs_match"] = bool(lvs.match)

    return write, wire_caps
