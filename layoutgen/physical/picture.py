"""The layout pictures <top>.png (the whole die) and <top>.detail.png (a close-up of its centre),
rendered headless with klayout.lay.

Only the layers that make a whole chip readable are drawn: cell outlines (prbndry: the cells in their
rows; prbndry boundary), li1 (inside, darkened the cells), the routing metals met1..met4 (met1 rails, met2 vertical and met3
horizontal wires, met4 power straps) with hatched fills so lower layers show through, and the top
cell's pin shapes and pin labels (clk, x[i], y[j], VPWR, VGND). Diffusion, poly, implants, cuts and
the cells' own labels are left out: at chip scale they are noise. Colours are the PDK's (.lyp).

Same GDS in, same bytes out: KLayout draws deterministically and its PNG carries no time stamp; the
image is written to a temporary name and renamed, so a failure never leaves a complete-looking file.
"""
from __future__ import annotations

import os
from pathlib import Path

import klayout.db as kdb
import klayout.lay as klay

from ..errors import LayoutgenError
from ..pdk.lyp import _DITHER
from ..pdk.tech import Tech

# (layer, purpose) drawn, bottom to top
PICTURE_LAYERS: tuple[tuple[str, str], ...] = (
    ("li1", "drawing"),
    ("met1", "drawing"),
    ("met2", "drawing"),
    ("met3", "drawing"),
    ("met4", "drawing"),
    ("prbndry", "boundary"),
    ("met2", "pin"),
    ("met3", "pin"),
    ("met4", "pin"),
    ("met2", "label"),
    ("met3", "label"),
    ("met4", "label"),
)
# wires are a few pixels wide at chip scale: solid, so they read as lines (a hatch turns them into
# dots); the met4 straps are wide and hatched so the wires under them show
_FILL = {"li1": "dotted", "met1": "solid", "met2": "solid", "met3": "solid", "met4": "right"}
# cell interiors (li1) darker so the wires above them stand out
_BRIGHTNESS = {"li1": -90, "met1": -40}
MAX_PIXELS = 8192


class PictureError(LayoutgenError):
    """A layout picture that cannot be rendered or written."""


def _colour(hex_colour: str) -> int:
    return int(hex_colour.lstrip("#"), 16)


def _layer_nodes(tech: Tech, layers) -> list:
    nodes = []
    for name, purpose in layers:
        layer = tech.layers.get(name)
        if layer is None or purpose not in layer.purposes():
            raise PictureError(f"picture layer {name}/{purpose} is not a GDS layer of {tech.name}; see pdk/{tech.name}/layers.json")
        gds = layer.purposes()[purpose]
        node = klay.LayerPropertiesNode()
        node.source = f"{gds[0]}/{gds[1]}@1"
        node.name = f"{name}.{purpose}"
        node.frame_color = node.fill_color = _colour(layer.color)
        if purpose == "drawing":
            node.dither_pattern = int(_DITHER[_FILL.get(name, layer.pattern)][1:])
            node.width = 0
            node.fill_brightness = node.frame_brightness = _BRIGHTNESS.get(name, 0)
        else:
            # outlines only: pins get a bold frame, cell outlines a thin one
            node.dither_pattern = int(_DITHER["hollow"][1:])
            node.width = 2 if purpose == "pin" else 1
        node.visible = True
        node.transparent = False
        nodes.append(node)
    return nodes


def render_png(gds_path: str | Path, png_path: str | Path, tech: Tech, *, top: str | None = None,
               width: int = 2000, height: int | None = None, layers=PICTURE_LAYERS,
               window_um: tuple[float, float, float, float] | None = None) -> Path:
    """Render the layout in `gds_path` (GDS or OASIS) to a PNG of `width` pixels (height from the
    aspect ratio of the view unless given), hierarchy fully expanded. The view is the whole top cell,
    or `window_um` (left, bottom, right, top in um): on a large die only a close-up shows the cells,
    pins and single wires."""
    gds_path, png_path = Path(gds_path), Path(png_path)
    if not gds_path.is_file():
        raise PictureError(f"picture: layout file {gds_path} does not exist; write the layout first")
    if not 16 <= width <= MAX_PIXELS or (height is not None and not 16 <= height <= MAX_PIXELS):
        raise PictureError(f"picture size {width} x {height} px is outside 16..{MAX_PIXELS}")
    view = klay.LayoutView()
    try:
        view.load_layout(str(gds_path), False)
    except RuntimeError as exc:
        raise PictureError(f"picture: KLayout cannot read {gds_path.name}: {str(exc).splitlines()[0]}") from None
    layout = view.cellview(0).layout()
    if top is not None:
        cell = layout.cell(top)
        if cell is None:
            raise PictureError(f"picture: {gds_path.name} has no cell {top}")
        view.cellview(0).cell = cell
    cell = view.cellview(0).cell
    box = cell.dbbox()
    if box.empty() or box.width() <= 0 or box.height() <= 0:
        raise PictureError(f"picture: cell {cell.name} of {gds_path.name} is empty")
    if window_um is not None:
        left, bottom, right, top_um = window_um
        if not (right > left and top_um > bottom):
            raise PictureError(f"picture window {window_um} um is empty; give left < right and bottom < top")
        box = kdb.DBox(left, bottom, right, top_um)
    if height is None:
        height = max(16, min(MAX_PIXELS, round(width * box.height() / box.width())))
    view.clear_layers()
    for node in _layer_nodes(tech, layers):
        view.insert_layer(view.end_layers(), node)
    for key, value in (("background-color", "#000000"), ("grid-visible", "false"), ("grid-show-ruler", "false"),
                       ("text-visible", "true"), ("text-lazy-rendering", "false"), ("text-color", "#ffffff"),
                       ("default-font-size", "1"), ("bitmap-oversampling", "1"), ("child-context-enabled", "false")):
        view.set_config(key, value)
    view.max_hier()
    # a margin of 2 % around the cell so edge pins and their labels are not cut (none for a window)
    mx, my = (0.0, 0.0) if window_um is not None else (box.width() * 0.02, box.height() * 0.02)
    target = kdb.DBox(box.left - mx, box.bottom - my, box.right + mx, box.top + my)
    tmp = png_path.with_name(f".{png_path.name}.partial")
    try:
        view.save_image_with_options(str(tmp), width, height, 0, 1, 0, target, False)
        os.replace(tmp, png_path)
    except (OSError, RuntimeError) as exc:
        tmp.unlink(missing_ok=True)
        raise PictureError(f"cannot write {png_path}: {exc}; check the directory exists and is writable") from None
    return png_path
