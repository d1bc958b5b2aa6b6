"""layoutgen's own DRC deck, run with KLayout's engine (klayout.db) in hierarchical (deep) mode.

The deck is the PDK's rule table (pdk/<name>/rules.json); each rule kind maps to one check in
drc_checks.py. Results: per-rule marker counts, and optionally a KLayout marker database (.lyrdb).
"""
from __future__ import annotations

import os
import time
from contextlib import nullcontext
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import klayout.db as kdb
import klayout.rdb as krdb

from ..errors import LayoutgenError
from ..pdk.tech import Rule, Tech
from ..workers import usable_cores, worker_pool  # noqa: F401  (worker_pool: verify.both and tests use it from here)
from .drc_cells import check_by_cell, check_plan
from .drc_io import DrcInputError  # noqa: F401  (callers catch it from here)
from .drc_io import Encoded, decode, drawn_layers, encode, read_layout, top_cell
from .drc_checks import CHECKS, Layers, describe


@dataclass(frozen=True)
class DrcResult:
    top: str
    counts: dict[str, int]  # rule id -> markers found (every rule run, 0 included)
    descriptions: dict[str, str]
    seconds: float
    report: Path | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def clean(self) -> bool:
        return self.total == 0

    @property
    def violated(self) -> dict[str, int]:
        return {k: v for k, v in self.counts.items() if v}

    def summary(self) -> str:
        lines = [f"DRC of {self.top}: {len(self.counts)} rules checked in {self.seconds:.1f} s"]
        width = max((len(k) for k in self.counts), default=0)
        for rule_id, n in self.counts.items():
            if n:
                lines.append(f"  {rule_id:<{width}}  {n:>7}  {self.descriptions[rule_id]}")
        verdict = "clean" if self.clean else f"{self.total} violations in {len(self.violated)} rules"
        lines.append(f"DRC: {verdict}")
        return "\n".join(lines)


PARALLEL_MIN_BYTES = 4 << 20  # below this, starting worker processes (about 1 s each) costs more than the checks


def default_workers(gds_path: Path) -> int:
    """Worker processes for a layout: one per core for large files, none (in-process) for small ones."""
    if gds_path.stat().st_size < PARALLEL_MIN_BYTES:
        return 1
    return usable_cores()


def run_drc(gds_path: str | Path, pdk, top: str | None = None, report: str | Path | None = None,
            *, rules: Iterable[Rule] | None = None, threads: int | None = None, workers: int | None = None,
            pool: Executor | None = None, by_cell: bool = False) -> DrcResult:
    """Check a GDS/OASIS layout against the PDK's DRC rules (or `rules`, a subset of them).

    Writes a KLayout marker database to `report` (.lyrdb) when given.
    KLayout's checks hold the interpreter and barely use threads, so large layouts are checked rule by
    rule in `workers` processes (default: one per core above PARALLEL_MIN_BYTES), or in `pool` when
    the caller shares one (build runs LVS beside the DRC). Results do not depend on the split.
    by_cell: check each distinct cell the top places once, then the seams between the placements
    (drc_cells; for a top of many placements of few cells, such as a layer array).
    """
    gds_path = Path(gds_path)
    tech: Tech = pdk.tech
    rules = tuple(tech.rules if rules is None else rules)
    for rule in rules:
        if rule.kind not in CHECKS:
            raise LayoutgenError(f"pdk/{tech.name}/rules.json: rule {rule.id} has unknown kind '{rule.kind}'")
    start = time.perf_counter()
    layout = read_layout(gds_path)
    cell = top_cell(layout, gds_path, top)
    if workers is None:
        workers = default_workers(gds_path)
    if by_cell:
        check_plan(layout, cell)  # a top that draws shapes itself fails here, before any worker starts
    # the caller's pool, one of our own, or none (in this process)
    with (worker_pool(workers) if pool is None and workers > 1 else nullcontext(pool)) as tasks:
        if by_cell:
            by_cells = check_by_cell(tasks, gds_path, pdk, cell.name, rule_groups(rules))
            findings = {r.id: [(name, decode(m)) for name, m in by_cells[r.id]] for r in rules}
            counts = {r.id: sum(len(m[1]) for _name, m in by_cells[r.id]) for r in rules}
        else:
            found = (check_rules(gds_path, pdk, cell.name, rules, threads) if tasks is None
                     else _check_in_pool(tasks, gds_path, pdk, cell.name, rules))
            counts = {r.id: found[r.id][0] for r in rules}
            findings = {r.id: [(cell.name, decode(m)) for m in found[r.id][1]] for r in rules}
    descriptions = {r.id: describe(r) for r in rules}

    report_path = None
    if report is not None:
        report_path = Path(report)
        _write_rdb(report_path, gds_path, layout, cell, rules, findings, descriptions)
    seconds = time.perf_counter() - start
    return DrcResult(cell.name, counts, descriptions, seconds, report_path)


