"""LVS speed on ~1 mm^2 of routed standard cells, stamped by hierarchy.

Layout (and the matching netlist IR): a `tile` is one row of 24 inv_1 in a chain with three
tapvpwrvgnd_1 (one per 8 inverters), every link routed mcon + via onto the li1 pins, a met2 riser
and a met1 trunk; a `trow` chains 28 tiles; the top stacks 367 trows in alternating R0/MX rows
(shared rails), labels each row's chain ends as top-level ports, and joins the rails with met2
straps. About 1.0 mm x 1.0 mm and 247k inverters.

    python benchmarks/verify_lvs.py                 # full size, writes build/bench_lvs/
    python benchmarks/verify_lvs.py --rows 40       # smaller
    python benchmarks/verify_lvs.py --fault         # plus a short between two rows: must mismatch
    python benchmarks/verify_lvs.py --flat          # worst case: no hierarchy above the cells
    python benchmarks/verify_lvs.py --rows 2 --tiles 2 --device-deck DIR/sky130.lvs
                                                    # cross-check with the official transistor-level deck
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import gdstk

from layoutgen.netlist.ir import Design, Module
from layoutgen.pdk import load_pdk
from layoutgen.pdk.views import locate_cell_views
from layoutgen.verify.lvs import run_lvs

LIB = "sky130_fd_sc_hd"
INV, TAP = f"{LIB}__inv_1", f"{LIB}__tapvpwrvgnd_1"
MCON, MET1, VIA, MET2 = (67, 44), (68, 20), (68, 44), (69, 20)
MET1_LABEL = (68, 5)
ROW_H = 2720
INV_W, TAP_W = 1380, 460
GROUPS, PER_GROUP = 3, 8  # a tap before every 8 inverters
TILE_W = GROUPS * (TAP_W + PER_GROUP * INV_W)
A_PIN, Y_PIN = (485, 1190), (885, 510)  # access points in the inv_1 li1 PORTs
LINK_Y, CHAIN_Y = 850, 1530  # met1 tracks: links inside a tile, tile-to-tile links


def _box(cell, layer, x0, y0, x1, y1):
    cell.add(gdstk.rectangle((x0 / 1000, y0 / 1000), (x1 / 1000, y1 / 1000), layer=layer[0], datatype=layer[1]))


def _stack(cell, x, y, mcon=True):
    if mcon:
        _box(cell, MCON, x - 85, y - 85, x + 85, y + 85)
    _box(cell, MET1, x - 160, y - 130, x + 160, y + 130)
    _box(cell, VIA, x - 75, y - 75, x + 75, y + 75)
    _box(cell, MET2, x - 130, y - 160, x + 130, y + 160)


def _link(cell, x0, y0, x1, y1, track):
    """Pin (x0, y0) to pin (x1, y1): stacks, met2 risers to a met1 trunk on `track`."""
    for x, y in ((x0, y0), (x1, y1)):
        _stack(cell, x, y)
        _box(cell, MET2, x - 70, min(y, track), x + 70, max(y, track))
        _stack(cell, x, track, mcon=False)
    _box(cell, MET1, min(x0, x1), track - 70, max(x0, x1), track + 70)


def inverter_x() -> list[int]:
    xs = []
    for g in range(GROUPS):
        base = g * (TAP_W + PER_GROUP * INV_W) + TAP_W
        xs += [base + k * INV_W for k in range(PER_GROUP)]
    return xs


def build_layout(path: Path, rows: int, tiles: int, fault: bool, flat: bool = False, names: bool = False,
                 pdk_root=None) -> float:
    views = locate_cell_views(LIB, pdk_root)
    lib = gdstk.Library("bench_lvs", unit=1e-6, precision=1e-9)
    masters = {}
    for name in (INV, TAP):
        for c in gdstk.read_gds(str(views.gds(name))).cells:
            if c.name not in masters:
                masters[c.name] = c
                lib.add(c)
    xs = inverter_x()
    tile = gdstk.Cell("tile")
    for g in range(GROUPS):
        tile.add(gdstk.Reference(masters[TAP], (g * (TAP_W + PER_GROUP * INV_W) / 1000, 0)))
    for x in xs:
        tile.add(gdstk.Reference(masters[INV], (x / 1000, 0)))
    for a, b in zip(xs, xs[1:]):
        _link(tile, a + Y_PIN[0], Y_PIN[1], b + A_PIN[0], A_PIN[1], LINK_Y)
    trow = gdstk.Cell("trow")
    for t in range(tiles):
        trow.add(gdstk.Reference(tile, (t * TILE_W / 1000, 0)))
    for t in range(tiles - 1):
        _link(trow, t * TILE_W + xs[-1] + Y_PIN[0], Y_PIN[1], (t + 1) * TILE_W + xs[0] + A_PIN[0], A_PIN[1],
              CHAIN_Y)
    for name, y in (("VGND", 0), ("VPWR", ROW_H)):
        trow.add(gdstk.Label(name, (0.23, y / 1000), layer=MET1_LABEL[0], texttype=MET1_LABEL[1]))
    top = gdstk.Cell("bench_lvs")
    width = tiles * TILE_W
    for r in range(rows):
        if r % 2 == 0:  # R0: VGND at the bottom
            top.add(gdstk.Reference(trow, (0, r * ROW_H / 1000)))
        else:  # MX: VPWR shared with the row below
            top.add(gdstk.Reference(trow, (0, (r + 1) * ROW_H / 1000), x_reflection=True))
        mirror = r % 2 == 1
        base = (r + 1) * ROW_H if mirror else r * ROW_H
        for name, (x, y) in (("in", (xs[0] + A_PIN[0], A_PIN[1])),
                             ("out", ((tiles - 1) * TILE_W + xs[-1] + Y_PIN[0], Y_PIN[1]))):
            # a labelled met2 stub above the chain end's access stack
            ly = base - y if mirror else base + y
            _stack(top, x, ly, mcon=True)
            top.add(gdstk.Label(f"{name}[{r}]", (x / 1000, ly / 1000), layer=69, texttype=5))
    # rail straps on met2 inside the first tap of every 4th tile: VGND on the left half, VPWR on the right
    for t in range(0, tiles, 4):
        for rail, dx in (("VGND", 100), ("VPWR", 360)):
            x = t * TILE_W + dx
            ys = [k * ROW_H for k in range(rows + 1) if (k % 2 == 0) == (rail == "VGND")]
            for y in ys:
                _box(top, VIA, x - 75, y - 75, x + 75, y + 75)
                _box(top, MET1, x - 100, y - 130, x + 100, y + 130)
            _box(top, MET2, x - 70, ys[0] - 160, x + 70, ys[-1] + 160)
    for name, y in (("VGND", 0), ("VPWR", ROW_H)):
        top.add(gdstk.Label(name, (0.23, y / 1000), layer=MET1_LABEL[0], texttype=MET1_LABEL[1]))
    if fault:
        # short: a met2 bar in the top joining row 0's tile0 -> tile1 link trunk to row 1's (mirrored)
        # one, through vias, above the tap that starts tile 1 (no other met2 there)
        x = TILE_W + TAP_W // 2
        y0, y1 = CHAIN_Y, 2 * ROW_H - CHAIN_Y
        for y in (y0, y1):
            _stack(top, x, y, mcon=False)
        _box(top, MET2, x - 70, y0, x + 70, y1)
    lib.add(tile, trow, top)
    lib.write_gds(str(path))
    if flat:  # worst case: every inverter and wire directly in the top cell (standard cells kept)
        import klayout.db as kdb

        layout = kdb.Layout()
        layout.read(str(path))
        top_cell = layout.top_cell()
        top_cell.flatten(2, True)
        if names:  # instance names as the GDS property LVS reads (layoutgen.verify.lvs_extract)
            _name_flat_instances(layout, top_cell, xs, tiles)
        layout.write(str(path))
    return width * rows * ROW_H / 1e12  # mm^2


def _name_flat_instances(layout, top_cell, xs: list[int], tiles: int) -> None:
    from layoutgen.verify.lvs_extract import INSTANCE_NAME_PROPERTY

    index = {x: k for k, x in enumerate(xs)}
    for inst in top_cell.each_inst():
        if layout.cell(inst.cell_index).name != INV:
            continue
        t = inst.trans
        x, y = t.disp.x, t.disp.y
        row = y // ROW_H - (1 if t.is_mirror() else 0)
        tile, k = x // TILE_W, index[x % TILE_W]
        inst.set_property(INSTANCE_NAME_PROPERTY, f"row{row}.t{tile}.inv{k}")


def build_design(pdk, rows: int, tiles: int) -> Design:
    design = Design(top="bench_lvs", library=pdk.library)
    tile = Module("tile")
    n = tile.add_net("in")
    tile.add_port("in", "input", [n])
    for k in range(GROUPS * PER_GROUP):
        y = tile.add_net()
        tile.add_instance(f"inv{k}", INV, {"A": n, "Y": y})
        n = y
    tile.add_port("out", "output", [n])
    design.add_module(tile)
    trow = Module("trow")
    n = trow.add_net("in")
    trow.add_port("in", "input", [n])
    for t in range(tiles):
        y = trow.add_net()
        trow.add_instance(f"t{t}", "tile", {"in": n, "out": y})
        n = y
    trow.add_port("out", "output", [n])
    design.add_module(trow)
    top = Module("bench_lvs")
    ins = [top.add_net(f"in[{r}]") for r in range(rows)]
    outs = [top.add_net(f"out[{r}]") for r in range(rows)]
    top.add_port("in", "input", ins)
    top.add_port("out", "output", outs)
    for r in range(rows):
        top.add_instance(f"row{r}", "trow", {"in": ins[r], "out": outs[r]})
    design.add_module(top)
    return design


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=367)
    ap.add_argument("--tiles", type=int, default=28)
    ap.add_argument("--fault", action="store_true", help="add a short between two rows' chains (must mismatch)")
    ap.add_argument("--flat", action="store_true", help="flatten tiles and rows into the top cell")
    ap.add_argument("--names", action="store_true", help="with --flat: give instances their netlist names")
    ap.add_argument("--device-deck", default=None,
                    help="also run this transistor-level sky130.lvs deck (Debian klayout) on the layout")
    ap.add_argument("--out", default="build/bench_lvs")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pdk = load_pdk("sky130")
    gds = out / "bench_lvs.gds"
    t0 = time.perf_counter()
    area = build_layout(gds, args.rows, args.tiles, args.fault, args.flat, args.names)
    design = build_design(pdk, args.rows, args.tiles)
    t_build = time.perf_counter() - t0
    result = run_lvs(gds, design, pdk, report=out / "lvs.txt")
    print(f"layout: {area:.3f} mm^2, {result.cells} inverters, {args.rows} rows x {args.tiles} tiles "
          f"(written in {t_build:.1f} s)")
    print(f"LVS: {'MATCH' if result.match else 'MISMATCH'} in {result.runtime_s:.1f} s "
          f"(power {'checked' if result.power_checked else 'not checked'})")
    if not result.match:
        print(result.report()[:3000])
    if args.device_deck:
        device_match = device_level_lvs(Path(args.device_deck), gds, design, out)
        if device_match != (not args.fault):
            return 1
    return 0 if result.match != args.fault else 1


def device_level_lvs(deck: Path, gds: Path, design, out: Path, rail_cells=()) -> bool:
    """Run a transistor-level deck (the efabless sky130 KLayout LVS deck, kept outside the project)
    with Debian's klayout on the same layout; the reference CDL comes from the netlist IR."""
    import shutil
    import subprocess

    from layoutgen.verify.lvs_cdl import write_reference_cdl

    cdl_dir = deck.parent / "standard_cells" / "hd_cdl"
    cdl = write_reference_cdl(design, out / "bench_lvs.cdl", lambda cell: cdl_dir / f"{cell}.cdl", rail_cells)
    klayout = shutil.which("klayout")
    if klayout is None:
        raise SystemExit("device-level LVS needs Debian's klayout (apt-get install klayout)")
    cmd = [klayout, "-b", "-r", str(deck), "-rd", f"input={gds.resolve()}", "-rd", f"schematic={cdl.resolve()}",
           "-rd", f"report={(out / 'device.lvsdb').resolve()}",
           "-rd", f"target_netlist={(out / 'device.cir').resolve()}",
           "-rd", "thr=1", "-rd", "run_mode=deep", "-rd", "schematic_simplify=true", "-rd", f"top_cell={design.top}"]
    t0 = time.perf_counter()
    log = subprocess.run(cmd, capture_output=True, text=True).stdout
    match = "Netlists match" in log
    verdict = "MATCH" if match else ("MISMATCH" if "Netlists don't match" in log else "ERROR")
    print(f"device-level LVS (official deck): {verdict} in {time.perf_counter() - t0:.1f} s")
    return match


if __name__ == "__main__":
    sys.exit(main())
