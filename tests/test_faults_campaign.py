"""`layoutgen faults DIR` on the digits example: defect sites, sampling, calibration recovery, CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from layoutgen.build import BuildOptions, compile_model
from layoutgen.cli import main
from layoutgen.faults import BRIDGE, OPEN, STUCK, DefectMix, draw_die, open_build_dir, poisson_yield
from layoutgen.faults.campaign import CampaignOptions, DieRunner
from layoutgen.model import load_data, load_int_model, save_data, save_int_model
from layoutgen.netlist.serialize import save_design
from layoutgen.pdk.core import load_pdk
from layoutgen.resources import example_dir

PDK = load_pdk("sky130")


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory):
    """The digits example as `layoutgen build` writes it (netlist, integer model, test set, report)."""
    src = example_dir("digits")
    folder = tmp_path_factory.mktemp("faults") / "digits"
    folder.mkdir()
    model = load_int_model(src / "digits.int.npz")
    result = compile_model(model, PDK, BuildOptions(top="digits"))
    data = load_data(src / "digits.data.npz")
    save_design(result.design, folder / "digits.netlist.json.gz")
    save_int_model(model, folder / "digits.int.npz")
    save_data(folder / "digits.test.npz", X_test=data.X_test, y_test=data.y_test)
    (folder / "report.json").write_text(json.dumps(result.report))
    return folder


@pytest.fixture(scope="module")
def target(digits_dir):
    return open_build_dir(digits_dir, PDK, data=example_dir("digits") / "digits.data.npz")


def test_defect_sites_cover_the_real_cells_and_wires(target):
    s = target.sites
    assert s.total_cell_area_um2 == pytest.approx(target.design.cell_area_um2())
    assert s.total_wire_area_um2 > 0.5 * s.total_cell_area_um2  # wires are a large share of the critical area
    assert s.clock_net >= 0 and s.clock_net not in set(s.wire_nets.tolist())
    cells = s.cells
    # neighbours are output nets of cells in the same or an adjacent row
    driver = {int(cells.pin_net[p]): int(cells.pin_cell[p]) for p in np.flatnonzero(cells.pin_output)}
    rows = target.placement.row[: cells.n_cells]
    for net, mates in list(s.neighbours.items())[:500]:
        for m in mates:
            assert abs(int(rows[driver[net]]) - int(rows[driver[int(m)]])) <= 1
    assert len(s.neighbours) > 0.8 * len(driver)


def test_draws_are_seeded_and_follow_count_density_and_mix(target):
    s = target.sites
    a = draw_die(s, np.random.default_rng(7), count=40)
    b = draw_die(s, np.random.default_rng(7), count=40)
    assert a == b and len(a) == 40
    kinds = {k: sum(f.kind == k for f in a) for k in (STUCK, OPEN, BRIDGE)}
    assert all(kinds.values())  # cell and wire defects both land
    assert not any(f.kind == BRIDGE for f in draw_die(s, np.random.default_rng(1), count=60, mix=DefectMix(1.0)))
    density = 2.0 / s.area_cm2  # two defects per die on average
    n = [len(draw_die(s, np.random.default_rng(i), density_per_cm2=density)) for i in range(300)]
    assert np.mean(n) == pytest.approx(2.0, abs=0.3)
    assert np.mean(np.array(n) == 0) == pytest.approx(poisson_yield(s, density), abs=0.07)
    assert poisson_yield(s, density) == pytest.approx(np.exp(-2.0))


def test_calibration_recovers_accuracy_on_faulty_dies(target):
    runner = DieRunner(target, CampaignOptions())
    dies = [runner.die(draw_die(target.sites, np.random.default_rng([42, i]), count=60)) for i in range(12)]
    before = np.array([d.hold_before for d in dies])
    after = np.array([d.hold_after for d in dies])
    clean = runner.die([])
    assert before.mean() < clean.hold_before - 0.02  # 60 defects hurt ...
    assert after.mean() > before.mean() + 0.02  # ... and the fitted offsets win a good part back
    assert (after > before).sum() >= 4


def _run(*args):
    return CliRunner().invoke(main, ["faults", *map(str, args)])


def test_cli_writes_tables_and_plot_deterministically(digits_dir, tmp_path):
    args = ["--dies", "3", "--counts", "0,20", "--density", "300,3000", "-q"]
    r1 = _run(digits_dir, *args, "--out", tmp_path / "a")
    assert r1.exit_code == 0, r1.output
    r2 = _run(digits_dir, *args, "--out", tmp_path / "b")
    assert r2.exit_code == 0, r2.output
    for name in ("faults.json", "faults.md", "faults.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    res = json.loads((tmp_path / "a" / "faults.json").read_text())
    assert [p["defects"] for p in res["by_count"]] == [0, 20]
    assert res["by_count"][0]["accuracy"]["mean"] == res["fault_free"]["accuracy"]
    assert res["by_count"][1]["accuracy"]["mean"] < res["fault_free"]["accuracy"]
    assert [p["density_per_cm2"] for p in res["by_density"]] == [300, 3000]
    assert res["by_density"][1]["poisson_yield"] == pytest.approx(np.exp(-3000 * res["defect_area_cm2"]))
    assert (tmp_path / "a" / "faults.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "functional yield" in (tmp_path / "a" / "faults.md").read_text()
    for point in res["by_density"]:  # uncalibrated and calibrated yields counted on the same held-out dies
        assert 0 <= point["heldout_functional_yield"]["value"] <= 1
        assert point["heldout_functional_yield"]["n"] == point["calibrated_functional_yield"]["n"] == 3
    assert "ms per simulated die" in r1.output


@pytest.mark.parametrize("damage,extra,message", [
    ("no_dir", [], "no such build folder"),
    ("no_test_set", [], "test set not found"),
    ("no_netlist", [], "netlist not found"),
    (None, ["--density", "abc"], "is not a number"),
    (None, ["--density", "-5"], "must be a finite number >= 0"),
    (None, ["--density", "nan"], "must be a finite number >= 0"),
    (None, ["--dies", "0"], "--dies 0 is outside"),
    (None, ["--bridge-model", "or"], "bridge model 'or'"),
    (None, ["--data", "missing.npz"], "no such file"),
])
def test_cli_bad_input_is_one_line_exit_2(digits_dir, tmp_path, damage, extra, message):
    folder = tmp_path / "d"
    if damage != "no_dir":
        folder.mkdir()
        for f in digits_dir.iterdir():
            if f.is_file():
                (folder / f.name).write_bytes(f.read_bytes())
    if damage == "no_test_set":
        (folder / "digits.test.npz").unlink()
    elif damage == "no_netlist":
        (folder / "digits.netlist.json.gz").unlink()
    res = _run(folder, "-q", *extra)
    assert res.exit_code == 2, res.output
    lines = [l for l in res.output.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("layoutgen: error:") and message in lines[0], res.output
    assert not (folder / "faults").exists()


def test_a_build_with_offset_registers_is_calibrated_through_its_scan_chain(tmp_path):
    from layoutgen.faults import STUCK, Fault
    from layoutgen.faults.calibrate import accuracy
    from layoutgen.faults.inject import build_injection, die_outputs
    from layoutgen.model import IntLayer, IntModel, golden

    rng = np.random.default_rng(8)
    model = IntModel(4, [
        IntLayer(rng.integers(-7, 8, size=(8, 10)).astype(np.int64), rng.integers(-20, 20, size=8).astype(np.int64), 2, True, 4),
        IntLayer(rng.integers(-5, 6, size=(4, 8)).astype(np.int64), rng.integers(-9, 9, size=4).astype(np.int64), 0, False, 0),
    ])
    result = compile_model(model, PDK, BuildOptions(top="cal", calibration_bits=8))
    X = rng.integers(0, 16, size=(400, 10), dtype=np.int64)
    y = golden(model, X).argmax(axis=1)
    folder = tmp_path / "cal"
    folder.mkdir()
    save_design(result.design, folder / "cal.netlist.json.gz")
    save_int_model(model, folder / "cal.int.npz")
    save_data(folder / "cal.test.npz", X_test=X, y_test=y)
    (folder / "report.json").write_text(json.dumps(result.report))
    target = open_build_dir(folder, PDK)
    runner = DieRunner(target, CampaignOptions())
    assert runner.hardware and runner.bits == 8
    clean = runner.die([])
    assert clean.accuracy == 1.0 and clean.hold_after == 1.0
    # stuck-at faults in the network (not in the offset hardware): the offsets loaded through the scan
    # chain act exactly like adding them to the faulty outputs
    names = target.sites.cells.names
    network = [net for c, outs in enumerate(target.sites.cell_outputs) if not names[c].startswith("cal_")
               for _, net in outs]
    pick = np.random.default_rng(3).choice(len(network), size=40, replace=False)
    recovered = 0
    for i in range(0, 40, 2):
        faults = [Fault(STUCK, network[pick[i]], value=1), Fault(STUCK, network[pick[i + 1]], value=0)]
        d = runner.die(faults)
        inj = build_injection(target.sim, target.sites.cells, target.design.library, faults)
        Yh = die_outputs(target.sim, inj, target.X_hold, offsets=None, offset_bits=8, **target.stream_args)
        assert d.hold_after == accuracy(Yh, target.y_hold, d.offsets)
        assert d.hold_after >= d.hold_before - 0.05
        recovered += d.hold_after > d.hold_before
    assert recovered >= 1
