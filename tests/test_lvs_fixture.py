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


def build_example(path, fault: str | None = None, pdk_root=None) -> None:
    """Write the example GDS; fault in (None, "open", "short", "swap", "floating")."""
    views = locate_cell_views(LIB, pdk_root)
    lib = gdstk.Library("lvs_example", unit=1e-6, precision=1e-9)
    masters = {}
    for cell_name in sorted({c for c, _, _ in ROW}):
        src = gdstk.read_gds(str(views.gds(cell_name)))
        for c in src.cells:
            if c.name not in masters:
                masters[c.name] = c
                lib.add(c)
    top = gdstk.Cell("lvs_example")
    lib.add(top)
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
        if fault == "open" and net == "x":
            mid = (x0 + x1) // 2
            _box(top, MET1, x0, ty - 70, mid - 150, ty + 70)
            _box(top, MET1, mid + 150, ty - 70, x1, ty + 70)
        else:
            _box(top, MET1, x0, ty - 70, x1, ty + 70)
        if port:
            lx = 100 if port == "left" else ROW_WIDTH - 100
            _box(top, MET1_PIN, lx - 100, ty - 70, lx + 100, ty + 70)
            top.add(gdstk.Label(net, (lx / 1000, ty / 1000), layer=MET1_LABEL[0], texttype=MET1_LABEL[1]))
    if fault == "short":  # a met1 bar joining the a and b trunks
        _box(top, MET1, 60, NETS["b"][0] - 70, 200, NETS["a"][0] + 70)
    for name, y in (("VGND", 0), ("VPWR", 2720)):
        top.add(gdstk.Label(name, (0.23, y / 1000), layer=MET1_LABEL[0], texttype=MET1_LABEL[1]))
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
