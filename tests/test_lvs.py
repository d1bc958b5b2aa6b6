"""LVS: the hand-built routed examples pass; each fault is caught and named."""
from __future__ import annotations

import json

import gdstk
import pytest
from click.testing import CliRunner

from layoutgen.cli import main
from layoutgen.errors import LayoutgenError
from layoutgen.netlist.serialize import save_design
from layoutgen.pdk.core import load_pdk
from layoutgen.verify.lvs import run_lvs
from test_lvs_fixture import build_example, build_hier_example, example_design, hier_design


@pytest.fixture(scope="module")
def pdk():
    return load_pdk("sky130")


@pytest.fixture(scope="module")
def design(pdk):
    return example_design(pdk)


def _lvs(tmp_path, pdk, design, fault, **kw):
    gds = tmp_path / f"ex_{fault}.gds"
    build_example(gds, fault)
    return run_lvs(gds, design, pdk, **kw)


def test_clean_example_matches_with_power(tmp_path, pdk, design):
    r = _lvs(tmp_path, pdk, design, None)
    assert r.match, r.report()
    assert r.power_checked
    assert r.cells == 3
    assert not (r.opens or r.shorts or r.mismatched_pins or r.floating_pins or r.other)
    assert r.report().startswith("LVS MATCH: layout lvs_example vs netlist lvs_example")


def test_cut_wire_is_an_open_on_its_net(tmp_path, pdk, design):
    r = _lvs(tmp_path, pdk, design, "open")
    assert not r.match
    assert [o.net for o in r.opens] == ["x"]
    pins = sorted(str(p) for _, group in r.opens[0].groups for p in group)
    assert pins == ["u_inv0.A", "u_nand.Y"]
    assert len(r.opens[0].groups) == 2
    assert not r.shorts and not r.mismatched_pins and not r.floating_pins
    assert "net x is split into 2 layout nets" in r.report()


def test_bridging_wire_is_a_short_between_both_nets(tmp_path, pdk, design):
    r = _lvs(tmp_path, pdk, design, "short")
    assert not r.match
    assert [s.nets for s in r.shorts] == [("a", "b")]
    assert not r.opens and not r.floating_pins
    assert "nets a, b are shorted" in r.report()


def test_swapped_pins_are_named(tmp_path, pdk, design):
    r = _lvs(tmp_path, pdk, design, "swap")
    assert not r.match
    got = sorted((str(m.pin), m.expected_net, m.actual_net) for m in r.mismatched_pins)
    assert got == [("u_nand.A", "a", "b"), ("u_nand.B", "b", "a")]
    assert "u_nand.A is on net b, netlist wants a" in r.report()


def test_unreached_pin_is_floating(tmp_path, pdk, design):
    r = _lvs(tmp_path, pdk, design, "floating")
    assert not r.match
    assert [(str(f.pin), f.net) for f in r.floating_pins] == [("u_inv1.A", "y")]
    assert not r.opens and not r.shorts


def test_netlist_change_is_caught(tmp_path, pdk):
    """The layout is fine but the netlist wants u_inv1 driven by x instead of y."""
    design = example_design(pdk)
    mod = design.top_module
    inv1 = next(i for i in mod.instances if i.name == "u_inv1")
    inv1.pins["A"] = mod.net_names.index("x")
    r = _lvs(tmp_path, pdk, design, None)
    assert not r.match
    assert [(str(m.pin), m.expected_net, m.actual_net) for m in r.mismatched_pins] == [("u_inv1.A", "x", "y")]


def test_missing_port_label_is_reported(tmp_path, pdk, design):
    gds = tmp_path / "ex.gds"
    build_example(gds)
    lib = gdstk.read_gds(str(gds))
    top = [c for c in lib.cells if c.name == "lvs_example"][0]
    for lb in [lb for lb in top.labels if lb.text == "out"]:
        top.remove(lb)
    lib.write_gds(str(gds))
    r = run_lvs(gds, design, pdk)
    assert not r.match
    assert "port out" in r.report()


