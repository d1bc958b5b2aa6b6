"""DRC cell by cell (verify.drc_cells): each placed cell once plus the seams finds what the whole check
finds, counts a violation inside a cell once, checks the placements themselves, and refuses a top
that draws shapes of its own."""
from __future__ import annotations

import gdstk
import pytest
from click.testing import CliRunner

from layoutgen.cli import main
from layoutgen.errors import LayoutgenError
from layoutgen.pdk import load_pdk
from layoutgen.verify.drc import run_drc
from layoutgen.verify.drc_cells import seam_zone
from layoutgen.verify.drc_samples import GDS_TIMESTAMP, Poly, rule_cases, shapes_to_cell

_PDK = load_pdk("sky130")
_CASES = rule_cases(_PDK.tech)


def _lowest_point(shape) -> tuple[int, int]:
    if isinstance(shape, Poly):
        return min(shape.points)
    return shape.x0, shape.y0


def _moved(shape, dx: int, dy: int):
    if isinstance(shape, Poly):
        return Poly(shape.layer, tuple((x + dx, y + dy) for x, y in shape.points))
    return type(shape)(shape.layer, shape.x0 + dx, shape.y0 + dy, shape.x1 + dx, shape.y1 + dy)


def _one_cell_per_shape(path, shapes, offset_nm: int = 0):
    """Every shape in a cell of its own, drawn at the cell's origin and placed where it was: every
    interaction between two shapes is then one between two placements."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = gdstk.Cell("TOP")
    for k, shape in enumerate(shapes):
        x, y = _lowest_point(shape)
        cell = shapes_to_cell(f"S{k}", [_moved(shape, -x, -y)], _PDK.tech)
        lib.add(cell)
        top.add(gdstk.Reference(cell, ((x + offset_nm) / 1000, y / 1000)))
    lib.add(top)
    lib.write_gds(str(path), timestamp=GDS_TIMESTAMP)
    return path


@pytest.mark.parametrize("rule_id", sorted(_CASES))
def test_violation_between_two_placements_is_found(rule_id, tmp_path):
    bad, _good = _CASES[rule_id]
    path = _one_cell_per_shape(tmp_path / "bad.gds", bad)
    by_cell = run_drc(path, _PDK, by_cell=True)
    assert by_cell.counts[rule_id] > 0, f"{rule_id}: missed cell by cell; found {by_cell.violated}"


def test_clean_rows_stay_clean_and_a_repeated_violation_counts_once(tmp_path):
    bad, good = _CASES["m2.2"]
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    clean, broken = shapes_to_cell("CLEAN", good, _PDK.tech), shapes_to_cell("BROKEN", bad, _PDK.tech)
    top = gdstk.Cell("TOP")
    for k in range(3):
        top.add(gdstk.Reference(clean, (20 * k, 0)), gdstk.Reference(broken, (20 * k, 20)))
    lib.add(clean, broken, top)
    path = tmp_path / "rows.gds"
    lib.write_gds(str(path), timestamp=GDS_TIMESTAMP)
    whole = run_drc(path, _PDK)
    by_cell = run_drc(path, _PDK, by_cell=True, report=tmp_path / "rows.lyrdb")
    assert whole.violated == {"m2.2": 3}
    assert by_cell.violated == {"m2.2": 1}  # one finding in BROKEN, not one per placement
    assert "<cell>BROKEN</cell>" in (tmp_path / "rows.lyrdb").read_text()


def test_placement_off_the_grid_is_found(tmp_path):
    _bad, good = _CASES["m2.2"]
    grid = next(r for r in _PDK.tech.rules if r.kind == "grid")
    on = _one_cell_per_shape(tmp_path / "on.gds", good)
    off = _one_cell_per_shape(tmp_path / "off.gds", good, offset_nm=grid["value_nm"] // 2 + 1)
    assert run_drc(on, _PDK, by_cell=True).clean
    assert run_drc(off, _PDK, by_cell=True).violated.get(grid.id, 0) > 0


def test_top_drawing_shapes_of_its_own_is_refused(tmp_path):
    _bad, good = _CASES["m2.2"]
    path = tmp_path / "flat.gds"
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    lib.add(shapes_to_cell("TOP", good, _PDK.tech))
    lib.write_gds(str(path), timestamp=GDS_TIMESTAMP)
    with pytest.raises(LayoutgenError, match="draws shapes on layer .* itself"):
        run_drc(path, _PDK, by_cell=True)
    res = CliRunner().invoke(main, ["drc", str(path), "--by-cell"])
    assert res.exit_code == 2 and "check the layout whole instead" in res.output
    split = _one_cell_per_shape(tmp_path / "split.gds", good)
    res = CliRunner().invoke(main, ["drc", str(split), "--by-cell"])
    assert res.exit_code == 0 and "DRC: clean" in res.output


def test_seam_zone_covers_borders_and_overlaps_only():
    import klayout.db as kdb

    boxes = [kdb.Box(0, 0, 1000, 1000), kdb.Box(1000, 0, 2000, 1000), kdb.Box(1500, 500, 2500, 1500)]
    zone = seam_zone(boxes, 50)
    assert (kdb.Region(kdb.Box(960, 400, 1040, 600)) - zone).is_empty()  # where two placements abut
    assert (kdb.Region(kdb.Box(1700, 700, 1800, 800)) - zone).is_empty()  # where two placements overlap
    assert (kdb.Region(kdb.Box(400, 400, 600, 600)) & zone).is_empty()  # inside one placement, far from borders
