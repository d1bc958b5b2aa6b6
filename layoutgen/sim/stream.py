"""Stream input vectors through a pipelined design, one vector per clock per lane.

Timing contract (issue 2): the rising edge that samples x = v is edge 1; y = f(v) holds from just
after edge `latency` until just after the next edge. The simulator reports outputs just after each
edge with that cycle's input still applied, so the result for the vector applied in cycle k is read
in cycle k + latency - 1 (latency 0, a purely combinational design, reads cycle k).
"""
from __future__ import annotations

import math

import numpy as np

from ..netlist.ir import Design
from .bits import bits_to_signed, n_words, pack_lanes, unpack_lanes
from .errors import SimulationError
from .simulator import CHUNK_WORDS, Simulator

MAX_VECTORS_PER_RUN = 1 << 16
# Per-cycle cost model used to pick the lane count: a fixed Python/numpy overhead per evaluation chunk
# plus work proportional to cells x words (seconds; fitted to benchmarks/sim.py runs on a 2-core VM).
STEP_OVERHEAD_S = 1e-5
CELL_WORD_S = 8e-9


def choose_words(n_vectors: int, latency: int, n_steps: int, n_cells: int) -> int:
    """Lane words (64 lanes each) minimizing (vectors/lanes + latency) x per-cycle cost."""
    best, best_cost = 1, math.inf
    max_words = max(1, n_words(n_vectors))
    w = 1
    while w <= max_words:
        cycles = math.ceil(n_vectors / (64 * w)) + max(latency - 1, 0)
        chunks = n_steps + n_cells * w / CHUNK_WORDS
        cost = cycles * (chunks * STEP_OVERHEAD_S + n_cells * w * CELL_WORD_S)
        if cost < best_cost:
            best, best_cost = w, cost
        w *= 2
    return best


def _vector_bits(X: np.ndarray, input_bits: int) -> np.ndarray:
    """(n, n_in) unsigned values -> (n, n_in * input_bits) bits, element i at [i*input_bits, (i+1)*input_bits)."""
    nbytes = next(n for n in (1, 2, 4, 8) if 8 * n >= input_bits)
    as_bytes = np.ascontiguousarray(X.astype(f"<u{nbytes}")).view(np.uint8).reshape(X.shape[0], X.shape[1], nbytes)
    bits = np.unpackbits(as_bytes, axis=-1, bitorder="little")[:, :, :input_bits]
    return np.ascontiguousarray(bits).reshape(X.shape[0], X.shape[1] * input_bits)


def stream(
    design: Design | Simulator,
    X: np.ndarray,
    *,
    input_bits: int,
    output_width: int,
    latency: int,
    lanes: int | None = None,
) -> np.ndarray:
    """Outputs y (n_vectors, n_out) as two's complement integers for the input vectors X (n_vectors, n_in).

    Element i of a vector drives x[i*input_bits +: input_bits]; element j of the result is
    y[j*output_width +: output_width]. `design` may be an already compiled Simulator. `lanes`
    (rounded up to a multiple of 64) sets how many independent streams run side by side; by default
    it is chosen from the design size, the vector count and the latency.
    """
    sim = design if isinstance(design, Simulator) else Simulator(design)
    top = sim.design.top
    X = np.asarray(X)
    if X.ndim != 2:
        raise SimulationError(f"input vectors must be a 2-D array (n_vectors, n_inputs), got shape {X.shape}")
    if X.dtype.kind not in "iu":
        raise SimulationError(f"input vectors must be integers, not {X.dtype}")
    if input_bits < 1 or output_width < 1 or latency < 0:
        raise SimulationError(f"need input_bits >= 1, output_width >= 1, latency >= 0 (got {input_bits}, {output_width}, {latency})")
    if set(sim.inputs) != {"x"} or "y" not in sim.outputs:
        raise SimulationError(f"{top} must have ports clk, x and y to be streamed (inputs {sorted(sim.inputs)}, outputs {sorted(sim.outputs)})")
    x_width, y_width = sim.inputs["x"], sim.outputs["y"]
    n_vec, n_in = X.shape
    if n_in * input_bits != x_width:
        raise SimulationError(f"{n_in} inputs x {input_bits} bits = {n_in * input_bits} bits, but {top}.x has {x_width}")
    if y_width % output_width:
        raise SimulationError(f"{top}.y has {y_width} bits, not a multiple of output_width {output_width}")
    if input_bits > 64:
        raise SimulationError(f"input_bits {input_bits} > 64 is not supported by stream(); use Simulator.run with bit arrays")
    if X.size and (X.min() < 0 or int(X.max()) >> input_bits):
        bad = X.min() if X.min() < 0 else X.max()
        raise SimulationError(f"input value {bad} is not an unsigned {input_bits}-bit integer")
    n_out = y_width // output_width
    if n_vec == 0:
        return np.zeros((0, n_out), dtype=np.int64)

    n_steps = len(sim.program.settle_d) + len(sim.program.settle_out) + len(sim.program.edge)
    words = n_words(lanes) if lanes else choose_words(min(n_vec, MAX_VECTORS_PER_RUN), latency, n_steps, sim.n_cells)
    y_lo = sim.output_offsets()["y"]
    results = []
    for start in range(0, n_vec, MAX_VECTORS_PER_RUN):
        chunk = X[start:start + MAX_VECTORS_PER_RUN]
        results.append(_stream_chunk(sim, chunk, input_bits, output_width, latency, words, y_lo, y_width))
    return np.concatenate(results, axis=0)


def _stream_chunk(sim: Simulator, X: np.ndarray, input_bits: int, output_width: int, latency: int,
                  words: int, y_lo: int, y_width: int) -> np.ndarray:
    n_vec = X.shape[0]
    n_lanes = 64 * words
    words = n_words(min(n_lanes, n_vec))  # never more lanes than vectors
    n_lanes = min(n_lanes, 64 * words)
    cycles_in = math.ceil(n_vec / n_lanes)
    read_from = max(latency - 1, 0)
    n_cycles = cycles_in + read_from
    bits = _vector_bits(X, input_bits)  # (n_vec, x_width); vector k goes to cycle k // lanes, lane k % lanes
    bits = np.concatenate([bits, np.zeros((cycles_in * n_lanes - n_vec, bits.shape[1]), np.uint8)])
    bits = bits.reshape(cycles_in, n_lanes, -1).transpose(0, 2, 1)
    packed = np.zeros((n_cycles, bits.shape[1], words), dtype=np.uint64)
    packed[:cycles_in] = pack_lanes(np.ascontiguousarray(bits))
    out = sim.run_packed(packed, n_cycles, words)
    y = unpack_lanes(out[read_from:, y_lo:y_lo + y_width], n_lanes)  # (cycles_in, y_width, lanes)
    y = y.transpose(0, 2, 1).reshape(cycles_in * n_lanes, y_width // output_width, output_width)[:n_vec]
    return bits_to_signed(y)
