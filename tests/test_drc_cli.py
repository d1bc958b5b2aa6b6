"""`layoutgen drc`: summary, marker file, exit codes 0 / 1 / 2."""
from __future__ import annotations

from click.testing import CliRunner

from layoutgen.cli import main
from layoutgen.verify.drc_samples import rule_cases, write_case_gds

from conftest import spy_worker_pools


def test_drc_command_exit_codes_and_report(tmp_path, pdk, monkeypatch):
    import layoutgen.verify.drc as drc_module

    pools = spy_worker_pools(monkeypatch, drc_module)
    bad, good = rule_cases(pdk.tech)["m2.2"]
    bad_gds = write_case_gds(tmp_path / "bad.gds", bad, pdk.tech)
    good_gds = write_case_gds(tmp_path / "good.gds", good, pdk.tech)
    runner = CliRunner()

    res = runner.invoke(main, ["drc", str(good_gds)])
    assert res.exit_code == 0, res.output
    assert "DRC: clean" in res.output

    report = tmp_path / "bad.lyrdb"
    res = runner.invoke(main, ["drc", str(bad_gds), "--top", "TOP", "--report", str(report)])
    assert res.exit_code == 1, res.output
    assert "m2.2" in res.output and "met2 spacing >= 0.14 um" in res.output
    assert "DRC: 1 violations in 1 rules" in res.output
    assert report.is_file() and "<name>m2.2</name>" in report.read_text()

    # --jobs 2: the rules in two worker processes, the same summary and marker file
    shared = tmp_path / "bad2.lyrdb"
    res2 = runner.invoke(main, ["drc", str(bad_gds), "--top", "TOP", "--report", str(shared), "--jobs", "2"])
    assert res2.exit_code == 1 and shared.read_bytes() == report.read_bytes() and pools == [2]
    assert "DRC: 1 violations in 1 rules" in res2.output
    assert runner.invoke(main, ["drc", str(good_gds), "--jobs", "0"]).exit_code == 2

    res = runner.invoke(main, ["drc", str(tmp_path / "nope.gds")])
    assert res.exit_code == 2
    assert "does not exist" in res.output

    res = runner.invoke(main, ["drc", str(good_gds), "--top", "MISSING"])
    assert res.exit_code == 2 and "no cell 'MISSING'" in res.output

    res = runner.invoke(main, ["drc", str(good_gds), "--pdk", "gf180"])
    assert res.exit_code == 2 and "unknown PDK" in res.output
