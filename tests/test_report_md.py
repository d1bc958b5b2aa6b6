"""report.md and its plots: built end to end, byte-identical when repeated, figures from report.json."""
from __future__ import annotations

import json
import shutil

import matplotlib
import numpy as np
import pytest

from layoutgen.build import BuildOptions, build_model_dir
from layoutgen.model import save_data, save_int_model
from layoutgen.report_md import PLOT_AREA, PLOT_ENERGY, PLOT_TIMING, area_fields, render_report

from conftest import random_int_model

PNG = b"\x89PNG\r\n\x1a\n"
ISSUE_KEYS = {"fmax_mhz_tt", "fmax_mhz_ss", "energy_pj_per_inference", "power_mw", "inferences_per_s",
              "latency_ns", "area_um2"}


@pytest.fixture(scope="module")
def built(tmp_path_factory, pdk):
    """Two builds of one small model: without data (random inputs) and with test data."""
    folder = tmp_path_factory.mktemp("rm")
    model = random_int_model(21, [16, 8, 4], 4, (-7, 7), act_bits=5)
    path = folder / "small.int.npz"
    save_int_model(model, path)
    X = np.random.default_rng(0).integers(0, 16, (150, 16))
    save_data(folder / "other.data.npz", X_test=X, X_calib=X[:10])
    plain = build_model_dir(path, pdk, folder / "plain", BuildOptions(top="small", stage_depth=4.0), check_vectors=50)
    data = build_model_dir(path, pdk, folder / "data", BuildOptions(top="small", stage_depth=4.0), check_vectors=50,
                           data=folder / "other.data.npz")
    return folder, plain, data


def test_report_json_carries_the_issue_figures(built):
    folder, plain, data = built
    for res in (plain, data):
        r = json.loads((res.out_dir / "report.json").read_text())
        assert ISSUE_KEYS <= set(r)
        assert r["energy_pj_per_inference"] == pytest.approx(r["energy"]["tt"]["energy_pj_per_inference"], rel=1e-3)
        assert r["power_mw"] == pytest.approx(r["energy_pj_per_inference"] * r["fmax_mhz_ss"] * 1e-3, rel=1e-3)
        assert r["area_um2"] == r["cell_area_um2"] and "no layout" in r["area_basis"]
        assert sum(r["area_by_cell_um2"].values()) == pytest.approx(r["cell_area_um2"], rel=1e-6)
        assert set(r["timing"]) == {"tt_025C_1v80", "ss_100C_1v60"}
        unit = r["energy"]["unit_delay"]  # the glitch reference counts at least the settled changes
        assert unit["energy_pj_per_inference"] >= r["energy_pj_per_inference"]
        assert unit["mean_toggle_rate"] >= r["energy"]["tt"]["mean_toggle_rate"]
        assert r["timing"]["ss_100C_1v60"]["fmax_mhz"] == r["fmax_mhz_ss"]
    assert json.loads((plain.out_dir / "report.json").read_text())["energy"]["inputs"].startswith("uniform random")
    assert json.loads((data.out_dir / "report.json").read_text())["energy"]["inputs"] == \
        "test data (150 vectors, in file order)"


def test_report_md_shows_every_section_and_its_plots(built):
    _, plain, _ = built
    text = (plain.out_dir / "report.md").read_text()
    r = plain.report
    for heading in ("# small: build report", "## Timing", "## Energy and power", "## Cells and area"):
        assert heading in text
    assert f"| energy per inference | {r['energy_pj_per_inference']:.1f} pJ" in text
    assert f"{r['power_mw']:.2f} mW" in text
    assert "| **min period** |" in text and "Critical path at ss_100C_1v60" in text
    assert "## Layout" not in text  # no layout picture in this folder
    assert f"an inference takes {r['energy']['unit_delay']['energy_pj_per_inference']:.1f} pJ" in text
    for plot in (PLOT_AREA, PLOT_ENERGY, PLOT_TIMING):
        assert f"]({plot})" in text
        data = (plain.out_dir / plot).read_bytes()
        assert data.startswith(PNG) and b"Software" not in data and b"matplotlib" not in data


def test_plots_are_byte_identical_and_ignore_the_users_matplotlibrc(built, tmp_path):
    _, plain, _ = built
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    render_report(plain.report, a)
    with matplotlib.rc_context({"axes.facecolor": "#ffee00", "font.size": 17, "lines.linewidth": 9}):
        render_report(plain.report, b)
    for name in ("report.md", PLOT_AREA, PLOT_ENERGY, PLOT_TIMING):
        assert (a / name).read_bytes() == (b / name).read_bytes() == (plain.out_dir / name).read_bytes()


def test_plots_follow_the_figures(built, tmp_path):
    _, plain, _ = built
    changed = json.loads(json.dumps(plain.report))
    changed["energy"]["tt"]["breakdown_pj"]["clock"] *= 3
    changed["timing"]["ss_100C_1v60"]["stage_delays_ps"]["1"] *= 2
    render_report(changed, tmp_path)
    assert (tmp_path / PLOT_ENERGY).read_bytes() != (plain.out_dir / PLOT_ENERGY).read_bytes()
    assert (tmp_path / PLOT_TIMING).read_bytes() != (plain.out_dir / PLOT_TIMING).read_bytes()
    assert (tmp_path / PLOT_AREA).read_bytes() == (plain.out_dir / PLOT_AREA).read_bytes()


def test_layout_picture_and_die_area_when_a_layout_exists(built, tmp_path):
    _, plain, _ = built
    r = dict(plain.report, die_width_um=100.0, die_height_um=50.0, die_area_mm2=0.005, utilization=0.4,
             wire_length_um=1234.0, routed_nets=99)
    r.update(area_fields(r))
    assert r["area_um2"] == 5000.0 and r["area_basis"].startswith("die")
    shutil.copy(plain.out_dir / PLOT_AREA, tmp_path / "small.png")  # any PNG stands in for the layout picture
    text = render_report(r, tmp_path)
    assert "## Layout" in text and "![layout of small](small.png)" in text
    assert "| area | 5000 um2, die (placed and routed layout) |" in text
    assert "| die | 100.00 x 50.00 um" in text


def test_without_matplotlib_the_report_has_no_plots_but_says_why(built, tmp_path, monkeypatch):
    import sys

    _, plain, _ = built
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    text = render_report(plain.report, tmp_path)
    assert "Plots need matplotlib" in text and ".png)" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]
    assert "## Energy and power" in text
