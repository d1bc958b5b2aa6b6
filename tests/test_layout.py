"""GDS/OASIS writer and power grid: DRC clean (our deck), hierarchical, byte-identical, pins labelled."""
from __future__ import annotations

import gdstk
import klayout.db as kdb
import numpy as np
import pytest

from layoutgen.errors import LayoutgenError
from layoutgen.physical.gds import build_library, write_layout
from layoutgen.physical.place import place
from layoutgen.physical.power import PowerOptions, power_grid, rail_net
from layoutgen.physical.samples import random_design
from layoutgen.physical.vias import via_stack
from layoutgen.verify.drc import run_drc


@pytest.fixture(scope="module")
def placed(pdk):
    return place(random_design(pdk.library, 300, seed=11), pdk)


@pytest.fixture(scope="module")
def grid(placed, pdk):
    return power_grid(placed, pdk.tech)


@pytest.fixture(scope="module")
def gds(placed, pdk, grid, tmp_path_factory):
    return write_layout(placed, pdk, tmp_path_factory.mktemp("layout") / "rand.gds", power=grid)


def test_placed_design_with_power_is_drc_clean(gds, pdk):
    result = run_drc(gds, pdk)
    assert result.clean, result.summary()
    assert len(result.counts) > 30  # the whole rule deck ran


def test_same_input_same_bytes(placed, pdk, grid, gds, tmp_path):
    again = place(random_design(pdk.library, 300, seed=11), pdk)
    second = write_layout(again, pdk, tmp_path / "again.gds", power=power_grid(again, pdk.tech))
    assert second.read_bytes() == gds.read_bytes()
    oas1 = write_layout(placed, pdk, tmp_path / "a.oas", fmt="oas", power=grid)
    oas2 = write_layout(again, pdk, tmp_path / "b.oas", fmt="oas", power=grid)
    assert oas1.read_bytes() == oas2.read_bytes()


def test_hierarchical_one_cell_per_master(gds, placed):
    lib = gdstk.read_gds(str(gds))
    names = sorted(c.name for c in lib.cells)
    top = [c for c in lib.top_level()]
    assert [c.name for c in top] == [placed.top]
    top = top[0]
    stacks = [n for n in names if n.startswith("lg_stack_")]
    assert stacks == ["lg_stack_met1_met4_1600x480"]
    assert set(names) == set(placed.masters) | set(stacks) | {placed.top}
    refs = [r for r in top.references if r.cell_name in placed.masters]
    assert len(refs) == len(placed.names)
    # an MX instance is a reflected reference whose origin is the top of its row
    i = int(np.flatnonzero(placed.mirrored)[0])
    r = [r for r in refs if r.x_reflection and abs(r.origin[0] * 1000 - placed.x[i]) < 0.5
         and abs(r.origin[1] * 1000 - (placed.y[i] + placed.row_nm)) < 0.5]
    assert r


def test_power_straps_pins_and_stacks(grid, placed, pdk, gds):
    nets = [n for n, _ in grid.straps]
    assert nets.count("VPWR") >= 1 and nets.count("VGND") >= 1
    xs = [x for _, x in grid.straps]
    assert all(b - a == PowerOptions().strap_pitch_nm // 2 for a, b in zip(xs, xs[1:]))
    # every rail meets at least one strap of its net, the first and last rails meet all of them, and with
    # two or more straps the inner rails meet every second one (fewer stacks in the routing layers)
    rails = {n: [b for b in range(placed.n_rows + 1) if rail_net(b) == n] for n in ("VPWR", "VGND")}
    refs = set(grid.stack_refs)
    y_of = {b: placed.core[1] + b * placed.row_nm for b in range(placed.n_rows + 1)}
    for net in ("VPWR", "VGND"):
        xs_net = [x for n, x in grid.straps if n == net]
        for m, b in enumerate(rails[net]):
            hits = [x for x in xs_net if (x, y_of[b]) in refs]
            assert hits, f"{net} rail {b} meets no strap"
            if m in (0, len(rails[net]) - 1) or len(xs_net) < 2:
                assert len(hits) == len(xs_net)
            else:
                assert len(hits) == (len(xs_net) + (m % 2 == 0)) // 2
    assert len(refs) == len(grid.stack_refs)
    layout = kdb.Layout()
    layout.read(str(gds))
    lay = layout.find_layer(*pdk.tech.gds("met4", "label"))
    top = layout.top_cell()
    texts = sorted(s.text.string for s in top.shapes(lay).each() if s.is_text())
    assert texts == sorted(nets)
    pin = layout.find_layer(*pdk.tech.gds("met4", "pin"))
    assert top.shapes(pin).size() == len(nets)


def test_via_stack_is_a_pure_function(pdk):
    a = via_stack(pdk.tech, "met1", "met4", 1600, 480)
    b = via_stack(pdk.tech, "met1", "met4", 1600, 480)
    assert a == b and a.name == "lg_stack_met1_met4_1600x480"
    cuts = {s.layer for s in a.shapes} - {"met1", "met2", "met3", "met4"}
    assert cuts == {"via", "via2", "via3"}
    assert via_stack(pdk.tech, "met1", "met2", 320, 260).name != a.name
    with pytest.raises(LayoutgenError, match="cannot hold"):
        via_stack(pdk.tech, "met2", "met3", 200, 200)


def test_writer_errors(placed, pdk, tmp_path):
    with pytest.raises(LayoutgenError, match="unknown layout format"):
        write_layout(placed, pdk, tmp_path / "x.gds", fmt="svg")
    with pytest.raises(LayoutgenError, match="cannot write"):
        write_layout(placed, pdk, tmp_path / "missing" / "x.gds")
    assert not list(tmp_path.rglob("*.partial"))
    lib = build_library(placed, pdk)
    assert lib.name == placed.top


def test_same_bytes_across_processes(tmp_path):
    """Set and dict order must not leak into the file: two interpreters with different hash seeds."""
    import os
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from layoutgen.pdk import load_pdk\n"
        "from layoutgen.physical.gds import write_layout\n"
        "from layoutgen.physical.place import place\n"
        "from layoutgen.physical.power import power_grid\n"
        "from layoutgen.physical.samples import random_design\n"
        "pdk = load_pdk('sky130')\n"
        "p = place(random_design(pdk.library, 120, seed=4), pdk)\n"
        "write_layout(p, pdk, sys.argv[1], power=power_grid(p, pdk.tech))\n"
    )
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"p{seed}.gds"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        subprocess.run([sys.executable, "-c", script, str(out)], check=True, env=env)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