def test_hierarchical_example_and_its_faults(tmp_path, pdk):
    design = hier_design(pdk)
    clean = tmp_path / "h.gds"
    build_hier_example(clean)
    r = run_lvs(clean, design, pdk)
    assert r.match, r.report()
    assert r.cells == 6
    build_hier_example(tmp_path / "h_open.gds", "chain_open")
    r = run_lvs(tmp_path / "h_open.gds", design, pdk)
    assert [o.net for o in r.opens] == ["mid"]
    assert sorted(str(p) for _, g in r.opens[0].groups for p in g) == ["u_blk0.out", "u_blk1.a"]
    # an error inside the sub-module is reported once, in the module, and the top is still compared
    build_hier_example(tmp_path / "h_both.gds", "both_open")
    r = run_lvs(tmp_path / "h_both.gds", design, pdk)
    assert sorted((o.circuit, o.net) for o in r.opens) == [("blk", "x"), ("lvs_hier", "mid")]
    assert "[blk] net x is split" in r.report()
    build_hier_example(tmp_path / "h_pwr.gds", "power_open")
    r = run_lvs(tmp_path / "h_pwr.gds", design, pdk)
    assert not r.match
    assert [(str(f.pin), f.net) for f in r.floating_pins] == [("u_blk1.VPWR", "VPWR")]
    # without power checking the broken rail is not an error, the signals still are compared
    r = run_lvs(tmp_path / "h_pwr.gds", design, pdk, power=False)
    assert r.match and not r.power_checked


def test_report_file_is_written_and_reproducible(tmp_path, pdk, design):
    gds = tmp_path / "ex.gds"
    build_example(gds, "swap")
    run_lvs(gds, design, pdk, report=tmp_path / "a.txt")
    run_lvs(gds, design, pdk, report=tmp_path / "b.txt")
    text = (tmp_path / "a.txt").read_text()
    assert "u_nand.B is on net a, netlist wants b" in text
    assert text == (tmp_path / "b.txt").read_text()
    run_lvs(gds, design, pdk, report=tmp_path / "x.lvsdb")
    assert (tmp_path / "x.lvsdb").read_text().startswith("#%lvsdb-klayout")


def test_bad_inputs_raise_one_line_errors(tmp_path, pdk, design):
    with pytest.raises(LayoutgenError, match="does not exist"):
        run_lvs(tmp_path / "nope.gds", design, pdk)
    junk = tmp_path / "junk.gds"
    junk.write_bytes(b"not a gds file at all")
    with pytest.raises(LayoutgenError, match="cannot read layout"):
        run_lvs(junk, design, pdk)
    gds = tmp_path / "ex.gds"
    build_example(gds)
    with pytest.raises(LayoutgenError, match="has no cell nosuch"):
        run_lvs(gds, design, pdk, top="nosuch")
    lib = gdstk.read_gds(str(gds))
    lib.add(gdstk.Cell("second_top"))
    lib.write_gds(str(tmp_path / "two.gds"))
    with pytest.raises(LayoutgenError, match="2 top cells"):
        run_lvs(tmp_path / "two.gds", design, pdk)


def _build_dir(tmp_path, pdk, design, fault):
    d = tmp_path / f"build_{fault}"
    d.mkdir()
    build_example(d / "lvs_example.gds", fault)
    save_design(design, d / "lvs_example.netlist.json.gz")
    (d / "report.json").write_text(json.dumps({"top": "lvs_example"}))
    return d


def test_cli_exit_codes(tmp_path, pdk, design):
    runner = CliRunner()
    good = _build_dir(tmp_path, pdk, design, None)
    res = runner.invoke(main, ["lvs", str(good)])
    assert res.exit_code == 0, res.output
    assert "LVS MATCH" in res.output
    bad = _build_dir(tmp_path, pdk, design, "short")
    report = tmp_path / "short.txt"
    res = runner.invoke(main, ["lvs", str(bad / "lvs_example.gds"), str(bad / "lvs_example.netlist.json.gz"),
                               "--top", "lvs_example", "--report", str(report)])
    assert res.exit_code == 1, res.output
    assert "nets a, b are shorted" in res.output and "nets a, b are shorted" in report.read_text()
    oas = _build_dir(tmp_path, pdk, design, "swap")  # an OASIS layout in the build directory
    layout = gdstk.read_gds(str(oas / "lvs_example.gds"))
    layout.write_oas(str(oas / "lvs_example.oas"))
    (oas / "lvs_example.gds").unlink()
    res = runner.invoke(main, ["lvs", str(oas)])
    assert res.exit_code == 1 and "u_nand.A is on net b, netlist wants a" in res.output
    (oas / "lvs_example.oas").unlink()
    res = runner.invoke(main, ["lvs", str(oas)])
    assert res.exit_code == 2 and "lvs_example.gds is missing" in res.output
    res = runner.invoke(main, ["lvs", str(tmp_path)])  # a directory without report.json
    assert res.exit_code == 2
    assert "report.json is missing" in res.output
    res = runner.invoke(main, ["lvs", str(good / "lvs_example.gds")])
    assert res.exit_code == 2 and "missing NETLIST" in res.output
    res = runner.invoke(main, ["lvs", str(good / "lvs_example.gds"), str(tmp_path / "none.json.gz")])
    assert res.exit_code == 2 and "not found" in res.output


