"""Compare the extracted layout netlist with the IR netlist and explain the differences.

klayout.db.NetlistComparer pairs circuits, instances (subcircuits) and nets by graph equivalence.
The verdict is its result. The explanation is ours: with the instance pairing in hand, every
instance pin is an edge between the IR net it should be on and the layout net it is on; each
connected group of that bipartite graph is then one of: clean (one IR net, one layout net), an
open (one IR net split over several layout nets), a short (several IR nets on one layout net),
or misconnected pins (both, e.g. two swapped pins), and pins alone on their layout net are floating.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import klayout.db as kdb


@dataclass(frozen=True)
class PinRef:
    instance: str  # IR instance name (or "<cell> at (x, y)" for a layout-only instance), "" for a port
    pin: str

    def __str__(self) -> str:
        return f"{self.instance}.{self.pin}" if self.instance else f"port {self.pin}"


@dataclass(frozen=True)
class Open:
    circuit: str
    net: str
    groups: tuple[tuple[str, tuple[PinRef, ...]], ...]  # (layout net name, pins on it)


@dataclass(frozen=True)
class Short:
    circuit: str
    layout_net: str
    nets: tuple[str, ...]


@dataclass(frozen=True)
class PinMismatch:
    circuit: str
    pin: PinRef
    expected_net: str
    actual_net: str  # the IR net the layout net carries


@dataclass(frozen=True)
class FloatingPin:
    circuit: str
    pin: PinRef
    net: str


@dataclass
class Diagnosis:
    opens: list[Open] = field(default_factory=list)
    shorts: list[Short] = field(default_factory=list)
    mismatched_pins: list[PinMismatch] = field(default_factory=list)
    floating_pins: list[FloatingPin] = field(default_factory=list)
    extra_instances: list[str] = field(default_factory=list)
    missing_instances: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    def extend(self, other: "Diagnosis") -> None:
        for name in ("opens", "shorts", "mismatched_pins", "floating_pins", "extra_instances",
                     "missing_instances", "other"):
            getattr(self, name).extend(getattr(other, name))

    @property
    def empty(self) -> bool:
        return not (self.opens or self.shorts or self.mismatched_pins or self.floating_pins
                    or self.extra_instances or self.missing_instances or self.other)


def align(layout_nl: kdb.Netlist, ref_nl: kdb.Netlist, layout_top: str, ref_top: str, leaf_cells: set[str]) -> None:
    """Flatten hierarchy levels that exist on one side only (top and leaf cells are kept)."""
    ref_names = {c.name for c in ref_nl.each_circuit()}
    lay_names = {c.name for c in layout_nl.each_circuit()}
    for circ in list(layout_nl.each_circuit()):
        if circ.name not in ref_names and circ.name != layout_top and circ.name not in leaf_cells:
            layout_nl.flatten_circuit(circ)
    for circ in list(ref_nl.each_circuit()):
        if circ.name not in lay_names and circ.name != ref_top and circ.name not in leaf_cells:
            ref_nl.flatten_circuit(circ)


def labelled_pieces(circuit: kdb.Circuit) -> dict[str, list[kdb.Net]]:
    """Label -> the nets carrying it (a net with several labels, i.e. a short, is named "a,b")."""
    out: dict[str, list[kdb.Net]] = defaultdict(list)
    for net in circuit.each_net():
        for label in net.name.split(",") if net.name else ():
            out[label].append(net)
    return out


def labelled_nets(circuit: kdb.Circuit) -> dict[str, kdb.Net]:
    """Label -> the net carrying it, preferring the piece that reaches cell pins."""
    return {label: max(nets, key=_degree) for label, nets in labelled_pieces(circuit).items()}


def split_labels(xref, layout_top: kdb.Circuit, names, circuit_name: str) -> list[Open]:
    """A port or rail label on several unconnected pieces: an open the comparer cannot see, as it
    joins nothing by name (each piece is listed with the cell pins it reaches)."""
    opens = []
    for label, nets in sorted(labelled_pieces(layout_top).items()):
        if label not in names or len(nets) < 2:
            continue
        groups = []
        for k, net in enumerate(nets):
            pins = []
            for ref in net.each_subcircuit_pin():
                sc = ref.subcircuit()
                other = xref.other_subcircuit_for(sc) if xref is not None else None
                pins.append(PinRef(other.name if other is not None else _location(sc), ref.pin().name()))
            groups.append((f"{label} piece {k + 1}", tuple(sorted(pins, key=str)) or (PinRef("", label),)))
        opens.append(Open(circuit_name, label, tuple(groups)))
    return opens


def make_top_pins(layout_top: kdb.Circuit, ref_top: kdb.Circuit) -> dict[str, kdb.Net]:
    """Layout top-level pins for the labelled nets that name the IR top's ports; returns them by name."""
    by_label = labelled_nets(layout_top)
    made = {}
    for pin in ref_top.each_pin():
        net = by_label.get(pin.name())
        if net is not None and layout_top.pin_by_name(pin.name()) is None:
            lpin = layout_top.create_pin(pin.name())
            layout_top.connect_pin(lpin, net)
            made[pin.name()] = net
    return made