def check_rules(gds_path: Path, pdk, top: str, rules: Iterable[Rule], threads: int | None = None
                ) -> dict[str, tuple[int, list[Encoded]]]:
    """Run `rules` on the layout: rule id -> (marker count, markers). Markers travel as text so that a
    worker process can return them."""
    layout = read_layout(gds_path)
    cell = top_cell(layout, gds_path, top)
    dss = kdb.DeepShapeStore()
    dss.threads = threads if threads is not None else min(4, os.cpu_count() or 1)
    layers = Layers(layout, cell, pdk.tech, dss)
    drawn = drawn_layers(pdk.tech, layout)
    found = {}
    for rule in rules:
        markers = [m for m in CHECKS[rule.kind](rule, layers, drawn) if not m.is_empty()]
        found[rule.id] = (sum(m.count() for m in markers), [encode(m) for m in markers])
    return found


def rule_groups(rules: Iterable[Rule]) -> list[tuple[Rule, ...]]:
    """The rules split into tasks for worker processes: the rules on one layer (or enclosing by one
    layer) together, since building a layer's hierarchical region is a good part of each check
    (digits: the 6 met1 rules in 58.5 s one by one, 46.6 s together). Largest groups first, so that
    the pool ends evenly."""
    groups: dict[str, list[Rule]] = {}
    for rule in rules:
        p = rule.params
        key = str(p.get("outer") or p.get("layer") or p.get("layers") or p.get("diff") or rule.kind)
        groups.setdefault(key, []).append(rule)
    return sorted((tuple(g) for g in groups.values()), key=lambda g: (-len(g), g[0].id))


def _check_in_pool(pool: Executor, gds_path: Path, pdk, top: str, rules) -> dict[str, tuple[int, list[Encoded]]]:
    futures = [pool.submit(check_rules, gds_path, pdk, top, group, 1) for group in rule_groups(rules)]
    found = {}
    for future in futures:
        found.update(future.result())
    return found


def _write_rdb(path: Path, gds_path: Path, layout: kdb.Layout, cell: kdb.Cell, rules, findings, descriptions) -> None:
    db = krdb.ReportDatabase("layoutgen DRC")
    db.generator = "layoutgen drc"
    db.original_file = gds_path.name
    db.top_cell_name = cell.name
    rdb_cells = {cell.name: db.create_cell(cell.name)}
    to_um = kdb.CplxTrans(layout.dbu)
    for rule in rules:
        cat = db.create_category(rule.id)
        cat.description = f"{rule.id}: {descriptions[rule.id]} ({rule.source})"
        for name, markers in findings[rule.id]:  # markers in the coordinates of the cell they were found in
            if name not in rdb_cells:
                rdb_cells[name] = db.create_cell(name)
            cat.scan_collection(rdb_cells[name], to_um, markers, True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db.save(str(tmp))
        os.replace(tmp, path)  # never leave a half-written report under the final name
    except (OSError, RuntimeError) as exc:
        tmp.unlink(missing_ok=True)
        raise LayoutgenError(f"cannot write DRC report {path}: {exc}") from None
