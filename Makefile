# The two commands a new machine needs: `make demo` (run the mesh) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# musicnn's wheel carries the MSD_musicnn checkpoint; its TensorFlow dependency is not
# needed (we run the network in NumPy), hence --no-deps.
MUSICNN := musicnn==0.1.0
# Spark (the large-data PMI and ALS trainers) needs a Java 17+ runtime. Where none is on the
# PATH it comes from Debian's packages (the PyPI JREs lack jdk.incubator.vector, which
# Spark 4 asks the JVM for); without root, sudo is used, and a clear message otherwise.
JAVA_PKG := openjdk-17-jre-headless
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: venv demo test protos lint up down status clean

$(STAMP): pyproject.toml
	@command -v java >/dev/null 2>&1 || { \
	  echo "installing $(JAVA_PKG) for Spark"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(JAVA_PKG) >/dev/null; } \
	  || { echo "a Java 17+ runtime is needed for Spark: install $(JAVA_PKG)"; exit 1; }
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
