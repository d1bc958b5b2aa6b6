"""A whole int-v1 model as one combinational gate module (pipelining is the next pass)."""
from __future__ import annotations

from dataclasses import dataclass

from ..netlist.builder import ModuleBuilder
from ..netlist.ir import Module
from ..pdk.core import Pdk
from .context import ArithContext, load_logic_delays
from .cse import AdderGraph
from .layer import ArithOptions, build_layer
from .words import ZERO, Word


@dataclass
class CombinationalNetwork:
    module: Module
    ctx: ArithContext
    x_nets: list[int]  # the x bus, LSB first, element i at [i*input_bits, (i+1)*input_bits)
    y_bits: list[int]  # the y bus (nets or ZERO/ONE), element j at [j*output_width, ...)
    output_width: int
    graphs: list[AdderGraph]


def output_width(model) -> int:
    """Width of each y element: two's complement, enough for every output's range."""
    last = model.layers[-1]
    if last.relu:
        return int(last.out_bits) + 1
    return 0  # decided from the built words


def new_top(model, pdk: Pdk, top: str, options: ArithOptions) -> tuple[ArithContext, list[int], list[Word]]:
    """A context on a new top module with the x bus: nets x[k], LSB first per input, and each input
    as an unsigned word."""
    module = Module(top)
    ctx = ArithContext(ModuleBuilder(module, pdk.library), load_logic_delays(pdk.data_dir), options.local_inverters)
    nb = int(model.input_bits)
    x_nets = [module.add_net(f"x[{k}]") for k in range(model.n_inputs * nb)]
    return ctx, x_nets, [Word(tuple(x_nets[i * nb:(i + 1) * nb]), 0, (1 << nb) - 1) for i in range(model.n_inputs)]


def build_network(model, pdk: Pdk, top: str, options: ArithOptions | None = None) -> CombinationalNetwork:
    options = options or ArithOptions()
    if options.chain:
        from .chain import build_chain_network

        return build_chain_network(model, pdk, top, options)
    if options.tile:
        from ..cluster.netlist import build_tiled_network

        return build_tiled_network(model, pdk, top, options)
    ctx, x_nets, words = new_top(model, pdk, top, options)
    module = ctx.b.module
    graphs = []
    for li, layer in enumerate(model.layers):
        ctx.layer = li
        words, graph = build_layer(ctx, words, layer, options)
        graphs.append(graph)
    width = output_width(model) or max(w.width + (0 if w.signed else 1) for w in words)
    y_bits: list[int] = []
    for w in words:
        fill = w.bits[-1] if w.signed else ZERO
        bits = list(w.bits[:width]) + [fill] * (width - w.width)
        y_bits.extend(bits)
    return CombinationalNetwork(module, ctx, x_nets, y_bits, width, graphs)

