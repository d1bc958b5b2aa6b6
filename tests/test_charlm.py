"""Character-model chip: spec, argmax/decoder logic, the generating chip vs the numpy reference, iverilog.

The iverilog test needs Icarus Verilog (CI installs it); it fails, not skips, when the tool is missing.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from layoutgen.arith.context import ArithContext, load_logic_delays
from layoutgen.arith.words import Word
from layoutgen.charlm import (
    ChipOptions, ChipSession, LmSpec, LmSpecError, build_chip, chip_generate, load_spec, reference_generate,
)
from layoutgen.charlm.generation import check_prompts
from layoutgen.charlm.logic import argmax, decoder
from layoutgen.errors import LayoutgenError
from layoutgen.model import IntLayer, IntModel, golden, load_int_model
from layoutgen.netlist.builder import ModuleBuilder
from layoutgen.netlist.ir import Design, Module
from layoutgen.pdk.core import load_pdk
from layoutgen.sim import Simulator

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "charlm"
PDK = load_pdk("sky130")
LIB = PDK.library


@pytest.fixture(scope="module")
def example():
    model = load_int_model(EXAMPLE / "charlm.int.npz")
    spec = load_spec(EXAMPLE / "charlm.lm.json")
    return model, spec, build_chip(model, spec, PDK)


def random_lm(rng, vocab: str, context: int, hidden: int, tie_rows: int = 0) -> tuple[IntModel, LmSpec]:
    spec = LmSpec(vocab=vocab, context=context)
    V = spec.n_tokens
    W0 = rng.integers(-7, 8, (hidden, spec.n_inputs))
    W1 = rng.integers(-7, 8, (V, hidden))
    b1 = rng.integers(-20, 20, V)
    if tie_rows:  # the last rows copy row 1: their logits always tie with it
        b1[1] += 25  # make the tied logits the largest often
        W1[V - tie_rows:] = W1[1]
        b1[V - tie_rows:] = b1[1]
    layers = [IntLayer(W=W0, b=rng.integers(-8, 8, hidden), shift=2, relu=True, out_bits=3),
              IntLayer(W=W1, b=b1, shift=0, relu=False, out_bits=0)]
    return IntModel(input_bits=1, layers=layers), spec


# ---- spec ------------------------------------------------------------------------------------

def test_spec_encode_decode_and_one_hot():
    spec = LmSpec(vocab=" abc.", context=3)
    assert spec.n_tokens == 6 and spec.token_bits == 3 and spec.n_inputs == 18
    assert spec.encode("Ab c.") == [2, 3, 1, 4, 5]  # upper case folds to lower
    assert spec.decode([0, 2, 3, 0, 1]) == "ab "  # padding prints as nothing
    X = spec.one_hot(np.array([[0, 2, 5]]))
    assert X.shape == (1, 18) and list(np.flatnonzero(X[0])) == [0, 6 + 2, 12 + 5]


def test_spec_rejects_characters_outside_the_vocabulary():
    spec = LmSpec(vocab=" abc", context=2)
    with pytest.raises(LmSpecError, match=r"character '7' at position 2 is not in the model's vocabulary"):
        spec.encode("ab7")


def test_spec_file_errors(tmp_path):
    with pytest.raises(LmSpecError, match="no language-model spec"):
        load_spec(tmp_path / "none.lm.json")
    bad = tmp_path / "bad.lm.json"
    bad.write_text('{"format": "layoutgen-charlm-v1", "vocab": "aa", "context": 2}')
    with pytest.raises(LmSpecError, match="twice"):
        load_spec(bad)
    bad.write_text('{"format": "other"}')
    with pytest.raises(LmSpecError, match="format"):
        load_spec(bad)


def test_spec_must_fit_the_model(example):
    model, _, _ = example
    with pytest.raises(LmSpecError, match="needs 15 one-bit inputs"):
        LmSpec(vocab="abcd", context=3).check_model(model)


# ---- logic blocks ----------------------------------------------------------------------------

def _comb_design(name: str, n_in: int, build) -> Design:
    mod = Module(name)
    ctx = ArithContext(ModuleBuilder(mod, LIB), load_logic_delays(PDK.data_dir))
    x = [mod.add_net(f"x{i}") for i in range(n_in)]
    y = build(ctx, x)
    mod.add_port("x", "input", x)
    mod.add_port("y", "output", [ctx.net_of(b) for b in y])
    design = Design(name, LIB, {name: mod})
    design.validate()
    return design


@pytest.mark.parametrize("widths", [(4, 4, 4, 4, 4), (3, 5, 4, 2, 6, 3, 5)])
def test_argmax_ties_go_to_the_lowest_index_like_numpy(widths):
    rng = np.random.default_rng(len(widths))
    K = len(widths)
    signed = [k % 3 != 1 for k in range(K)]  # mixed signed and unsigned logits
    offsets = np.cumsum([0, *widths])

    def build(ctx, x):
        words = []
        for k, w in enumerate(widths):
            lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if signed[k] else (0, (1 << w) - 1)
            words.append(Word(tuple(x[offsets[k]:offsets[k + 1]]), lo, hi))
        return argmax(ctx, words)

    design = _comb_design("amax", int(offsets[-1]), build)
    n = 3000
    vals = np.zeros((n, K), np.int64)
    for k, w in enumerate(widths):
        lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if signed[k] else (0, (1 << w) - 1)
        # draw from a few values, so ties (also of the maximum) are frequent
        vals[:, k] = rng.choice(np.unique(np.clip([lo, -1, 0, 1, hi], lo, hi)), n)
    packed = np.zeros(n, dtype=object)
    for k, w in enumerate(widths):
        packed += (vals[:, k] & ((1 << w) - 1)).astype(object) << int(offsets[k])
    out = Simulator(design).run({"x": packed.reshape(1, n)}, n)["y"][0]
    expect = np.argmax(vals, axis=1)
    assert (vals == vals.max(axis=1, keepdims=True)).sum(axis=1).max() > 1  # ties of the maximum occur
    np.testing.assert_array_equal(out, expect)


def test_decoder_is_one_hot():
    design = _comb_design("dec", 3, lambda ctx, x: decoder(ctx, x, 6))
    codes = np.arange(8, dtype=np.int64).reshape(1, 8)
    y = Simulator(design).run({"x": codes}, 8)["y"][0]
    expect = [1 << c if c < 6 else 0 for c in range(8)]
    np.testing.assert_array_equal(y, expect)


# ---- the generating chip -----------------------------------------------------------------------

def test_chip_ports_and_stream_count(example):
    model, spec, chip = example
    top = chip.design.top_module
    assert [p.name for p in top.ports] == ["clk", "rst", "in_valid", "in_token", "out_token", "out_stream",
                                           "out_valid"]
    assert top.port("in_token").width == spec.token_bits == top.port("out_token").width
    assert chip.streams == chip.core_latency + 1 and 2 ** chip.stream_bits >= chip.streams
    # only cells of the PDK library's roles, every net driven once
    assert set(chip.design.cell_counts()) <= set(LIB.by_name)
    chip.design.validate()


def test_every_stream_equals_the_reference(example):
    model, spec, chip = example
    texts = ["the chip ", "layout", "a netlist of ", "every weight is a", "q", "sim:", "x-y, z.", "pipeline "]
    prompts = [spec.encode(t) for t in texts[:chip.streams]]
    gen = chip_generate(chip, prompts, 30)
    ref = reference_generate(model, spec, prompts, [30] * len(prompts))
    assert gen.tokens == ref
    assert len({tuple(t) for t in gen.tokens}) > 3  # different prompts, different texts
    # one token per clock once every stream generates: in the round after the longest prompt, cycle s of
    # the round (counted from the end of the reset) emits stream s's token
    P, r = chip.streams, max(len(p) for p in prompts)
    in_round = [(c, s) for c, s, _ in gen.events if r * P <= c < (r + 1) * P]
    assert in_round == [(r * P + s, s) for s in range(P)]


def test_crossbar_chip_generates_the_same_text_and_carries_its_floorplan(example):
    """ChipOptions(crossbar=True), as `lmbuild --layout` builds it: the network in input groups and
    neuron blocks, every stream still equal to the reference, and placement targets for the core's
    cells under their flat names (core/...)."""
    model, spec, _ = example
    chip = build_chip(model, spec, PDK, ChipOptions(crossbar=True))
    prompts = [spec.encode(t) for t in ["the chip ", "layout", "q", "x-y, z."]]
    gen = chip_generate(chip, prompts, 20)
    assert gen.tokens == reference_generate(model, spec, prompts, [20] * len(prompts))
    targets = chip.place_targets
    assert len(targets) > 1000 and all(name.startswith("core/") for name in targets)
    flat = {f"core/{inst.name}" for inst in chip.design.modules[chip.core].instances}
    assert sum(name in flat for name in targets) > 0.9 * len(targets)


def test_reference_is_the_golden_model_step_by_step(example):
    model, spec, _ = example
    prompt = spec.encode("layout")
    toks = reference_generate(model, spec, [prompt], [5])[0]
    ctx = [0] * spec.context
    for t in prompt:
        ctx = ctx[1:] + [t]
    for t in toks:
        assert t == int(np.argmax(golden(model, spec.one_hot(np.array([ctx])))[0]))
        ctx = ctx[1:] + [t]


def test_fewer_streams_and_a_reset_restart(example):
    model, spec, chip = example
    session = ChipSession(chip)
    prompts = [spec.encode("generation"), spec.encode("ab")]
    first = chip_generate(chip, prompts, 12, session=session)
    again = chip_generate(chip, prompts[::-1], 12, session=session)  # rst clears the old streams
    assert first.tokens == reference_generate(model, spec, prompts, [12, 12])
    assert again.tokens == first.tokens[::-1]


@pytest.mark.parametrize("stage_depth", [3.0, 8.0])
def test_small_models_with_tied_logits(stage_depth):
    rng = np.random.default_rng(7)
    model, spec = random_lm(rng, vocab="abcde", context=3, hidden=6, tie_rows=3)
    chip = build_chip(model, spec, PDK, ChipOptions(top="tiny", stage_depth=stage_depth))
    prompts = [[rng.integers(1, spec.n_tokens) for _ in range(4)] for _ in range(chip.streams)]
    gen = chip_generate(chip, prompts, 15)
    ref = reference_generate(model, spec, prompts, [15] * len(prompts))
    assert gen.tokens == ref
    # along the generated text, the tied logits (token 1 and its copies) were often the maximum, and the
    # lowest index won
    tied_max = 0
    for prompt, toks in zip(prompts, ref):
        ctx = [0] * spec.context
        for t in list(prompt) + toks:
            ctx = ctx[1:] + [int(t)]
            logits = golden(model, spec.one_hot(np.array([ctx])))[0]
            tied_max += int(logits[1] == logits.max())
            assert logits[1] == logits[-1]
    assert tied_max > 5
    assert 1 in {t for s in gen.tokens for t in s} and spec.n_tokens - 1 not in {t for s in gen.tokens for t in s}


def test_deeper_pipeline_serves_more_streams():
    rng = np.random.default_rng(3)
    model, spec = random_lm(rng, vocab="abcdefg", context=2, hidden=8)
    shallow = build_chip(model, spec, PDK, ChipOptions(stage_depth=2.0))
    deep = build_chip(model, spec, PDK, ChipOptions(stage_depth=12.0))
    assert shallow.streams > deep.streams >= 3
    for chip in (shallow, deep):
        prompts = [[1 + (s % 7), 2] for s in range(chip.streams)]
        assert chip_generate(chip, prompts, 8).tokens == reference_generate(model, spec, prompts, [8] * chip.streams)


def test_prompt_checks():
    with pytest.raises(LayoutgenError, match="the chip serves 4"):
        check_prompts([[1]] * 5, 4)
    with pytest.raises(LayoutgenError, match="stream 1 has an empty prompt"):
        check_prompts([[1], []], 4)


# ---- example training ------------------------------------------------------------------------

def test_train_script_reproduces_the_committed_model(tmp_path):
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.run([sys.executable, str(EXAMPLE / "train.py"), "--out", str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in ("charlm.int.npz", "charlm.float.npz", "charlm.lm.json"):
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), name
    acc = float(proc.stdout.split("integer ")[1].split()[0])
    assert acc > 0.3  # well above the most frequent character (0.18)


# ---- iverilog ------------------------------------------------------------------------------------

def test_iverilog_runs_the_chip_like_the_simulator(example):
    from layoutgen.charlm.iverilog import run_chip_iverilog
    from layoutgen.pdk.views import locate_cell_views

    assert shutil.which("iverilog") and shutil.which("vvp"), "install Icarus Verilog: apt-get install iverilog"
    model, spec, chip = example
    prompts = [spec.encode(t) for t in ("the ", "chip", "pipeline")]
    got = run_chip_iverilog(chip, prompts, 5, locate_cell_views(LIB.name))
    assert got == reference_generate(model, spec, prompts, [5, 5, 5])


# ---- sampling ------------------------------------------------------------------------------------

def test_lookup_table_logic():
    from layoutgen.charlm.logic import lookup

    table = [0, 8, 12, 16, 20, 24, 27, 30, 34, 38, 42, 47, 53, 60, 71, 94]

    def build(ctx, x):
        return list(lookup(ctx, x, table).bits)

    design = _comb_design("lut", 4, build)
    y = Simulator(design).run({"x": np.arange(16, dtype=np.int64).reshape(1, 16)}, 16)["y"][0]
    np.testing.assert_array_equal(y, table)


def test_random_source_is_deterministic_and_does_not_repeat_early():
    from layoutgen.charlm.sampler import Sampler

    smp = Sampler(n_logits=32, scale=20.0, seed=1)
    st = smp.states(50)
    np.testing.assert_array_equal(st, Sampler(32, 20.0, 1).states(50))
    assert not np.array_equal(st, Sampler(32, 20.0, 2).states(50))
    assert 0.4 < st.mean() < 0.6 and abs(np.corrcoef(st[1:-1].ravel(), st[2:].ravel())[0, 1]) < 0.1
    # the first 2e5 states (as Python ints) are all different
    rule = int("".join(map(str, smp.rule150[::-1])), 2)
    x = int("".join(map(str, smp.reset_state[::-1])), 2)
    assert x == int("".join(map(str, st[0][::-1])), 2)
    mask, seen = (1 << smp.width) - 1, set()
    for _ in range(200_000):
        assert x not in seen
        seen.add(x)
        x = ((x << 1) & mask) ^ (x >> 1) ^ (x & rule)
    noise = smp.noise(st)
    assert noise.shape == (50, 32) and noise.min() == 0 and noise.max() <= smp.table[-1]


def test_sampling_chip_equals_its_reference(example):
    from layoutgen.charlm.chipdir import sampler_for
    from layoutgen.charlm.generation import chip_reference

    model, spec, greedy = example
    chip = build_chip(model, spec, PDK, ChipOptions(sampler=sampler_for(spec, 0.6, 5, "spec")))
    assert chip.design.top_module.port("in_token").width == spec.token_bits
    prompts = [spec.encode(t) for t in ("the chip ", "layout", "a", "every weight is a")]
    gen = chip_generate(chip, prompts, 40)
    assert gen.tokens == chip_reference(chip, model, prompts, 40)
    greedy_tokens = reference_generate(model, spec, prompts, [40] * 4)
    assert gen.tokens != greedy_tokens  # the noise changes the text
    # sampled text is less repetitive than greedy text
    assert len({tuple(s[i:i + 4]) for s in gen.tokens for i in range(36)}) > \
        len({tuple(s[i:i + 4]) for s in greedy_tokens for i in range(36)})


def test_sampling_needs_a_logit_scale():
    from layoutgen.charlm.chipdir import sampler_for

    with pytest.raises(LayoutgenError, match="logit_scale"):
        sampler_for(LmSpec(vocab="ab", context=2), 0.5, 1, "x.lm.json")
    assert sampler_for(LmSpec(vocab="ab", context=2), 0.0, 1, "x.lm.json") is None
    with pytest.raises(LayoutgenError, match="must be >= 0"):
        sampler_for(LmSpec(vocab="ab", context=2, logit_scale=0.1), -1.0, 1, "x.lm.json")
