"""The LVS benchmark's generator at a small size: clean layouts match (hierarchical and flat), the short is found."""
from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "verify_lvs.py"


def _bench():
    spec = importlib.util.spec_from_file_location("verify_lvs", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_small_benchmark_layouts(tmp_path, capsys):
    bench = _bench()
    small = ["--rows", "4", "--tiles", "3"]
    assert bench.main(small + ["--out", str(tmp_path / "h")]) == 0
    assert "LVS: MATCH" in capsys.readouterr().out
    assert bench.main(small + ["--flat", "--out", str(tmp_path / "f")]) == 0
    assert "LVS: MATCH" in capsys.readouterr().out
    assert bench.main(small + ["--fault", "--out", str(tmp_path / "x")]) == 0  # 0: the mismatch was found
    out = capsys.readouterr().out
    assert "LVS: MISMATCH" in out and "nets row0.n1, row1.n1 are shorted" in out
