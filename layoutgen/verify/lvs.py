"""Layout-versus-schematic at the standard-cell level: `run_lvs(gds, design, pdk)`.

The layout's connectivity (li1 -mcon- met1 -via- met2 ... met5, standard cells as LEF-pin black
boxes, text labels naming nets) is extracted with klayout.db and compared with the netlist IR.
See docs/lvs.md for the method and its limits.
"""
from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import klayout.db as kdb

from ..errors import LayoutgenError
from ..netlist.ir import Design
from .lvs_compare import (Diagnosis, FloatingPin, Open, PinMismatch, Short, align, compare, make_top_pins,
                          split_labels)
from .lvs_extract import (abstract_cells, extract, is_physical, library_cells_in, name_instances,
                          normalize_cell_circuits, read_layout, stack_from_tech)
from .lvs_reference import GROUND_NET, POWER_NET, design_to_netlist, rail_of

__all__ = ["LvsResult", "run_lvs", "FloatingPin", "Open", "PinMismatch", "Short"]


@dataclass(kw_only=True)
class LvsResult(Diagnosis):
    """The diagnosis (opens, shorts, ... sorted for reading) plus the verdict and what was compared."""

    match: bool
    layout_top: str
    netlist_top: str
    power_checked: bool
    cells: int = 0  # leaf cell instances compared (layout side, hierarchy expanded)
    runtime_s: float = 0.0

    def report(self) -> str:
        from .lvs_report import format_report

        return format_report(self)


def drop_unwired_outputs(layout_nl: kdb.Netlist, ref_nl: kdb.Netlist) -> None:
    """Netlist nets that touch one instance pin and nothing else (unused cell outputs) are removed
    where the layout has as many pins of that cell and name without any net: the extractor gives some
    unconnected pins no net (e.g. conb_1 HI/LO) and others a one-pin net; both mean "unconnected"."""
    for ref in ref_nl.each_circuit():
        lay = layout_nl.circuit_by_name(ref.name)
        if lay is None:
            continue
        bare = Counter()
        for sc in lay.each_subcircuit():
            for pin in sc.circuit_ref().each_pin():
                if sc.net_for_pin(pin.id()) is None:
                    bare[(sc.circuit_ref().name, pin.name())] += 1
        dangling: dict[tuple[str, str], list[kdb.NetSubcircuitPinRef]] = {}
        for n in ref.each_net():
            if n.subcircuit_pin_count() == 1 and n.pin_count() == 0 and n.terminal_count() == 0:
                sp = next(iter(n.each_subcircuit_pin()))
                dangling.setdefault((sp.subcircuit().circuit_ref().name, sp.pin().name()), []).append(sp)
        # removing nets one by one costs time in proportion to the circuit's nets (256 x 256 array: most
        # of the LVS time), so the pins are cut here and the nets, then floating, purged in one pass
        cut = [sp for key, pins in dangling.items() if bare[key] >= len(pins) for sp in pins]
        if any(n.pin_count() and not n.subcircuit_pin_count() and not n.terminal_count() for n in ref.each_net()):
            for sp in cut:  # a purge would also drop the floating port nets this circuit has
                ref.remove_net(sp.net())
            continue
        for sp in cut:
            sp.subcircuit().disconnect_pin(sp.pin().id())
        if cut:
            ref.purge_nets()


