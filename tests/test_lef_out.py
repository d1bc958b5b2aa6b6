"""LEF abstract of a routed layout: written, read back by our LEF reader and by KLayout."""
from __future__ import annotations

import klayout.db as kdb
import pytest

from layoutgen.build import BuildOptions, compile_model
from layoutgen.layout import make_layout
from layoutgen.pdk.lef import parse_lef, read_lef
from layoutgen.physical.lef_out import (OBS_LAYERS, LefWriteError, PinSpec, coarse_obstructions, layout_pins,
                                        lef_text, write_lef)

from conftest import random_int_model


@pytest.fixture(scope="module")
def built(pdk):
    model = random_int_model(seed=1, sizes=[6, 4, 2], input_bits=4, weight_range=(-3, 3), act_bits=4)
    design = compile_model(model, pdk, BuildOptions(top="chip")).design
    layout = make_layout(design, pdk)
    top = next(c for c in layout.library.cells if c.name == "chip")
    ports = {p.name: (p.direction, p.width) for p in design.top_module.ports}
    return design, layout, top, ports


@pytest.fixture(scope="module")
def lef(pdk, built, tmp_path_factory):
    design, layout, top, ports = built
    pins = layout_pins(top, pdk, ports, clock="clk")
    obs = coarse_obstructions(layout.placement.die, pins, pdk.tech)
    path = write_lef(tmp_path_factory.mktemp("lef") / "chip.lef", "chip", layout.placement.die, pins, obs)
    return path, pins, obs


def _bits(ports):
    return [n if w == 1 else f"{n}[{k}]" for n, (_, w) in ports.items() for k in range(w)]


def test_round_trip_size_pins_and_layers(pdk, built, lef):
    design, layout, _top, ports = built
    path, _pins, _obs = lef
    mac = read_lef(path)["chip"]
    die = layout.placement.die
    assert (mac.width_nm, mac.height_nm) == (die[2] - die[0], die[3] - die[1])
    assert list(mac.pins) == _bits(ports) + ["VPWR", "VGND"]
    for name, pin in mac.pins.items():
        base = name.split("[")[0]
        if base in ports:
            assert pin.direction == ports[base][0].upper()
            assert pin.use == ("CLOCK" if name == "clk" else "SIGNAL")
            # signal pins: one met3 rectangle touching the left (inputs) or right (outputs) die edge
            (r,) = pin.shapes
            assert r.layer == "met3" and r.y1 - r.y0 == 330
            assert r.x0 == 0 if pin.direction == "INPUT" else r.x1 == mac.width_nm
    straps = {net: [x for n, x in layout.power.straps if n == net] for net in ("VPWR", "VGND")}
    for net, use in (("VPWR", "POWER"), ("VGND", "GROUND")):
        pin = mac.pins[net]
        assert pin.use == use and pin.direction == "INOUT"
        assert sorted((r.x0 + r.x1) // 2 for r in pin.shapes) == sorted(straps[net])
        assert all(r.layer == "met4" and r.x1 - r.x0 == 1600 for r in pin.shapes)
    assert {r.layer for r in mac.obs} == set(OBS_LAYERS)


def test_obstructions_cover_the_die_except_around_pins(pdk, built, lef):
    _design, layout, _top, _ports = built
    path, pins, _obs = lef
    mac = read_lef(path)["chip"]
    die_area = mac.width_nm * mac.height_nm
    for layer in OBS_LAYERS:
        rects = [r for r in mac.obs if r.layer == layer]
        space = pdk.tech.routing[layer].spacing_nm
        region = kdb.Region([kdb.Box(r.x0, r.y0, r.x1, r.y1) for r in rects])
        assert region.merged().area() == sum((r.x1 - r.x0) * (r.y1 - r.y0) for r in rects)  # no overlaps
        holes = kdb.Region([kdb.Box(r.x0 - space, r.y0 - space, r.x1 + space, r.y1 + space)
                            for p in mac.pins.values() for r in p.shapes if r.layer == layer])
        holes &= kdb.Region(kdb.Box(0, 0, mac.width_nm, mac.height_nm))
        assert (region & holes).is_empty()
        assert region.area() == die_area - holes.merged().area()
        if layer in ("li1", "met1", "met2"):
            assert region.area() == die_area  # no pins there: the whole die is blocked


def test_klayout_reads_the_lef(built, lef):
    _design, layout, _top, ports = built
    path, _pins, _obs = lef
    ly = kdb.Layout()
    ly.read(str(path))
    cell = ly.top_cell()
    assert cell.name == "chip"
    names = {li.name for li in ly.layer_infos()}
    assert {"met3.PIN", "met4.PIN"} <= names and {f"{l}.OBS" for l in OBS_LAYERS} <= names
    die = layout.placement.die
    assert cell.dbbox().width() * 1000 == pytest.approx(die[2] - die[0])
    assert cell.dbbox().height() * 1000 == pytest.approx(die[3] - die[1])
    texts = set()
    for li in ly.layer_indexes():
        for sh in cell.shapes(li).each():
            if sh.is_text():
                texts.add(sh.text.string)
    assert set(_bits(ports)) | {"VPWR", "VGND"} <= texts


def test_same_input_same_bytes(pdk, built, lef):
    _design, layout, top, ports = built
    path, pins, obs = lef
    again = lef_text("chip", layout.placement.die, layout_pins(top, pdk, ports, clock="clk"),
                     coarse_obstructions(layout.placement.die, pins, pdk.tech))
    assert again == path.read_text()


def test_bad_input_is_refused(pdk, built, tmp_path):
    _design, layout, top, ports = built
    die = layout.placement.die
    with pytest.raises(LefWriteError, match="port bit z\\[0\\] has no pin shape .*2 such"):
        layout_pins(top, pdk, ports | {"z": ("output", 2)})
    with pytest.raises(LefWriteError, match="neither a port"):
        layout_pins(top, pdk, {k: v for k, v in ports.items() if k != "clk"})
    ok = PinSpec("a", "INPUT", "SIGNAL", (("met2", (0, 0, 280, 1000)),))
    with pytest.raises(LefWriteError, match="listed twice"):
        lef_text("t", die, [ok, ok], [])
    with pytest.raises(LefWriteError, match="outside the die"):
        lef_text("t", die, [PinSpec("a", "INPUT", "SIGNAL", (("met2", (-5, 0, 280, 1000)),))], [])
    with pytest.raises(LefWriteError, match="direction"):
        lef_text("t", die, [PinSpec("a", "IN", "SIGNAL", (("met2", (0, 0, 280, 1000)),))], [])
    with pytest.raises(LefWriteError, match="no shape"):
        lef_text("t", die, [PinSpec("a", "INPUT", "SIGNAL", ())], [])
    target = tmp_path / "missing" / "t.lef"
    with pytest.raises(LefWriteError, match="cannot write"):
        write_lef(target, "t", die, [ok], [])
    assert not target.parent.exists()
    text = lef_text("t", (0, 0, 5000, 4000), [ok], [("met1", (0, 0, 5000, 4000))])
    mac = parse_lef(text)["t"]
    assert (mac.width_nm, mac.height_nm) == (5000, 4000) and mac.pins["a"].shapes[0].x1 == 280
