"""The LVS benchmark's generator at a small size: clean layouts match (hierarchical and flat), the short is found."""
from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "verify_lvs.py"


def _bench():
    spec = importlib.util.spec_from_file_location("verify_lvs", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_small_benchmark_layouts(tmp_path, capsys):
    bench = _bench()
    small = ["--rows", "4", "--tiles", "3"]
    assert bench.main(small + ["--out", str(tmp_path / "h")]) == 0
    assert "LVS: MATCH" in capsys.readouterr().out
    assert bench.main(small + ["--flat", "--out", str(tmp_path / "f")]) == 0
    assert "LVS: MATCH" in capsys.readouterr().out
    assert bench.main(small + ["--fault", "--out", str(tmp_path / "x")]) == 0  # 0: the mismatch was found
    out = capsys.readouterr().out
    assert "LVS: MISMATCH" in out and "nets row0.n1, row1.n1 are shorted" in out


def test_many_cuts_in_a_flat_chain_are_each_an_open_when_instances_are_named(tmp_path):
    """Cut inverter chains are ambiguous to topology alone; GDS instance names make the diagnosis exact."""
    import klayout.db as kdb

    from layoutgen.pdk import load_pdk
    from layoutgen.verify.lvs import run_lvs

    bench = _bench()
    pdk = load_pdk("sky130")
    design = bench.build_design(pdk, 4, 3)
    for names in (True, False):
        gds = tmp_path / f"flat_{names}.gds"
        bench.build_layout(gds, 4, 3, fault=False, flat=True, names=names)
        layout = kdb.Layout()
        layout.read(str(gds))
        top = layout.top_cell()
        met1 = layout.find_layer(68, 20)
        trunks = sorted((s for s in top.shapes(met1).each() if s.is_box() and s.box.height() == 140
                         and s.box.width() > 400), key=lambda s: (s.box.bottom, s.box.left))
        cut = trunks[::20]
        for s in cut:
            top.shapes(met1).erase(s)
        layout.write(str(gds))
        r = run_lvs(gds, design, pdk)
        assert not r.match
        if names:
            assert len(r.opens) == len(cut) and not (r.shorts or r.mismatched_pins or r.floating_pins)
            for o in r.opens:  # each cut link: the driver's Y and the next inverter's A apart
                pins = sorted(str(p) for _, group in o.groups for p in group)
                assert len(pins) == 2 and pins[0].endswith(".Y") != pins[1].endswith(".Y")
