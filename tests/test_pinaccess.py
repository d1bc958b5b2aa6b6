"""Pin access: every logic pin of every cell role reachable, in both orientations, DRC clean in a row."""
from __future__ import annotations

import gdstk
import pytest

from layoutgen.physical.gds import CellSource, add_shapes
from layoutgen.physical.pinaccess import KINDS, PinAccess
from layoutgen.verify.drc import run_drc


@pytest.fixture(scope="module")
def access(pdk):
    return PinAccess(pdk)


def logic_masters(pdk):
    return sorted(m.name for m in pdk.library.by_role.values() if not m.physical)


def test_every_pin_of_every_role_has_access(pdk, access):
    tech = pdk.tech
    m1, m2 = tech.routing["met1"], tech.routing["met2"]
    for master in logic_masters(pdk):
        for mirrored in (False, True):
            pts = access.points(master, mirrored)
            assert set(pts) == set(pdk.library[master].pins)
            for pin, aps in pts.items():
                assert aps, (master, pin)
                for ap in aps:
                    assert ap.kind in KINDS and ap.pin == pin
                    # on a met1 track crossing a met2 track (cell origins sit on the track grid)
                    assert (ap.x - m2.track_offset_nm) % m2.track_pitch_nm == 0
                    assert (ap.y - m1.track_offset_nm) % m1.track_pitch_nm == 0
                    layers = {s.layer for s in ap.shapes}
                    assert {"met1", "via", "met2"} <= layers
                    assert ("mcon" in layers) == (ap.kind != "met1_via")


def test_cached_and_mirrored(pdk, access):
    fa = pdk.library.role("fa").name
    assert access.points(fa) is access.points(fa)
    r0, mx = access.points(fa, False), access.points(fa, True)
    h = pdk.tech.site.height_nm
    for pin in r0:
        assert [(a.x, h - a.y) for a in r0[pin]] == [(b.x, b.y) for b in mx[pin]]


def test_kinds_match_the_cells(pdk, access):
    """fa_1 A/B have met1 ports; dfxtp_1 D is off the track grid; nand2_1 pins are plain li1 on track."""
    lib = pdk.library
    fa = access.points(lib.role("fa").name)
    assert fa["A"][0].kind == "met1_via" and fa["B"][0].kind == "met1_via"
    assert access.points(lib.role("dff").name)["D"][0].kind == "offgrid"
    assert all(aps[0].kind == "stack" for aps in access.points(lib.role("nand2").name).values())


def test_chosen_points_are_mutually_compatible(pdk, access):
    for master in logic_masters(pdk):
        chosen = access.choose(master)
        aps = list(chosen.values())
        assert set(chosen) == set(pdk.library[master].pins)
        for i in range(len(aps)):
            for j in range(i + 1, len(aps)):
                assert access.compatible(aps[i], aps[j]), (master, aps[i].pin, aps[j].pin)


def test_compatible_detects_conflicts(pdk, access):
    nand = access.points(pdk.library.role("nand2").name)
    a = nand["A"][0]
    assert not access.compatible(a, a)  # the same stack twice overlaps
    assert not access.compatible(a, a, dx=0, dy=pdk.tech.routing["met1"].track_pitch_nm)  # pads 80 nm apart
    assert access.compatible(a, a, dx=2 * pdk.tech.routing["met2"].track_pitch_nm)


def test_access_stacks_in_abutting_cells_are_drc_clean(pdk, access, tmp_path):
    """Every access point of every pin, each in its own copy of the cell, cells abutting in mirrored
    rows between taps; plus each cell with its chosen set of points (one per pin)."""
    source = CellSource(pdk.library.name, None)
    site, h = pdk.tech.site.width_nm, pdk.tech.site.height_nm
    tap = pdk.library.role("tap").name
    fill = pdk.library.role("fill").name
    samples = {False: [], True: []}
    for master in logic_masters(pdk):
        for mirrored in (False, True):
            for pin, aps in access.points(master, mirrored).items():
                samples[mirrored] += [(master, (ap,)) for ap in aps[:4]]
            samples[mirrored].append((master, tuple(access.choose(master, mirrored).values())))
    rows = []
    per_row = 24
    for mirrored in (False, True):
        lst = samples[mirrored]
        rows += [(mirrored, lst[i:i + per_row]) for i in range(0, len(lst), per_row)]
    # R0 / MX alternate; reorder so that row parity matches the samples' orientation
    r0 = [r for r in rows if not r[0]]
    mx = [r for r in rows if r[0]]
    ordered = []
    while r0 or mx:
        ordered.append(r0.pop(0) if r0 else (False, []))
        ordered.append(mx.pop(0) if mx else (True, []))
    widths = [sum(pdk.cell_abstracts().macro(m).width_nm + site for m, _ in row) + site for _, row in ordered]
    full = max(widths)
    lib = gdstk.Library("pa", unit=1e-6, precision=1e-9)
    top = gdstk.Cell("TOP")
    used = {}

    def ref(name, x, y, mirrored):
        c = used.setdefault(name, source.cell(name))
        if mirrored:
            top.add(gdstk.Reference(c, (x * 1e-3, (y + h) * 1e-3), x_reflection=True))
        else:
            top.add(gdstk.Reference(c, (x * 1e-3, y * 1e-3)))

    n_points = 0
    for r, (mirrored, row) in enumerate(ordered):
        y = r * h
        x = 0
        for master, aps in row:
            ref(tap, x, y, mirrored)
            x += site
            ref(master, x, y, mirrored)
            for ap in aps:
                add_shapes(top, pdk, ap.moved(x, y))
                n_points += 1
            x += pdk.cell_abstracts().macro(master).width_nm
        ref(tap, x, y, mirrored)
        x += site
        while x < full:
            ref(fill, x, y, mirrored)
            x += site
    for c in sorted(used.values(), key=lambda c: c.name):
        lib.add(c)
    lib.add(top)
    path = tmp_path / "pinaccess.gds"
    lib.write_gds(str(path))
    assert n_points > 300
    result = run_drc(path, pdk, top="TOP")
    assert result.clean, result.summary()
