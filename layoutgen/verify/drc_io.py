"""Reading a layout for the DRC, and its findings as text (worker processes return them so)."""
from __future__ import annotations

from pathlib import Path

import klayout.db as kdb

from ..errors import LayoutgenError
from ..pdk.tech import Tech


class DrcInputError(LayoutgenError):
    """The layout to check cannot be read or has no such top cell."""


def read_layout(gds_path: Path) -> kdb.Layout:
    if not gds_path.is_file():
        raise DrcInputError(f"layout file {gds_path} does not exist; pass a GDS or OASIS file")
    layout = kdb.Layout()
    try:
        layout.read(str(gds_path))
    except RuntimeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "unreadable"
        raise DrcInputError(f"cannot read layout {gds_path}: {first}") from None
    return layout


def top_cell(layout: kdb.Layout, gds_path: Path, top: str | None) -> kdb.Cell:
    if top is not None:
        cell = layout.cell(top)
        if cell is None:
            raise DrcInputError(f"{gds_path} has no cell '{top}'; pass one of its top cells to --top")
        return cell
    tops = layout.top_cells()
    if len(tops) != 1:
        names = ", ".join(sorted(c.name for c in tops)) or "none"
        raise DrcInputError(f"{gds_path} has {len(tops)} top cells ({names}); choose one with --top")
    return tops[0]


def drawn_layers(tech: Tech, layout: kdb.Layout) -> list[str]:
    """Layers of the tech that carry drawing shapes in this layout (for grid/angle checks)."""
    present = {(i.layer, i.datatype) for i in layout.layer_infos()}
    return [n for n, l in tech.layers.items() if l.drawing is not None and l.drawing in present]


Encoded = tuple[str, list[str]]  # ("pairs" | "polygons", each marker as KLayout's text form)


def encode(markers) -> Encoded:
    kind = "pairs" if isinstance(markers, kdb.EdgePairs) else "polygons"
    return kind, [m.to_s() for m in markers.each()]


def decode(encoded: Encoded):
    kind, items = encoded
    if kind == "pairs":
        out = kdb.EdgePairs()
        for text in items:
            out.insert(kdb.EdgePair.from_s(text))
    else:
        out = kdb.Region()
        for text in items:
            out.insert(kdb.Polygon.from_s(text))
    return out