def _location(sub: kdb.SubCircuit) -> str:
    t = sub.trans  # in micrometers
    return f"{sub.circuit_ref().name} at ({t.disp.x:.3f}, {t.disp.y:.3f}) um"


class _UnionFind:
    def __init__(self):
        self.parent: dict = {}

    def find(self, k):
        self.parent.setdefault(k, k)
        while self.parent[k] != k:
            self.parent[k] = self.parent[self.parent[k]]
            k = self.parent[k]
        return k

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


_GOOD = (kdb.NetlistCrossReference.Match, kdb.NetlistCrossReference.MatchWithWarning)


def compare(layout_nl: kdb.Netlist, ref_nl: kdb.Netlist, make_comparer, wired, leaf_cells: set[str],
            top: str, max_rounds: int = 50):
    """Compare; where a sub-module fails, explain it once and let its parents be compared too.

    klayout skips a parent whose children differ. A failing sub-module whose pins still pair is
    diagnosed, then blanked (pins only, named alike) on both sides; one whose pins do not pair
    (e.g. a short from the parent into its inside) is flattened into its parents on both sides.
    Repeat until only the top (and leaf cells) remain to explain. Returns (ok, xref, diagnosis).
    """
    saved = Diagnosis()
    for _ in range(max_rounds):
        xref = kdb.NetlistCrossReference()
        ok = make_comparer().compare(layout_nl, ref_nl, xref)
        blank, flatten = [], []
        for cp in xref.each_circuit_pair():
            lay, ref = cp.first(), cp.second()
            if lay is None or ref is None or ref.name in leaf_cells or ref.name == top:
                continue
            if cp.status() in _GOOD or cp.status() == kdb.NetlistCrossReference.Skipped:
                continue
            pins = [(pp.first(), pp.second()) for pp in xref.each_pin_pair(cp)]
            if all(lp is not None and rp is not None for lp, rp in pins):
                _diagnose_circuit(xref, cp, lay, ref, wired, leaf_cells, saved)
                blank.append((lay, ref, [(lp.id(), rp.name()) for lp, rp in pins]))
            else:
                flatten.append((lay, ref))
        if not blank and not flatten:
            diag = diagnose(xref, wired, leaf_cells)
            diag.extend(saved)
            return ok, xref, diag
        for lay, ref, renames in blank:
            for pid, name in renames:
                lay.rename_pin(pid, name)
            lay.blank()
            ref.blank()
        for lay, ref in flatten:
            layout_nl.flatten_circuit(lay)
            ref_nl.flatten_circuit(ref)
    raise RuntimeError("LVS compare did not settle")