def test_routing_onto_a_cell_obstruction_is_seen(tmp_path, pdk):
    """A wire on fa_1's internal met1 (LEF OBS) becomes an extra, unnamed pin of the cell abstract."""
    import klayout.db as kdb

    from layoutgen.pdk.views import locate_cell_views
    from layoutgen.verify.lvs_extract import abstract_cells, extract, read_layout, stack_from_tech

    fa = "sky130_fd_sc_hd__fa_1"
    lib = gdstk.Library("obs", unit=1e-6, precision=1e-9)
    cell = [c for c in gdstk.read_gds(str(locate_cell_views("sky130_fd_sc_hd").gds(fa))).cells if c.name == fa][0]
    lib.add(cell)
    top = gdstk.Cell("obs_top")
    top.add(gdstk.Reference(cell, (0, 0)))
    top.add(gdstk.rectangle((1.5, 0.70), (3.0, 0.84), layer=68, datatype=20))  # over OBS met1 1.47..1.76
    top.add(gdstk.Label("w", (2.9, 0.77), layer=68, texttype=5))
    lib.add(top)
    lib.write_gds(str(tmp_path / "obs.gds"))
    stack = stack_from_tech(pdk.tech)
    for with_obs, expect in ((True, True), (False, False)):
        layout, top_cell = read_layout(tmp_path / "obs.gds", None)
        abstract_cells(layout, stack, {fa: pdk.cell_abstracts().macro(fa)}, {}, False, with_obs)
        lvs = extract(layout, top_cell, stack, set())
        nl = lvs.netlist()
        sub = next(nl.circuit_by_name("obs_top").each_subcircuit())
        nets = [sub.net_for_pin(p.id()) for p in sub.circuit_ref().each_pin()]
        assert any(n is not None and n.name == "w" for n in nets) == expect


def test_library_cell_abstracts_need_no_name_joining(pdk):
    """Every pin of the library's cells is one piece once PORT overlaps get cuts (the fast path)."""
    import klayout.db as kdb

    from layoutgen.verify.lvs_extract import abstract_cells, stack_from_tech
    from layoutgen.verify.lvs_reference import rail_of

    lib = pdk.library
    names = sorted(lib.by_name)
    layout = kdb.Layout()
    for name in names:
        layout.create_cell(name)
    macros = {n: pdk.cell_abstracts().macro(n) for n in names}
    rails = {p: rail_of(lib, p) for p in lib.power_pins}
    assert abstract_cells(layout, stack_from_tech(pdk.tech), macros, rails, True, True) == set()
    inv = layout.cell("sky130_fd_sc_hd__inv_1")
    mcon = layout.layer(*pdk.tech.gds("mcon"))
    cuts = [s.bbox() for s in inv.shapes(mcon).each()]
    # cuts join each rail's li1 and met1 PORTs, and lie inside the met1 rails only
    assert cuts and all(-240 <= b.bottom and b.top <= 240 or 2480 <= b.bottom and b.top <= 2960 for b in cuts)
    assert {b.top <= 240 for b in cuts} == {True, False}


def test_port_label_on_two_unconnected_pieces_is_an_open(tmp_path, pdk, design):
    """Labels never connect: a cut port trunk labelled `a` on both sides is still an open."""
    r = _lvs(tmp_path, pdk, design, "port_open")
    assert not r.match
    assert [o.net for o in r.opens] == ["a"]
    pieces = sorted(tuple(str(p) for p in pins) for _, pins in r.opens[0].groups)
    assert pieces == [("port a",), ("u_nand.A",)]


def test_wire_onto_a_rail_is_a_short_with_ground(tmp_path, pdk, design):
    r = _lvs(tmp_path, pdk, design, "rail_short")
    assert [s.nets for s in r.shorts] == [("VGND", "y")]
    assert not r.opens and not r.mismatched_pins
    # with power unchecked the rails are assumed connected, but a wire onto one is still a short
    r = run_lvs(tmp_path / "ex_rail_short.gds", design, pdk, power=False)
    assert not r.power_checked
    assert [s.nets for s in r.shorts] == [("VGND", "y")]


