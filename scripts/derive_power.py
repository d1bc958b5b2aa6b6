#!/usr/bin/env python3
"""Derive the compact energy tables layoutgen's power estimate uses from liberty data in JSON form.

Usage: python scripts/derive_power.py LIBERTY_JSON_DIR [--out pdk/sky130/power] [--corners tt_025C_1v80 ss_100C_1v60]

LIBERTY_JSON_DIR holds one file per cell and corner, <library>__<cell>__<corner>.lib.json (the public
sky130_fd_sc_hd liberty converted to JSON, as for scripts/derive_timing.py), and beside it a folder
../corners/ with <library>__<corner>.lib.json (the corner's operating voltage). For the cells named in
pdk/sky130/cells.json, and every other drive strength of the same cells found in the folder (so a
resized or clock-tree cell needs no new run), this writes <out>/<corner>.json with, per cell:
  leakage_nw       the liberty cell_leakage_power (state average), nW;
  input_cap_ff     the nominal input pin capacitance, fF;
  input_energy_fj  for pins that carry input internal power: energy per input transition (fJ) over
                   input transition (ps), the mean of the rise and fall tables;
  output_energy_fj energy per output transition (fJ) over input transition (ps) x output load (fF):
                   the mean of the rise and fall tables, averaged over the related input pins.
The liberty data uses the split power model (internal energy excludes the 0.5 C V^2 of the load), so
the estimate adds the load's switching energy itself. Liberty units: pJ per transition (V x pF),
leakage nW; written as fJ, fF, ps, nW.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SOURCE = (
    "Derived by scripts/derive_power.py from the sky130_fd_sc_hd liberty data of "
    "google/skywater-pdk-libs-sky130_fd_sc_hd (commit ac7fb61f, Apache-2.0): internal energy per transition "
    "as the mean of rise and fall (output pins: also averaged over related pins), nominal pin capacitance, "
    "cell_leakage_power. Units: energy fJ, capacitance fF, time ps, leakage nW."
)
NS_TO_PS = 1000.0
PF_TO_FF = 1000.0
PJ_TO_FJ = 1000.0


def _r(x: float, nd: int) -> float:
    v = round(float(x), nd)
    return 0.0 if v == 0 else v


def _as_list(v) -> list:
    return v if isinstance(v, list) else [v]


def _rise_fall(group: dict, where: str) -> tuple[list, list, list]:
    """(index_1, index_2 or None, mean of the rise and fall value tables)."""
    tables = [v for k, v in group.items() if k.split(",")[0] in ("rise_power", "fall_power")]
    if len(tables) != 2:
        raise ValueError(f"{where}: expected one rise_power and one fall_power table, found {len(tables)}")
    a, b = tables
    if a["index_1"] != b["index_1"] or a.get("index_2") != b.get("index_2"):
        raise ValueError(f"{where}: rise and fall power tables have different indices")
    if "index_2" in a:
        vals = [[(x + y) / 2 for x, y in zip(ra, rb)] for ra, rb in zip(a["values"], b["values"])]
    else:
        vals = [(x + y) / 2 for x, y in zip(a["values"], b["values"])]
    return a["index_1"], a.get("index_2"), vals


def derive_cell(lib: dict, where: str) -> dict:
    caps: dict[str, float] = {}
    in_energy: dict[str, dict] = {}
    out_energy: dict[str, dict] = {}
    for key, pin in sorted(lib.items()):
        if not key.startswith("pin,"):
            continue
        name = key.split(",", 1)[1]
        groups = _as_list(pin.get("internal_power", []))
        if pin.get("direction") == "input":
            cap = pin.get("capacitance")
            if cap is None:
                cap = max(pin[k] for k in ("rise_capacitance", "fall_capacitance"))
            caps[name] = _r(cap * PF_TO_FF, 4)
            if groups:
                tables = [_rise_fall(g, f"{where} pin {name}") for g in groups]
                idx = tables[0][0]
                if any(t[0] != idx or t[1] is not None for t in tables):
                    raise ValueError(f"{where} pin {name}: input power tables with differing indices")
                mean = [sum(t[2][i] for t in tables) / len(tables) for i in range(len(idx))]
                in_energy[name] = {
                    "slew_ps": [_r(v * NS_TO_PS, 2) for v in idx],
                    "energy_fj": [_r(v * PJ_TO_FJ, 4) for v in mean],
                }
        elif pin.get("direction") == "output" and groups:
            by_related: dict[str, list] = {}
            for g in groups:
                by_related.setdefault(g.get("related_pin", ""), []).append(_rise_fall(g, f"{where} pin {name}"))
            first = next(iter(by_related.values()))[0]
            i1, i2 = first[0], first[1]
            if i2 is None:
                raise ValueError(f"{where} pin {name}: output power table without a load index")
            per_pin = []
            for rel, tables in sorted(by_related.items()):
                if any(t[0] != i1 or t[1] != i2 for t in tables):
                    raise ValueError(f"{where} pin {name}: power tables of related pin {rel} have other indices")
                per_pin.append([[sum(t[2][i][j] for t in tables) / len(tables) for j in range(len(i2))]
                                for i in range(len(i1))])
            mean = [[sum(p[i][j] for p in per_pin) / len(per_pin) for j in range(len(i2))] for i in range(len(i1))]
            out_energy[name] = {
                "slew_ps": [_r(v * NS_TO_PS, 2) for v in i1],
                "load_ff": [_r(v * PF_TO_FF, 4) for v in i2],
                "energy_fj": [[_r(v * PJ_TO_FJ, 4) for v in row] for row in mean],
            }
    leak = lib.get("cell_leakage_power")
    if leak is None:
        raise ValueError(f"{where}: no cell_leakage_power")
    return {
        "leakage_nw": _r(leak, 7),
        "input_cap_ff": dict(sorted(caps.items())),
        "input_energy_fj": dict(sorted(in_energy.items())),
        "output_energy_fj": dict(sorted(out_energy.items())),
    }


def corner_voltage(corner_lib: dict, corner: str) -> float:
    cond = corner_lib.get(f"operating_conditions,{corner}")
    if not cond or "voltage" not in cond:
        raise ValueError(f"corner {corner}: no operating_conditions voltage")
    return float(cond["voltage"])


def drive_variants(liberty_dir: Path, cells: set[str], corner: str) -> set[str]:
    """Other drive strengths (<base>_<n>) of the given cells present in the liberty folder."""
    bases = {c.rsplit("_", 1)[0] for c in cells}
    found = set()
    for path in liberty_dir.glob(f"*__{corner}.lib.json"):
        cell = path.name[: -len(f"__{corner}.lib.json")]
        base, _, size = cell.rpartition("_")
        if base in bases and size.isdigit():
            found.add(cell)
    return found


def dump(data, indent: int = 0) -> str:
    """Compact but diffable JSON: every list of numbers on one line."""
    pad = " " * indent
    if isinstance(data, dict):
        items = [f'{pad} {json.dumps(k)}: {dump(v, indent + 1).lstrip()}' for k, v in data.items()]
        return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}" if items else pad + "{}"
    if isinstance(data, list) and data and all(isinstance(v, list) for v in data):
        return pad + "[\n" + ",\n".join(dump(v, indent + 1) for v in data) + "\n" + pad + "]"
    return pad + json.dumps(data)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("liberty_dir", type=Path, help="directory of <library>__<cell>__<corner>.lib.json files")
    repo = Path(__file__).resolve().parent.parent
    ap.add_argument("--corners-dir", type=Path, help="folder of <library>__<corner>.lib.json [default: LIBERTY_DIR/../corners]")
    ap.add_argument("--cells", type=Path, default=repo / "pdk" / "sky130" / "cells.json")
    ap.add_argument("--out", type=Path, default=repo / "pdk" / "sky130" / "power")
    ap.add_argument("--corners", nargs="+", default=["tt_025C_1v80", "ss_100C_1v60"])
    args = ap.parse_args(argv)
    mapping = json.loads(args.cells.read_text())
    library = mapping["library"]
    named = {e["cell"] for role, e in mapping["roles"].items() if role not in ("tap", "fill", "decap")}
    cells = sorted(named | drive_variants(args.liberty_dir, named, args.corners[0]))
    corners_dir = args.corners_dir or args.liberty_dir.parent / "corners"
    args.out.mkdir(parents=True, exist_ok=True)
    for corner in args.corners:
        cpath = corners_dir / f"{library}__{corner}.lib.json"
        if not cpath.is_file():
            print(f"derive_power: {cpath.name} not found in {corners_dir.name}/ (pass --corners-dir)", file=sys.stderr)
            return 2
        data = {
            "_source": SOURCE,
            "corner": corner,
            "voltage_v": corner_voltage(json.loads(cpath.read_text()), corner),
            "units": {"energy": "fJ", "capacitance": "fF", "time": "ps", "leakage": "nW"},
            "cells": {},
        }
        for cell in cells:
            path = args.liberty_dir / f"{cell}__{corner}.lib.json"
            if not path.is_file():
                print(f"derive_power: {path.name} not found in the liberty folder", file=sys.stderr)
                return 2
            data["cells"][cell] = derive_cell(json.loads(path.read_text()), f"{cell} {corner}")
        target = args.out / f"{corner}.json"
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(dump(data) + "\n")
        tmp.replace(target)
        print(f"derive_power: wrote {target} ({len(cells)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