def diagnose(xref: kdb.NetlistCrossReference, wired, leaf_cells: set[str]) -> Diagnosis:
    """wired(net) tells whether a layout net has any shape of its own circuit (not just a cell pin)."""
    diag = Diagnosis()
    for cp in xref.each_circuit_pair():
        lay, ref = cp.first(), cp.second()
        if lay is None or ref is None:
            one = lay or ref
            if one.name in leaf_cells:
                continue  # an unused cell type: its instances show up below
            side = "layout" if lay is not None else "netlist"
            diag.other.append(f"circuit {one.name} exists only in the {side}")
            continue
        if cp.status() in _GOOD:
            continue
        _diagnose_circuit(xref, cp, lay, ref, wired, leaf_cells, diag)
    return diag


def _pin_partner(xref, lay_circ: kdb.Circuit, ref_pin: kdb.Pin, leaf: bool):
    if leaf:
        return lay_circ.pin_by_name(ref_pin.name())
    return xref.other_pin_for(ref_pin)


_VOTE_FANOUT = 64


def _pair_by_name(pairs, lay_only, ref_only):
    """Layout instances named in the GDS (see name_instances) pair with the IR instance of that name
    and cell; this is exact where topology alone is ambiguous (e.g. a chain cut in several places)."""
    lay = list(lay_only.values()) + [ls for ls, _ in pairs]
    ref = ref_only + [rs for _, rs in pairs]
    by_name = {(ls.name, ls.circuit_ref().name): ls for ls in lay if ls.name}
    out, used_l, rest_r = [], set(), []
    for rs in ref:
        ls = by_name.get((rs.name, rs.circuit_ref().name))
        if ls is not None and ls.id() not in used_l:
            out.append((ls, rs))
            used_l.add(ls.id())
        else:
            rest_r.append(rs)
    rest_l = {ls.id(): ls for ls in lay if ls.id() not in used_l}
    return out, rest_l, rest_r


def _pair_instances(xref, cp, leaf_cells):
    """The comparer's instance pairs, completed where it gave up (a net error can leave the instances
    around it unpaired): an unpaired netlist instance takes the unpaired layout instance of the same
    cell that shares the most paired nets on the same pins."""
    pairs, lay_only, ref_only = [], {}, []
    for sp in xref.each_subcircuit_pair(cp):
        ls, rs = sp.first(), sp.second()
        if ls is not None and rs is not None:
            pairs.append((ls, rs))
        elif ls is not None:
            lay_only[ls.id()] = ls
        else:
            ref_only.append(rs)
    if any(ls.name for ls, _ in pairs) or any(ls.name for ls in lay_only.values()):
        pairs, lay_only, ref_only = _pair_by_name(pairs, lay_only, ref_only)
    votes = []
    for k, rs in enumerate(ref_only):
        master = rs.circuit_ref()
        count: dict = defaultdict(int)
        for rpin in master.each_pin():
            rn = rs.net_for_pin(rpin.id())
            ln = xref.other_net_for(rn) if rn is not None else None
            if ln is None or ln.subcircuit_pin_count() > _VOTE_FANOUT:
                continue  # rails and other huge nets touch everything: no evidence, quadratic cost
            for ref in ln.each_subcircuit_pin():
                sc = ref.subcircuit()
                if sc.id() in lay_only and sc.circuit_ref().name == master.name and ref.pin().name() == rpin.name():
                    count[sc.id()] += 1
        votes += [(-n, k, lid) for lid, n in count.items()]
    taken_r, taken_l = set(), set()
    for _, k, lid in sorted(votes):
        if k not in taken_r and lid not in taken_l:
            taken_r.add(k)
            taken_l.add(lid)
            pairs.append((lay_only[lid], ref_only[k]))
    rest_r = [rs for k, rs in enumerate(ref_only) if k not in taken_r]
    rest_l = [ls for lid, ls in lay_only.items() if lid not in taken_l]
    # what is left has no evidence either way (e.g. cells whose nets are all unrouted): pair the
    # instances of each cell in a fixed order; only a difference in count is a missing/extra instance
    by_master_r: dict = defaultdict(list)
    by_master_l: dict = defaultdict(list)
    for rs in rest_r:
        by_master_r[rs.circuit_ref().name].append(rs)
    for ls in rest_l:
        by_master_l[ls.circuit_ref().name].append(ls)
    rest_r, rest_l = [], []
    for master in sorted(set(by_master_r) | set(by_master_l)):
        rr = sorted(by_master_r.get(master, []), key=lambda rs: rs.name)
        ll = sorted(by_master_l.get(master, []), key=lambda ls: (ls.trans.disp.y, ls.trans.disp.x))
        pairs += list(zip(ll, rr))
        rest_r += rr[len(ll):]
        rest_l += ll[len(rr):]
    return pairs, rest_l, rest_r


