"""A hand-built routed layout of real sky130_fd_sc_hd cells and its netlist, with fault variants.

Row (R0, y = 0): tapvpwrvgnd_1 | nand2_1 u_nand | inv_1 u_inv0 | inv_1 u_inv1 | tapvpwrvgnd_1 | fill_1.
Netlist: x = nand2(a, b); y = inv(x); out = inv(y). Each pin is reached by an mcon + via stack on
its li1 PORT, a met2 riser to the net's met1 trunk (one horizontal track per net), a via there.
Ports a, b, out are labelled at the row edges, VPWR/VGND on the rails.
"""
from __future__ import annotations

import gdstk

from layoutgen.netlist.ir import Design, Module
from layoutgen.pdk.core import load_pdk
from layoutgen.pdk.views import locate_cell_views

LIB = "sky130_fd_sc_hd"
NAND, INV, TAP, FILL = (f"{LIB}__{c}" for c in ("nand2_1", "inv_1", "tapvpwrvgnd_1", "fill_1"))

LI1, MCON, MET1, VIA, MET2 = (67, 20), (67, 44), (68, 20), (68, 44), (69, 20)
MET1_PIN, MET1_LABEL = (68, 16), (68, 5)

# (cell, instance name or None, x in nm); sites are 460 nm
ROW = [(TAP, None, 0), (NAND, "u_nand", 460), (INV, "u_inv0", 1840), (INV, "u_inv1", 3220),
       (TAP, None, 4600), (FILL, None, 5060)]
ROW_WIDTH = 5520
# access point of each pin inside its li1 PORT, relative to the cell origin (nm)
ACCESS = {
    (NAND, "A"): (1150, 1190), (NAND, "B"): (230, 1190), (NAND, "Y"): (690, 510),
    (INV, "A"): (485, 1190), (INV, "Y"): (885, 510),
}
# net -> (trunk y, pins, port side); port nets extend their trunk to the row edge and are labelled
NETS = {
    "a": (2210, [("u_nand", "A")], "left"),
    "b": (1870, [("u_nand", "B")], "left"),
    "x": (1530, [("u_nand", "Y"), ("u_inv0", "A")], None),
    "y": (850, [("u_inv0", "Y"), ("u_inv1", "A")], None),
    "out": (1530, [("u_inv1", "Y")], "right"),
}


def example_design(pdk) -> Design:
    design = Design(top="lvs_example", library=pdk.library)
    mod = Module("lvs_example")
    a, b = mod.add_net("a"), mod.add_net("b")
    mod.add_port("a", "input", [a])
    mod.add_port("b", "input", [b])
    x, y, out = mod.add_net("x"), mod.add_net("y"), mod.add_net("out")
    mod.add_port("out", "output", [out])
    mod.add_instance("u_nand", NAND, {"A": a, "B": b, "Y": x})
    mod.add_instance("u_inv0", INV, {"A": x, "Y": y})
    mod.add_instance("u_inv1", INV, {"A": y, "Y": out})
    design.add_module(mod)
    return design


def _box(cell, layer, x0, y0, x1, y1):
    cell.add(gdstk.rectangle((x0 / 1000, y0 / 1000), (x1 / 1000, y1 / 1000), layer=layer[0], datatype=layer[1]))


