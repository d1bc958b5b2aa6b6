"""Outputs that appear all at once or not at all: a folder filled beside its destination and moved into
place only when every file is written, so a failed run never leaves a folder that looks complete."""
from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_folder(out_dir: str | Path):
    """Yield an empty staging folder; on success it replaces `out_dir`, on any error it is removed."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(out_dir.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        yield staging
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
