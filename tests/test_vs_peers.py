"""benchmarks/vs_peers.py end to end at a small size: Yosys+ABC on sky130 cells, iverilog equivalence.

Needs Debian yosys and iverilog (CI installs them, .ci/run); a missing tool fails the test.
"""
from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load():
    spec = importlib.util.spec_from_file_location("vs_peers", ROOT / "benchmarks" / "vs_peers.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["vs_peers"] = mod
    spec.loader.exec_module(mod)
    return mod


vp = _load()


@pytest.fixture(scope="module")
def env():
    for t in ("yosys", "iverilog", "vvp"):
        assert shutil.which(t), f"{t} is not installed (Debian: apt-get install {t}); CI installs it in .ci/run"
    from layoutgen.pdk import load_pdk
    from layoutgen.pdk.views import locate_cell_views

    pdk = load_pdk("sky130")
    return pdk, locate_cell_views(pdk.library.name)


def test_yosys_flow_small_layer_equal_and_area_ratio_sane(env):
    pdk, views = env
    res = vp.run_case(vp.parse_case("8x8:w4:a4"), pdk, views, vectors=100, use_da4ml=False, log=lambda *_: None)
    y = res.peers["yosys"]
    assert y["iverilog_equal"] and y["area_um2"] > 0 and y["seconds"] > 0
    ratio = res.ours_area / y["area_um2"]
    assert 0.2 < ratio < 1.5, f"ours/yosys area {ratio:.2f}"
    table = vp.table([res])
    assert "8x8 w4 a4" in table and f"{ratio:.2f}" in table


def test_equivalence_check_catches_a_wrong_netlist(env):
    """A behavioural layer with one weight changed must fail the iverilog comparison against W x."""
    pdk, views = env
    W = vp.parse_case("4x4:w4:a3").matrix()
    X = vp.random_vectors(4, 3, 40, 0)
    wrong = W.copy()
    wrong[1, 2] += 1
    syn = vp.synthesize(vp.behavioural_verilog(wrong, 3, 10), "layer", vp.LIBERTY)
    Y = vp.simulate_comb(syn.netlist, "layer", X, 3, 4, 10, vp.liberty_models(vp.LIBERTY))
    assert np.array_equal(Y, X @ wrong.T) and not np.array_equal(Y, X @ W.T)
    # the liberty-derived models agree with the PDK's own functional models
    pdk_models = vp.simulate_comb(syn.netlist, "layer", X, 3, 4, 10, vp.netlist_models(syn.netlist, views))
    assert np.array_equal(pdk_models, Y)
    # delay wires that order events by logic level change no value
    net, depth = vp.levelized(syn.netlist, vp.liberty_outputs(vp.LIBERTY))
    assert "_dly" in net and depth > 3
    assert np.array_equal(vp.simulate_comb(net, "layer", X, 3, 4, 10, vp.liberty_models(vp.LIBERTY), depth + 2), Y)
    assert set(syn.cells) and all(c.startswith(vp.CELL_PREFIX) for c in syn.cells)


def test_committed_liberty_has_areas_and_functions():
    text = vp.LIBERTY.read_text()
    assert "google/skywater-pdk-libs-sky130_fd_sc_hd" in text
    assert 'cell (sky130_fd_sc_hd__xor2_1)' in text and "area : 8.7584;" in text
    assert "fa_1" not in text and "dfxtp" not in text  # multi-output and sequential cells left out


def test_behavioural_verilog_and_case_parsing():
    case = vp.parse_case("3x2:ternary:a4", seed=5)
    W = case.matrix()
    assert W.shape == (3, 2) and set(np.unique(W)) <= {-1, 0, 1}
    assert vp.parse_case("2x2:w4:a8").matrix().max() <= 7
    text = vp.behavioural_verilog(np.array([[3, -2], [0, 0]]), 4, 8)
    assert "assign y[7:0] = 8'd3 * x0 - 8'd2 * x1;" in text and "assign y[15:8] = 8'd0;" in text
    assert set(np.unique(vp.parse_case("16x16:-2..1:a4").matrix())) == {-2, -1, 0, 1}
    for bad in ("8x8:q4:a4", "8x8:3..1:a4", "8x8:w1:a4"):
        with pytest.raises(SystemExit):
            vp.parse_case(bad)
