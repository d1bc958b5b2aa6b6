"""The deck on rows of real sky130_fd_sc_hd cells: clean rows pass, placement mistakes are caught."""
from __future__ import annotations

import filecmp
import os

import gdstk
import pytest

from layoutgen.verify.drc import DrcInputError, run_drc
from layoutgen.verify.drc_samples import CellLoader, GDS_TIMESTAMP, filled_row, place_rows, row_cell, rows_gds

from conftest import spy_worker_pools

ROLES = ["fa", "ha", "xor2", "xnor2", "inv", "buf", "nand2", "nor2", "and2", "or2", "nor3", "or3", "maj3",
         "mux2", "tie", "dff", "decap", "clkbuf"]


@pytest.fixture(scope="module")
def logic(pdk):
    return [pdk.library.role(r).name for r in ROLES]


@pytest.fixture(scope="module")
def rows(pdk, logic):
    """Four rows of 200 sites: every logic cell we use, taps at most 14 um apart, fill to the end."""
    return [filled_row(pdk, logic[i:] + logic[:i], 200) for i in range(4)]


def test_abutted_rows_of_real_cells_are_clean(tmp_path, pdk, rows):
    path = rows_gds(tmp_path / "rows.gds", pdk, rows)
    result = run_drc(path, pdk)
    assert result.counts and result.clean, result.summary()
    names = {c.name for c in gdstk.read_gds(str(path)).cells}
    assert "sky130_fd_sc_hd__tapvpwrvgnd_1" in names and any("__fill_" in n for n in names)
    assert sum(1 for r in gdstk.read_gds(str(path)).top_level()[0].references if r.x_reflection) == 2  # MX rows


@pytest.mark.parametrize("sites, rules", [
    (1, {"nwell.2a", "row.gap"}),  # one empty site: the two cells' nwells come within 0.08 um
    (5, {"row.gap"}),  # 2.3 um: wells far enough apart for the foundry rule, still a hole in the row
])
def test_empty_sites_in_a_row_are_caught(tmp_path, pdk, rows, sites, rules):
    broken = [list(r) for r in rows]
    broken[1].insert(6, sites)
    result = run_drc(rows_gds(tmp_path / "gap.gds", pdk, broken), pdk)
    assert set(result.violated) == rules, result.summary()
    assert result.violated["row.gap"] == 1


def test_partial_site_offset_is_caught(tmp_path, pdk, logic):
    """A cell shifted by 0.1 um leaves a sliver between wells and implants."""
    loader = CellLoader(pdk)
    left, w = row_cell(loader, "LEFT", filled_row(pdk, logic[:3], 40), pdk.tech)
    right, _ = row_cell(loader, "RIGHT", filled_row(pdk, logic[3:6], 40), pdk.tech)
    top = gdstk.Cell("TOP")
    top.add(gdstk.Reference(left, (0, 0)), gdstk.Reference(right, ((w + 100) / 1000, 0)))
    loader.lib.add(top)
    path = tmp_path / "sliver.gds"
    loader.lib.write_gds(str(path), timestamp=GDS_TIMESTAMP)
    found = run_drc(path, pdk).violated
    assert {"hvtp.2", "nsd.2", "psd.2", "row.gap"} <= set(found), found  # nwells overlap (0.19 um overhang)


def test_overlapping_cells_are_caught(tmp_path, pdk, logic):
    loader = CellLoader(pdk)
    row, _ = row_cell(loader, "ROW", filled_row(pdk, logic[:4], 60), pdk.tech)
    top = gdstk.Cell("TOP")
    top.add(gdstk.Reference(row, (0, 0)), gdstk.Reference(loader.cell(logic[4]), (2.3, 0)))
    loader.lib.add(top)
    path = tmp_path / "overlap.gds"
    loader.lib.write_gds(str(path), timestamp=GDS_TIMESTAMP)
    assert run_drc(path, pdk).violated.get("row.overlap") == 1


def test_rows_without_taps_break_latchup_rule(tmp_path, pdk):
    fa = pdk.library.role("fa").name
    path = rows_gds(tmp_path / "notap.gds", pdk, [[fa] * 8])  # 59 um of full adders, no tap
    found = run_drc(path, pdk).violated
    assert set(found) == {"lu.tap"}


def test_off_grid_placement_inside_hierarchy_is_caught(tmp_path, pdk, logic):
    loader = CellLoader(pdk)
    row, _ = row_cell(loader, "ROW", filled_row(pdk, logic[:2], 40), pdk.tech)
    top = gdstk.Cell("TOP")
    top.add(gdstk.Reference(row, (0.002, 0)))  # 2 nm off the 5 nm grid
    loader.lib.add(top)
    path = tmp_path / "offgrid.gds"
    loader.lib.write_gds(str(path), timestamp=GDS_TIMESTAMP)
    found = run_drc(path, pdk).violated
    assert set(found) == {"x.1b"}


def test_violation_in_a_stamped_cell_counts_per_placement(tmp_path, pdk):
    """Hierarchical check, flat count: one bad spacing inside a cell placed 3x2 times is 6 markers."""
    met1 = pdk.tech.gds("met1")
    lib = gdstk.Library()
    leaf = gdstk.Cell("LEAF")
    leaf.add(gdstk.rectangle((0, 0), (1.0, 0.14), *met1), gdstk.rectangle((0, 0.24), (1.0, 0.38), *met1))
    top = gdstk.Cell("TOP")
    top.add(gdstk.Reference(leaf, (0, 0), columns=3, rows=2, spacing=(5.0, 5.0)))
    lib.add(leaf, top)
    path = tmp_path / "array.gds"
    lib.write_gds(str(path), timestamp=GDS_TIMESTAMP)
    assert run_drc(path, pdk).violated == {"m1.2": 6}


