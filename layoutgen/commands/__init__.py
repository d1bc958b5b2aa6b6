"""CLI subcommands, one module each (see layoutgen/cli.py)."""
