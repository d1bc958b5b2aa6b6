"""--clock-mhz: the pipeline depth search meets the target at the slow corner with the fewest ranks."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from layoutgen.arith.layer import ArithOptions
from layoutgen.arith.network import build_network
from layoutgen.build import BuildOptions, compile_model
from layoutgen.cli import main
from layoutgen.clocking import GRID_STEP, SLOW_CORNER, choose_stage_depth, pipeline_trial
from layoutgen.errors import LayoutgenError
from layoutgen.model import save_int_model

from conftest import random_int_model


@pytest.fixture(scope="module")
def model():
    return random_int_model(11, [20, 10, 4], 4, (-7, 7), act_bits=6)


@pytest.fixture(scope="module")
def net(model, pdk):
    return build_network(model, pdk, "clk_t", ArithOptions())


def test_meets_the_target_with_the_deepest_stages_that_do(net, pdk):
    whole = pipeline_trial(net, pdk, float("inf"), "clk_t")
    fast = pipeline_trial(net, pdk, 1.0, "clk_t")
    assert fast.fmax_mhz > 1.5 * whole.fmax_mhz
    target = (whole.fmax_mhz + fast.fmax_mhz) / 2
    n_before = len(net.module.instances)
    c = choose_stage_depth(net, pdk, target, top="clk_t")
    assert len(net.module.instances) == n_before  # every trial pipelines a copy
    assert c.corner == SLOW_CORNER
    assert c.fmax_mhz >= target
    # the same depth, pipelined and timed afresh, gives the same figures
    again = pipeline_trial(net, pdk, c.stage_depth, "clk_t")
    assert (again.fmax_mhz, again.flip_flops, again.stages) == (c.fmax_mhz, c.flip_flops, c.stages)
    # one grid step deeper misses the target: no fewer ranks would do
    deeper = pipeline_trial(net, pdk, c.stage_depth + GRID_STEP, "clk_t")
    assert deeper.fmax_mhz < target
    assert c.flip_flops <= fast.flip_flops and c.stages <= fast.stages
    assert c.stage_depth in [t.stage_depth for t in c.trials]


def test_a_slow_clock_keeps_the_whole_network_in_one_stage(net, pdk):
    whole = pipeline_trial(net, pdk, float("inf"), "clk_t")
    c = choose_stage_depth(net, pdk, whole.fmax_mhz * 0.9, top="clk_t")
    assert (c.stages, c.flip_flops, c.fmax_mhz) == (whole.stages, whole.flip_flops, whole.fmax_mhz)
    assert c.stage_depth >= whole.max_stage_delay
    assert len(c.trials) == 1


def test_an_unreachable_clock_is_a_clear_error(net, pdk):
    with pytest.raises(LayoutgenError, match=r"--clock-mhz 5000: not reachable at the ss_100C_1v60 corner.*reach \d"):
        choose_stage_depth(net, pdk, 5000, top="clk_t")
    for bad in (0, -3, float("nan")):
        with pytest.raises(LayoutgenError, match="--clock-mhz"):
            choose_stage_depth(net, pdk, bad, top="clk_t")


def test_build_with_clock_target_reports_the_choice(model, pdk):
    whole = compile_model(model, pdk, BuildOptions(top="clk_t", stage_depth=1e6)).report
    res = compile_model(model, pdk, BuildOptions(top="clk_t", clock_mhz=1.3 * whole["fmax_mhz_ss"]))
    r = res.report
    assert r["fmax_mhz_ss"] >= 1.3 * whole["fmax_mhz_ss"]
    assert r["clock"]["clock_target_mhz"] == pytest.approx(1.3 * whole["fmax_mhz_ss"])
    assert r["stage_depth_fa_levels"] == r["clock"]["stage_depth_fa_levels"]
    assert r["flip_flops"] == r["clock"]["flip_flops"] and r["pipeline_stages"] > whole["pipeline_stages"]
    again = compile_model(model, pdk, BuildOptions(top="clk_t", clock_mhz=1.3 * whole["fmax_mhz_ss"])).report
    assert again == r


def test_cli_clock_option_and_its_error(model, tmp_path):
    path = tmp_path / "clk_t.int.npz"
    save_int_model(model, path)
    run = CliRunner().invoke(main, ["build", "-q", str(path), "--out", str(tmp_path / "o"), "--clock-mhz", "5000",
                                    "--check-vectors", "10"])
    assert run.exit_code == 2
    assert "--clock-mhz 5000: not reachable" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
    run = CliRunner().invoke(main, ["build", "-q", str(path), "--out", str(tmp_path / "o"), "--clock-mhz", "60",
                                    "--check-vectors", "10"])
    assert run.exit_code == 0, run.stderr
    r = json.loads((tmp_path / "o" / "report.json").read_text())
    assert r["fmax_mhz_ss"] >= 60 and r["clock"]["clock_target_mhz"] == 60
    assert "`--clock-mhz 60`" in (tmp_path / "o" / "report.md").read_text()