def test_report_is_a_marker_database_and_reproducible(tmp_path, pdk, rows):
    import klayout.rdb as rdb

    broken = [list(r) for r in rows]
    broken[0].insert(3, 1)
    path = rows_gds(tmp_path / "gap.gds", pdk, broken)
    a = run_drc(path, pdk, report=tmp_path / "out" / "a.lyrdb")
    run_drc(path, pdk, report=tmp_path / "b.lyrdb")
    assert filecmp.cmp(tmp_path / "out" / "a.lyrdb", tmp_path / "b.lyrdb", shallow=False)
    db = rdb.ReportDatabase("")
    db.load(str(a.report))
    per_cat = {c.name(): c.num_items() for c in db.each_category()}
    assert set(per_cat) == set(a.counts)  # one category per rule, empty ones included
    assert {k: v for k, v in per_cat.items() if v} == a.violated
    assert db.top_cell_name == "TOP"
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_bad_inputs_are_clear_errors(tmp_path, pdk, rows):
    with pytest.raises(DrcInputError, match="does not exist"):
        run_drc(tmp_path / "missing.gds", pdk)
    (tmp_path / "junk.gds").write_text("not a layout")
    with pytest.raises(DrcInputError, match="cannot read layout"):
        run_drc(tmp_path / "junk.gds", pdk)
    path = rows_gds(tmp_path / "rows.gds", pdk, rows[:1])
    with pytest.raises(DrcInputError, match="no cell 'NOPE'"):
        run_drc(path, pdk, top="NOPE")
    lib = gdstk.Library()
    lib.add(gdstk.Cell("A"), gdstk.Cell("B"))
    lib.write_gds(str(tmp_path / "two.gds"), timestamp=GDS_TIMESTAMP)
    with pytest.raises(DrcInputError, match="2 top cells"):
        run_drc(tmp_path / "two.gds", pdk)
    assert run_drc(tmp_path / "two.gds", pdk, top="A").clean


def test_spacing_to_a_row_long_merged_rail_is_caught(tmp_path, pdk, rows):
    """li1 rails and what touches them merge into row-long shapes; a stub 0.1 um from a rail end is
    found by the windowed confirmation of spacing candidates."""
    loader = CellLoader(pdk)
    row, width = row_cell(loader, "ROW", rows[0], pdk.tech)
    li1 = pdk.tech.gds("li1")
    top = gdstk.Cell("TOP")
    top.add(gdstk.Reference(row, (0, 0)))
    top.add(gdstk.rectangle(((width + 100) / 1000, -0.085), ((width + 270) / 1000, 0.315), *li1))
    loader.lib.add(top)
    path = tmp_path / "stub.gds"
    loader.lib.write_gds(str(path), timestamp=GDS_TIMESTAMP)
    assert run_drc(path, pdk).violated == {"li.3": 1}


def test_rules_checked_in_worker_processes_give_the_same_report(tmp_path, pdk, rows, monkeypatch):
    """--jobs: the rules split over processes find the same markers and write the same database."""
    import layoutgen.verify.drc as drc_module

    pools = spy_worker_pools(monkeypatch, drc_module)
    broken = [list(r) for r in rows]
    broken[0].insert(3, 1)  # an empty site: nwell spacing and row gap
    broken[2].insert(10, 5)  # a wider hole: row gap only
    path = rows_gds(tmp_path / "gap.gds", pdk, broken)
    alone = run_drc(path, pdk, report=tmp_path / "one.lyrdb", workers=1)
    shared = run_drc(path, pdk, report=tmp_path / "two.lyrdb", workers=2)
    assert pools == [2]  # the second run did use two worker processes, the first none
    assert len(alone.violated) >= 2 and shared.counts == alone.counts
    assert filecmp.cmp(tmp_path / "one.lyrdb", tmp_path / "two.lyrdb", shallow=False)


def test_small_layouts_are_checked_in_process(tmp_path, pdk, rows):
    """Starting worker processes costs more than checking a small layout: below PARALLEL_MIN_BYTES the
    default is one process; above it, one per usable CPU."""
    from layoutgen.verify.drc import PARALLEL_MIN_BYTES, default_workers

    path = rows_gds(tmp_path / "rows.gds", pdk, rows)
    assert path.stat().st_size < PARALLEL_MIN_BYTES and default_workers(path) == 1
    big = tmp_path / "big.gds"
    big.write_bytes(bytes(PARALLEL_MIN_BYTES))
    assert default_workers(big) == len(os.sched_getaffinity(0))


def test_worker_tasks_group_the_rules_of_a_layer(pdk):
    """Each rule runs in exactly one task; the rules on a layer and those enclosing by it share one
    task (one hierarchical region built for all of them); the largest tasks go first."""
    from layoutgen.verify.drc import rule_groups

    groups = rule_groups(pdk.tech.rules)
    ids = [r.id for g in groups for r in g]
    assert sorted(ids) == sorted(r.id for r in pdk.tech.rules) and len(ids) == len(set(ids))
    task_of = {r.id: k for k, g in enumerate(groups) for r in g}
    assert len({task_of[i] for i in ("m1.1", "m1.2", "m1.6", "m1.4", "m1.5", "via.4a")}) == 1
    assert task_of["m1.2"] != task_of["m2.2"] and task_of["li.3"] != task_of["m1.2"]
    sizes = [len(g) for g in groups]
    assert sizes == sorted(sizes, reverse=True)
