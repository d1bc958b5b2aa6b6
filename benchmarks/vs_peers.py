"""Peer comparison: the same integer layer y = W x through layoutgen, Yosys+ABC and da4ml+Yosys+ABC.

For each seeded random layer (W signed integers, x unsigned `act` bits, y two's complement of the width
layoutgen chooses, no bias, no ReLU, no shift) this builds

  ours   layoutgen.arith (CSD, shared subexpressions, compressor trees); the layer is pipelined with a
         stage depth so large that only the input and output registers remain, and the area compared
         is the combinational cell area (all cells but the flip-flops), as benchmarks/arith.py counts it;
  yosys  behavioural Verilog with constant weights (assign y_i = sum_j W_ij * x_j, same widths),
         `synth -flatten` then ABC's area mapper (the strongest Yosys flow measured here, DESIGN.md §3)
         onto the sky130_fd_sc_hd combinational cells of benchmarks/data/sky130_fd_sc_hd_comb.lib;
  da4ml  da4ml's constant matrix-vector solver (PyPI `da4ml`, `pip install .[bench]`), its combinational
         Verilog synthesized by the same Yosys script.

Every netlist is simulated with iverilog on random vectors (plus all-zero and all-maximum inputs)
against the numpy product W x; a mismatch is an error. Ours runs with the PDK's functional cell models
(layoutgen.sim.iverilog); the peers' mapped netlists with unit-delay models written from the liberty
functions (the PDK's zero-delay models are far too slow on their deep XOR logic; the CI test checks
both kinds of model agree on a small netlist).
Areas are cell areas (LEF SIZE = liberty area) of the combinational logic; times are wall seconds to
get the netlist (ours: arithmetic; yosys: synthesis; da4ml: solve + synthesis).

    python benchmarks/vs_peers.py                 # the default cases (several minutes: Yosys is slow)
    python benchmarks/vs_peers.py --case 8x8:w4:a4 --case 32x64:w4:a8 --no-da4ml
    python benchmarks/vs_peers.py --write-liberty DIR_OF_LIB_JSON   # regenerate the liberty

A case is ROWSxCOLS:WEIGHTS:aBITS: W is ROWS outputs x COLS inputs, weights drawn uniformly from
wB: -(2^(B-1)-1)..2^(B-1)-1 (w4 is -7..7 as in DESIGN.md), ternary: -1..1, or LO..HI (e.g. -2..1).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LIBERTY = HERE / "data" / "sky130_fd_sc_hd_comb.lib"
CELL_PREFIX = "sky130_fd_sc_hd__"
# ABC's area flow (DESIGN.md section 3): fraig capped at 1000 conflicts, which otherwise can hang
ABC_SCRIPT = "+strash;&get,-n;&fraig,-x,-C,1000;&put;scorr;dc2;strash;dch,-f;amap;topo"
# the layers of DESIGN.md section 3 (64x64 "2-bit" = two's complement -2..1, as benchmarks/arith.py)
DEFAULT_CASES = ["16x16:w4:a8", "32x64:w4:a8", "64x64:ternary:a8", "64x64:-2..1:a4"]
# liberty cells ABC may use: single-output combinational cells at drive 1 (larger drives only add area)
_SKIP_CELLS = ("clkbuf", "clkinv", "dlygate", "conb", "fa_", "ha_", "dfxtp", "dfrtp")


class PeerError(RuntimeError):
    """A peer flow failed or produced a netlist that differs from W x."""


# ---------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    rows: int
    cols: int
    weights: str  # "w4", "ternary", ...
    act_bits: int
    seed: int = 0

    @property
    def name(self) -> str:
        return f"{self.rows}x{self.cols} {self.weights} a{self.act_bits}"

    def weight_range(self) -> tuple[int, int]:
        if self.weights == "ternary":
            return -1, 1
        if ".." in self.weights:
            lo, hi = self.weights.split("..")
            return int(lo), int(hi)
        top = (1 << (int(self.weights[1:]) - 1)) - 1
        return -top, top

    def matrix(self) -> np.ndarray:
        lo, hi = self.weight_range()
        return np.random.default_rng(self.seed).integers(lo, hi + 1, (self.rows, self.cols), dtype=np.int64)


def parse_case(text: str, seed: int = 0) -> Case:
    m = re.fullmatch(r"(\d+)x(\d+):(ternary|w\d+|-?\d+\.\.-?\d+):a(\d+)", text.strip())
    if not m:
        raise SystemExit(f"vs_peers: case '{text}' is not ROWSxCOLS:wBITS|ternary|LO..HI:aBITS (e.g. 32x64:w4:a8)")
    rows, cols, w, a = int(m[1]), int(m[2]), m[3], int(m[4])
    if w.startswith("w") and not 2 <= int(w[1:]) <= 16:
        raise SystemExit(f"vs_peers: case '{text}': weight bits must be 2..16")
    if ".." in w and not -(1 << 15) <= int(w.split("..")[0]) < int(w.split("..")[1]) < (1 << 15):
        raise SystemExit(f"vs_peers: case '{text}': the weight range LO..HI needs LO < HI within 16 bits")
    if not (1 <= rows and 1 <= cols and 1 <= a <= 16):
        raise SystemExit(f"vs_peers: case '{text}': sizes must be positive and activation bits 1..16")
    return Case(rows, cols, w, a, seed)


# ---------------------------------------------------------------- liberty


def derive_liberty(lib_json_dir: Path, corner: str = "tt_025C_1v80") -> str:
    """A minimal liberty (cell areas, pin directions, output functions) from per-cell liberty JSON.

    lib_json_dir holds sky130_fd_sc_hd__<cell>__<corner>.lib.json files as in the public
    google/skywater-pdk-libs-sky130_fd_sc_hd library. Timing is left out: ABC's area mapper needs
    only areas and functions.
    """
    cells = []
    for path in sorted(Path(lib_json_dir).glob(f"{CELL_PREFIX}*__{corner}.lib.json")):
        cell = path.name[: -len(f"__{corner}.lib.json")]
        short = cell[len(CELL_PREFIX):]
        if not short.endswith("_1") or short.startswith(_SKIP_CELLS):
            continue
        data = json.loads(path.read_text())
        pins = {k.split(",", 1)[1]: v for k, v in data.items() if k.startswith("pin,")}
        outs = [p for p, v in pins.items() if v.get("direction") == "output"]
        if len(outs) != 1 or "function" not in pins[outs[0]]:
            continue
        lines = [f"  cell ({cell}) {{", f"    area : {float(data['area']):g};"]
        for p in sorted(pins):
            if pins[p].get("direction") == "input":
                lines.append(f"    pin ({p}) {{ direction : input; }}")
        lines.append(f"    pin ({outs[0]}) {{ direction : output; function : \"{pins[outs[0]]['function']}\"; }}")
        lines.append("  }")
        cells.append("\n".join(lines))
    if not cells:
        raise PeerError(f"no {CELL_PREFIX}*__{corner}.lib.json cells in {lib_json_dir}")
    header = (
        "/* Combinational sky130_fd_sc_hd cells (drive 1): areas and functions only, for ABC's area mapper.\n"
        "   Derived by benchmarks/vs_peers.py --write-liberty from the public sky130_fd_sc_hd liberty\n"
        f"   ({corner}) of google/skywater-pdk-libs-sky130_fd_sc_hd (SkyWater, Apache-2.0). */\n"
    )
    return header + "library (sky130_fd_sc_hd_comb) {\n  delay_model : table_lookup;\n" + "\n".join(cells) + "\n}\n"


# ---------------------------------------------------------------- Verilog of the peers


def behavioural_verilog(W: np.ndarray, act_bits: int, out_width: int, top: str = "layer") -> str:
    """y_i = sum_j W_ij x_j with constant weights, computed modulo 2^out_width (exact: y fits)."""
    rows, cols = W.shape
    lines = [f"module {top} (input [{cols * act_bits - 1}:0] x, output [{rows * out_width - 1}:0] y);"]
    for j in range(cols):
        lines.append(f"  wire [{out_width - 1}:0] x{j} = x[{(j + 1) * act_bits - 1}:{j * act_bits}];")
    for i in range(rows):
        terms = []
        for j in np.nonzero(W[i])[0]:
            w = int(W[i, j])
            terms.append(f"{'-' if w < 0 else '+'} {out_width}'d{abs(w)} * x{j}")
        expr = " ".join(terms).lstrip("+ ") if terms else f"{out_width}'d0"
        if expr.startswith("-"):
            expr = f"{out_width}'d0 " + expr
        lines.append(f"  assign y[{(i + 1) * out_width - 1}:{i * out_width}] = {expr};")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def da4ml_verilog(W: np.ndarray, act_bits: int, out_width: int, top: str = "layer") -> tuple[str, list[Path], dict]:
    """da4ml's combinational CMVM module for y = W x plus a wrapper `top` with our port layout.

    Returns the Verilog, da4ml's own Verilog library files it instantiates, and solver figures.
    """
    try:
        import da4ml
        from da4ml.codegen.rtl.verilog import comb_logic_gen
        from da4ml.trace import FixedVariableArrayInput, comb_trace
        from da4ml.trace.ops import quantize
        from da4ml.types import minimal_kif
    except ImportError as exc:
        raise PeerError(f"da4ml is not installed ({exc}); pip install '.[bench]'") from None
    rows, cols = W.shape
    t = time.perf_counter()
    inp = FixedVariableArrayInput((cols,))
    x = quantize(inp, 0, act_bits, 0)  # unsigned, act_bits integer bits, no fraction
    comb = comb_trace(inp, W.astype(np.float32) @ x)
    solve_s = time.perf_counter() - t
    body = comb_logic_gen(comb, f"{top}_cmvm")
    in_w = [sum(minimal_kif(q)) for q in comb.inp_qint]
    if in_w != [act_bits] * cols:
        raise PeerError(f"da4ml input widths {in_w} differ from {act_bits} bits each")
    kifs = [minimal_kif(q) for q in comb.out_qint]
    total = sum(sum(k) for k in kifs)
    wrap = [f"module {top} (input [{cols * act_bits - 1}:0] x, output [{rows * out_width - 1}:0] y);",
            f"  wire [{max(total, 1) - 1}:0] o;", f"  {top}_cmvm core (.model_inp(x), .model_out(o));"]
    lo = 0
    for i, (k, ib, fb) in enumerate(kifs):
        width = int(k) + int(ib) + int(fb)
        dst = f"y[{(i + 1) * out_width - 1}:{i * out_width}]"
        if width == 0 or comb.out_idxs[i] < 0:
            wrap.append(f"  assign {dst} = {out_width}'d0;")
            continue
        if fb > 0:
            raise PeerError("da4ml produced fractional output bits for an integer product")
        src = f"o[{lo + width - 1}:{lo}]"
        ext = f"{{{{{out_width}{{o[{lo + width - 1}]}}}}, {src}}}" if k else f"{{{out_width}'d0, {src}}}"
        # low bits that are always zero (every weight of the row even) were dropped: shift back
        wrap.append(f"  wire [{2 * out_width - 1}:0] e{i} = {ext};")
        wrap.append(f"  assign {dst} = e{i}[{out_width - 1}:0] << {-int(fb)};")
        lo += width
    wrap.append("endmodule")
    src_dir = Path(da4ml.__file__).parent / "codegen" / "rtl" / "verilog" / "source"
    # only the modules the body instantiates (lookup_table.v reads a memory file at elaboration)
    library = [p for p in sorted(src_dir.glob("*.v")) if re.search(rf"\b{p.stem}\s*#?\s*\(", body)]
    info = {"solve_s": solve_s, "adders": int(sum(1 for op in comb.ops if op.opcode in (0, 1))),
            "depth": float(max(comb.latency)), "version": getattr(da4ml, "__version__", "?")}
    return body + "\n" + "\n".join(wrap) + "\n", library, info


# ---------------------------------------------------------------- Yosys + ABC


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PeerError(f"{name} not found on PATH (Debian/Ubuntu: apt-get install {name})")
    return path


@dataclass
class Synthesized:
    area_um2: float
    seconds: float
    cells: dict[str, int]
    netlist: str


def synthesize(verilog: str, top: str, liberty: Path, extra_files: list[Path] = (), timeout: float = 1800) -> Synthesized:
    """Yosys `synth -flatten` + ABC area mapping onto the liberty; the mapped netlist and its area."""
    yosys = tool("yosys")
    with tempfile.TemporaryDirectory(prefix="vs-peers-") as tmp:
        work = Path(tmp)
        (work / "in.v").write_text(verilog)
        reads = "".join(f"read_verilog -sv {p}\n" for p in extra_files)
        script = (
            f"{reads}read_verilog -sv in.v\n"
            f"synth -flatten -top {top}\n"
            f"abc -liberty {liberty} -script {ABC_SCRIPT}\n"
            "opt_clean -purge\n"
            f"stat -liberty {liberty}\n"
            "write_verilog -noattr -noexpr out.v\n"
        )
        (work / "run.ys").write_text(script)
        t = time.perf_counter()
        try:
            proc = subprocess.run([yosys, "-q", "-l", "log.txt", "-s", "run.ys"], cwd=work, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PeerError(f"yosys did not finish within {timeout:.0f} s") from None
        seconds = time.perf_counter() - t
        log = (work / "log.txt").read_text() if (work / "log.txt").is_file() else ""
        if proc.returncode != 0 or not (work / "out.v").is_file():
            err = (proc.stderr or proc.stdout or log).strip().splitlines()
            raise PeerError(f"yosys failed: {err[-1] if err else '(no message)'}")
        m = re.findall(r"Chip area for (?:top )?module '\\?" + re.escape(top) + r"':\s*([0-9.]+)", log)
        if not m:
            raise PeerError("yosys stat printed no chip area")
        final = log[log.rfind("Number of cells:"):]  # the last `stat`, after mapping
        cells = {c: int(n) for c, n in re.findall(r"^\s+(" + CELL_PREFIX + r"\w+)\s+(\d+)\s*$", final, re.M)}
        unmapped = re.findall(r"^\s+(\$_?\w+)\s+\d+\s*$", final, re.M)
        if unmapped:
            raise PeerError(f"yosys left unmapped cells {sorted(set(unmapped))}")
        return Synthesized(float(m[-1]), seconds, cells, (work / "out.v").read_text())


# ---------------------------------------------------------------- equivalence (iverilog)


def _hex(values: np.ndarray, bits: int) -> list[str]:
    digits = max(1, (values.shape[1] * bits + 3) // 4)
    out = []
    for row in values:
        v = 0
        for i, e in enumerate(row):
            v |= (int(e) & ((1 << bits) - 1)) << (i * bits)
        out.append(f"{v:0{digits}x}")
    return out


SETTLE = 5000  # time units (one per gate) a vector is given to settle: more than any netlist's depth here


def liberty_models(liberty: Path) -> str:
    """Verilog models of the liberty's cells, one `assign #1` each from the cell's liberty function.

    Unit delays order the events by logic level: the PDK's zero-delay functional models re-evaluate
    reconvergent XOR trees so often that thousands of cells take minutes per vector in iverilog.
    """
    text = liberty.read_text()
    out = ["`timescale 1ns / 1ps"]
    for name, body in re.findall(r"cell \((\w+)\) \{(.*?)\n  \}", text, re.S):
        ins = re.findall(r"pin \((\w+)\) \{ direction : input;", body)
        pin, func = re.findall(r'pin \((\w+)\) \{ direction : output; function : "([^"]+)"', body)[0]
        expr = func.replace("!", "~").replace("+", "|").replace("*", "&")
        ports = ", ".join([*(f"input {p}" for p in ins), f"output {pin}"])
        out.append(f"module {name} ({ports});\n  assign #1 {pin} = {expr};\nendmodule")
    return "\n".join(out) + "\n"


_INSTANCE = re.compile(r"^\s*(" + CELL_PREFIX + r"\w+)\s+(\S+)\s*\((.*?)\);", re.S | re.M)
_PIN = re.compile(r"\.(\w+)\(([^()]*)\)")


def levelized(netlist: str, outputs: dict[str, str]) -> tuple[str, int]:
    """The netlist with delay wires that make every cell's inputs change at the same time.

    With unit-delay cells a cell of logic level L then sees all its inputs change at L-1 and its output
    changes once, at L: no glitch cascades, so the event count per vector is about the cell count.
    Values are unaffected (only the time they settle). Returns the text and the deepest level.
    outputs: cell name -> its output pin.
    """
    insts = []
    for m in _INSTANCE.finditer(netlist):
        pins = dict((p, n.strip()) for p, n in _PIN.findall(m[3]))
        out = outputs[m[1]]
        insts.append((m.start(), m.end(), m[1], m[2], pins, out))
    driver = {pins[out]: i for i, (*_, pins, out) in enumerate(insts)}
    level = [0] * len(insts)
    state = [0] * len(insts)  # 0 new, 1 on the stack, 2 done

    def net_level(net: str) -> int:
        return level[driver[net]] if net in driver else 0

    for root in range(len(insts)):  # iterative depth-first levelling
        if state[root]:
            continue
        stack = [root]
        while stack:
            i = stack[-1]
            pins, out = insts[i][4], insts[i][5]
            if state[i] == 0:
                state[i] = 1
                for p, n in pins.items():
                    j = driver.get(n)
                    if p != out and j is not None and state[j] == 0:
                        stack.append(j)
                    elif p != out and j is not None and state[j] == 1:
                        raise PeerError(f"combinational loop through {insts[j][3]}")
                continue
            stack.pop()
            if state[i] == 1:
                state[i] = 2
                level[i] = 1 + max((net_level(n) for p, n in pins.items() if p != out), default=0)
    delayed: dict[tuple[str, int], str] = {}
    pieces, pos = [], 0
    for i, (a, b, cell, name, pins, out) in enumerate(insts):
        conns = []
        for p, n in pins.items():
            k = level[i] - 1 - net_level(n) if p != out else 0
            if k > 0:
                n = delayed.setdefault((n, k), f"_dly{len(delayed)}_")
            conns.append(f".{p}({n})")
        pieces += [netlist[pos:a], f"  {cell} {name} ({', '.join(conns)});"]
        pos = b
    pieces.append(netlist[pos:])
    text = "".join(pieces)
    wires = "".join(f"  wire {w};\n  assign #{k} {w} = {n};\n" for (n, k), w in delayed.items())
    cut = text.rfind("endmodule")
    return text[:cut] + wires + text[cut:], max(level, default=0)


def liberty_outputs(liberty: Path) -> dict[str, str]:
    text = liberty.read_text()
    return {name: re.findall(r"pin \((\w+)\) \{ direction : output;", body)[0]
            for name, body in re.findall(r"cell \((\w+)\) \{(.*?)\n  \}", text, re.S)}


def simulate_comb(netlist: str, top: str, X: np.ndarray, act_bits: int, n_out: int, out_width: int,
                  models, settle: int = SETTLE) -> np.ndarray:
    """Apply each row of X to the combinational netlist in iverilog; y as signed ints (n, n_out).

    models: the cell models, as Verilog text (liberty_models) or a list of the PDK's functional model files.
    """
    iverilog, vvp = tool("iverilog"), tool("vvp")
    xw, yw = X.shape[1] * act_bits, n_out * out_width
    tb = f"""`timescale 1ns / 1ps
module tb;
  reg [{xw - 1}:0] x; wire [{yw - 1}:0] y;
  reg [{xw - 1}:0] v [0:{len(X) - 1}];
  integer t, f;
  {top} dut (.x(x), .y(y));
  initial begin
    $readmemh("x.hex", v); f = $fopen("y.hex", "w");
    for (t = 0; t < {len(X)}; t = t + 1) begin x = v[t]; #{settle}; $fwrite(f, "%h\\n", y); end
    $fclose(f); $finish;
  end
endmodule
"""
    with tempfile.TemporaryDirectory(prefix="vs-peers-sim-") as tmp:
        work = Path(tmp)
        (work / "dut.v").write_text("`timescale 1ns / 1ps\n" + netlist)
        if isinstance(models, str):
            (work / "cells.v").write_text(models)
            model_args = ["cells.v"]
        else:
            model_args = ["-grelative-include", "-DFUNCTIONAL", *map(str, models)]
        (work / "tb.v").write_text(tb)
        (work / "x.hex").write_text("\n".join(_hex(X, act_bits)) + "\n")
        proc = subprocess.run([iverilog, "-g2005", "-o", "sim.vvp", "-s", "tb", "tb.v", "dut.v", *model_args],
                              cwd=work, capture_output=True, text=True)
        if proc.returncode != 0:
            raise PeerError(f"iverilog could not compile the netlist: {(proc.stderr or proc.stdout).strip()[:300]}")
        proc = subprocess.run([vvp, "-n", "sim.vvp"], cwd=work, capture_output=True, text=True)
        lines = (work / "y.hex").read_text().split() if (work / "y.hex").is_file() else []
    if len(lines) != len(X):
        raise PeerError(f"vvp returned {len(lines)} outputs for {len(X)} vectors")
    Y = np.zeros((len(X), n_out), dtype=np.int64)
    for k, line in enumerate(lines):
        if not re.fullmatch(r"[0-9a-fA-F]+", line):
            raise PeerError(f"netlist output for vector {k} has unknown bits: {line}")
        v = int(line, 16)
        for i in range(n_out):
            e = (v >> (i * out_width)) & ((1 << out_width) - 1)
            Y[k, i] = e - (1 << out_width) if e >> (out_width - 1) else e
    return Y


