"""The character-model chip: a pipelined core (decoder -> network -> argmax) inside a token feedback ring.

Core (one module, pipelined by layoutgen.pipeline like any build): x holds the last `context`
token codes of one stream (oldest first, token_bits each); each code is decoded to its one-hot
lines, which are the int-v1 network's inputs; the logits go through the argmax tournament; y is
the next token's code. The scheduler cuts the whole path (decoder, adder trees, comparators) into
stages of at most `stage_depth` full-adder delays; latency L = register ranks from x to y.

Chip (top module): a ring of P = L + 1 context registers R[0..P-1] (tokens + an `active` bit),
one entry per stream. Every clock R[i] <- R[i+1], R[P-1] <- R[0], and R[0] <- R[1] advanced by one
token: the core's result y for R[1] (presented to the core from R[0] exactly L cycles earlier), or
the prompt token `in_token` when `in_valid` is high. So each stream's next input is ready exactly
when its slot comes round, and the chip needs no address muxes: the ring rotates. A counter names
the stream in R[1] (the one a prompt token loads): after rst falls, cycle k serves stream k mod P.

Ports: clk; rst (synchronous: hold high P cycles to empty the ring and restart the counter at 0);
in_valid, in_token (prompt/seed input for the stream of this cycle's slot); out_token, out_stream,
out_valid, registered: one cycle after a slot they show the token that slot took and its stream;
out_valid = a generated token (the stream has had a prompt, and the slot loaded no prompt token).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..arith.context import ArithContext, load_logic_delays
from ..arith.layer import ArithOptions, build_layer
from ..physical.floorplan import crossbar_arith, crossbar_targets, layer_shapes
from ..arith.words import Word
from ..errors import LayoutgenError
from ..netlist.builder import ModuleBuilder
from ..netlist.ir import Design, Module
from ..pdk.core import Pdk
from ..pipeline import insert_registers
from ..arith.compress import sum_terms
from .logic import argmax, decoder, lookup
from .sampler import Sampler
from .spec import LmSpec

CHIP_PORTS = ("clk", "rst", "in_valid", "in_token", "out_token", "out_stream", "out_valid")


@dataclass(frozen=True)
class ChipOptions:
    top: str = "charlm_chip"
    stage_depth: float = 8.0
    recoding: str = "csd"
    share: bool = True
    sampler: Sampler | None = None  # None: greedy argmax
    crossbar: bool = False  # build the network for the crossbar floorplan (lmbuild --layout; physical/floorplan.py)


@dataclass
class Chip:
    design: Design
    spec: LmSpec
    core_latency: int  # register ranks from the core's x to its y
    streams: int  # P = core_latency + 1 (the feedback register R[0])
    stream_bits: int
    core: str  # name of the core module
    sampler: Sampler | None = None
    place_targets: dict | None = None  # the crossbar floorplan's pulls by flat instance name (None: free)

    @property
    def token_bits(self) -> int:
        return self.spec.token_bits


def _check_top(top: str) -> str:
    if not top.isidentifier() or not top.isascii():
        raise LayoutgenError(f"--top '{top}' is not a valid Verilog/GDS name: use letters, digits and _")
    return top


def build_core(model, spec: LmSpec, pdk: Pdk, name: str, options: ChipOptions) -> tuple[Module, int, dict]:
    """The pipelined core module (ports clk, x, y), its latency in cycles and its cells' place tags.

    x = the context's token codes (oldest first), then, when sampling, the random bits of this cycle.
    """
    spec.check_model(model)
    module = Module(name)
    builder = ModuleBuilder(module, pdk.library)
    delays = load_logic_delays(pdk.data_dir)
    ctx = ArithContext(builder, delays)
    tb, V = spec.token_bits, spec.n_tokens
    sampler = options.sampler
    n_random = sampler.width if sampler else 0
    x_nets = [module.add_net(f"x[{k}]") for k in range(spec.context * tb + n_random)]
    words = []
    for p in range(spec.context):
        lines = decoder(ctx, x_nets[p * tb:(p + 1) * tb], V)
        words.extend(Word((line,), 0, 1) for line in lines)
    arith = ArithOptions(recoding=options.recoding, share=options.share, **crossbar_arith(options.crossbar))
    for li, layer in enumerate(model.layers):
        ctx.layer = li
        words, _ = build_layer(ctx, words, layer, arith)
    if sampler:
        table = sampler.table
        rnd = x_nets[spec.context * tb:]
        noisy = []
        for j, w in enumerate(words):
            noise = lookup(ctx, rnd[j * sampler.k:(j + 1) * sampler.k], table)
            noisy.append(sum_terms(ctx, [(w, 0, 1), (noise, 0, 1)], 0, w.lo, w.hi + max(table)))
        words = noisy
    y_bits = argmax(ctx, words)
    pipe = insert_registers(module, pdk.library, delays, x_nets, y_bits, options.stage_depth)
    return module, int(pipe.latency_cycles), ctx.place_tags


def build_chip(model, spec: LmSpec, pdk: Pdk, options: ChipOptions | None = None) -> Chip:
    options = options or ChipOptions()
    top = _check_top(options.top)
    core_name = f"{top}_core"
    core, latency, tags = build_core(model, spec, pdk, core_name, options)
    targets = None
    if options.crossbar:  # the core is instance "core" of the top: flat names carry that prefix
        targets = crossbar_targets({f"core/{name}": tag for name, tag in tags.items()}, layer_shapes(model))
    lib = pdk.library
    dff = lib.role("dff")
    P = latency + 1
    sb = max(1, (P - 1).bit_length())
    tb, n = spec.token_bits, spec.context

    mod = Module(top)
    b = ModuleBuilder(mod, lib)
    clk = mod.add_net("clk")
    rst = mod.add_net("rst")
    in_valid = mod.add_net("in_valid")
    in_token = [mod.add_net(f"in_token[{k}]") for k in range(tb)]

    # ring entry i: n tokens (oldest first) of tb bits, then the active bit; Q nets made up front
    width = n * tb + 1
    ring = [[mod.add_net(f"ring{i}[{k}]") for k in range(width)] for i in range(P)]

    def flop(name: str, d: int, q: int) -> None:
        mod.add_instance(name, dff.name, {"D": d, "CLK": clk, "Q": q})

    nrst = b.inv(rst)
    random_bits = _automaton(b, options.sampler, rst, nrst, flop) if options.sampler else []
    y = [mod.add_net(f"core_y[{k}]") for k in range(tb)]
    core_x = ring[0][:n * tb] + random_bits
    mod.add_instance("core", core_name, {"clk": clk} | {f"x[{k}]": net for k, net in enumerate(core_x)}
                     | {f"y[{k}]": y[k] for k in range(tb)})

    r1 = ring[1]
    new_tok = [b.gate("mux2", y[k], in_token[k], in_valid) for k in range(tb)]
    shifted = r1[tb:n * tb] + new_tok  # drop the oldest token, append the new one
    active = b.gate("or2", r1[n * tb], in_valid)
    for k, d in enumerate(shifted + [active]):
        flop(f"ring0_{k}", b.gate("and2", d, nrst), ring[0][k])
    for i in range(1, P):
        src = ring[(i + 1) % P]
        for k in range(width):
            flop(f"ring{i}_{k}", src[k], ring[i][k])

    # stream counter: the stream whose entry is in R[1]; wraps at P - 1, cleared by rst
    cnt = [mod.add_net(f"stream[{k}]") for k in range(sb)]
    inc, carry = [b.inv(cnt[0])], cnt[0]
    for k in range(1, sb):
        s, carry = b.ha(cnt[k], carry)
        inc.append(s)
    last = None  # cnt == P - 1
    for k in range(sb):
        bit = cnt[k] if ((P - 1) >> k) & 1 else b.inv(cnt[k])
        last = bit if last is None else b.gate("and2", last, bit)
    keep = b.gate("nor2", last, rst)
    for k in range(sb):
        flop(f"stream_{k}", b.gate("and2", inc[k], keep), cnt[k])

    # registered outputs: in the cycle after an update they show the token it took, its stream, and
    # whether it was generated (not a prompt token, not during reset, stream started)
    valid = b.gate("and2", r1[n * tb], b.gate("nor2", in_valid, rst))
    mod.add_port("clk", "input", [clk])
    mod.add_port("rst", "input", [rst])
    mod.add_port("in_valid", "input", [in_valid])
    mod.add_port("in_token", "input", in_token)
    mod.add_port("out_token", "output", [b.dff(n_, clk) for n_ in y])
    mod.add_port("out_stream", "output", [b.dff(n_, clk) for n_ in cnt])
    mod.add_port("out_valid", "output", [b.dff(valid, clk)])
    design = Design(top, lib)
    design.add_module(core)
    design.add_module(mod)
    design.validate()
    return Chip(design=design, spec=spec, core_latency=latency, streams=P, stream_bits=sb, core=core_name,
                sampler=options.sampler, place_targets=targets)


def _automaton(b: ModuleBuilder, sampler: Sampler, rst: int, nrst: int, flop) -> list[int]:
    """The rule-90/150 random source: one flip-flop per cell, loaded with the reset state by rst."""
    mod = b.module
    N = sampler.width
    q = [mod.add_net(f"rand[{i}]") for i in range(N)]
    rule, seed = sampler.rule150, sampler.reset_state
    for i in range(N):
        terms = [q[j] for j in (i - 1, i + 1) if 0 <= j < N] + ([q[i]] if rule[i] else [])
        nxt = terms[0]
        for t in terms[1:]:
            nxt = b.gate("xor2", nxt, t)
        d = b.gate("or2", nxt, rst) if seed[i] else b.gate("and2", nxt, nrst)
        flop(f"rand_{i}", d, q[i])
    return q
