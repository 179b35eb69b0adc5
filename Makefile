# Two commands do everything on a fresh machine:
#   make bench   set up .venv and run the benchmark on the bundled sample data (chance baseline)
#   make test    set up .venv and run the suite's own tests
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup bench test lint sample-data clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -qq -e '.[dev,qwen]'  # -qq: no setuptools data-dir warnings
	touch $(STAMP)

setup: $(STAMP)

bench: $(STAMP)
	$(BIN)/pytest $(ARGS)

test: $(STAMP)
	$(BIN)/pytest tests -q $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

sample-data: $(STAMP)
	$(BIN)/python -m dynbench.synth dynbench/sample_data --seed 0

clean:
	rm -rf $(VENV) .pytest_cache  # reports/ (baselines included) are kept