def _unique_net_names(circuit: kdb.Circuit) -> None:
    """Two layout nets may carry the same label (e.g. both pieces of a cut port net): number them."""
    seen: dict[str, int] = defaultdict(int)
    for net in circuit.each_net():
        name = net.expanded_name()
        seen[name] += 1
        if seen[name] > 1:
            net.name = f"{name}#{seen[name]}"


def _diagnose_circuit(xref, cp, lay, ref, wired, leaf_cells, diag: Diagnosis) -> None:
    _unique_net_names(lay)
    cname = ref.name
    # incidences: (PinRef, ref net or None, layout net or None)
    edges: list[tuple[PinRef, kdb.Net | None, kdb.Net | None]] = []
    named = set()
    for rp in ref.each_pin():  # ports pair by name where the layout has the name (labels rule)
        lp = lay.pin_by_name(rp.name())
        if lp is not None:
            named.add(rp.name())
            edges.append((PinRef("", rp.name()), ref.net_for_pin(rp.id()), lay.net_for_pin(lp.id())))
    for pp in xref.each_pin_pair(cp):
        lp, rp = pp.first(), pp.second()
        if (rp is not None and rp.name() in named) or (lp is not None and lp.name() in named):
            continue
        name = (rp or lp).name()
        edges.append((PinRef("", name), ref.net_for_pin(rp.id()) if rp else None,
                      lay.net_for_pin(lp.id()) if lp else None))
    pairs, lay_only, ref_only = _pair_instances(xref, cp, leaf_cells)
    for ls in lay_only:
        where = _location(ls)
        diag.extra_instances.append(f"{cname}: {where}")
        for pin in ls.circuit_ref().each_pin():
            edges.append((PinRef(where, pin.name()), None, ls.net_for_pin(pin.id())))
    for rs in ref_only:
        diag.missing_instances.append(f"{cname}: {rs.name} ({rs.circuit_ref().name})")
        for pin in rs.circuit_ref().each_pin():
            edges.append((PinRef(rs.name, pin.name()), rs.net_for_pin(pin.id()), None))
    for ls, rs in pairs:
        rmaster, lmaster = rs.circuit_ref(), ls.circuit_ref()
        leaf = rmaster.name in leaf_cells
        seen_lay_pins = set()
        for rpin in rmaster.each_pin():
            lpin = _pin_partner(xref, lmaster, rpin, leaf)
            lnet = ls.net_for_pin(lpin.id()) if lpin is not None else None
            if lpin is not None:
                seen_lay_pins.add(lpin.id())
            edges.append((PinRef(rs.name, rpin.name()), rs.net_for_pin(rpin.id()), lnet))
        for lpin in lmaster.each_pin():  # e.g. routing that touches a cell's obstruction
            if lpin.id() not in seen_lay_pins:
                lnet = ls.net_for_pin(lpin.id())
                if lnet is not None and _degree(lnet) > 1:
                    diag.other.append(f"{cname}: layout net {lnet.expanded_name()} touches {rs.name} "
                                      f"({lmaster.name}) outside its pins (pin {lpin.expanded_name()})")
    _classify(cname, edges, wired, diag)


def _degree(net: kdb.Net) -> int:
    return net.pin_count() + net.subcircuit_pin_count() + net.terminal_count()


