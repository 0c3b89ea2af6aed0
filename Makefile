# The two commands a new machine needs: `make demo` (run the mesh) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# musicnn's wheel carries the MSD_musicnn checkpoint; its TensorFlow dependency is not
# needed (we run the network in NumPy), hence --no-deps.
MUSICNN := musicnn==0.1.0

.PHONY: venv demo test protos lint up down status clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test]"
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps $(MUSICNN)
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(VENV)/bin/juke demo

test: venv
	$(PY) -m pytest

protos: venv
	$(PY) -m services.common.protogen

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy services gateway

up: venv
	$(VENV)/bin/juke up

down: venv
	$(VENV)/bin/juke down

status: venv
	$(VENV)/bin/juke status

clean:
	rm -rf $(VENV) .juke
