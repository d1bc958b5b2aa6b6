"""Helpers shared by the CLI subcommands: user errors become one line on stderr and exit code 2."""
from __future__ import annotations

import functools
import os
import sys

import click

from ..errors import LayoutgenError


def user_errors(fn):
    """Turn LayoutgenError into `layoutgen: error: ...` and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LayoutgenError as exc:
            click.echo(f"layoutgen: error: {exc}", err=True)
            sys.exit(2)

    return wrapper


def pdk_root_from_env() -> str | None:
    """PDK_ROOT is read here, at the edge, and passed down explicitly."""
    return os.environ.get("PDK_ROOT") or None
