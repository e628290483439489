# Every set-up step lives here: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo demo-python test test-oldest docs lint format typecheck bench clean

# The oldest scikit-learn release hpsearch supports (pyproject.toml).
SKLEARN_OLDEST ?= 1.7.2
VENV_OLDEST := .venv-oldest
STAMP_OLDEST := $(VENV_OLDEST)/.installed

CHROMIUM := /usr/bin/chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The dashboard's browser tests drive Debian's Chromium with Playwright
# (Playwright's own browser download cannot work offline).
$(CHROMIUM):
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

# One study file end to end on the embedded SQLite storage; running it again resumes.
demo: $(STAMP)
	$(VENV)/bin/hpsearch run examples/svc_digits.toml --storage sqlite:///demo.db
	@echo
	@echo "The results are in demo.db (SQLite) in this folder, study 'svc_digits'. Look at them with:"
	@echo "  $(VENV)/bin/hpsearch show svc_digits --storage sqlite:///demo.db"
	@echo "  $(VENV)/bin/hpsearch studies --storage sqlite:///demo.db"
	@echo "  $(VENV)/bin/hpsearch export svc_digits --storage sqlite:///demo.db -o results.csv"
	@echo "More study files: examples/*.toml. The Python API: make demo-python (examples/demo.py)."
	@echo
	@echo "See the study in a browser (plots, trial table, live while a search runs):"
	@echo "  $(VENV)/bin/hpsearch dashboard --storage sqlite:///demo.db"
	@echo "then open http://127.0.0.1:8080/ (Ctrl-C stops the dashboard)."

demo-python: $(STAMP)
	$(PY) examples/demo.py

test: $(STAMP) $(CHROMIUM)
	$(PY) -m pytest $(PYTEST_ARGS)

$(STAMP_OLDEST): pyproject.toml
	$(PYTHON) -m venv $(VENV_OLDEST)
	$(VENV_OLDEST)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_OLDEST)/bin/python -m pip install --quiet -e '.[dev]' 'scikit-learn==$(SKLEARN_OLDEST)'
	touch $(STAMP_OLDEST)

# The whole suite on the oldest supported scikit-learn (CI runs it too).
test-oldest: $(STAMP_OLDEST) $(CHROMIUM)
	$(VENV_OLDEST)/bin/python -m pytest $(PYTEST_ARGS)

# The API reference from the numpydoc docstrings (Sphinx), warnings as errors.
docs: $(STAMP)
	rm -rf docs/_build
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html
	@echo "Open docs/_build/html/index.html"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(VENV)/bin/ruff format --check src tests examples benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format src tests examples benchmarks
	$(VENV)/bin/ruff check --fix src tests examples benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy src

# Ratios against scikit-learn (and local n_jobs=2, in-memory storage) measured
# in the same run; the table of run.py is also written into the README.
bench: $(STAMP) $(CHROMIUM)
	$(PY) benchmarks/run.py $(BENCH_ARGS)
	$(PY) benchmarks/storage_overhead.py
	$(PY) benchmarks/dask_overhead.py --sleep
	$(PY) benchmarks/dashboard_load.py
	$(PY) benchmarks/continuation.py
	$(PY) benchmarks/search_quality.py

clean:
	rm -rf $(VENV) $(VENV_OLDEST) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache docs/_build
