"""Small reference designs for checking the simulator, the Verilog writer and iverilog.

They are built with ModuleBuilder like the real arithmetic, follow the top-level contract (ports
clk, x, y; element i of x at x[i*input_bits +: input_bits], y read as two's complement) and each
comes with its exact integer function so a test can compare against numpy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..netlist.builder import ModuleBuilder
from ..netlist.cells import CellLibrary
from ..netlist.ir import Design, Module


@dataclass
class DemoDesign:
    design: Design
    input_bits: int
    output_width: int
    latency: int
    n_inputs: int
    n_outputs: int
    reference: Callable[[np.ndarray], np.ndarray]  # (n_vectors, n_inputs) -> (n_vectors, n_outputs) signed


class _Pipe:
    """Builder helpers over one module: buses are lists of nets, LSB first."""

    def __init__(self, module: Module, lib: CellLibrary):
        self.b = ModuleBuilder(module, lib)
        self.clk = module.add_net("clk")

    def reg(self, bus: list[int]) -> list[int]:
        return [self.b.dff(n, self.clk) for n in bus]

    def const_bus(self, value: int, width: int) -> list[int]:
        return [self.b.const((value >> i) & 1) for i in range(width)]

    def extend(self, bus: list[int], width: int, signed: bool) -> list[int]:
        fill = bus[-1] if signed else self.b.const(0)
        return (bus + [fill] * width)[:width]

    def add(self, a: list[int], b: list[int], cin: int | None = None, style: str = "fa") -> list[int]:
        """a + b (+cin) modulo 2^len(a); style 'fa' uses fa/ha cells, 'maj' uses xor2 + maj3."""
        out, carry = [], cin
        for ai, bi in zip(a, b):
            if carry is None:
                s, carry = self.b.ha(ai, bi)
            elif style == "fa":
                s, carry = self.b.fa(ai, bi, carry)
            else:
                t = self.b.gate("xor2", ai, bi)
                s = self.b.gate("xor2", t, carry)
                carry = self.b.gate("maj3", ai, bi, carry)
            out.append(s)
        return out

    def negate_terms(self, bus: list[int]) -> list[int]:
        return [self.b.inv(n) for n in bus]


def ripple_adder(lib: CellLibrary, width: int, registered: bool = True) -> DemoDesign:
    """y = x0 + x1 for two unsigned width-bit inputs; optional input and output registers."""
    mod = Module("ripple_adder")
    p = _Pipe(mod, lib)
    x = [mod.add_net(f"x{i}") for i in range(2 * width)]
    a, b = x[:width], x[width:]
    if registered:
        a, b = p.reg(a), p.reg(b)
    zero = p.b.const(0)
    s = p.add(a + [zero], b + [zero])
    # width+1 unsigned bits read as two's complement need one more (zero) bit
    y = s + [zero]
    if registered:
        y = p.reg(y)
    mod.add_port("clk", "input", [p.clk])
    mod.add_port("x", "input", x)
    mod.add_port("y", "output", y)
    design = Design("ripple_adder", lib)
    design.add_module(mod)
    return DemoDesign(design, width, width + 2, 2 if registered else 0, 2, 1,
                      lambda X: X[:, :1].astype(np.int64) + X[:, 1:2])


def pipelined_dot(lib: CellLibrary, weights: np.ndarray, bias: np.ndarray, input_bits: int, output_width: int,
                  *, relu_clip_bits: int | None = None, name: str = "dot") -> DemoDesign:
    """y_j = sum_i W[j,i] x_i + b_j (mod 2^output_width), optionally clip(y, 0, 2^relu_clip_bits - 1).

    Every weight becomes shifted copies of x_i (one per set bit of |w|, negatives as inverted copies
    plus one), summed by a tree of ripple adders with a register layer after every tree level: a
    balanced pipeline taking one vector per clock. Uses fa, ha, xor2, maj3, inv, conb, dff, and for
    the clip nor2, nand2, and2, or2, mux2.
    """
    W = np.asarray(weights, dtype=np.int64)
    bias = np.asarray(bias, dtype=np.int64)
    n_out, n_in = W.shape
    ow = output_width
    mod = Module(name)
    p = _Pipe(mod, lib)
    x = [mod.add_net(f"x{i}") for i in range(n_in * input_bits)]
    xr = p.reg(x)  # edge 1 samples x
    xs = [xr[i * input_bits:(i + 1) * input_bits] for i in range(n_in)]
    ys: list[list[int]] = []
    depth = 0
    # (bus, carry-in) terms per output; all outputs are reduced level by level in lockstep
    terms_per_out = []
    for j in range(n_out):
        terms: list[tuple[list[int], int | None]] = []
        neg_count = 0
        for i in range(n_in):
            w = int(W[j, i])
            for bit in range(abs(w).bit_length()):
                if (abs(w) >> bit) & 1:
                    shifted = ([p.b.const(0)] * bit + p.extend(xs[i], ow, signed=False))[:ow]
                    if w < 0:
                        shifted = p.negate_terms(shifted)  # ~v; the +1 goes into the bias
                        neg_count += 1
                    terms.append((shifted, None))
        const = (int(bias[j]) + neg_count) % (1 << ow)
        terms.append((p.const_bus(const, ow), None))
        terms_per_out.append(terms)
    levels = max(int(np.ceil(np.log2(max(len(t), 1)))) for t in terms_per_out)
    for lv in range(levels):
        style = "maj" if lv % 2 else "fa"
        nxt_all = []
        for terms in terms_per_out:
            nxt = []
            for k in range(0, len(terms) - 1, 2):
                nxt.append(p.add(terms[k][0], terms[k + 1][0], style=style))
            if len(terms) % 2:
                nxt.append(terms[-1][0])
            nxt_all.append([(p.reg(bus), None) for bus in nxt])
        terms_per_out = nxt_all
        depth += 1
    for terms in terms_per_out:
        ys.append(terms[0][0])
    if relu_clip_bits is not None:
        ys = [p.reg(_relu_clip(p, bus, relu_clip_bits)) for bus in ys]
        depth += 1
    y = [n for bus in ys for n in bus]
    mod.add_port("clk", "input", [p.clk])
    mod.add_port("x", "input", x)
    mod.add_port("y", "output", y)
    design = Design(name, lib)
    design.add_module(mod)

    def reference(X: np.ndarray) -> np.ndarray:
        acc = X.astype(np.int64) @ W.T + bias
        acc = ((acc + (1 << (ow - 1))) % (1 << ow)) - (1 << (ow - 1))  # wrap to ow-bit two's complement
        if relu_clip_bits is not None:
            acc = np.clip(acc, 0, (1 << relu_clip_bits) - 1)
        return acc

    return DemoDesign(design, input_bits, ow, 1 + depth, n_in, n_out, reference)


def _relu_clip(p: _Pipe, bus: list[int], bits: int) -> list[int]:
    """clip(signed bus, 0, 2^bits - 1) with simple gates; result keeps the bus width."""
    b = p.b
    sign = bus[-1]
    # any bit at or above `bits` (excluding the sign) set -> overflow
    high = bus[bits:-1]
    over = b.const(0)
    for n in high:
        over = b.gate("or2", over, n)
    pos = b.inv(sign)
    not_over = b.gate("nor2", over, sign)  # non-negative and in range
    saturate = b.gate("and2", over, pos)  # non-negative and too large
    out = []
    for i in range(bits):
        keep = b.gate("and2", bus[i], not_over)
        # mux picks all-ones when saturating, else the kept value; nand2(not, not) == or
        v = b.cell("mux2", A0=keep, A1=b.const(1), S=saturate)["X"]
        out.append(b.gate("nand2", b.inv(v), b.inv(v)))
    return out + [b.const(0)] * (len(bus) - bits)


def _adder_module(lib: CellLibrary, name: str, width: int) -> Module:
    mod = Module(name)
    b = ModuleBuilder(mod, lib)
    a = [mod.add_net(f"a{i}") for i in range(width)]
    c = [mod.add_net(f"b{i}") for i in range(width)]
    s, carry = [], None
    for ai, ci in zip(a, c):
        if carry is None:
            o, carry = b.ha(ai, ci)
        else:
            o, carry = b.fa(ai, ci, carry)
        s.append(o)
    mod.add_port("a", "input", a)
    mod.add_port("b", "input", c)
    mod.add_port("s", "output", s + [carry])
    mod.add_port("a_thru", "output", a)  # feed-through: an input straight to an output
    return mod


def hierarchical_adder(lib: CellLibrary, width: int = 6) -> Design:
    """x = (p, q, r); y = (p + q) + r via two instances of one adder module, registered in a sub-module."""
    design = Design("hier_top", lib)
    design.add_module(_adder_module(lib, "adder", width))
    design.add_module(_adder_module(lib, "adder_wide", width + 1))
    reg = Module("regs")
    rb = ModuleBuilder(reg, lib)
    rclk = reg.add_net("clk")
    d = [reg.add_net(f"d{i}") for i in range(width + 2)]
    reg.add_port("clk", "input", [rclk])
    reg.add_port("d", "input", d)
    reg.add_port("q", "output", [rb.dff(n, rclk) for n in d])
    design.add_module(reg)
    top = Module("hier_top")
    tb = ModuleBuilder(top, lib)
    clk = top.add_net("clk")
    x = [top.add_net(f"x{i}") for i in range(3 * width)]
    p, q, r = x[:width], x[width:2 * width], x[2 * width:]
    s1 = [top.add_net() for _ in range(width + 1)]
    thru = [top.add_net() for _ in range(width)]
    pins = {f"a[{i}]": p[i] for i in range(width)} | {f"b[{i}]": q[i] for i in range(width)}
    pins |= {f"s[{i}]": s1[i] for i in range(width + 1)} | {f"a_thru[{i}]": thru[i] for i in range(width)}
    top.add_instance("add1", "adder", pins)
    zero = tb.const(0)
    s2 = [top.add_net() for _ in range(width + 2)]
    r_ext = r + [zero]
    pins = {f"a[{i}]": s1[i] for i in range(width + 1)} | {f"b[{i}]": r_ext[i] for i in range(width + 1)}
    pins |= {f"s[{i}]": s2[i] for i in range(width + 2)}  # a_thru left unconnected
    top.add_instance("add2", "adder_wide", pins)
    qs = [top.add_net() for _ in range(width + 2)]
    top.add_instance("out_regs", "regs", {"clk": clk} | {f"d[{i}]": s2[i] for i in range(width + 2)}
                     | {f"q[{i}]": qs[i] for i in range(width + 2)})
    # y = registered sum (width+2 bits, zero-extended by one) followed by the fed-through p
    top.add_port("clk", "input", [clk])
    top.add_port("x", "input", x)
    top.add_port("y", "output", qs + [zero] + thru)
    design.add_module(top)
    design.validate()
    return design
