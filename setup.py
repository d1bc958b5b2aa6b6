"""pdk/ and cells/ sit at the top of the repository (the design card's layout) and are
installed inside the wheel as layoutgen/_pdk and layoutgen/_cells; layoutgen.resources
finds them in either place."""
from setuptools import find_packages, setup

DATA = [f"{d}*.{ext}" for d in ("", "*/", "*/*/") for ext in ("json", "lyp", "md", "txt")]

setup(
    packages=find_packages(include=["layoutgen", "layoutgen.*"]) + ["layoutgen._pdk", "layoutgen._cells"],
    package_dir={"layoutgen._pdk": "pdk", "layoutgen._cells": "cells"},
    package_data={"layoutgen._pdk": DATA, "layoutgen._cells": DATA},
)
