"""Every rule of the deck catches a layout that breaks it, and only that rule does; clean twins pass.

The layouts come from the rule table itself (drc_samples.rule_cases), so a rule added to
pdk/sky130/rules.json gets its test; a rule removed from the deck fails its test.
"""
from __future__ import annotations

import pytest

from layoutgen.pdk import load_pdk
from layoutgen.verify.drc import run_drc
from layoutgen.verify.drc_checks import CHECKS
from layoutgen.verify.drc_samples import rule_cases, write_case_gds

_PDK = load_pdk("sky130")
_CASES = rule_cases(_PDK.tech)
RULE_IDS = [r.id for r in _PDK.tech.rules]


@pytest.fixture(scope="module")
def case_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("drc_cases")
    files = {}
    for rid, (bad, good) in _CASES.items():
        files[rid] = (write_case_gds(d / f"{rid}_bad.gds", bad, _PDK.tech),
                      write_case_gds(d / f"{rid}_good.gds", good, _PDK.tech))
    return files


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_catches_its_violation_and_passes_clean_twin(rule_id, case_files):
    bad, good = case_files[rule_id]
    found = run_drc(bad, _PDK).violated
    assert set(found) == {rule_id}, f"{rule_id}: expected only it to fire, got {found}"
    assert run_drc(good, _PDK).clean
    # without this rule the deck no longer sees the problem: the rule is what catches it
    others = [r for r in _PDK.tech.rules if r.id != rule_id]
    assert run_drc(bad, _PDK, rules=others).clean


def test_deck_covers_every_required_rule_family():
    t = _PDK.tech
    have = {(r.kind, r.params.get("layer") or (r.params.get("outer"), r.params.get("inner"))) for r in t.rules}
    for metal in ("li1", "met1", "met2", "met3", "met4", "met5"):
        for kind in ("width", "space", "area"):
            assert (kind, metal) in have, (kind, metal)
    for metal in ("met1", "met2", "met3", "met4"):
        assert ("wide_space", metal) in have
    for via in t.vias.values():
        assert ("cut_size", via.cut) in have and ("space", via.cut) in have
        assert ("enclosure", (via.bottom, via.cut)) in have
        assert ("enclosure", (via.top, via.cut)) in have
    opposite = {(r["outer"], r["inner"]) for r in t.rules if r.kind == "enclosure_opposite"}
    assert opposite == {("met1", "mcon"), ("met1", "via"), ("met2", "via"), ("met2", "via2"), ("met3", "via3")}
    for layer in ("nwell", "hvtp"):
        assert ("width", layer) in have and ("space", layer) in have
    kinds = {r.kind for r in t.rules}
    assert kinds == set(CHECKS)  # no check without a rule, no rule without a check
    assert t.rule("x.1b")["value_nm"] == 5


def test_two_opposite_sides_rule_semantics(tmp_path):
    """m1.5: 0.06 on two opposite sides. Short left+right with long top+bottom is fine;
    short left+top (adjacent) is not; every side short is not."""
    from layoutgen.verify.drc_samples import Shape

    def stack(l, b, r, t):
        cut = Shape("mcon", 0, 0, 170, 170)
        li = Shape("li1", 0, 0, 170, 340)
        m1 = Shape("met1", -l, -b, 170 + r, 170 + t)
        return [cut, li, m1]

    cases = {(30, 60, 30, 60): True, (60, 30, 60, 30): True, (30, 60, 60, 30): False,
             (35, 35, 35, 35): False, (60, 60, 60, 60): True}
    for enc, ok in cases.items():
        path = write_case_gds(tmp_path / f"m15_{'_'.join(map(str, enc))}.gds", stack(*enc), _PDK.tech)
        found = run_drc(path, _PDK).violated
        assert ("m1.5" not in found) == ok, (enc, found)
