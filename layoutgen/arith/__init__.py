"""Arithmetic generator: constant dot products as shift-and-add logic (CSE adder graph + compressor trees)."""
