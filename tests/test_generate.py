"""`layoutgen lmbuild MODEL -o DIR` and `layoutgen generate DIR --prompt ... --streams N`."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from layoutgen.charlm import load_chip_dir, load_spec, reference_generate
from layoutgen.cli import main
from layoutgen.model import load_int_model
from layoutgen.pdk.core import load_pdk

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "charlm"
PDK = load_pdk("sky130")


def _run(args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def chip_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("lm") / "chip"
    r = _run(["lmbuild", EXAMPLE / "charlm.int.npz", "-o", out, "-q"])
    assert r.exit_code == 0, r.output
    assert "identical to the numpy reference" in r.output
    return out


def test_lmbuild_writes_a_complete_reproducible_folder(chip_dir, tmp_path):
    names = sorted(p.name for p in chip_dir.iterdir())
    assert names == ["charlm_chip.int.npz", "charlm_chip.lm.json", "charlm_chip.netlist.json.gz", "charlm_chip.v",
                     "report.json"]
    rep = json.loads((chip_dir / "report.json").read_text())
    assert rep["streams"] == rep["core_latency_cycles"] + 1 == rep["token_interval_cycles"]
    assert rep["check"]["identical"] and rep["check"]["streams"] == rep["streams"]
    assert rep["tokens_per_s_tt"] == round(rep["fmax_mhz_tt"] * 1e6)
    assert rep["tokens_per_s_per_stream_ss"] == round(rep["fmax_mhz_ss"] * 1e6 / rep["streams"])
    assert 0 < rep["fmax_mhz_ss"] < rep["fmax_mhz_tt"]
    assert rep["n_cells"] == sum(rep["cells"].values())
    again = tmp_path / "again"
    assert _run(["lmbuild", EXAMPLE / "charlm.int.npz", "-o", again, "-q"]).exit_code == 0
    for name in names:
        assert (again / name).read_bytes() == (chip_dir / name).read_bytes(), name
    assert "/work/" not in (chip_dir / "charlm_chip.v").read_text()[:2000]


def test_generate_prints_the_reference_text_for_every_stream(chip_dir):
    prompts = ["The chip ", "layout", "a netlist"]
    r = _run(["generate", chip_dir, "-p", prompts[0], "-p", prompts[1], "-p", prompts[2], "--streams", 5, "-n", 20])
    assert r.exit_code == 0, r.output
    model, spec = load_int_model(EXAMPLE / "charlm.int.npz"), load_spec(EXAMPLE / "charlm.lm.json")
    stream_prompts = [spec.encode(prompts[s % 3]) for s in range(5)]
    ref = reference_generate(model, spec, stream_prompts, [20] * 5)
    for s in range(5):
        assert f"[{s}] {spec.decode(stream_prompts[s])}|{spec.decode(ref[s])}\n" in r.output
    assert "identical to the numpy reference, token for token" in r.output
    assert re.search(r"5 of \d+ streams x 20 tokens in \d+ cycles", r.output)


def test_generate_follow_prints_tokens_as_they_leave(chip_dir):
    r = _run(["generate", chip_dir, "-p", "abc", "--streams", 2, "-n", 3, "--follow"])
    assert r.exit_code == 0, r.output
    events = re.findall(r"cycle +(\d+) +stream +(\d) +'(.)'", r.output)
    assert len(events) == 6 and [int(c) for c, _, _ in events] == sorted(int(c) for c, _, _ in events)
    assert [s for _, s, _ in events] == ["0", "1"] * 3


def test_generate_iverilog_agrees(chip_dir):
    assert shutil.which("iverilog"), "install Icarus Verilog: apt-get install iverilog"
    r = _run(["generate", chip_dir, "-p", "pipe", "-p", "the ", "-n", 3, "--iverilog", 3])
    assert r.exit_code == 0, r.output
    assert "iverilog: identical for 3 tokens per stream" in r.output


def test_bad_prompt_character_is_a_one_line_error(chip_dir):
    r = CliRunner().invoke(main, ["generate", str(chip_dir), "-p", "chip #7"])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("layoutgen: error: --prompt 'chip #7': character '#' at position 5")


def test_too_many_streams_and_not_a_chip_folder(chip_dir, tmp_path):
    P = load_chip_dir(chip_dir, PDK).chip.streams
    r = CliRunner().invoke(main, ["generate", str(chip_dir), "-p", "a", "--streams", str(P + 1)])
    assert r.exit_code == 2 and f"the chip serves {P}" in r.output
    r = CliRunner().invoke(main, ["generate", str(chip_dir), "-p", "a", "-p", "b", "-p", "c", "--streams", "2"])
    assert r.exit_code == 2 and "3 prompts for 2 streams" in r.output
    r = CliRunner().invoke(main, ["generate", str(tmp_path), "-p", "a"])
    assert r.exit_code == 2 and "layoutgen lmbuild" in r.output


def test_lmbuild_without_spec_is_an_error(tmp_path):
    model = tmp_path / "m.int.npz"
    model.write_bytes((EXAMPLE / "charlm.int.npz").read_bytes())
    r = CliRunner().invoke(main, ["lmbuild", str(model), "-o", str(tmp_path / "out")])
    assert r.exit_code == 2 and "m.lm.json: no language-model spec" in r.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_sampling_chip_folder_generates_its_reference(tmp_path):
    out = tmp_path / "s"
    r = _run(["lmbuild", EXAMPLE / "charlm.int.npz", "-o", out, "-q", "--temperature", "0.8", "--seed", "9",
              "--check-tokens", "8"])
    assert r.exit_code == 0, r.output
    assert "sampling at T=0.8" in r.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["sampling"]["seed"] == 9 and rep["sampling"]["noise_bits"] == 4
    r = _run(["generate", out, "-p", "the ", "-p", "chip", "-n", 12, "--iverilog", 2])
    assert r.exit_code == 0, r.output
    assert "identical to the numpy reference, token for token" in r.output
    assert "iverilog: identical for 2 tokens per stream" in r.output


def test_lmbuild_layout_goes_through_the_build_layout_path(tmp_path):
    """--layout places, routes and verifies the whole chip like `build --layout`; the exit code follows
    DRC and LVS (the router is being reworked: this checks the wiring, and clean results give exit 0)."""
    import numpy as np

    from layoutgen.charlm import LmSpec, save_spec
    from layoutgen.model import IntLayer, IntModel, save_int_model

    rng = np.random.default_rng(1)
    spec = LmSpec(vocab="abcde", context=2)
    model = IntModel(1, [IntLayer(rng.integers(-7, 8, (4, spec.n_inputs)), rng.integers(-8, 8, 4), 2, True, 3),
                         IntLayer(rng.integers(-7, 8, (spec.n_tokens, 4)), rng.integers(-20, 20, spec.n_tokens), 0,
                                  False, 0)])
    save_int_model(model, tmp_path / "tiny.int.npz")
    save_spec(spec, tmp_path / "tiny.lm.json")
    out = tmp_path / "chip"
    r = _run(["lmbuild", tmp_path / "tiny.int.npz", "-o", out, "--top", "tiny", "-q", "--layout",
              "--utilization", "0.1", "--check-tokens", "4"])
    rep = json.loads((out / "report.json").read_text())
    assert (out / "tiny.gds").stat().st_size > 10_000 and (out / "tiny.lvs.txt").is_file()
    assert rep["die_area_mm2"] > 0 and rep["routed_nets"] > rep["n_cells"] / 2
    clean = rep["drc_violations"] == 0 and rep["lvs_match"]
    assert r.exit_code == (0 if clean else 1), r.output
    assert f"DRC {rep['drc_violations']} violations" in r.output
    assert rep["floorplan"] == "crossbar"  # lmbuild --layout builds and places the network as a crossbar
    # token rates follow the fmax with routed wire loads, not the estimate before layout
    assert rep["timing_wire_model"].startswith("per-net wire capacitance")
    assert rep["tokens_per_s_tt"] == round(rep["fmax_mhz_tt"] * 1e6)
    assert rep["tokens_per_s_per_stream_ss"] == round(rep["fmax_mhz_ss"] * 1e6 / rep["streams"])


def test_small_generating_chip_layout_is_drc_lvs_clean_and_generates(tmp_path):
    """The whole generating chip (network, argmax, stream ring, clock tree) of a small random character
    model, laid out: DRC 0, LVS match; `generate` runs the netlist that was laid out and prints the
    numpy reference text for every stream."""
    import numpy as np

    from layoutgen.charlm.spec import save_spec
    from layoutgen.model import save_int_model
    from test_charlm import random_lm

    model, spec = random_lm(np.random.default_rng(7), vocab="abcde", context=3, hidden=6)
    save_int_model(model, tmp_path / "lm.int.npz")
    save_spec(spec, tmp_path / "lm.lm.json")
    out = tmp_path / "chip"
    r = _run(["lmbuild", tmp_path / "lm.int.npz", "-o", out, "--layout", "-q"])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["drc_violations"] == 0 and rep["lvs_match"] is True
    assert rep["check"]["identical"]
    assert (out / "charlm_chip.gds").is_file()
    netlist = (out / "charlm_chip.v").read_text()
    assert "sky130_fd_sc_hd__clkbuf" in netlist  # the folder holds the laid-out netlist
    r = _run(["generate", out, "-p", "ab", "-p", "ca", "--streams", rep["streams"], "-n", 12])
    assert r.exit_code == 0, r.output
    prompts = [spec.encode(["ab", "ca"][s % 2]) for s in range(rep["streams"])]
    ref = reference_generate(model, spec, prompts, [12] * len(prompts))
    for s in range(len(prompts)):
        assert f"[{s}] {spec.decode(prompts[s])}|{spec.decode(ref[s])}\n" in r.output
