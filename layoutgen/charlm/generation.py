"""Text generation: the numpy reference and the cycle-accurate chip, driven by the same schedule.

Schedule (see hardware.py for the ring): `rst` is held P cycles, then round r = 0, 1, ... takes P
cycles, and in cycle s of a round stream s sits in the update slot R[1] (the chip's out_stream
says so, and the driver checks it every cycle). While stream s has prompt characters left, the
round's cycle loads the next one (in_valid); after that, every round yields one generated token of
stream s (out_valid). Streams are independent, so the reference simply runs each one on its own:
the context starts as padding tokens, takes the prompt, then its own argmax outputs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import LayoutgenError
from ..model import golden
from ..sim import Simulator, SimulationError
from ..sim.bits import bits_to_unsigned, n_words, pack_lanes, unpack_lanes, values_to_bits
from ..sim.simulator import _chunked, _settle, _settle_into
from .hardware import Chip
from .sampler import Sampler
from .spec import LmSpec


def check_prompts(prompts: list[list[int]], streams: int) -> None:
    if not prompts:
        raise LayoutgenError("no prompts: give at least one stream a prompt")
    if len(prompts) > streams:
        raise LayoutgenError(f"{len(prompts)} streams requested, but the chip serves {streams} (its pipeline "
                             f"depth + 1); use --streams {streams} or fewer")
    for s, p in enumerate(prompts):
        if not p:
            raise LayoutgenError(f"stream {s} has an empty prompt; a stream starts generating after at least one "
                                 "prompt character")


def reference_generate(model, spec: LmSpec, prompts: list[list[int]], n_tokens: list[int]) -> list[list[int]]:
    """Greedy generation with the golden integer model: n_tokens[s] tokens after prompt s, per stream."""
    S = len(prompts)
    ctx = np.zeros((S, spec.context), dtype=np.int64)
    for s, prompt in enumerate(prompts):
        for t in prompt:
            ctx[s] = np.append(ctx[s, 1:], t)
    out: list[list[int]] = [[] for _ in range(S)]
    for step in range(max(n_tokens, default=0)):
        nxt = np.argmax(golden(model, spec.one_hot(ctx)), axis=1)  # ties: lowest index
        for s in range(S):
            if step < n_tokens[s]:
                out[s].append(int(nxt[s]))
        ctx = np.concatenate([ctx[:, 1:], nxt[:, None]], axis=1)
    return out


def reference_sample(model, spec: LmSpec, prompts: list[list[int]], n_tokens: list[int], sampler: Sampler,
                     streams: int, latency: int) -> list[list[int]]:
    """Sampled generation as the chip schedules it: stream s's token of round r (cycle r*P + s after the
    reset) is the argmax of logits + noise, the noise from the random source's state in the cycle its
    context entered the core, L cycles earlier."""
    S = len(prompts)
    rounds = max(len(p) + n for p, n in zip(prompts, n_tokens))
    states = sampler.states(rounds * streams)
    ctx = np.zeros((S, spec.context), dtype=np.int64)
    out: list[list[int]] = [[] for _ in range(S)]
    for r in range(rounds):
        logits = golden(model, spec.one_hot(ctx))
        cycles = np.array([r * streams + s - latency for s in range(S)])
        noise = sampler.noise(states[np.maximum(cycles, 0)])
        nxt = np.argmax(logits + noise, axis=1)
        for s, p in enumerate(prompts):
            if r < len(p):
                t = p[r]
            elif len(out[s]) < n_tokens[s]:
                t = int(nxt[s])
                out[s].append(t)
            else:
                continue
            ctx[s] = np.append(ctx[s, 1:], t)
    return out


def chip_reference(chip: Chip, model, prompts: list[list[int]], n_tokens: int) -> list[list[int]]:
    """The numpy reference of what `chip` generates: greedy, or sampled with its random source."""
    if chip.sampler is None:
        return reference_generate(model, chip.spec, prompts, [n_tokens] * len(prompts))
    return reference_sample(model, chip.spec, prompts, [n_tokens] * len(prompts), chip.sampler, chip.streams,
                            chip.core_latency)


class ChipSession:
    """The simulated chip with state kept between calls (flip-flops start at 0, one lane)."""

    def __init__(self, chip: Chip, simulator: Simulator | None = None):
        self.chip = chip
        self.sim = simulator or Simulator(chip.design)
        prog = self.sim.program
        self.words = n_words(1)
        self.state = np.zeros((prog.n_rows, self.words), dtype=np.uint64)
        if prog.const_rows.size:
            self.state[prog.const_rows] = prog.const_values[:, None]
        self._settle_d = _chunked(prog.settle_d, self.words)
        self._settle_out = _chunked(prog.settle_out, self.words)
        q_lo, q_hi = prog.flop_rows
        self._edge = [(in_rows, [(fn, slice(t.start - q_lo, t.stop - q_lo)) for fn, t in outs])
                      for in_rows, outs in _chunked(prog.edge, self.words)]
        self._q_next = np.empty((q_hi - q_lo, self.words), dtype=np.uint64)
        self._out_rows = np.concatenate([p.rows for p in prog.outputs])
        self.cycles = 0

    def step(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run len(cycles) clock cycles; inputs[port] holds one value per cycle; returns each output port's
        value just after each rising edge (the simulator's contract)."""
        prog = self.sim.program
        parts = []
        n_cycles = None
        for port in prog.inputs:
            values = np.asarray(inputs[port.name], dtype=np.int64).reshape(-1, 1)
            n_cycles = len(values) if n_cycles is None else n_cycles
            if len(values) != n_cycles:
                raise SimulationError(f"input {port.name}: {len(values)} cycles, other inputs have {n_cycles}")
            bits = values_to_bits(values, port.width, f"input {port.name}")  # (cycles, 1, width)
            parts.append(pack_lanes(np.ascontiguousarray(bits.transpose(0, 2, 1))))
        packed = np.concatenate(parts, axis=1)
        n_in = packed.shape[1]
        state, q_lo, q_hi = self.state, *prog.flop_rows
        out = np.empty((n_cycles, self._out_rows.size, self.words), dtype=np.uint64)
        for t in range(n_cycles):
            state[:n_in] = packed[t]
            _settle(state, self._settle_d)
            _settle_into(state, self._edge, self._q_next)
            state[q_lo:q_hi] = self._q_next
            _settle(state, self._settle_out)
            np.take(state, self._out_rows, axis=0, out=out[t])
        self.cycles += n_cycles
        result, lo = {}, 0
        for port in prog.outputs:
            bits = unpack_lanes(out[:, lo:lo + port.width], 1)  # (cycles, width, 1)
            result[port.name] = bits_to_unsigned(np.ascontiguousarray(bits.transpose(0, 2, 1)))[:, 0]
            lo += port.width
        return result


