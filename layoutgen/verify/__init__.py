"""Verification: DRC with our own deck (drc.py) and LVS against the netlist IR, both on klayout.db."""
