"""The chip folder of a character model (`layoutgen lmbuild`) and how `layoutgen generate` reads it back.

DIR/<top>.netlist.json.gz  the netlist IR (core + feedback ring), the input of layout, DRC and LVS
DIR/<top>.v                gate-level Verilog of the same netlist
DIR/<top>.int.npz          the integer model, DIR/<top>.lm.json its vocabulary and context length
DIR/report.json            figures: cells, area, P, latency, static timing, tokens/s, self-check
Like `layoutgen build`, the folder is written to a staging name and moved into place when complete,
and holds no timings or paths, so the same model and options give byte-identical files.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from pathlib import Path

from ..build import BuildResult, Progress, write_outputs
from ..errors import LayoutgenError
from ..model import load_int_model, save_int_model
from ..netlist.serialize import load_design, save_design
from ..netlist.verilog import write_verilog
from ..pdk.core import Pdk
from .generation import chip_generate, chip_reference
from .hardware import CHIP_PORTS, Chip, ChipOptions, build_chip
from .sampler import Sampler
from .spec import LmSpec, load_spec, save_spec, spec_path_for

CHIP_KIND = "layoutgen-charlm-chip-v1"
CORNERS = ("tt_025C_1v80", "ss_100C_1v60")


@dataclass
class ChipDir:
    chip: Chip
    model: object
    report: dict
    path: Path


def self_check_prompts(spec: LmSpec, streams: int, length: int = 6, seed: int = 0) -> list[list[int]]:
    """One prompt per stream, random characters of the vocabulary (deterministic)."""
    rng = random.Random(seed)
    return [[rng.randrange(1, spec.n_tokens) for _ in range(length)] for _ in range(streams)]


def chip_report(chip: Chip, model, pdk: Pdk, progress: Progress) -> dict:
    from ..timing import analyze

    design, lib = chip.design, pdk.library
    counts = design.cell_counts()
    core_counts = design.cell_counts(chip.core)
    dff = lib.role("dff").name
    with progress.step("static timing (tt and ss corners)"):
        timing = {c: analyze(design, pdk, corner=c) for c in CORNERS}
    area = design.cell_area_um2()
    core_area = design.cell_area_um2(chip.core)
    P = chip.streams
    rep = {
        "kind": CHIP_KIND,
        "top": design.top,
        "core": chip.core,
        "pdk": pdk.name,
        "vocab": chip.spec.vocab,
        "context": chip.spec.context,
        "n_tokens": chip.spec.n_tokens,
        "token_bits": chip.token_bits,
        "n_weights": int(model.n_weights),
        "layers": [{"inputs": layer.n_in, "outputs": layer.n_out} for layer in model.layers],
        "core_latency_cycles": chip.core_latency,
        "streams": P,
        "stream_bits": chip.stream_bits,
        "token_interval_cycles": P,
        "cells": {c.split("__", 1)[-1]: n for c, n in counts.items()},
        "n_cells": int(sum(counts.values())),
        "core_cells": int(sum(core_counts.values())),
        "flip_flops": int(counts.get(dff, 0)),
        "cell_area_um2": round(area, 3),
        "core_cell_area_um2": round(core_area, 3),
        "ring_cell_area_um2": round(area - core_area, 3),
        "timing_wire_model": timing[CORNERS[0]].wire_model,
        "sampling": chip.sampler.to_json() if chip.sampler else None,
        "floorplan": "crossbar" if chip.place_targets else "free",
    }
    for corner, tag in zip(CORNERS, ("tt", "ss")):
        rep[f"fmax_mhz_{tag}"] = round(timing[corner].fmax_mhz, 2)
    rep.update(token_rates(rep))
    return rep


def token_rates(report: dict) -> dict:
    """Token throughput and latency from the report's fmax: one token leaves the chip per clock, and
    each of the P streams gets one every P clocks. Derived again after layout, whose routed wire
    loads lower fmax."""
    P = report["streams"]
    rates = {}
    for tag in ("tt", "ss"):
        f = report[f"fmax_mhz_{tag}"]
        rates[f"tokens_per_s_{tag}"] = round(f * 1e6)
        rates[f"tokens_per_s_per_stream_{tag}"] = round(f * 1e6 / P)
        rates[f"token_latency_ns_{tag}"] = round(P * 1e3 / f, 2)
    return rates


def sampler_for(spec: LmSpec, temperature: float, seed: int, source: str) -> Sampler | None:
    """The chip's random source for sampling at `temperature` (0: greedy, no sampler)."""
    if temperature == 0:
        return None
    if not temperature > 0:
        raise LayoutgenError(f"--temperature {temperature} must be >= 0 (0 = greedy argmax)")
    if spec.logit_scale is None:
        raise LayoutgenError(f"{source}: sampling needs 'logit_scale' (float logit per integer logit unit) in the "
                             "spec; add it, or build a greedy chip (--temperature 0)")
    return Sampler(n_logits=spec.n_tokens, scale=float(f"{temperature / spec.logit_scale:.6g}"), seed=seed)