def run_lvs(gds_path, design: Design, pdk, *, top: str | None = None, pdk_root=None, report=None,
            power: bool | None = None, obstructions: bool = True, threads: int = 1) -> LvsResult:
    """Compare the layout in `gds_path` with `design`.

    power: True/False to force checking VPWR/VGND; None checks power when the layout's top cell
    labels a VPWR or VGND net. Unchecked, all rail pins are taken as connected (global nets), so
    signal wires touching a rail are still found as shorts.
    obstructions: LEF OBS shapes take part in extraction, so routing that lands on a cell's
    internal geometry is reported.
    report: a text report path, or a *.lvsdb path for KLayout's netlist browser.
    """
    t0 = time.perf_counter()
    gds_path = Path(gds_path)
    if not gds_path.is_file():
        raise LayoutgenError(f"layout {gds_path} does not exist; pass the GDS written by `layoutgen build`")
    try:
        design.validate()
    except ValueError as exc:
        raise LayoutgenError(f"netlist {design.top} is not valid: {exc}") from None
    layout, top_cell = read_layout(gds_path, top)
    tech = pdk.tech
    stack = stack_from_tech(tech)
    library = design.library
    prefix = f"{library.name}__"
    abstracts = pdk.cell_abstracts(pdk_root)
    std_cells = {name: abstracts.macro(name) for name in library_cells_in(layout, top_cell, prefix)}
    rail_names = {pin: rail_of(library, pin) for pin in library.power_pins}
    with_power = power if power is not None else _labels_power(layout, top_cell, stack)

    # unchecked power: the rails are tied to global nets, so only shorts onto them can be found
    join_cells = abstract_cells(layout, stack, std_cells, rail_names, not with_power, obstructions)
    rails = () if with_power else (POWER_NET, GROUND_NET)
    lvs = _extract(layout, top_cell, stack, join_cells, threads, rails)
    layout_nl = lvs.netlist()
    normalize_cell_circuits(layout_nl, std_cells, rail_names)
    regions = [lvs.layer_by_name(c.name) for c in stack.conductors]

    def wired(net) -> bool:
        return any(not lvs.shapes_of_net(net, r, False).is_empty() for r in regions)

    name_instances(layout, layout_nl)
    leaf_cells = set(std_cells) | {i.master for m in design.modules.values() for i in m.instances
                                   if i.master not in design.modules}
    ref_nl = design_to_netlist(design)
    align(layout_nl, ref_nl, top_cell.name, design.top, leaf_cells)
    drop_unwired_outputs(layout_nl, ref_nl)
    lay_top = layout_nl.circuit_by_name(top_cell.name)
    ref_top = ref_nl.circuit_by_name(design.top)
    port_nets = make_top_pins(lay_top, ref_top)
    # labels are the authority for top-level names: anchor ports (and rails) so that equivalent
    # inputs (e.g. the two inputs of a nand2) cannot be paired the other way round
    shared = Counter(net.cluster_id for net in port_nets.values())
    anchors = []
    for pin in ref_top.each_pin():
        lnet, rnet = port_nets.get(pin.name()), ref_top.net_for_pin(pin.id())
        if lnet is not None and rnet is not None and shared[lnet.cluster_id] == 1:
            anchors.append((lnet, rnet))

    def make_comparer() -> kdb.NetlistComparer:
        comparer = kdb.NetlistComparer()
        comparer.same_circuits(lay_top, ref_top)
        for lnet, rnet in anchors:
            comparer.same_nets(lnet, rnet)
        return comparer

    ok, xref, diag = compare(layout_nl, ref_nl, make_comparer, wired, leaf_cells, design.top)
    diag.opens += split_labels(xref, lay_top, {p.name() for p in ref_top.each_pin()}, design.top)
    if report is not None and Path(report).suffix == ".lvsdb":
        lvs.reference = ref_nl  # the database of KLayout's netlist browser holds the final compare
        lvs.compare(make_comparer())
    for pin in ref_top.each_pin():
        if pin.name() not in port_nets:
            diag.other.append(f"port {pin.name()} has no label in layout cell {top_cell.name}; "
                              "label the net on a routing layer's label or pin purpose")
    if not ok and diag.empty:
        diag.other.append("the netlist comparer found differences it could not attribute to pins; "
                          "write the report as .lvsdb and open it in KLayout's netlist browser")
    result = LvsResult(
        match=bool(ok) and diag.empty, layout_top=top_cell.name, netlist_top=design.top,
        power_checked=with_power,
        opens=sorted(diag.opens, key=lambda o: (o.circuit != design.top, o.circuit, o.net)),
        shorts=sorted(diag.shorts, key=lambda x: (x.circuit != design.top, x.circuit, x.nets)),
        mismatched_pins=sorted(diag.mismatched_pins, key=lambda m: (m.circuit != design.top, m.circuit, str(m.pin))),
        floating_pins=sorted(diag.floating_pins, key=lambda f: (f.circuit != design.top, f.circuit, f.net, str(f.pin))),
        extra_instances=sorted(diag.extra_instances), missing_instances=sorted(diag.missing_instances),
        other=diag.other,
        cells=_count_leaf_instances(layout, top_cell, std_cells),
    )
    result.runtime_s = time.perf_counter() - t0
    if report is not None:
        _write_report(Path(report), result, lvs)
    return result


def _extract(layout, top_cell, stack, join_cells, threads, rails):
    try:
        return extract(layout, top_cell, stack, join_cells, threads, rails)
    except RuntimeError as exc:
        raise LayoutgenError(f"connectivity extraction failed: {str(exc).splitlines()[0]}") from None


def _labels_power(layout: kdb.Layout, top: kdb.Cell, stack) -> bool:
    for cond in stack.conductors:
        for spec in (cond.label, cond.pin, cond.drawing):
            if spec is None:
                continue
            li = layout.find_layer(*spec)
            if li is None:
                continue
            for shape in top.shapes(li).each(kdb.Shapes.STexts):
                if shape.text_string in (POWER_NET, GROUND_NET):
                    return True
    return False


def _count_leaf_instances(layout, top_cell, std_cells) -> int:
    """Logic cell instances in the layout, hierarchy expanded (tap/fill excluded)."""
    logic = {layout.cell(name).cell_index() for name, macro in std_cells.items() if not is_physical(macro)}
    called = set(top_cell.called_cells())
    mult = {top_cell.cell_index(): 1}
    for ci in layout.each_cell_top_down():
        if ci != top_cell.cell_index() and ci not in called:
            continue
        m = mult.get(ci, 0)
        if m:
            for inst in layout.cell(ci).each_inst():
                mult[inst.cell_index] = mult.get(inst.cell_index, 0) + m * inst.size()
    return sum(mult.get(ci, 0) for ci in logic)


def _write_report(path: Path, result: LvsResult, lvs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        if path.suffix == ".lvsdb":
            lvs.write(str(tmp))
        else:
            tmp.write_text(result.report())
        os.replace(tmp, path)
    except OSError as exc:
        raise LayoutgenError(f"cannot write LVS report {path}: {exc.strerror}") from None