def random_vectors(n_in: int, act_bits: int, n: int, seed: int) -> np.ndarray:
    top = (1 << act_bits) - 1
    rng = np.random.default_rng(seed + 1)
    return np.concatenate([np.zeros((1, n_in), np.int64), np.full((1, n_in), top, np.int64),
                           rng.integers(0, top + 1, (n, n_in), dtype=np.int64)])


def netlist_models(netlist: str, views) -> list[Path]:
    cells = sorted(set(re.findall(r"\b(" + CELL_PREFIX + r"\w+)\s", netlist)))
    return list(views.verilog_models(cells))


# ---------------------------------------------------------------- ours


@dataclass
class Ours:
    comb_area_um2: float
    seconds: float
    out_width: int
    design: object
    latency: int
    adders: int


def build_ours(W: np.ndarray, act_bits: int, pdk) -> Ours:
    """Our layer: arithmetic timed alone, then registers only at the ports (stage depth 1e9)."""
    from layoutgen.arith.context import load_logic_delays
    from layoutgen.arith.network import build_network
    from layoutgen.model import IntLayer, IntModel
    from layoutgen.netlist.ir import Design
    from layoutgen.pipeline import insert_registers

    model = IntModel(act_bits, [IntLayer(W.astype(np.int64), np.zeros(W.shape[0], np.int64), 0, False, 0)])
    model.validate("vs_peers layer")
    t = time.perf_counter()
    net = build_network(model, pdk, "ours")
    seconds = time.perf_counter() - t
    pipe = insert_registers(net.module, pdk.library, load_logic_delays(pdk.data_dir), net.x_nets, net.y_bits, 1e9)
    design = Design("ours", pdk.library, {"ours": net.module})
    design.validate()
    dff = pdk.library.role("dff")
    comb = design.cell_area_um2() - dff.area_um2 * design.cell_counts().get(dff.name, 0)
    return Ours(comb, seconds, net.output_width, design, pipe.latency_cycles, sum(g.n_adders for g in net.graphs))


