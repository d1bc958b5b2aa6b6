"""The readable LVS report: verdict first, then every difference with net and instance names."""
from __future__ import annotations


def _where(circuit: str, top: str) -> str:
    return "" if circuit == top else f"[{circuit}] "


def format_report(result) -> str:
    top = result.netlist_top
    lines = [
        f"LVS {'MATCH' if result.match else 'MISMATCH'}: layout {result.layout_top} vs netlist {top}",
        f"  {result.cells} logic cell instances, power {'checked' if result.power_checked else 'not checked'}",
    ]
    sections = [
        ("opens", [
            f"{_where(o.circuit, top)}net {o.net} is split into {len(o.groups)} layout nets: "
            + "; ".join(f"{lname}: {', '.join(str(p) for p in pins)}" for lname, pins in o.groups)
            for o in result.opens]),
        ("shorts", [
            f"{_where(s.circuit, top)}nets {', '.join(s.nets)} are shorted (layout net {s.layout_net})"
            for s in result.shorts]),
        ("mismatched pins", [
            f"{_where(m.circuit, top)}{m.pin} is on net {m.actual_net}, netlist wants {m.expected_net}"
            for m in result.mismatched_pins]),
        ("floating pins", [
            f"{_where(f.circuit, top)}{f.pin} is not connected (netlist net {f.net})"
            for f in result.floating_pins]),
        ("instances only in the layout", result.extra_instances),
        ("instances missing from the layout", result.missing_instances),
        ("other differences", result.other),
    ]
    for title, items in sections:
        if items:
            lines.append(f"{title} ({len(items)}):")
            lines += [f"  {item}" for item in items]
    return "\n".join(lines) + "\n"
