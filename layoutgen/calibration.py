"""Programmable per-output offset registers for post-fabrication calibration, loaded by a scan chain.

Added after the pipelined network (build option --calibration): every output j becomes
y'_j = y_j + c_j (two's complement, one bit wider than the wider operand, so it never wraps), where
c_j is held in `offset_bits` flip-flops. All offset flip-flops form one scan chain: while scan_en is 1
each clock shifts it by one (scan_in enters at the far end, chain position 0 leaves on scan_out);
while scan_en is 0 every offset holds. Flip-flops start at 0, so an unloaded chip computes y' = y.
The adders are ripple-carry, cut into pipeline stages of at most `stage_depth` full-adder delays
(the carry and the later operand bits are registered), which adds `extra_latency` cycles.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import LayoutgenError
from .netlist.builder import ModuleBuilder
from .netlist.cells import CellLibrary
from .netlist.ir import Module, Port

SCAN_IN, SCAN_EN, SCAN_OUT = "scan_in", "scan_en", "scan_out"


@dataclass(frozen=True)
class OffsetRegisters:
    n_outputs: int
    input_width: int  # bits of each y element before the adders
    offset_bits: int
    output_width: int  # bits of each y element after them
    extra_latency: int
    chain_length: int  # n_outputs * offset_bits; chain position j * offset_bits + k is bit k of c_j


def offset_range(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def add_offset_registers(module: Module, library: CellLibrary, delays: dict[str, dict[str, float]], *,
                         n_outputs: int, output_width: int, offset_bits: int = 0,
                         stage_depth: float = 8.0) -> OffsetRegisters:
    """Rewire the pipelined `module` (ports clk, x, y) in place; offset_bits 0 means output_width."""
    names = {p.name for p in module.ports}
    if not {"clk", "x", "y"} <= names or names & {SCAN_IN, SCAN_EN, SCAN_OUT}:
        raise LayoutgenError(f"module {module.name}: offset registers need ports clk, x, y and no scan ports yet")
    y = module.port("y")
    if y.width != n_outputs * output_width:
        raise LayoutgenError(f"module {module.name}: y has {y.width} bits, not {n_outputs} x {output_width}")
    b = offset_bits or output_width
    if not 1 <= b <= 62:
        raise LayoutgenError(f"calibration offset bits {b} is outside 1..62")
    width = max(output_width, b) + 1
    fa_carry, fa_sum = delays["fa"]["COUT"], delays["fa"]["SUM"]
    per_stage = max(1, int(math.floor((stage_depth - fa_sum) / fa_carry)) + 1)
    stages = math.ceil(width / per_stage)

    serial = iter(range(1 << 62))
    builder = ModuleBuilder(module, library)

    def cell(role: str, **pins: int) -> dict[str, int]:
        return builder.cell(role, name=f"cal_{role}_{next(serial)}", **pins)

    clk = module.port("clk").nets[0]
    scan_in, scan_en = module.add_net(SCAN_IN), module.add_net(SCAN_EN)

    # scan chain: position i takes position i+1 when shifting (the last takes scan_in), else holds
    n_chain = n_outputs * b
    q = [module.add_net(f"cal_offset[{i}]") for i in range(n_chain)]
    for i in range(n_chain):
        nxt = q[i + 1] if i + 1 < n_chain else scan_in
        d = cell("mux2", A0=q[i], A1=nxt, S=scan_en)["X"]
        module.add_instance(f"cal_scan_{i}", library.role("dff").name, {"D": d, "CLK": clk, "Q": q[i]})

    delayed: dict[tuple[int, int], int] = {}

    def delay(net: int, k: int) -> int:
        """net registered k times (chains shared by every user)."""
        if k == 0:
            return net
        if (net, k) not in delayed:
            delayed[(net, k)] = cell("dff", D=delay(net, k - 1), CLK=clk)["Q"]
        return delayed[(net, k)]

    y_out: list[int] = []
    for j in range(n_outputs):
        ybits = list(y.nets[j * output_width:(j + 1) * output_width])
        cbits = q[j * b:(j + 1) * b]
        ybits += [ybits[-1]] * (width - output_width)  # sign extension
        cbits += [cbits[-1]] * (width - b)
        sums: list[int] = []
        carry = None
        for s in range(stages):
            if carry is not None:
                carry = delay(carry, 1)
            for k in range(s * per_stage, min(width, (s + 1) * per_stage)):
                a = delay(ybits[k], s)  # the offsets are static: no alignment registers
                if carry is None:
                    o = cell("ha", A=a, B=cbits[k])
                else:
                    o = cell("fa", A=a, B=cbits[k], CIN=carry)
                sums.append((s, o["SUM"]))
                carry = o["COUT"]
        y_out += [delay(net, stages - s) for s, net in sums]

    ports = [p for p in module.ports if p.name != "y"]
    module.ports[:] = ports
    module.add_port(SCAN_IN, "input", [scan_in])
    module.add_port(SCAN_EN, "input", [scan_en])
    module.add_port("y", "output", y_out)
    module.add_port(SCAN_OUT, "output", [q[0]])
    return OffsetRegisters(n_outputs, output_width, b, width, stages, n_chain)


def scan_sequence(offsets, bits: int) -> np.ndarray:
    """The scan_in bits, in shift order, that leave offset c_j in the chain (first bit ends at position 0)."""
    c = np.asarray(offsets, dtype=np.int64)
    lo, hi = offset_range(bits)
    if c.size and (c.min() < lo or c.max() > hi):
        raise LayoutgenError(f"offsets {c.min()}..{c.max()} do not fit {bits} signed bits ({lo}..{hi})")
    u = c & ((1 << bits) - 1)
    return ((u[:, None] >> np.arange(bits)) & 1).ravel().astype(np.uint8)


def stream_calibrated(sim, X: np.ndarray, offsets, *, input_bits: int, output_width: int, latency: int,
                      offset_bits: int, lanes: int = 256) -> np.ndarray:
    """Outputs (n, n_out) of a chip with offset registers: shift `offsets` in through scan_in
    (scan_en = 1, the same in every lane), then stream X with scan_en = 0, `lanes` vectors per clock.
    offsets None: no load, the registers keep their power-on 0."""
    from .sim.bits import bits_to_signed

    X = np.asarray(X, dtype=np.int64)
    seq = np.zeros(0, np.uint8) if offsets is None else scan_sequence(offsets, offset_bits)
    n_load, (n_vec, n_in) = seq.size, X.shape
    lanes = max(1, min(lanes, n_vec))
    cycles_in = -(-n_vec // lanes)
    read_from = n_load + max(latency - 1, 0)
    n_cycles = n_load + cycles_in + max(latency - 1, 0)
    xbits = np.zeros((cycles_in * lanes, n_in * input_bits), dtype=np.uint8)
    xbits[:n_vec] = ((X[:, :, None] >> np.arange(input_bits)) & 1).reshape(n_vec, -1)
    x = np.zeros((n_cycles, lanes, n_in * input_bits), dtype=np.uint8)
    x[n_load:n_load + cycles_in] = xbits.reshape(cycles_in, lanes, -1)
    scan_in = np.zeros((n_cycles, lanes, 1), dtype=np.uint8)
    scan_in[:n_load, :, 0] = seq[:, None]
    scan_en = np.zeros((n_cycles, lanes, 1), dtype=np.uint8)
    scan_en[:n_load] = 1
    out = sim.run({"x": x, SCAN_IN: scan_in, SCAN_EN: scan_en}, lanes, bits=True)
    y = out["y"][read_from:read_from + cycles_in].reshape(cycles_in * lanes, -1)[:n_vec]
    return bits_to_signed(y.reshape(n_vec, -1, output_width))


def calibration_report(regs: OffsetRegisters) -> dict:
    """The report.json entry of a build with offset registers."""
    return {"offset_bits": regs.offset_bits, "scan_chain_length": regs.chain_length,
            "output_width_before": regs.input_width, "extra_latency_cycles": regs.extra_latency,
            "ports": [SCAN_IN, SCAN_EN, SCAN_OUT]}


def stream_build(sim, X: np.ndarray, report: dict) -> np.ndarray:
    """Outputs of a built design for X: plain streaming, or with offsets 0 when it has offset registers."""
    from .sim import stream

    args = {"input_bits": int(report["input_bits"]), "output_width": int(report["output_width"]),
            "latency": int(report["latency_cycles"])}
    cal = report.get("calibration")
    if not cal:
        return stream(sim, X, **args)
    return stream_calibrated(sim, X, np.zeros(int(report["n_outputs"]), np.int64), offset_bits=int(cal["offset_bits"]), **args)


def update_report(report: dict, regs: OffsetRegisters) -> None:
    """A build report after add_offset_registers: wider outputs, longer latency, the chain described."""
    report["calibration"] = calibration_report(regs)
    report["output_width"] = regs.output_width
    report["latency_cycles"] = int(report["latency_cycles"]) + regs.extra_latency
    if report.get("fmax_mhz_ss"):
        report["latency_ns"] = round(report["latency_cycles"] * 1e3 / report["fmax_mhz_ss"], 2)
