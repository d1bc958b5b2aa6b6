"""DRC speed on ~1 mm^2 of standard cells, and (optionally) agreement with the official sky130 deck.

    python benchmarks/verify_drc.py [--size-um 1000] [--flat] [--out DIR]
    python benchmarks/verify_drc.py --official RUN_DRC_SH --deck SKY130A_MR_DRC [--out DIR]
    python benchmarks/verify_drc.py --gds build/digits/digits.gds [--jobs 1,2] [--tasks]

Speed: builds a block of size x size um of real sky130_fd_sc_hd cells in rows (alternating R0/MX,
shared met1 rails, taps, fill), twice: "stamped" (a few distinct row cells placed by reference, as a
hierarchical generator emits) and "flat" (every cell instance directly in the block, as a placer
emits), and times `run_drc` on each.

Processes: `--gds` times `run_drc` on a built layout once per worker count of `--jobs`, side by side
(KLayout's checks hold the interpreter, so the rules are split over processes). `--tasks` also times
each worker task (the rules of one layer, `rule_groups`) on its own, in this process, costliest first.

Agreement: writes the per-rule sample layouts (one broken and one clean layout per rule) plus rows of
real cells (clean, with gaps), runs both our deck and the official one (through the given wrapper script,
which prints "DRC: N violations ...") and prints both verdicts side by side.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gdstk
import klayout.db as kdb

from layoutgen.pdk import load_pdk
from layoutgen.verify.drc import check_rules, rule_groups, run_drc
from layoutgen.verify.drc_samples import (GDS_TIMESTAMP, CellLoader, filled_row, place_rows, row_cell, rows_gds,
                                          rule_cases, write_case_gds)

ROLES = ["fa", "ha", "xor2", "xnor2", "inv", "buf", "nand2", "nor2", "and2", "or2", "nor3", "or3", "maj3",
         "mux2", "tie", "dff", "decap", "clkbuf"]


def logic_mix(pdk, n: int, seed: int) -> list[str]:
    """A deterministic pseudo-random mix of logic cells (weights loosely like an adder-tree netlist)."""
    names = [pdk.library.role(r).name for r in ROLES]
    weights = [8, 3, 3, 2, 3, 2, 3, 2, 2, 2, 1, 1, 3, 1, 1, 4, 1, 1]
    pool = [c for c, w in zip(names, weights) for _ in range(w)]
    x = seed * 2654435761 % 2**32
    out = []
    for _ in range(n):
        x = (1103515245 * x + 12345) % 2**31
        out.append(pool[x % len(pool)])
    return out


def row_content(pdk, sites: int, seed: int, utilisation: float = 0.8) -> list[str]:
    site = pdk.tech.site.width_nm
    widths = pdk.cell_abstracts()
    budget = int(sites * site * utilisation)
    cells, used = [], 0
    for c in logic_mix(pdk, sites, seed):
        w = widths.macro(c).width_nm
        if used + w > budget:
            break
        cells.append(c)
        used += w
    return filled_row(pdk, cells, sites)


def build_block(pdk, size_um: float, mode: str, path: Path) -> dict:
    tech = pdk.tech
    h, site = tech.site.height_nm, tech.site.width_nm
    n_rows = int(size_um * 1000 // h)
    loader = CellLoader(pdk)
    top = gdstk.Cell("BLOCK")
    instances = 0
    if mode == "stamped":
        # 8 distinct row segments of ~100 um; each block row is 10 segments side by side
        seg_sites = int(size_um * 1000 / 10 // site)
        segs = []
        for k in range(8):
            content = row_content(pdk, seg_sites, k)
            segs.append((row_cell(loader, f"SEG{k}", content, tech)[0], len(content)))
        seg_w = seg_sites * site
        rows = []
        for r in range(n_rows):
            row = gdstk.Cell(f"ROW{r % 16}") if r < 16 else None
            if row is not None:
                for j in range(10):
                    seg, n = segs[(r * 3 + j) % 8]
                    row.add(gdstk.Reference(seg, (j * seg_w / 1000, 0)))
                loader.lib.add(row)
                rows.append(row)
        place_rows(top, [rows[r % 16] for r in range(n_rows)], tech)
        per_row = [sum(segs[(r * 3 + j) % 8][1] for j in range(10)) for r in range(16)]
        instances = sum(per_row[r % 16] for r in range(n_rows))
    else:
        sites = int(size_um * 1000 // site)
        m1 = tech.gds("met1")
        for r in range(n_rows):
            content = row_content(pdk, sites, r)
            x = 0
            y0 = r * h if r % 2 == 0 else (r + 1) * h
            for c in content:
                top.add(gdstk.Reference(loader.cell(c), (x / 1000, y0 / 1000), x_reflection=(r % 2 == 1)))
                x += loader.width_nm(c)
            instances += len(content)
        for k in range(n_rows + 1):
            top.add(gdstk.rectangle((0, (k * h - 240) / 1000), (sites * site / 1000, (k * h + 240) / 1000), *m1))
    loader.lib.add(top)
    loader.lib.write_gds(str(path), timestamp=GDS_TIMESTAMP)
    bb = top.bounding_box()
    return {"instances": instances, "rows": n_rows,
            "area_mm2": (bb[1][0] - bb[0][0]) * (bb[1][1] - bb[0][1]) / 1e6}


def speed(pdk, size_um: float, out: Path, modes: list[str]) -> None:
    for mode in modes:
        path = out / f"block_{mode}.gds"
        t0 = time.perf_counter()
        info = build_block(pdk, size_um, mode, path)
        t_build = time.perf_counter() - t0
        result = run_drc(path, pdk, report=out / f"block_{mode}.lyrdb")
        print(f"{mode:8} {info['area_mm2']:.3f} mm^2, {info['rows']} rows, {info['instances']} cell instances "
              f"(build {t_build:.1f} s): DRC {result.seconds:.1f} s, {result.total} violations")
        if not result.clean:
            print(result.summary())


def jobs_speed(pdk, gds: Path, jobs: list[int]) -> None:
    results = []
    for n in jobs:
        result = run_drc(gds, pdk, workers=n)
        results.append((n, result))
        print(f"{n} process(es): DRC {result.seconds:.1f} s, {result.total} violations", flush=True)
    base_n, base = results[0]
    for n, result in results[1:]:
        same = "same" if result.counts == base.counts else "DIFFERENT"
        print(f"{n} vs {base_n}: x{base.seconds / result.seconds:.2f} faster, {same} markers per rule")


def task_times(pdk, gds: Path) -> None:
    layout = kdb.Layout()
    layout.read(str(gds))
    top = layout.top_cells()[0].name
    times = []
    for group in rule_groups(pdk.tech.rules):
        start = time.perf_counter()
        check_rules(gds, pdk, top, group, 1)
        times.append((time.perf_counter() - start, [r.id for r in group]))
    total = sum(t for t, _ in times)
    for seconds, ids in sorted(times, key=lambda item: -item[0]):
        print(f"{seconds:8.2f} s  {100 * seconds / total:5.1f}%  {' '.join(ids)}")
    print(f"{total:8.2f} s  in {len(times)} tasks")


def official_verdict(script: Path, deck: Path, gds: Path, report: Path) -> tuple[int, str]:
    env = dict(os.environ, DRC_DECK=str(deck))
    out = subprocess.run(["bash", str(script), str(gds), "TOP", str(report)], capture_output=True, text=True,
                         env=env).stdout
    m = re.search(r"DRC: (\d+) violations", out)
    if not m:
        return -1, out.strip().splitlines()[0] if out.strip() else "no output"
    rules = re.findall(r"^\s+\d+\s+(\S+)", out, re.M)
    return int(m.group(1)), ",".join(rules)


def agreement(pdk, script: Path, deck: Path, out: Path, only: set[str] | None = None) -> None:
    layouts: list[tuple[str, Path]] = []
    for rid, (bad, good) in rule_cases(pdk.tech).items():
        if only is not None and rid not in only:
            continue
        layouts.append((f"{rid} broken", write_case_gds(out / f"{rid}_bad.gds", bad, pdk.tech)))
        layouts.append((f"{rid} clean", write_case_gds(out / f"{rid}_good.gds", good, pdk.tech)))
    rows = [row_content(pdk, 200, k) for k in range(4)]
    layouts.append(("rows clean", rows_gds(out / "rows.gds", pdk, rows)))
    for sites in (1, 3, 5):
        broken = [list(r) for r in rows]
        broken[1].insert(6, sites)
        layouts.append((f"rows gap {sites} site", rows_gds(out / f"rows_gap{sites}.gds", pdk, broken)))
    print(f"{'layout':28} {'ours':>5} {'official':>8}  official rules / our rules")
    for name, gds in layouts:
        ours = run_drc(gds, pdk)
        n, rules = official_verdict(script, deck, gds, out / (gds.stem + ".official.xml"))
        verdict = "agree" if (n == 0) == ours.clean else "DIFFER"
        print(f"{name:28} {ours.total:>5} {n:>8}  {verdict:6} {rules} / {','.join(ours.violated)}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-um", type=float, default=1000.0)
    ap.add_argument("--out", type=Path, default=None, help="keep the layouts and reports here")
    ap.add_argument("--flat", action="store_true",
                    help="also time the flat variant (every instance in one cell; slow, see docs/pdk.md)")
    ap.add_argument("--official", type=Path, default=None, help="wrapper script running the official deck")
    ap.add_argument("--deck", type=Path, default=None, help="the official sky130A_mr.drc (not part of layoutgen)")
    ap.add_argument("--rules", default=None, help="comma-separated rule ids: compare only these rule layouts")
    ap.add_argument("--gds", type=Path, default=None, help="time DRC on this layout with each --jobs count")
    ap.add_argument("--jobs", default="1,2", help="with --gds: comma-separated worker process counts")
    ap.add_argument("--tasks", action="store_true", help="with --gds: also time each worker task on its own")
    args = ap.parse_args()
    pdk = load_pdk("sky130")
    if args.gds:
        jobs_speed(pdk, args.gds, [int(n) for n in args.jobs.split(",")])
        if args.tasks:
            task_times(pdk, args.gds)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        if args.official:
            if not args.deck:
                ap.error("--official needs --deck")
            agreement(pdk, args.official, args.deck, out, set(args.rules.split(",")) if args.rules else None)
        else:
            speed(pdk, args.size_um, out, ["stamped", "flat"] if args.flat else ["stamped"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