@dataclass
class Generation:
    tokens: list[list[int]]  # per stream, the generated tokens (after the prompt)
    cycles: int  # clock cycles simulated, reset included
    seconds: float  # wall time of the simulation
    events: list[tuple[int, int, int]] = field(default_factory=list)  # (cycle, stream, token) as they left the chip

    @property
    def n_tokens(self) -> int:
        return sum(len(t) for t in self.tokens)


def schedule(streams: int, prompts: list[list[int]], rounds: tuple[int, int]) -> dict[str, np.ndarray]:
    """Chip inputs for rounds [r0, r1) after reset: in cycle s of round r, stream s loads prompt token r."""
    r0, r1 = rounds
    n = (r1 - r0) * streams
    valid, token = np.zeros(n, np.int64), np.zeros(n, np.int64)
    for r in range(r0, r1):
        for s, p in enumerate(prompts):
            if r < len(p):
                valid[(r - r0) * streams + s], token[(r - r0) * streams + s] = 1, p[r]
    return {"rst": np.zeros(n, np.int64), "in_valid": valid, "in_token": token}


def reset_inputs(streams: int) -> dict[str, np.ndarray]:
    """rst held P cycles: every ring entry passes R[0], which the reset clears."""
    zeros = np.zeros(streams, dtype=np.int64)
    return {"rst": np.ones(streams, np.int64), "in_valid": zeros, "in_token": zeros}


def collect(out: dict[str, np.ndarray], first_cycle: int, streams: int, tokens: list[list[int]], n_tokens: int
            ) -> list[tuple[int, int, int]]:
    """Append the generated tokens in `out` (outputs of whole rounds after reset) to tokens; return the events.

    The outputs are registered, so the value read after cycle c's edge describes cycle c's slot.
    """
    n = len(out["out_stream"])
    expected = np.tile(np.arange(streams), n // streams)
    if not np.array_equal(out["out_stream"], expected):
        c = int(np.flatnonzero(out["out_stream"] != expected)[0])
        raise SimulationError(f"cycle {first_cycle + c}: the chip shows stream {out['out_stream'][c]} in the update "
                              f"slot, the schedule expects {expected[c]}")
    events = []
    for c in np.flatnonzero(out["out_valid"]):
        s, tok = int(out["out_stream"][c]), int(out["out_token"][c])
        if s >= len(tokens):
            raise SimulationError(f"cycle {first_cycle + c}: stream {s} emitted a token but was never given a prompt")
        if len(tokens[s]) < n_tokens:
            tokens[s].append(tok)
            events.append((first_cycle + int(c), s, tok))
    return events


def total_rounds(prompts: list[list[int]], n_tokens: int) -> int:
    return max(len(p) for p in prompts) + n_tokens


def check_prompt_tokens(prompts: list[list[int]], spec: LmSpec) -> None:
    for s, p in enumerate(prompts):
        bad = [t for t in p if not 0 < t < spec.n_tokens]
        if bad:
            raise LayoutgenError(f"stream {s}: prompt token {bad[0]} is outside 1..{spec.n_tokens - 1}")


def chip_generate(chip: Chip, prompts: list[list[int]], n_tokens: int, *, session: ChipSession | None = None,
                  on_round: Callable[[list[tuple[int, int, int]]], None] | None = None,
                  rounds_per_call: int = 4) -> Generation:
    """Simulate the chip generating n_tokens tokens for each prompt (stream s gets prompts[s]).

    on_round, if given, receives the (cycle, stream, token) events of every block of rounds as soon as
    it is simulated (cycles count from the end of the reset).
    """
    P = chip.streams
    check_prompts(prompts, P)
    check_prompt_tokens(prompts, chip.spec)
    session = session or ChipSession(chip)
    t0 = time.perf_counter()
    session.step(reset_inputs(P))
    start = session.cycles
    tokens: list[list[int]] = [[] for _ in prompts]
    events: list[tuple[int, int, int]] = []
    rounds = total_rounds(prompts, n_tokens)
    for r in range(0, rounds, rounds_per_call):
        first = session.cycles - start
        out = session.step(schedule(P, prompts, (r, min(rounds, r + rounds_per_call))))
        block = collect(out, first, P, tokens, n_tokens)
        events.extend(block)
        if on_round is not None and block:
            on_round(block)
    return Generation(tokens=tokens, cycles=session.cycles - start + P, seconds=time.perf_counter() - t0,
                      events=events)