# ---------------------------------------------------------------- one case


@dataclass
class CaseResult:
    case: Case
    weights: int
    ours_area: float
    ours_s: float
    out_width: int
    vectors: int
    peers: dict = field(default_factory=dict)  # name -> {"area", "seconds", ...} or {"error": text}

    def as_dict(self) -> dict:
        return {"case": self.case.name, "weights": self.weights, "out_width": self.out_width,
                "vectors": self.vectors, "ours": {"comb_area_um2": round(self.ours_area, 2),
                                                  "seconds": round(self.ours_s, 3)},
                "peers": self.peers}


def run_case(case: Case, pdk, views, *, vectors: int = 200, use_da4ml: bool = True, liberty: Path = LIBERTY,
             log=print) -> CaseResult:
    from layoutgen.sim.iverilog import run_iverilog

    W = case.matrix()
    X = random_vectors(case.cols, case.act_bits, vectors, case.seed)
    golden = X @ W.T
    ours = build_ours(W, case.act_bits, pdk)
    got = run_iverilog(ours.design, X, input_bits=case.act_bits, output_width=ours.out_width,
                       latency=ours.latency, views=views)
    if not np.array_equal(np.asarray(got, dtype=np.int64), golden):
        raise PeerError(f"{case.name}: our netlist differs from W x in iverilog")
    res = CaseResult(case, int(W.size), ours.comb_area_um2, ours.seconds, ours.out_width, len(X))
    log(f"  ours : {ours.comb_area_um2:10.0f} um2 in {ours.seconds:.2f} s, iverilog-equal on {len(X)} vectors")

    models, outputs = liberty_models(liberty), liberty_outputs(liberty)
    flows = [("yosys", lambda: (behavioural_verilog(W, case.act_bits, ours.out_width), [], {}))]
    if use_da4ml:
        flows.append(("da4ml", lambda: da4ml_verilog(W, case.act_bits, ours.out_width)))
    for name, make in flows:
        try:
            verilog, extra, info = make()
            syn = synthesize(verilog, "layer", liberty, extra)
            net, depth = levelized(syn.netlist, outputs)
            Y = simulate_comb(net, "layer", X, case.act_bits, case.rows, ours.out_width, models, depth + 10)
            if not np.array_equal(Y, golden):
                bad = int(np.count_nonzero((Y != golden).any(axis=1)))
                raise PeerError(f"{name} netlist differs from W x on {bad} of {len(X)} vectors")
            seconds = syn.seconds + info.get("solve_s", 0.0)
            res.peers[name] = {"area_um2": round(syn.area_um2, 2), "seconds": round(seconds, 3),
                               "synth_seconds": round(syn.seconds, 3), "iverilog_equal": True,
                               **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in info.items()}}
            log(f"  {name:5}: {syn.area_um2:10.0f} um2 in {seconds:.2f} s, iverilog-equal on {len(X)} vectors")
        except PeerError as exc:
            if name == "yosys":
                raise
            res.peers[name] = {"error": str(exc)}
            log(f"  {name:5}: FAILED: {exc}")
    return res


