# Two commands do everything on a fresh machine:
#   make bench   set up .venv and run the benchmark on the bundled sample data (chance baseline)
#   make test    set up .venv and run the suite's own tests
# The default install pins transformers 4 (>=4.57.1,<5), which runs every family's published
# code. `make test5` runs the same tests in a second venv (.venv5) with transformers 5.x, the
# supported option for the transformers-native families; `make test-all` runs both.
PY ?= python3
VENV ?= .venv
VENV5 ?= .venv5
TRANSFORMERS5 ?= transformers>=5,<6
BIN := $(VENV)/bin
BIN5 := $(VENV5)/bin
STAMP := $(VENV)/.installed
STAMP5 := $(VENV5)/.installed

.PHONY: setup setup5 bench test test5 test-all lint sample-data clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -qq -e '.[dev]'  # -qq: no setuptools data-dir warnings
	touch $(STAMP)

# dynbench pins transformers<5, so 5.x goes in as a second step: pip then prints one
# "dependency conflicts" notice for dynbench's pin (expected) and exits 0.
$(STAMP5): pyproject.toml
	$(PY) -m venv $(VENV5)
	$(BIN5)/pip install -q --upgrade pip setuptools wheel
	$(BIN5)/pip install -qq -e '.[dev]'
	$(BIN5)/pip install -qq '$(TRANSFORMERS5)'
	$(BIN5)/python -c "import transformers as t, sys; sys.exit(int(t.__version__.split('.')[0]) < 5)"
	touch $(STAMP5)

setup: $(STAMP)

setup5: $(STAMP5)

bench: $(STAMP)
	$(BIN)/pytest $(ARGS)

test: $(STAMP)
	$(BIN)/pytest tests -q $(ARGS)

test5: $(STAMP5)
	$(BIN5)/pytest tests -q $(ARGS)

test-all: test test5

lint: $(STAMP)
	$(BIN)/ruff check .

sample-data: $(STAMP)
	$(BIN)/python -m dynbench.synth dynbench/sample_data --seed 0

clean:
	rm -rf $(VENV) $(VENV5) .pytest_cache  # reports/ (baselines included) are kept
