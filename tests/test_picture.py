"""Layout picture: rendered headless with klayout.lay, deterministic, not blank, layers where they are."""
from __future__ import annotations

import gdstk
import numpy as np
import pytest
from matplotlib.image import imread

from layoutgen.build import BuildOptions, compile_model
from layoutgen.layout import make_layout, write_layout_files
from layoutgen.physical.picture import PictureError, render_png

from conftest import random_int_model


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])


def _pixels(path) -> np.ndarray:
    return np.rint(imread(str(path))[:, :, :3] * 255).astype(np.int64)


@pytest.fixture(scope="module")
def chip_gds(pdk, tmp_path_factory):
    model = random_int_model(seed=1, sizes=[6, 4, 2], input_bits=4, weight_range=(-3, 3), act_bits=4)
    design = compile_model(model, pdk, BuildOptions(top="chip")).design
    return write_layout_files(make_layout(design, pdk), tmp_path_factory.mktemp("pic"), "chip")


def test_routed_layout_picture_is_deterministic_and_shows_its_layers(pdk, chip_gds, tmp_path):
    a = render_png(chip_gds, tmp_path / "a.png", pdk.tech, width=800)
    b = render_png(chip_gds, tmp_path / "b.png", pdk.tech, width=800)
    assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert a.read_bytes() == b.read_bytes()
    px = _pixels(a)
    assert px.shape[1] == 800 and 700 < px.shape[0] < 900  # height from the (near square) die
    assert px.std() > 20  # not blank
    colours = {tuple(c) for c in px.reshape(-1, 3)}
    for layer in ("met2", "met3"):  # routed wires are drawn solid in the layer colour
        assert tuple(_rgb(pdk.tech.layers[layer].color)) in colours, layer
    assert not list(tmp_path.glob(".*partial"))


def test_a_window_shows_only_its_part_of_the_layout(pdk, tmp_path):
    """window_um: the view is that box (a close-up of a large die), its aspect ratio sets the height."""
    lib = gdstk.Library("t", unit=1e-6, precision=1e-9)
    cell = gdstk.Cell("t")
    m2, m3 = pdk.tech.gds("met2"), pdk.tech.gds("met3")
    cell.add(gdstk.rectangle((0, 0), (50, 100), layer=m2[0], datatype=m2[1]))
    cell.add(gdstk.rectangle((50, 0), (100, 100), layer=m3[0], datatype=m3[1]))
    lib.add(cell)
    gds = tmp_path / "t.gds"
    lib.write_gds(str(gds))
    px = _pixels(render_png(gds, tmp_path / "w.png", pdk.tech, width=100, window_um=(10, 10, 40, 70)))
    assert px.shape[:2] == (200, 100)
    met2 = (np.abs(px - _rgb(pdk.tech.layers["met2"].color)).sum(axis=2) <= 3).mean()
    assert met2 > 0.95  # only met2 inside the window
    with pytest.raises(PictureError, match="window"):
        render_png(gds, tmp_path / "x.png", pdk.tech, window_um=(10, 10, 5, 70))


def test_layers_land_where_the_shapes_are(pdk, tmp_path):
    lib = gdstk.Library("t", unit=1e-6, precision=1e-9)
    cell = gdstk.Cell("t")
    m2 = pdk.tech.gds("met2")
    m4 = pdk.tech.gds("met4")
    poly = pdk.tech.gds("poly")
    cell.add(gdstk.rectangle((0, 0), (50, 100), layer=m2[0], datatype=m2[1]))
    cell.add(gdstk.rectangle((50, 0), (100, 100), layer=poly[0], datatype=poly[1]))  # not drawn
    cell.add(gdstk.rectangle((60, 40), (90, 60), layer=m4[0], datatype=m4[1]))
    lib.add(cell)
    gds = tmp_path / "t.gds"
    lib.write_gds(str(gds))
    px = _pixels(render_png(gds, tmp_path / "t.png", pdk.tech, width=200))
    h, w, _ = px.shape
    assert (h, w) == (200, 200)
    pink = _rgb(pdk.tech.layers["met2"].color)
    left = px[20:-20, 20:90]  # inside the met2 rectangle (2 % margin around the cell)
    assert (left == pink).all(axis=2).mean() > 0.99
    right = px[10:60, 110:190]  # the poly half, above the met4 box: left black
    assert (right == 0).all()
    yellow = _rgb(pdk.tech.layers["met4"].color)
    assert (px[90:110, 125:175] == yellow).all(axis=2).mean() > 0.08  # hatched strap (1 pixel in 8)


def test_different_layouts_give_different_pictures(pdk, chip_gds, tmp_path):
    lib = gdstk.read_gds(str(chip_gds))
    top = next(c for c in lib.cells if c.name == "chip")
    m3 = pdk.tech.gds("met3")
    (x0, y0), (x1, y1) = top.bounding_box()
    top.add(gdstk.rectangle((x0, (y0 + y1) / 2), (x1, (y0 + y1) / 2 + 3), layer=m3[0], datatype=m3[1]))
    other = tmp_path / "other.gds"
    lib.write_gds(str(other))
    a = render_png(chip_gds, tmp_path / "a.png", pdk.tech, width=400)
    b = render_png(other, tmp_path / "b.png", pdk.tech, width=400)
    assert a.read_bytes() != b.read_bytes()


def test_bad_input_is_refused(pdk, chip_gds, tmp_path):
    with pytest.raises(PictureError, match="does not exist"):
        render_png(tmp_path / "none.gds", tmp_path / "x.png", pdk.tech)
    with pytest.raises(PictureError, match="outside 16"):
        render_png(chip_gds, tmp_path / "x.png", pdk.tech, width=5)
    with pytest.raises(PictureError, match="no cell nope"):
        render_png(chip_gds, tmp_path / "x.png", pdk.tech, top="nope")
    with pytest.raises(PictureError, match="not a GDS layer"):
        render_png(chip_gds, tmp_path / "x.png", pdk.tech, layers=(("met9", "drawing"),))
    bad = tmp_path / "bad.gds"
    bad.write_bytes(b"not a layout")
    with pytest.raises(PictureError, match="cannot read"):
        render_png(bad, tmp_path / "x.png", pdk.tech)
    target = tmp_path / "missing" / "x.png"
    with pytest.raises(PictureError, match="cannot write"):
        render_png(chip_gds, target, pdk.tech, width=64)
    assert not target.parent.exists()