def test_reference_cdl_for_device_level_lvs(tmp_path, pdk):
    from layoutgen.pdk.views import locate_cell_views
    from layoutgen.verify.lvs_cdl import write_reference_cdl

    views = locate_cell_views("sky130_fd_sc_hd")
    path = write_reference_cdl(hier_design(pdk), tmp_path / "ref.cdl", views.cdl)
    lines = path.read_text().splitlines()
    assert sum(ln.startswith(".include ") for ln in lines) == 2
    assert ".SUBCKT blk a b out VPWR VGND" in lines
    # CDL pin order (A B VGND VNB VPB VPWR Y), body pins on their rails
    assert "Xu_nand a b VGND VGND VPWR VPWR x sky130_fd_sc_hd__nand2_1" in lines
    assert "Xu_inv1 y VGND VGND VPWR VPWR out sky130_fd_sc_hd__inv_1" in lines
    assert "Xu_blk1 mid b out VPWR VGND blk" in lines
    assert lines.index(".ENDS blk") < lines.index(".SUBCKT lvs_hier a b out VPWR VGND")
    # the placement's decaps (transistors a device-level deck extracts) join the top circuit on the rails
    path = write_reference_cdl(hier_design(pdk), tmp_path / "ref2.cdl", views.cdl,
                               rail_cells=[("FILL_3_10", "sky130_fd_sc_hd__decap_4")])
    lines = path.read_text().splitlines()
    assert sum(ln.startswith(".include ") for ln in lines) == 3
    assert lines.index("XFILL_3_10 VGND VGND VPWR VPWR sky130_fd_sc_hd__decap_4") == lines.index(".ENDS lvs_hier") - 1
    with pytest.raises(LayoutgenError, match="not a rail-only cell"):
        write_reference_cdl(hier_design(pdk), tmp_path / "bad.cdl", views.cdl,
                            rail_cells=[("x", "sky130_fd_sc_hd__inv_1")])


def test_placed_unrouted_layout_has_clean_power_and_every_signal_pin_floating(tmp_path, pdk):
    """The placer's own GDS (rows, taps, fill, met4 power straps), before routing."""
    from collections import Counter

    from layoutgen.physical.gds import write_layout
    from layoutgen.physical.place import place
    from layoutgen.physical.power import power_grid
    from layoutgen.physical.samples import random_design

    design = random_design(pdk.library, 300, seed=3)
    placement = place(design, pdk)
    gds = write_layout(placement, pdk, tmp_path / "placed.gds", power=power_grid(placement, pdk.tech))
    r = run_lvs(gds, design, pdk)
    assert r.power_checked and not r.match
    assert not (r.opens or r.shorts or r.mismatched_pins or r.extra_instances or r.missing_instances)
    assert r.cells == len(design.top_module.instances)
    mod = design.top_module
    degree = Counter(n for i in mod.instances for n in i.pins.values())
    degree.update(n for p in mod.ports for n in p.nets)
    expected = sum(d for d in degree.values() if d > 1)
    assert len(r.floating_pins) == expected
    assert not any(f.net in ("VPWR", "VGND") for f in r.floating_pins)


def _tie_circuits(with_floating_port: bool):
    """A reference top with a tie cell whose LO output drives nothing (a one-pin net), and a layout top
    where that pin has no net at all; optionally a top port that touches nothing."""
    import klayout.db as kdb

    nets = {}
    for side in ("layout", "ref"):
        nl = kdb.Netlist()
        tie = kdb.Circuit()
        tie.name = "tie"
        hi_pin, lo_pin = tie.create_pin("HI"), tie.create_pin("LO")
        nl.add(tie)
        top = kdb.Circuit()
        top.name = "top"
        nl.add(top)
        sc = top.create_subcircuit(tie, "t0")
        hi = top.create_net("hi")
        sc.connect_pin(hi_pin, hi)
        if side == "ref":
            sc.connect_pin(lo_pin, top.create_net("lo"))
        if with_floating_port:
            port = top.create_pin("unused")
            top.connect_pin(port, top.create_net("unused"))
        nets[side] = (nl, top, sc, lo_pin)
    return nets


@pytest.mark.parametrize("with_floating_port", [False, True])
def test_unused_cell_outputs_leave_the_reference_and_ports_stay(with_floating_port):
    from layoutgen.verify.lvs import drop_unwired_outputs

    nets = _tie_circuits(with_floating_port)
    lay_nl, ref_nl = nets["layout"][0], nets["ref"][0]
    _nl, ref_top, ref_sc, lo_pin = nets["ref"]
    drop_unwired_outputs(lay_nl, ref_nl)
    assert ref_sc.net_for_pin(lo_pin.id()) is None  # the one-pin net is gone, as on the layout side
    assert ref_top.net_by_name("lo") is None and ref_top.net_by_name("hi") is not None
    if with_floating_port:  # a port touching nothing keeps its net
        assert ref_top.net_for_pin(ref_top.pin_by_name("unused").id()) is not None