def _centered(cell, layer, x, y, w, h):
    _box(cell, layer, x - w // 2, y - h // 2, x + w // 2, y + h // 2)


def _via_stack(cell, x, y, with_mcon=True):
    if with_mcon:
        _centered(cell, MCON, x, y, 170, 170)
    _centered(cell, MET1, x, y, 320, 260)
    _centered(cell, VIA, x, y, 150, 150)
    _centered(cell, MET2, x, y, 260, 320)


def _masters(lib, pdk_root):
    views = locate_cell_views(LIB, pdk_root)
    masters = {}
    for cell_name in sorted({c for c, _, _ in ROW}):
        for c in gdstk.read_gds(str(views.gds(cell_name))).cells:
            if c.name not in masters:
                masters[c.name] = c
                lib.add(c)
    return masters


def _draw_row(top, masters, fault):
    where = {}
    for cell_name, inst, x in ROW:
        top.add(gdstk.Reference(masters[cell_name], (x / 1000, 0)))
        if inst:
            where[inst] = (cell_name, x)
    pins = {net: list(p) for net, (_, p, _) in NETS.items()}
    if fault == "swap":  # a and b land on each other's nand2 input
        pins["a"], pins["b"] = [("u_nand", "B")], [("u_nand", "A")]
    for net, (ty, _, port) in NETS.items():
        xs = []
        for inst, pin in pins[net]:
            cell_name, cx = where[inst]
            ax, ay = ACCESS[(cell_name, pin)]
            px = cx + ax
            floating = fault == "floating" and (inst, pin) == ("u_inv1", "A")
            _via_stack(top, px, ay, with_mcon=not floating)
            _box(top, MET2, px - 70, min(ay, ty), px + 70, max(ay, ty))
            _via_stack(top, px, ty, with_mcon=False)
            xs.append(px)
        x0, x1 = min(xs), max(xs)
        if port == "left":
            x0 = 0
        elif port == "right":
            x1 = ROW_WIDTH
        if (fault, net) in (("open", "x"), ("port_open", "a")):
            mid = (x0 + x1) // 2
            _box(top, MET1, x0, ty - 70, mid - 150, ty + 70)
            _box(top, MET1, mid + 150, ty - 70, x1, ty + 70)
            if fault == "port_open":  # both pieces labelled alike: still two nets
                top.add(gdstk.Label(net, (x1 / 1000, ty / 1000), layer=MET1_LABEL[0], texttype=MET1_LABEL[1]))
        else:
            _box(top, MET1, x0, ty - 70, x1, ty + 70)
        if port:
            lx = 100 if port == "left" else ROW_WIDTH - 100
            _box(top, MET1_PIN, lx - 100, ty - 70, lx + 100, ty + 70)
            top.add(gdstk.Label(net, (lx / 1000, ty / 1000), layer=MET1_LABEL[0], texttype=MET1_LABEL[1]))
    if fault == "short":  # a met1 bar joining the a and b trunks
        _box(top, MET1, 60, NETS["b"][0] - 70, 200, NETS["a"][0] + 70)
    if fault == "rail_short":  # a met1 bar from the y trunk down onto the VGND rail
        _box(top, MET1, 2930, 0, 3070, NETS["y"][0])
    for name, y in (("VGND", 0), ("VPWR", 2720)):
        top.add(gdstk.Label(name, (0.23, y / 1000), layer=MET1_LABEL[0], texttype=MET1_LABEL[1]))


def build_example(path, fault: str | None = None, pdk_root=None) -> None:
    """Write the example GDS; fault in (None, "open", "short", "swap", "floating", "port_open", "rail_short")."""
    lib = gdstk.Library("lvs_example", unit=1e-6, precision=1e-9)
    masters = _masters(lib, pdk_root)
    top = gdstk.Cell("lvs_example")
    lib.add(top)
    _draw_row(top, masters, fault)
    lib.write_gds(str(path))


# Two-level example: the row above is module/cell "blk"; the top stamps it twice (rows at y = 0 and
# y = 5.44 um), chains blk0.out -> blk1.a, shares b, and joins the rows' rails with met2 straps.
ROW2_Y = 5440
CHAIN_Y = 4080  # met1 track between the rows
B_RISER_X = 400
VGND_STRAP_X, VPWR_STRAP_X = 3100, 3330


def hier_design(pdk) -> Design:
    flat = example_design(pdk).top_module
    blk = Module("blk", net_names=list(flat.net_names), ports=list(flat.ports), instances=list(flat.instances))
    design = Design(top="lvs_hier", library=pdk.library)
    design.add_module(blk)
    top = Module("lvs_hier")
    a, b, mid, out = (top.add_net(n) for n in ("a", "b", "mid", "out"))
    top.add_port("a", "input", [a])
    top.add_port("b", "input", [b])
    top.add_port("out", "output", [out])
    top.add_instance("u_blk0", "blk", {"a": a, "b": b, "out": mid})
    top.add_instance("u_blk1", "blk", {"a": mid, "b": b, "out": out})
    design.add_module(top)
    return design


def build_hier_example(path, fault: str | None = None, pdk_root=None) -> None:
    """fault in (None, "power_open", "chain_open", "blk_open", "both_open")."""
    lib = gdstk.Library("lvs_hier", unit=1e-6, precision=1e-9)
    masters = _masters(lib, pdk_root)
    blk = gdstk.Cell("blk")
    lib.add(blk)
    _draw_row(blk, masters, "open" if fault in ("blk_open", "both_open") else None)
    top = gdstk.Cell("lvs_hier")
    lib.add(top)
    for y in (0, ROW2_Y):
        top.add(gdstk.Reference(blk, (0, y / 1000)))
    # blk0.out (right end of its out trunk) -> blk1.a (left end of its a trunk)
    out_y, a_y = NETS["out"][0], ROW2_Y + NETS["a"][0]
    right, left = ROW_WIDTH - 100, 100
    _via_stack(top, right, out_y, with_mcon=False)
    _box(top, MET2, right - 70, out_y, right + 70, CHAIN_Y)
    _via_stack(top, right, CHAIN_Y, with_mcon=False)
    if fault in ("chain_open", "both_open"):
        _box(top, MET1, left, CHAIN_Y - 70, 2500, CHAIN_Y + 70)
        _box(top, MET1, 2900, CHAIN_Y - 70, right, CHAIN_Y + 70)
    else:
        _box(top, MET1, left, CHAIN_Y - 70, right, CHAIN_Y + 70)
    _via_stack(top, left, CHAIN_Y, with_mcon=False)
    _box(top, MET2, left - 70, CHAIN_Y, left + 70, a_y)
    _via_stack(top, left, a_y, with_mcon=False)
    # b of both rows
    b0, b1 = NETS["b"][0], ROW2_Y + NETS["b"][0]
    _via_stack(top, B_RISER_X, b0, with_mcon=False)
    _box(top, MET2, B_RISER_X - 70, b0, B_RISER_X + 70, b1)
    _via_stack(top, B_RISER_X, b1, with_mcon=False)
    # rail straps: VGND rails at y = 0 and ROW2_Y, VPWR rails at 2720 and ROW2_Y + 2720
    straps = [(VGND_STRAP_X, 0, ROW2_Y)]
    if fault != "power_open":
        straps.append((VPWR_STRAP_X, 2720, ROW2_Y + 2720))
    for x, y0, y1 in straps:
        _via_stack(top, x, y0, with_mcon=False)
        _box(top, MET2, x - 70, y0, x + 70, y1)
        _via_stack(top, x, y1, with_mcon=False)
    for name, x, y in (("a", 100, NETS["a"][0]), ("b", 100, b0), ("out", right, ROW2_Y + out_y),
                       ("VGND", 230, 0), ("VPWR", 230, 2720)):
        top.add(gdstk.Label(name, (x / 1000, y / 1000), layer=MET1_LABEL[0], texttype=MET1_LABEL[1]))
    lib.write_gds(str(path))


def test_fixture_places_every_instance_and_routes_every_pin(tmp_path):
    pdk = load_pdk("sky130")
    design = example_design(pdk)
    design.validate()
    routed = {p for _, pins, _ in NETS.values() for p in pins}
    wanted = {(i.name, pin) for i in design.top_module.instances for pin in i.pins}
    assert routed == wanted
    build_example(tmp_path / "ex.gds")
    lib = gdstk.read_gds(str(tmp_path / "ex.gds"))
    top = [c for c in lib.cells if c.name == "lvs_example"][0]
    assert sorted(r.cell.name for r in top.references) == sorted(c for c, _, _ in ROW)
    assert {lb.text for lb in top.labels} == {"a", "b", "out", "VPWR", "VGND"}
