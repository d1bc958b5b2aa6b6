"""The sky130 technology data: layer map, routing grid, vias, site, rule table, .lyp."""
from __future__ import annotations

import json
import shutil

import pytest

from layoutgen.errors import PdkError
from layoutgen.pdk import load_pdk
from layoutgen.pdk.lyp import lyp_text
from layoutgen.pdk.tech import load_tech


def test_layer_map_matches_real_cell_gds(pdk):
    """Every layer a sky130_fd_sc_hd cell uses (except the vendor's private ones) is in the map."""
    import gdstk

    views = pdk.cell_abstracts().views
    known = set()
    for layer in pdk.tech.layers.values():
        known |= set(layer.purposes().values())
    used = set()
    for role in ("fa", "dff", "tap", "fill", "inv"):
        lib = gdstk.read_gds(str(views.gds(pdk.library.role(role).name)))
        for cell in lib.cells:
            used |= {(p.layer, p.datatype) for p in cell.polygons}
            used |= {(t.layer, t.texttype) for t in cell.labels}
    assert used - known == set()
    assert pdk.tech.gds("met1") == (68, 20)
    assert pdk.tech.gds("met1", "pin") == (68, 16)
    assert pdk.tech.gds("via4") == (71, 44)
    assert pdk.tech.gds("areaid_sc") == (81, 4)


def test_routing_grid_and_site(pdk):
    t = pdk.tech
    assert t.grid_nm == 5
    assert (t.site.width_nm, t.site.height_nm) == (460, 2720)
    assert [r.name for r in t.routing.values()] == ["li1", "met1", "met2", "met3", "met4", "met5"]
    assert [r.direction for r in t.routing.values()][1:] == ["H", "V", "H", "V", "H"]
    assert (t.routing["met1"].track_pitch_nm, t.routing["met1"].track_offset_nm) == (340, 170)
    assert (t.routing["met2"].track_pitch_nm, t.routing["met2"].track_offset_nm) == (460, 230)
    assert t.routing["met1"].wide_spacing == ((3000, 280),)
    # row height is a whole number of met1 tracks, site width of met2 tracks: the grids line up with cells
    assert t.site.height_nm % t.routing["met1"].track_pitch_nm == 0
    assert t.site.width_nm == t.routing["met2"].track_pitch_nm


def test_vias_and_rule_values_agree(pdk):
    """The via table (tech LEF) and the DRC rule table (periphery rules) state the same facts."""
    t = pdk.tech
    for via in t.vias.values():
        size = next(r for r in t.rules if r.kind == "cut_size" and r["layer"] == via.cut)
        space = next(r for r in t.rules if r.kind == "space" and r["layer"] == via.cut)
        assert size["value_nm"] == via.cut_nm
        assert space["value_nm"] == via.spacing_nm
        for outer, (e_all, e_opp) in ((via.bottom, via.bottom_enclosure_nm), (via.top, via.top_enclosure_nm)):
            encl = [r for r in t.rules if r.kind == "enclosure" and r["inner"] == via.cut and r["outer"] == outer]
            assert [r["value_nm"] for r in encl] == [e_all]
            opp = [r["value_nm"] for r in t.rules
                   if r.kind == "enclosure_opposite" and r["inner"] == via.cut and r["outer"] == outer]
            assert opp == ([e_opp] if e_opp > e_all else [])
    for layer in t.routing.values():
        assert t.rule(next(r.id for r in t.rules if r.kind == "width" and r["layer"] == layer.name))["value_nm"] == layer.width_nm
        area = next(r for r in t.rules if r.kind == "area" and r["layer"] == layer.name)
        assert area["value_nm2"] == layer.min_area_nm2
    # every rule names where its value comes from
    assert all(r.source for r in t.rules)
    assert t.tap.max_tap_pitch_nm < t.tap.latchup_max_distance_nm


def test_without_rules_and_unknown_rule(pdk):
    t = pdk.tech.without_rules("m1.2", "via.2")
    assert len(t.rules) == len(pdk.tech.rules) - 2
    with pytest.raises(PdkError, match="m1.2"):
        t.rule("m1.2")
    with pytest.raises(PdkError, match="unknown DRC rules"):
        pdk.tech.without_rules("no.such")


def test_lyp_is_generated_from_layer_map(pdk):
    """The committed .lyp is exactly what the layer map produces, and KLayout reads it."""
    text = lyp_text(pdk.tech)
    assert pdk.lyp_path.read_text() == text
    import klayout.lay as lay

    view = lay.LayoutView()
    view.load_layer_props(str(pdk.lyp_path))
    names = []
    it = view.begin_layers()
    while not it.at_end():
        names.append(it.current().source)
        it.next()
    assert "68/20@1" in names and "81/4@1" in names
    assert len(names) == sum(len(l.purposes()) for l in pdk.tech.layers.values())


def test_broken_tech_data_is_a_clear_error(tmp_path, pdk):
    for name in ("layers.json", "tech.json", "rules.json"):
        shutil.copy(pdk.data_dir / name, tmp_path / name)
    rules = json.loads((tmp_path / "rules.json").read_text())
    rules["rules"][0]["layer"] = "metal99"
    (tmp_path / "rules.json").write_text(json.dumps(rules))
    with pytest.raises(PdkError, match="unknown layer 'metal99'"):
        load_tech("sky130", tmp_path)
    (tmp_path / "tech.json").unlink()
    with pytest.raises(PdkError, match="tech.json is missing"):
        load_tech("sky130", tmp_path)


def test_tech_is_loaded_once_per_pdk_object():
    p = load_pdk("sky130")
    assert p.tech is p.tech
