"""Calibration: fitting per-output offsets, and the scan-loaded offset registers in the netlist."""
from __future__ import annotations

import numpy as np
import pytest

from layoutgen.arith.context import load_logic_delays
from layoutgen.build import BuildOptions, compile_model
from layoutgen.calibration import (SCAN_EN, SCAN_IN, add_offset_registers, scan_sequence, stream_build,
                                   stream_calibrated)
from layoutgen.errors import LayoutgenError
from layoutgen.faults.calibrate import accuracy, fit_offsets, fit_validated_offsets
from layoutgen.model import IntLayer, IntModel, golden
from layoutgen.pdk.core import load_pdk
from layoutgen.sim import Simulator

PDK = load_pdk("sky130")


def _model(seed: int = 11) -> IntModel:
    rng = np.random.default_rng(seed)
    model = IntModel(4, [
        IntLayer(rng.integers(-7, 8, size=(5, 6)).astype(np.int64), rng.integers(-20, 20, size=5).astype(np.int64), 2, True, 4),
        IntLayer(rng.integers(-5, 6, size=(4, 5)).astype(np.int64), rng.integers(-9, 9, size=4).astype(np.int64), 0, False, 0),
    ])
    model.validate()
    return model


# ---- fitting ---------------------------------------------------------------------------------
def test_fit_recovers_a_shifted_classifier():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 6, 400)
    Y = rng.integers(-20, 20, (400, 6))
    Y[np.arange(400), labels] += 60  # the right output leads by at least 21 ...
    bias = np.array([0, 300, -200, 90, 0, -45])
    damaged = Y + bias  # ... until a die adds these offsets
    assert accuracy(damaged, labels) < 0.5
    c = fit_offsets(damaged, labels, bits=12)
    assert accuracy(damaged, labels, c) == 1.0


def test_fit_never_loses_accuracy_and_respects_the_range():
    rng = np.random.default_rng(1)
    for trial in range(5):
        Y = rng.integers(-1000, 1000, (300, 5))
        labels = rng.integers(0, 5, 300)
        c = fit_offsets(Y, labels, bits=6)
        assert c.min() >= -32 and c.max() <= 31
        assert accuracy(Y, labels, c) >= accuracy(Y, labels)
        c_wide = fit_offsets(Y, labels, bits=16)
        assert accuracy(Y, labels, c_wide) >= accuracy(Y, labels, c)


def test_validated_fit_applies_offsets_only_when_they_generalize():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 6, 400)
    Y = rng.integers(-20, 20, (400, 6))
    Y[np.arange(400), labels] += 30
    damaged = Y + np.array([0, 300, -200, 90, 0, -45])
    c = fit_validated_offsets(damaged, labels, bits=12)
    assert (c == fit_offsets(damaged, labels, bits=12)).all()
    assert accuracy(damaged, labels, c) > 0.85 > 0.5 > accuracy(damaged, labels)
    # pure noise: a plain fit still finds offsets that win calibration samples, the validated one refuses
    noise = rng.integers(-50, 50, (200, 6))
    noise_labels = rng.integers(0, 6, 200)
    assert accuracy(noise, noise_labels, fit_offsets(noise, noise_labels, bits=12)) > accuracy(noise, noise_labels)
    assert not fit_validated_offsets(noise, noise_labels, bits=12).any()


def test_fit_ties_go_to_the_first_output_like_argmax():
    Y = np.array([[5, 5], [5, 5], [5, 5]])
    labels = np.array([1, 1, 1])
    c = fit_offsets(Y, labels, bits=4)
    assert accuracy(Y, labels, c) == 1.0 and c[1] - c[0] == 1  # the smallest lift that wins a tie


# ---- hardware --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def calibrated():
    model = _model()
    result = compile_model(model, PDK, BuildOptions(top="cal", stage_depth=3.0))
    r = result.report
    regs = add_offset_registers(result.design.top_module, PDK.library, load_logic_delays(PDK.data_dir),
                                n_outputs=r["n_outputs"], output_width=r["output_width"], offset_bits=7, stage_depth=3.0)
    result.design.validate()
    X = np.random.default_rng(2).integers(0, 16, size=(500, 6), dtype=np.int64)
    return model, result, regs, Simulator(result.design), X


