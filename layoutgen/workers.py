"""Worker processes for the steps that split into independent pieces (DRC rule groups, array tiles)."""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor


def usable_cores() -> int:
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    return max(1, len(usable))


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of fresh interpreters (spawned, not forked: the caller may hold gigabytes of placement data)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