def build_chip_dir(model_path, pdk: Pdk, out_dir, options: ChipOptions | None = None, *, spec_path=None,
                   temperature: float = 0.0, seed: int = 1, check_tokens: int = 24,
                   progress: Progress | None = None, layout: bool = False, utilization: float = 0.4,
                   pdk_root=None) -> ChipDir:
    """Load model + spec, build the chip, check it against the reference by simulation, write DIR.

    temperature > 0 builds the sampling chip (Gumbel-max with an on-chip random source, see sampler.py).
    layout: also place, route, write DIR/<top>.gds and check it with DRC and LVS, through the same
    layout path as `layoutgen build --layout` (figures into the report).
    """
    options = options or ChipOptions()
    progress = progress or Progress(False)
    model_path = Path(model_path)
    with progress.step(f"load {model_path.name}"):
        model = load_int_model(model_path)
        spec_file = Path(spec_path) if spec_path else spec_path_for(model_path)
        spec = load_spec(spec_file)
        spec.check_model(model, str(model_path))
        options = replace(options, sampler=sampler_for(spec, temperature, seed, str(spec_file)))
    with progress.step("chip netlist (decoder, network, argmax, pipeline, stream ring)"):
        chip = build_chip(model, spec, pdk, options)
    report = chip_report(chip, model, pdk, progress)
    with progress.step(f"simulate {chip.streams} streams x {check_tokens} tokens against the numpy reference"):
        prompts = self_check_prompts(spec, chip.streams)
        gen = chip_generate(chip, prompts, check_tokens)
        ref = chip_reference(chip, model, prompts, check_tokens)
        bad = [s for s in range(len(prompts)) if gen.tokens[s] != ref[s]]
    report["check"] = {"streams": len(prompts), "tokens_per_stream": check_tokens, "mismatched_streams": len(bad),
                       "identical": not bad, "cycles": gen.cycles}
    if bad:
        raise LayoutgenError(f"internal error: the chip's stream {bad[0]} differs from the numpy reference; "
                             "please report this with the model file")
    top = options.top

    def files(res: BuildResult, folder: Path) -> None:
        write_verilog(res.design, folder / f"{top}.v")
        save_design(res.design, folder / f"{top}.netlist.json.gz")
        save_int_model(model, folder / f"{top}.int.npz")
        save_spec(spec, folder / f"{top}.lm.json")

    result = BuildResult(chip.design, model, report, place_targets=chip.place_targets)
    writers = [files]
    if layout:
        from ..build import BuildOptions, _layout_writer

        layout_writer, _wire_caps = _layout_writer(result, pdk, BuildOptions(top=top, layout=True, verify=True,
                                                                             utilization=utilization),
                                                   progress, pdk_root)
        writers.append(layout_writer)
        writers.append(lambda res, _folder: res.report.update(token_rates(res.report)))  # the routed fmax
    with progress.step(f"write {out_dir}"):
        write_outputs(result, Path(out_dir), writers)
    return ChipDir(chip=chip, model=model, report=report, path=Path(out_dir))


def load_chip_dir(path, pdk: Pdk) -> ChipDir:
    folder = Path(path)
    rep_file = folder / "report.json"
    if not rep_file.is_file():
        raise LayoutgenError(f"{folder}: no report.json; make the chip folder with `layoutgen lmbuild MODEL -o {folder}`")
    try:
        report = json.loads(rep_file.read_text())
    except json.JSONDecodeError as exc:
        raise LayoutgenError(f"{rep_file}: not valid JSON ({exc}); rebuild with `layoutgen lmbuild`") from None
    if not isinstance(report, dict) or report.get("kind") != CHIP_KIND:
        raise LayoutgenError(f"{folder}: not a character-model chip folder (report.json kind is not {CHIP_KIND}); "
                             "make one with `layoutgen lmbuild MODEL -o DIR`")
    top = report["top"]
    design = load_design(folder / f"{top}.netlist.json.gz", pdk.library)
    model = load_int_model(folder / f"{top}.int.npz")
    spec = load_spec(folder / f"{top}.lm.json")
    spec.check_model(model, str(folder / f"{top}.int.npz"))
    ports = tuple(p.name for p in design.top_module.ports)
    # with --layout the netlist written is the flat one that was laid out (clock tree included): no
    # core module to look for, the ports are what generation needs
    if ports != CHIP_PORTS:
        raise LayoutgenError(f"{folder}: {top} has ports {list(ports)}, not those of a character-model chip")
    smp = report.get("sampling")
    sampler = Sampler(n_logits=spec.n_tokens, scale=float(smp["scale"]), seed=int(smp["seed"]),
                      k=int(smp["noise_bits"])) if smp else None
    chip = Chip(design=design, spec=spec, core_latency=int(report["core_latency_cycles"]),
                streams=int(report["streams"]), stream_bits=int(report["stream_bits"]), core=report["core"],
                sampler=sampler)
    return ChipDir(chip=chip, model=model, report=report, path=folder)
