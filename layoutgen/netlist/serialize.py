"""Save and load a Design as deterministic, pickle-free JSON (gzip with a fixed timestamp).

Format "layoutgen-netlist-v1":
    {"format": "layoutgen-netlist-v1", "library": <cell library name>, "top": <top module>,
     "modules": [{"name": ..., "nets": [net names], "ports": [[name, direction, [nets]]],
                  "instances": [[name, master, [pin, ...], [net, ...]]]}, ...]}
Modules keep their order in the Design, instances and pins theirs, so load(save(d)) rebuilds the
same Design and save() of the same Design gives byte-identical files.
"""
from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

from ..gcpause import gc_paused
from ..errors import LayoutgenError
from .cells import CellLibrary
from .ir import Design, Instance, Module

FORMAT = "layoutgen-netlist-v1"


class NetlistFileError(LayoutgenError):
    """A serialized netlist that cannot be read."""


def design_to_json(design: Design) -> dict:
    with gc_paused():
        return _design_to_json(design)


def _design_to_json(design: Design) -> dict:
    modules = []
    for mod in design.modules.values():
        modules.append({
            "name": mod.name,
            "nets": list(mod.net_names),
            "ports": [[p.name, p.direction, list(p.nets)] for p in mod.ports],
            "instances": [[i.name, i.master, list(i.pins), list(i.pins.values())] for i in mod.instances],
        })
    return {"format": FORMAT, "library": design.library.name, "top": design.top, "modules": modules}


def save_design(design: Design, path: str | os.PathLike) -> Path:
    """Write `design` to path (gzipped if the name ends in .gz), atomically."""
    path = Path(path)
    with gc_paused():
        text = json.dumps(_design_to_json(design), separators=(",", ":"), ensure_ascii=True)
    data = text.encode("ascii")
    if path.name.endswith(".gz"):
        buf = io.BytesIO()
        # fixed mtime and no file name in the header: same design, same bytes
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=3) as gz:
            gz.write(data)
        data = buf.getvalue()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def _fail(path: Path, what: str) -> NetlistFileError:
    return NetlistFileError(f"{path}: {what}; rebuild it with `layoutgen build`")


def _check_nets(path: Path, mod: Module) -> None:
    """Every pin and port refers to an integer net id of its module."""
    ids = [n for inst in mod.instances for n in inst.pins.values()] + [n for p in mod.ports for n in p.nets]
    if not all(type(n) is int for n in ids):
        raise _fail(path, f"module {mod.name}: a net id is not an integer")
    if ids and (min(ids) < 0 or max(ids) >= mod.n_nets):
        raise _fail(path, f"module {mod.name}: a net id is outside 0..{mod.n_nets - 1}")


def load_design(path: str | os.PathLike, library: CellLibrary) -> Design:
    """Read a netlist written by save_design; cells are resolved in `library`."""
    with gc_paused():
        return _load_design(Path(path), library)


def _load_design(path: Path, library: CellLibrary) -> Design:
    if not path.is_file():
        raise NetlistFileError(f"{path}: netlist file not found; run `layoutgen build` first")
    raw = path.read_bytes()
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        doc = json.loads(raw.decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(path, f"not a readable JSON netlist ({exc.__class__.__name__})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise _fail(path, f"format is {found!r}, expected {FORMAT!r}")
    if doc.get("library") != library.name:
        raise _fail(path, f"netlist uses cell library {doc.get('library')!r}, not {library.name!r}")
    try:
        design = Design(str(doc["top"]), library)
        module_names = {m["name"] for m in doc["modules"]}
        for m in doc["modules"]:
            mod = Module(str(m["name"]), net_names=[str(n) for n in m["nets"]])
            for name, direction, nets in m["ports"]:
                mod.add_port(str(name), str(direction), [int(n) for n in nets])
            known: set[str] = set()
            for name, master, pins, nets in m["instances"]:
                if master not in known:
                    if not isinstance(master, str) or (master not in library and master not in module_names):
                        raise _fail(path, f"instance {m['name']}/{name} uses {master!r}, which is neither a module nor a {library.name} cell")
                    known.add(master)
                if len(pins) != len(nets):
                    raise _fail(path, f"instance {m['name']}/{name} has {len(pins)} pins but {len(nets)} nets")
                mod.instances.append(Instance(str(name), master, dict(zip(pins, nets))))
            _check_nets(path, mod)
            design.add_module(mod)
    except NetlistFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail(path, f"malformed netlist ({exc.__class__.__name__}: {exc})") from None
    if design.top not in design.modules:
        raise _fail(path, f"top module {design.top!r} is missing")
    return design
