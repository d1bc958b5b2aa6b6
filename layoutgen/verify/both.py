"""DRC and LVS of one layout side by side: the two checks of every layout build."""
from __future__ import annotations

from pathlib import Path

from .drc import DrcResult, default_workers, run_drc, worker_pool
from .lvs import LvsResult, run_lvs


def check_layout(gds_path, design, pdk, *, top: str, pdk_root=None, drc_report=None,
                 workers: int | None = None) -> tuple[DrcResult, LvsResult]:
    """Run DRC and LVS on `gds_path` against `design`.

    With more than one worker, LVS takes one worker process while the DRC's rules share the pool
    (KLayout holds the interpreter, so threads would not overlap them).
    """
    gds_path = Path(gds_path)
    if workers is None:
        workers = default_workers(gds_path) if gds_path.is_file() else 1
    if workers <= 1:
        drc = run_drc(gds_path, pdk, top=top, report=drc_report, workers=1)
        return drc, run_lvs(gds_path, design, pdk, top=top, pdk_root=pdk_root)
    with worker_pool(workers) as pool:
        lvs = pool.submit(run_lvs, gds_path, design, pdk, top=top, pdk_root=pdk_root)
        drc = run_drc(gds_path, pdk, top=top, report=drc_report, pool=pool)
        return drc, lvs.result()