def table(results: list[CaseResult]) -> str:
    """Area per weight and ratios ours/peer (below 1: ours is smaller); times and peer/ours speed-ups."""
    hdr = (f"{'case':22} {'weights':>7} | {'ours um2/w':>10} {'yosys':>7} {'da4ml':>7} | {'ours/yosys':>10} "
           f"{'ours/da4ml':>10} | {'ours s':>7} {'yosys s':>8} {'da4ml s':>8} | {'yosys/ours':>10} {'da4ml/ours':>10}")
    out = [hdr, "-" * len(hdr)]
    for r in results:
        n = r.weights
        y, d = r.peers.get("yosys", {}), r.peers.get("da4ml", {})

        def per_w(p):
            return f"{p['area_um2'] / n:7.1f}" if "area_um2" in p else f"{'-':>7}"

        def area_ratio(p):
            return f"{r.ours_area / p['area_um2']:10.2f}" if "area_um2" in p else f"{'-':>10}"

        def secs(p):
            return f"{p['seconds']:8.2f}" if "seconds" in p else f"{'-':>8}"

        def speedup(p):
            return f"{p['seconds'] / max(r.ours_s, 1e-9):9.0f}x" if "seconds" in p else f"{'-':>10}"

        out.append(
            f"{r.case.name:22} {n:7d} | {r.ours_area / n:10.1f} {per_w(y)} {per_w(d)} | {area_ratio(y)} "
            f"{area_ratio(d)} | {r.ours_s:7.2f} {secs(y)} {secs(d)} | {speedup(y)} {speedup(d)}"
        )
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", action="append", help="ROWSxCOLS:wBITS|ternary:aBITS (repeatable)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vectors", type=int, default=200, help="random vectors per equivalence check")
    ap.add_argument("--no-da4ml", action="store_true", help="leave the da4ml flow out")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    ap.add_argument("--write-liberty", type=Path, metavar="LIB_JSON_DIR",
                    help=f"regenerate {LIBERTY.relative_to(HERE.parent)} from a directory of liberty JSON and exit")
    args = ap.parse_args(argv)
    if args.write_liberty:
        LIBERTY.parent.mkdir(parents=True, exist_ok=True)
        LIBERTY.write_text(derive_liberty(args.write_liberty))
        print(f"wrote {LIBERTY}")
        return 0
    from layoutgen.pdk import load_pdk
    from layoutgen.pdk.views import locate_cell_views

    import os

    pdk = load_pdk("sky130")
    views = locate_cell_views(pdk.library.name, os.environ.get("PDK_ROOT") or None)
    cases = [parse_case(c, args.seed) for c in (args.case or DEFAULT_CASES)]
    results = []
    for case in cases:
        print(f"{case.name}:", flush=True)
        results.append(run_case(case, pdk, views, vectors=args.vectors, use_da4ml=not args.no_da4ml))
    print()
    print("Combinational cell area (sky130_fd_sc_hd, um2 per weight; area ratios ours / peer) and seconds to the "
          "netlist (ours: arithmetic; yosys: synthesis; da4ml: solve + synthesis; speed-up = peer / ours)")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([r.as_dict() for r in results], indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except PeerError as exc:
        print(f"vs_peers: error: {exc}", file=sys.stderr)
        sys.exit(2)