def test_offset_registers_shape(calibrated):
    model, result, regs, sim, X = calibrated
    assert regs.offset_bits == 7 and regs.chain_length == 4 * 7
    assert regs.output_width == max(result.report["output_width"], 7) + 1
    assert sim.inputs == {"x": 6 * 4, SCAN_IN: 1, SCAN_EN: 1}
    assert sim.outputs == {"y": 4 * regs.output_width, "scan_out": 1}
    assert regs.extra_latency >= 2  # a 3-FA-delay stage holds only a few carry bits


@pytest.mark.parametrize("offsets", [[0, 0, 0, 0], [5, -3, 63, -64], [-1, 1, -64, 17]])
def test_scan_loaded_offsets_give_golden_plus_offsets(calibrated, offsets):
    model, result, regs, sim, X = calibrated
    latency = result.report["latency_cycles"] + regs.extra_latency
    Y = stream_calibrated(sim, X, offsets, input_bits=4, output_width=regs.output_width, latency=latency,
                          offset_bits=7, lanes=64)
    assert np.array_equal(Y, golden(model, X) + np.array(offsets))


def test_scan_out_shifts_the_chain_back_out_and_scan_en_low_holds(calibrated):
    model, result, regs, sim, X = calibrated
    seq = scan_sequence([9, -20, 33, -1], 7)
    n = seq.size
    T = 2 * n + 5
    scan_in = np.zeros((T, 1), np.int64)
    scan_in[:n, 0] = seq
    scan_en = np.zeros((T, 1), np.int64)
    scan_en[:n] = 1
    scan_en[n + 5:] = 1  # hold 5 cycles, then shift the chain out
    out = sim.run({"x": np.zeros((T, 1), np.int64), SCAN_IN: scan_in, SCAN_EN: scan_en}, 1)
    # after edge t the chain position 0 shows on scan_out; the load ended at edge n
    assert np.array_equal(out["scan_out"][n - 1:n + 5, 0], np.full(6, seq[0]))
    assert np.array_equal(out["scan_out"][n + 4:n + 4 + n, 0], seq)


def test_offsets_outside_the_register_range_are_refused():
    with pytest.raises(LayoutgenError, match="do not fit 7 signed bits"):
        scan_sequence([64, 0], 7)


def test_build_option_adds_the_registers_and_keeps_the_self_check(calibrated):
    model = _model()
    result = compile_model(model, PDK, BuildOptions(top="cal", calibration_bits=0))
    plain = compile_model(model, PDK, BuildOptions(top="cal"))
    r, p = result.report, plain.report
    assert r["calibration"]["offset_bits"] == p["output_width"]
    assert r["output_width"] == p["output_width"] + 1
    assert r["latency_cycles"] == p["latency_cycles"] + r["calibration"]["extra_latency_cycles"]
    assert r["flip_flops"] > p["flip_flops"] + r["calibration"]["scan_chain_length"]
    X = calibrated[4]
    assert np.array_equal(stream_build(Simulator(result.design), X, r), golden(model, X))


def test_registers_refuse_a_module_without_the_pipeline_ports():
    model = _model()
    result = compile_model(model, PDK, BuildOptions(top="cal", calibration_bits=5))
    with pytest.raises(LayoutgenError, match="no scan ports yet"):
        add_offset_registers(result.design.top_module, PDK.library, load_logic_delays(PDK.data_dir),
                             n_outputs=4, output_width=result.report["output_width"])


def test_sim_command_checks_a_build_with_offset_registers(tmp_path):
    import json

    from click.testing import CliRunner

    from layoutgen.cli import main
    from layoutgen.model import save_int_model
    from layoutgen.netlist.serialize import save_design

    model = _model()
    result = compile_model(model, PDK, BuildOptions(top="cal", calibration_bits=6))
    save_design(result.design, tmp_path / "cal.netlist.json.gz")
    save_int_model(model, tmp_path / "cal.int.npz")
    (tmp_path / "report.json").write_text(json.dumps(result.report))
    res = CliRunner().invoke(main, ["sim", str(tmp_path), "-n", "300", "-q"])
    assert res.exit_code == 0, res.output
    assert "bit-exact on 302 vectors" in res.output
