"""`layoutgen estimate`: the wafer-scale planner checked against real builds and by hand."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from layoutgen.build import BuildOptions, compile_model
from layoutgen.cli import main
from layoutgen.errors import LayoutgenError
from layoutgen.estimate import (PlanOptions, csd_digit_counts, estimate, expected_digits_per_weight, from_file,
                                from_int_model, from_shapes, gross_dies_per_wafer, load_calibration, parse_layers,
                                wafers_needed, yield_murphy, yield_poisson)
from layoutgen.estimate.plan import cut_bits, partition
from layoutgen.estimate.samples import random_mlp
from layoutgen.model import load_model
from layoutgen.pdk import load_pdk

ROOT = Path(__file__).resolve().parent.parent
DIGITS = ROOT / "examples" / "digits" / "digits.int.npz"
TOLERANCE = 0.15  # the stated error of the area estimate against a build (docs/estimate.md)


@pytest.fixture(scope="module")
def pdk():
    return load_pdk("sky130")


@pytest.fixture(scope="module")
def calib(pdk):
    return load_calibration(pdk.data_dir)


def relative_error(model, pdk, calib, stage_depth=8.0) -> float:
    built = compile_model(model, pdk, BuildOptions(stage_depth=stage_depth)).report["cell_area_um2"]
    plan = estimate(from_int_model(model, "test"), calib, PlanOptions(stage_depth=stage_depth))
    return plan.cell_area_um2 / built - 1.0


def test_digits_estimate_matches_its_build(pdk, calib):
    err = relative_error(load_model(DIGITS), pdk, calib)
    assert abs(err) < TOLERANCE, f"digits: estimate off by {err:+.1%}"


def test_digits_clock_matches_its_build(pdk, calib):
    model = load_model(DIGITS)
    built = compile_model(model, pdk, BuildOptions(stage_depth=8.0)).report
    plan = estimate(from_int_model(model, "digits"), calib, PlanOptions(stage_depth=8.0))
    for corner in ("tt", "ss"):
        err = getattr(plan, f"fmax_mhz_{corner}") / built[f"fmax_mhz_{corner}"] - 1
        assert abs(err) < 0.15, f"digits fmax {corner} off by {err:+.1%}"
    assert plan.inferences_per_s == pytest.approx(plan.fmax_mhz_ss * 1e6)


@pytest.mark.parametrize("sizes, wbits, abits, depth", [
    ([48, 24, 8], 3, 6, 8.0),  # two layers, sizes and widths outside the calibration grid
    ([100, 40], 6, 4, 6.0),
    ([20, 60, 12], 5, 7, 12.0),
])
def test_random_models_match_their_builds(pdk, calib, sizes, wbits, abits, depth):
    err = relative_error(random_mlp(sizes, wbits, abits, seed=sum(sizes)), pdk, calib, depth)
    assert abs(err) < TOLERANCE, f"{sizes} w{wbits} a{abits}: estimate off by {err:+.1%}"


def _min_signed_digits(n: int, limit: int = 12) -> int:
    """Fewest terms +-2^k summing to n, by breadth-first search (independent of the CSD recoding)."""
    frontier, seen, steps = {0}, {0}, 0
    while n not in frontier:
        steps += 1
        frontier = {v + s * (1 << k) for v in frontier for k in range(limit) for s in (1, -1)} - seen
        seen |= frontier
    return steps


def test_csd_digits_are_minimal_signed_digit_counts():
    values = np.arange(-70, 71)
    got = csd_digit_counts(values)
    assert [int(g) for g in got] == [_min_signed_digits(abs(int(v))) for v in values]


def test_expected_digits_uniform_and_sparse():
    assert expected_digits_per_weight(2) == pytest.approx(2 / 3)  # ternary: two of three values non-zero
    w4 = np.mean([_min_signed_digits(abs(v)) for v in range(-7, 8)])
    assert expected_digits_per_weight(4) == pytest.approx(w4)
    assert expected_digits_per_weight(4, 0.5) == pytest.approx(0.5 * np.mean([_min_signed_digits(v) for v in range(1, 8)]))


def test_wafer_formulas_by_hand():
    d, s = 200 - 2 * 3, (10 + 0.1) ** 2
    assert gross_dies_per_wafer(10, 10) == math.floor(math.pi * d * d / (4 * s) - math.pi * d / math.sqrt(2 * s)) == 247
    assert yield_poisson(100, 0.1) == pytest.approx(math.exp(-0.1))
    assert yield_murphy(100, 0.1) == pytest.approx(((1 - math.exp(-0.1)) / 0.1) ** 2)
    assert yield_murphy(100, 0.1) > yield_poisson(100, 0.1)
    assert wafers_needed(1000, 247, 0.9) == math.ceil(1000 / (247 * 0.9))
    assert wafers_needed(10, 0, 0.9) is None
    assert gross_dies_per_wafer(300, 300) == 0


def test_partition_splits_a_large_model_and_counts_cut_bandwidth(calib):
    spec = from_shapes([(512, 512), (512, 256), (256, 10)], 4, 8)
    plan = estimate(spec, calib, PlanOptions(die_limit_mm2=4.0, io_ring_mm=0.1))
    assert len(plan.dies) > 2
    capacity = (2.0 - 0.2) ** 2 * 1e6 * 0.4
    assert all(d.cell_area_um2 <= capacity * (1 + 1e-9) and d.width_mm <= 2.0 + 1e-9 for d in plan.dies)
    # every neuron of every layer sits on exactly one die, in order
    for k, layer in enumerate(spec.layers):
        pieces = [p for d in plan.dies for p in d.pieces if p.layer == k]
        assert pieces[0].first == 0 and sum(p.count for p in pieces) == layer.n_out
        assert all(a.first + a.count == b.first for a, b in zip(pieces, pieces[1:]))
    assert sum(d.cell_area_um2 for d in plan.dies) == pytest.approx(plan.cell_area_um2)
    # a cut inside layer 0 carries the whole input vector plus the layer-0 outputs made so far
    first = plan.dies[0].pieces
    assert first[-1].layer == 0
    assert plan.cuts[0].bits_per_clock == 512 * 8 + first[-1].count * 8
    assert plan.cuts[0].gbit_per_s == pytest.approx(plan.cuts[0].bits_per_clock * plan.fmax_mhz_ss / 1e3)


def test_cut_between_whole_layers_carries_the_activations():
    spec = from_shapes([(64, 32), (32, 16)], 4, 6)
    dies = partition(spec, [10.0, 10.0], 15.0)
    assert [[p.layer for p in d] for d in dies] == [[0], [1]]
    assert cut_bits(spec, dies) == [32 * 6]


def test_wafers_and_power_follow_the_die(calib):
    spec = from_shapes([(256, 256)], 4, 8)
    small = estimate(spec, calib, PlanOptions(d0_per_cm2=0.0, chips=100000))
    die = small.dies[0]
    assert die.yield_murphy == die.yield_poisson == 1.0
    assert die.wafers_murphy == math.ceil(100000 / die.dies_per_wafer)
    assert small.power_mw == pytest.approx(small.energy_pj_per_inference * small.fmax_mhz_ss / 1000)
    bigger = estimate(from_shapes([(512, 512)], 4, 8), calib)
    assert bigger.cell_area_um2 > 3 * small.cell_area_um2 and bigger.energy_pj_per_inference > small.energy_pj_per_inference


def test_float_and_onnx_files_give_the_same_shapes(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(3)
    W0, W1 = rng.normal(size=(16, 12)).astype(np.float32), rng.normal(size=(4, 16)).astype(np.float32)
    nodes = [helper.make_node("Gemm", ["x", "W0", "b0"], ["h"], transB=1), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "W1", "b1"], ["y"], transB=1)]
    inits = [numpy_helper.from_array(W0, "W0"), numpy_helper.from_array(np.zeros(16, np.float32), "b0"),
             numpy_helper.from_array(W1, "W1"), numpy_helper.from_array(np.zeros(4, np.float32), "b1")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 12])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])], inits)
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    spec = from_file(path, 4, 6)
    assert [(l.n_in, l.n_out, l.act_bits) for l in spec.layers] == [(12, 16, 6), (16, 4, 6)]
    q = np.rint(W0 / np.abs(W0).max(axis=1, keepdims=True) * 7).astype(np.int64)
    assert spec.layers[0].csd_digits == csd_digit_counts(q).sum()
    digits = from_file(ROOT / "examples" / "digits" / "digits.float.npz", 4, 8)
    assert [(l.n_in, l.n_out) for l in digits.layers] == [(64, 32), (32, 10)]


def test_cli_table_json_and_determinism(tmp_path):
    runner = CliRunner()
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    r1 = runner.invoke(main, ["estimate", str(DIGITS), "--json", str(a)])
    r2 = runner.invoke(main, ["estimate", str(DIGITS), "--json", str(b)])
    assert r1.exit_code == 0, r1.output
    assert r1.output == r2.output and a.read_bytes() == b.read_bytes()
    data = json.loads(a.read_text())
    assert data["n_weights"] == 2368 and len(data["dies"]) == 1 and data["cuts"] == []
    assert "dies per wafer" not in r1.output and "gross/wafer" in r1.output and "inferences" in r1.output
    r = runner.invoke(main, ["estimate", "--params", "5e7", "--weight-bits", "2", "--die-limit-mm2", "100"])
    assert r.exit_code == 0, r.output
    assert "cut after die 0" in r.output


def test_cli_energy_from_build_report(tmp_path):
    rep = tmp_path / "report.json"
    rep.write_text(json.dumps({"energy_pj_per_inference": 100.0, "cell_area_um2": 50000.0}))
    out = tmp_path / "p.json"
    r = CliRunner().invoke(main, ["estimate", "--layers", "64x32", "--energy-from", str(rep), "--json", str(out)])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert data["energy_pj_per_inference"] == pytest.approx(data["cell_area_um2"] * 100.0 / 50000.0, rel=1e-3)
    assert "report.json" in data["energy_source"]


@pytest.mark.parametrize("args, words", [
    (["--layers", "784x256,128x10"], "layer 1 takes 128 inputs"),
    (["--layers", "784by256"], "not INxOUT"),
    ([str(DIGITS), "--layers", "4x4"], "exactly one of"),
    ([], "exactly one of"),
    ([str(DIGITS), "--weight-bits", "4"], "integer model"),
    (["--layers", "8x8", "--utilization", "2"], "utilization"),
    (["--layers", "8x8", "--stage-depth", "100"], "stage depth"),
    (["--layers", "4096x4096", "--die-limit-mm2", "0.5", "--io-ring-mm", "0.1"], "exceeds a die"),
    (["missing.npz"], "not found"),
])
def test_cli_bad_input_is_one_line_exit_2(tmp_path, args, words):
    out = tmp_path / "x.json"
    r = CliRunner().invoke(main, ["estimate", *args, "--json", str(out)])
    assert r.exit_code == 2, r.output
    assert words in r.output and r.output.count("\n") == 1
    assert not out.exists()


def test_parse_layers():
    assert parse_layers("784x256, 256X10") == [(784, 256), (256, 10)]
    with pytest.raises(LayoutgenError):
        parse_layers("")
