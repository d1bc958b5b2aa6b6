"""Command-line edge of layoutgen: parses options, reads the environment once, maps errors to exit codes.

Each subcommand lives in layoutgen/commands/<name>.py and exports a click command named `command`.
"""
from __future__ import annotations

import importlib

import click

from . import __version__

SUBCOMMANDS = ["build", "sim", "quantize", "drc", "lvs", "faults", "lmbuild", "generate", "estimate"]


class _LazyGroup(click.Group):
    """Import a subcommand's module only when it runs (keeps `layoutgen --help` fast)."""

    def list_commands(self, ctx):
        return SUBCOMMANDS

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        return importlib.import_module(f"layoutgen.commands.{name}").command


@click.group(cls=_LazyGroup)
@click.version_option(__version__, prog_name="layoutgen")
def main():
    """Compile a quantized neural network into a hardwired standard-cell chip."""
