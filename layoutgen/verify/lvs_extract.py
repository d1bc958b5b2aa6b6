"""Layout side of LVS: connectivity of the routing stack, standard cells as LEF-pin black boxes.

The GDS is read into memory and every standard cell is replaced by its abstract: the LEF PORT
rectangles of its pins on their routing layers, each labelled with its pin name, and optionally
the LEF OBS rectangles (unlabelled). Cell-internal geometry (transistors, internal li1/met1)
therefore cannot short two routed nets, while routing that lands on an obstruction shows up as an
extra, unnamed cell pin. Several PORTs of one pin (e.g. VPWR on li1 and on met1) are joined inside
the cell by name. klayout.db.LayoutToNetlist then extracts the hierarchy (deep mode): one circuit
per GDS cell, nets named by the text labels on the label/pin purposes.
"""
from __future__ import annotations

from dataclasses import dataclass

import klayout.db as kdb

from ..errors import LayoutgenError
from ..pdk.lef import LefMacro

LayerSpec = tuple[int, int]
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in dbu (nm)


@dataclass(frozen=True)
class Conductor:
    name: str
    drawing: LayerSpec
    pin: LayerSpec | None = None
    label: LayerSpec | None = None


@dataclass(frozen=True)
class Cut:
    name: str
    drawing: LayerSpec
    bottom: str
    top: str


@dataclass(frozen=True)
class LvsStack:
    """The layers LVS connects: conductors bottom-up and the cuts between them."""

    conductors: tuple[Conductor, ...]
    cuts: tuple[Cut, ...]

    def layer_names(self) -> set[str]:
        return {c.name for c in self.conductors} | {c.name for c in self.cuts}


def stack_from_tech(tech) -> LvsStack:
    """li1 -mcon- met1 -via- met2 ... met5 from the PDK's routing layers and via definitions."""
    conductors = tuple(
        Conductor(name, tech.gds(name), tech.layers[name].pin, tech.layers[name].label) for name in tech.routing
    )
    cuts = tuple(Cut(v.cut, tech.gds(v.cut), v.bottom, v.top) for v in tech.vias.values())
    return LvsStack(conductors, cuts)


def is_physical(macro: LefMacro) -> bool:
    """Tap, fill, decap: only power pins, nothing the netlist IR instantiates."""
    return all(p.use in ("POWER", "GROUND") for p in macro.pins.values())


def read_layout(gds_path, top: str | None) -> tuple[kdb.Layout, kdb.Cell]:
    layout = kdb.Layout()
    try:
        layout.read(str(gds_path))
    except RuntimeError as exc:
        raise LayoutgenError(f"cannot read layout {gds_path}: {str(exc).splitlines()[0]}") from None
    if top is not None:
        if not layout.has_cell(top):
            raise LayoutgenError(f"layout {gds_path} has no cell {top}; pass one of its top cells with --top")
        return layout, layout.cell(top)
    tops = layout.top_cells()
    if len(tops) != 1:
        names = ", ".join(sorted(c.name for c in tops)) or "none"
        raise LayoutgenError(f"layout {gds_path} has {len(tops)} top cells ({names}); choose one with --top")
    return layout, tops[0]


def library_cells_in(layout: kdb.Layout, top: kdb.Cell, prefix: str) -> list[str]:
    return sorted(
        layout.cell(ci).name for ci in [top.cell_index()] + list(top.called_cells())
        if layout.cell(ci).name.startswith(prefix)
    )


def rail_marker(layout: kdb.Layout, rail: str, conductor: str) -> int:
    """A layer of this in-memory layout only (no GDS number) marking a rail pin on `conductor`."""
    return layout.layer(kdb.LayerInfo(f"lvs.{rail}.{conductor}"))