def _classify(cname: str, edges, wired, diag: Diagnosis) -> None:
    # klayout returns fresh Python wrappers: key nets by name, unique per circuit (IR names made
    # unique by lvs_reference, layout names by _unique_net_names)
    rkey = lambda n: ("r", n.expanded_name())  # noqa: E731
    lkey = lambda n: ("l", n.expanded_name())  # noqa: E731
    uf = _UnionFind()
    for _, rn, ln in edges:
        if rn is not None and ln is not None:
            uf.union(rkey(rn), lkey(ln))
        elif rn is not None:
            uf.find(rkey(rn))
        elif ln is not None:
            uf.find(lkey(ln))
    ref_deg: dict = defaultdict(int)
    lay_deg: dict = defaultdict(int)
    for _, rn, ln in edges:
        if rn is not None:
            ref_deg[rkey(rn)] += 1
        if ln is not None:
            lay_deg[lkey(ln)] += 1
    groups: dict = defaultdict(list)
    for e in edges:
        rn, ln = e[1], e[2]
        root = uf.find(rkey(rn) if rn is not None else lkey(ln)) if (rn is not None or ln is not None) else None
        if root is None:
            continue
        groups[root].append(e)
    for comp in groups.values():
        _classify_group(cname, comp, ref_deg, lay_deg, rkey, lkey, wired, diag)


def _classify_group(cname, comp, ref_deg, lay_deg, rkey, lkey, wired, diag: Diagnosis) -> None:
    floating = []
    live = []
    for e in comp:
        pin, rn, ln = e
        if rn is None:
            continue  # pins of layout-only instances: reported as extra instances
        alone = ln is None or (lay_deg[lkey(ln)] == 1 and _degree(ln) == 1 and not wired(ln))
        if alone and ref_deg[rkey(rn)] > 1:
            floating.append(FloatingPin(cname, pin, rn.expanded_name()))
        else:
            live.append(e)
    diag.floating_pins.extend(floating)
    ref_nets = {rkey(e[1]): e[1].expanded_name() for e in live}
    lay_nets = {lkey(e[2]): e[2].expanded_name() for e in live if e[2] is not None}
    if len(ref_nets) <= 1 and len(lay_nets) <= 1:
        return
    if len(ref_nets) == 1:
        by_lay: dict = defaultdict(list)
        for pin, _, ln in live:
            by_lay[ln.expanded_name()].append(pin)
        net = next(iter(ref_nets.values()))
        diag.opens.append(Open(cname, net, tuple((k, tuple(v)) for k, v in sorted(by_lay.items()))))
        return
    if len(lay_nets) == 1:
        diag.shorts.append(Short(cname, next(iter(lay_nets.values())), tuple(sorted(ref_nets.values()))))
        return
    # several IR nets over several layout nets: each layout net carries the IR net most of its pins
    # want (a labelled port wins ties); pins that want another net are misconnected
    votes: dict = defaultdict(lambda: defaultdict(int))
    for pin, rn, ln in live:
        if ln is None:
            continue
        bonus = 2 if (not pin.instance and ln.expanded_name() == rn.expanded_name()) else 0
        votes[lkey(ln)][rn.expanded_name()] += 1 + bonus
    # greedy one-to-one assignment, strongest votes first, so one IR net is carried by one layout net
    ranked = sorted((-n, k, rname) for k, v in votes.items() for rname, n in v.items())
    carried: dict = {}
    taken: set = set()
    for _, k, rname in ranked:
        if k not in carried and rname not in taken:
            carried[k] = rname
            taken.add(rname)
    for k, v in votes.items():
        carried.setdefault(k, max(sorted(v), key=lambda n: v[n]))
    for pin, rn, ln in live:
        if ln is None:
            continue
        carries = carried[lkey(ln)]
        if carries != rn.expanded_name():
            diag.mismatched_pins.append(PinMismatch(cname, pin, rn.expanded_name(), carries))
