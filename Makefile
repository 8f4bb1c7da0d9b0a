# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_MODEL := hubaudit/demo_models/mnist-zeros30
DEMO_ANNOTATOR := hubaudit/demo_models/mnist-zero-annotator

.PHONY: demo test lint system-deps benchmarks supported-families-doc clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first: 2.13.0 is a CPU build on local disk; a bare `torch` would pull a multi-GB CUDA build
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,space]'
	touch $(STAMP)

# Debian packages the tests use: Chromium for the Space's browser test, Fashion-MNIST data.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/datasets/fashion-mnist ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver dataset-fashion-mnist; \
	fi

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/hubaudit scan $(DEMO_MODEL) -n 200 --batch-size 50 --steps 40 --scheduler ddim \
		--attribute is_zero=aux:$(DEMO_ANNOTATOR) --out out/demo

# ruff's settings are in pyproject.toml ([tool.ruff]); `$(BIN)/ruff format` and `$(BIN)/ruff check --fix` mend most of
# what lint reports.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint system-deps
	$(BIN)/pytest -q

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/sampling.py --json out/benchmarks/sampling.json

# docs/supported-families.md's coverage line and table, from the test registries and the last families benchmark
# (refresh that with `$(BIN)/python benchmarks/families.py --json benchmarks/results/families.json`).
supported-families-doc: $(STAMP)
	$(BIN)/python benchmarks/families.py --from-json benchmarks/results/families.json --doc docs/supported-families.md

clean:
	rm -rf out hubaudit-out .pytest_cache