def abstract_cells(layout: kdb.Layout, stack: LvsStack, abstracts: dict[str, LefMacro],
                   rail_names: dict[str, str], assume_rails: bool, with_obs: bool) -> set[str]:
    """Replace the content of every standard cell by its LEF abstract (in place).

    assume_rails: the power pins also get a marker that extraction ties to a global VPWR/VGND net,
    so that rails count as connected whatever the layout's power routing (a signal wire touching a
    rail is still a short with that rail).

    The PORT shapes of one pin on adjacent layers (e.g. the li1 and met1 rails of VPWR) are joined by
    a cut where they overlap, as in the real cell. Returns the cells whose pins still fall apart into
    separate pieces; those are joined by name during extraction (slower, so only where needed).
    """
    by_name = {c.name: c for c in stack.conductors}
    cut_names = {c.name: c for c in stack.cuts}
    cut_between = {(c.bottom, c.top): c for c in stack.cuts} | {(c.top, c.bottom): c for c in stack.cuts}
    needs_join: set[str] = set()
    for name, ab in abstracts.items():
        cell = layout.cell(name)
        cell.clear_shapes()
        cell.clear_insts()
        shapes_by_label: dict[str, list] = {}
        for pin in ab.pins.values():
            # body pins (VPB/VNB) join their rail, as the IR side folds them too
            label = rail_names.get(pin.name, pin.name)
            shapes_by_label.setdefault(label, []).extend(
                r for r in pin.shapes if r.layer in by_name or r.layer in cut_names)
        for label, rects in shapes_by_label.items():
            for r in rects:
                cell.shapes(_shape_layer(layout, r.layer, by_name, cut_names)).insert(kdb.Box(r.x0, r.y0, r.x1, r.y1))
                cond = by_name.get(r.layer)
                if cond is not None:
                    text = kdb.Text(label, kdb.Trans((r.x0 + r.x1) // 2, (r.y0 + r.y1) // 2))
                    cell.shapes(layout.layer(*(cond.label or cond.drawing))).insert(text)
            if _join_pieces(layout, cell, rects, cut_between) > 1:
                needs_join.add(name)
            if assume_rails and label in set(rail_names.values()):
                for r in rects:
                    if r.layer in by_name:
                        cell.shapes(rail_marker(layout, label, r.layer)).insert(kdb.Box(r.x0, r.y0, r.x1, r.y1))
        if with_obs:
            for r in ab.obs:
                if r.layer in by_name:
                    cell.shapes(_shape_layer(layout, r.layer, by_name, cut_names)).insert(
                        kdb.Box(r.x0, r.y0, r.x1, r.y1))
    return needs_join


def _join_pieces(layout, cell, rects, cut_between) -> int:
    """Add cuts where shapes of one pin overlap on adjacent layers; return the number of pieces left."""
    parent = list(range(len(rects)))
    cut_touches = set()
    for c in cut_between.values():
        for metal in (c.bottom, c.top):
            cut_touches |= {(c.name, metal), (metal, c.name)}

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(rects):
        for j in range(i):
            b = rects[j]
            x0, y0, x1, y1 = max(a.x0, b.x0), max(a.y0, b.y0), min(a.x1, b.x1), min(a.y1, b.y1)
            if a.layer == b.layer:
                joined = x0 <= x1 and y0 <= y1  # touching shapes connect
            elif (a.layer, b.layer) in cut_touches:  # a PORT shape on a cut layer and its metal
                joined = x0 < x1 and y0 < y1
            else:
                cut = cut_between.get((a.layer, b.layer))
                joined = cut is not None and x0 < x1 and y0 < y1
                if joined:
                    cell.shapes(layout.layer(*cut.drawing)).insert(kdb.Box(x0, y0, x1, y1))
            if joined:
                parent[find(i)] = find(j)
    return len({find(i) for i in range(len(rects))})


def _shape_layer(layout, layer, by_name, cut_names):
    if layer in by_name:
        return layout.layer(*by_name[layer].drawing)
    if layer in cut_names:
        return layout.layer(*cut_names[layer].drawing)
    return None  # a layer LVS does not connect (e.g. nwell in a PORT)


def extract(layout: kdb.Layout, top: kdb.Cell, stack: LvsStack, join_cells: set[str],
            threads: int = 1, rails: tuple[str, ...] = ()) -> kdb.LayoutVsSchematic:
    """rails: global nets the rail markers of abstract_cells(assume_rails=True) are tied to."""
    lvs = kdb.LayoutVsSchematic(kdb.RecursiveShapeIterator(layout, top, []))
    lvs.threads = threads
    lvs.include_floating_subcircuits = True  # an unconnected cell is still an instance
    regions = {}
    for cond in stack.conductors:
        parts = [lvs.make_layer(layout.layer(*cond.drawing), cond.name)]
        if cond.pin is not None:
            parts.append(lvs.make_layer(layout.layer(*cond.pin), f"{cond.name}.pin"))
        for part in parts:
            lvs.connect(part)
            if part is not parts[0]:
                lvs.connect(parts[0], part)
        for k, spec in enumerate(s for s in (cond.label, cond.pin, cond.drawing) if s is not None):
            texts = lvs.make_text_layer(layout.layer(*spec), f"{cond.name}.text{k}")
            lvs.connect(parts[0], texts)
        regions[cond.name] = parts[0]
    for cut in stack.cuts:
        region = lvs.make_layer(layout.layer(*cut.drawing), cut.name)
        lvs.connect(region)
        lvs.connect(regions[cut.bottom], region)
        lvs.connect(region, regions[cut.top])
    for rail in rails:
        for cond in stack.conductors:
            marker = lvs.make_layer(rail_marker(layout, rail, cond.name), f"lvs.{rail}.{cond.name}")
            lvs.connect(marker, regions[cond.name])
            lvs.connect_global(marker, rail)
    for name in sorted(join_cells):
        lvs.join_net_names(_glob_escape(name), "*")
    lvs.extract_netlist()
    return lvs


def _glob_escape(name: str) -> str:
    return "".join(f"\\{ch}" if ch in "*?[]{}\\" else ch for ch in name)


def normalize_cell_circuits(netlist: kdb.Netlist, std_cells: dict[str, LefMacro],
                            rail_names: dict[str, str]) -> None:
    """Give every cell circuit all its pins (even ones no instance connects) and drop physical cells."""
    for name, ab in std_cells.items():
        circ = netlist.circuit_by_name(name)
        if circ is None:
            continue
        if is_physical(ab):
            # flattened away: its rail pieces stay part of the rails (removing 10^4 subcircuits one
            # by one is quadratic in klayout)
            netlist.flatten_circuit(circ)
            continue
        wanted = []
        for pin in ab.pins.values():
            label = rail_names.get(pin.name, pin.name)
            if label not in wanted and pin.shapes:
                wanted.append(label)
        for label in wanted:
            if circ.pin_by_name(label) is not None:
                continue
            net = circ.net_by_name(label)
            if net is not None and net.pin_count() > 0:
                pin = circ.pin_by_id(next(net.each_pin()).pin_id())
                pin.name = label
                continue
            pin = circ.create_pin(label)
            if net is None:
                net = circ.create_net(label)
            circ.connect_pin(pin, net)


INSTANCE_NAME_PROPERTY = 61  # GDS property attribute holding an instance's netlist name (optional)


def name_instances(layout: kdb.Layout, netlist: kdb.Netlist) -> int:
    """Name the extracted subcircuits after the GDS instance-name property, where the layout has it.

    Names only help to explain differences (they pair instances exactly); connectivity is never
    taken from them. Returns the number of named subcircuits.
    """
    named = 0
    for circ in netlist.each_circuit():
        cell = layout.cell(circ.name)  # circuits are named after the GDS cells
        if cell is None:
            continue
        names = {}
        for inst in cell.each_inst():
            if not inst.prop_id or inst.is_regular_array():
                continue
            value = inst.property(INSTANCE_NAME_PROPERTY)
            if value is not None:
                names[_trans_key(layout.cell(inst.cell_index).name, inst.dcplx_trans)] = str(value)
        if not names:
            continue
        for sub in circ.each_subcircuit():
            name = names.get(_trans_key(sub.circuit_ref().name, sub.trans))
            if name is not None:
                sub.name = name
                named += 1
    return named


def _trans_key(cell: str, t: kdb.DCplxTrans) -> tuple:
    return (cell, round(t.disp.x * 1000), round(t.disp.y * 1000), round(t.angle), t.is_mirror())
