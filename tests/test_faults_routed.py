"""Defects over a routed layout: `build --layout` writes the routed wire areas and side-by-side
neighbours (<top>.wires.npz); `layoutgen faults` draws opens and bridges from them."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from layoutgen.cli import main
from layoutgen.errors import LayoutgenError
from layoutgen.faults import open_build_dir
from layoutgen.model import golden, save_data, save_int_model
from layoutgen.netlist.serialize import load_design
from layoutgen.pdk.core import load_pdk
from layoutgen.route.wiremap import load_wire_map, save_wire_map
from layoutgen.sim.flatten import flatten

from conftest import random_int_model

PDK = load_pdk("sky130")


@pytest.fixture(scope="module")
def routed_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("routed")
    model = random_int_model(seed=1, sizes=[6, 4, 2], input_bits=4, weight_range=(-3, 3), act_bits=4)
    save_int_model(model, tmp / "m.int.npz")
    X = np.random.default_rng(0).integers(0, 16, size=(200, 6), dtype=np.int64)
    save_data(tmp / "m.data.npz", X_test=X, y_test=golden(model, X).argmax(axis=1))
    out = tmp / "b"
    r = CliRunner().invoke(main, ["build", "-q", "--layout", "--no-verify", str(tmp / "m.int.npz"), "--out", str(out),
                                  "--top", "chip"])
    assert r.exit_code == 0, r.output
    return out


def test_wire_map_is_written_and_used(routed_dir):
    report = json.loads((routed_dir / "report.json").read_text())
    target = open_build_dir(routed_dir, PDK)
    sites = target.sites
    assert sites.wire_model == "routed"
    assert len(sites.wire_nets) > 50 and np.all(sites.wire_area_um2 > 0)
    # drawn widths are 0.14 .. 0.33 um: the area brackets the routed length of the data nets
    length_um = report["wire_length_um"]
    assert 0.14 * 0.5 * length_um < sites.total_wire_area_um2 < 0.33 * length_um
    # partners are mutual, never the net itself, and never a clock-tree net
    clock_tree = {net for c, outs in enumerate(sites.cell_outputs)
                  if PDK.library[sites.cells.masters[sites.cells.master_of[c]]].role == "clkbuf" for _n, net in outs}
    assert clock_tree
    assert sites.neighbours
    for net, mates in sites.neighbours.items():
        assert net not in mates and net not in clock_tree and not clock_tree & set(mates.tolist())
        for m in mates.tolist():
            assert net in sites.neighbours[m].tolist()
    assert not clock_tree & set(sites.wire_nets.tolist())


def test_faults_command_reports_the_routed_wires(routed_dir, tmp_path):
    out = tmp_path / "f"
    r = CliRunner().invoke(main, ["faults", str(routed_dir), "--counts", "0,5", "--dies", "3", "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "faults.json").read_text())
    assert rep["wire_model"] == "routed"
    assert "routed wire" in (out / "faults.md").read_text()


def test_stale_wire_map_is_refused(routed_dir, tmp_path):
    """A wires file written for another netlist (a different net count) is an error, not silently used."""
    copy = tmp_path / "copy"
    shutil.copytree(routed_dir, copy)
    n = flatten(load_design(copy / "chip.netlist.json.gz", PDK.library)).n_nets
    wm = load_wire_map(copy / "chip.wires.npz", n)
    save_wire_map(type(wm)(n_nets=n + 1, net=wm.net, area_um2=wm.area_um2, pair_a=wm.pair_a, pair_b=wm.pair_b,
                           pair_um=wm.pair_um), copy / "chip.wires.npz")
    with pytest.raises(LayoutgenError, match="rebuild the folder"):
        open_build_dir(copy, PDK)


def test_bridge_partners_follow_side_by_side_length(routed_dir):
    """On a routed build a bridge picks its partner in proportion to how long the two wires run side by
    side: with one net whose two neighbours run 1 um and 9 um beside it, ~90% of bridges hit the second."""
    from dataclasses import replace

    from layoutgen.faults import BRIDGE, DefectMix, draw_die

    sites = open_build_dir(routed_dir, PDK).sites
    for net, mates in sites.neighbours.items():
        assert len(sites.neighbour_um[net]) == len(mates) and np.all(sites.neighbour_um[net] > 0)
    net = int(sites.wire_nets[0])
    a, b = (int(m) for m in sites.wire_nets[1:3])
    one = replace(sites, cell_area_um2=np.zeros_like(sites.cell_area_um2), wire_nets=np.array([net]),
                  wire_area_um2=np.array([1.0]), neighbours={net: np.array([a, b])},
                  neighbour_um={net: np.array([1.0, 9.0])})
    faults = draw_die(one, np.random.default_rng(0), count=2000, mix=DefectMix(open_fraction=0.0))
    assert all(f.kind == BRIDGE and f.net == net for f in faults)
    share = np.mean([f.other == b for f in faults])
    assert 0.87 < share < 0.93
