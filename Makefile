# sutrabuild: every target sets up its own virtualenv on first use, so any of them
# works as the first command on a fresh clone.
EDITION ?= simple
FORMAT  ?= mermaid
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
# Recipes (and tests that call make or sutrabuild) use this checkout's tools.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help install render check validate list graph bake release verify engine test test-fresh lint bench bench-engine clean

help:
	@echo "make bake EDITION=simple|community|enterprise   render, then docker buildx bake the edition (native platform)"
	@echo "make release EDITION=... REGISTRY=... VERSION=...   stage every platform, verify from the registry, promote by digest"
	@echo "make verify EDITION=...                         run every image of an edition, wait for healthy, enforce the image policy"
	@echo "make render | check | validate | list           generator commands (see README)"
	@echo "make graph [EDITION=...] [FORMAT=dot]           build graph of every edition (or one): Mermaid, or Graphviz dot"
	@echo "make test | bench                               tests (real Docker builds included), generator and CLI speed"
	@echo "make bench-engine [BENCH_FLAGS=--prune]         cold vs one-at-a-time, no-op, one-file change, reproducibility"
	@echo "make lint                                       ruff + mypy (generator/), hadolint (Dockerfiles), shellcheck (scripts/, .ci/run)"
	@echo "make test-fresh                                 reset the engine (build cache, project images, registry), then make test"
	@echo "make engine                                     provision a local Docker engine + base-image stand-ins (Debian, root)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP)

render: $(STAMP)
	$(BIN)/sutrabuild render

check: $(STAMP)
	$(BIN)/sutrabuild check

validate: $(STAMP)
	$(BIN)/sutrabuild validate

list: $(STAMP)
	$(BIN)/sutrabuild list

# Every edition unless EDITION is given (its default, simple, only serves bake and verify).
# No echo of the command, so `make graph > graph.mmd` holds the graph alone.
graph: $(STAMP)
	@$(BIN)/sutrabuild graph $(if $(filter file,$(origin EDITION)),,$(EDITION)) --format $(FORMAT)

# CA_BUNDLE (a PEM file) and PIP_INDEX_URL in the environment reach builds as BuildKit secrets.
bake: $(STAMP)
	$(BIN)/sutrabuild bake $(EDITION) $(BAKE_FLAGS)

# Stage every platform under VERSION-rc.<sha>, verify from the registry, promote by digest.
release: $(STAMP)
	$(BIN)/sutrabuild release $(EDITION) $(if $(REGISTRY),--registry $(REGISTRY)) $(if $(VERSION),--version $(VERSION)) $(RELEASE_FLAGS)

verify: $(STAMP)
	$(BIN)/sutrabuild verify $(EDITION)

engine:
	scripts/engine.sh
	scripts/base-images.sh

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# What a brand-new machine sees: no build cache, no project images, an empty registry.
test-fresh: $(STAMP)
	scripts/reset-engine.sh
	$(MAKE) --no-print-directory test

lint: $(STAMP)
	$(BIN)/ruff check generator tests
	$(BIN)/ruff format --check generator tests
	$(BIN)/hadolint --config .hadolint.yaml dockerfiles/*.Dockerfile
	$(BIN)/mypy
	$(BIN)/shellcheck -x scripts/*.sh .ci/run
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

bench: $(STAMP)
	$(BIN)/python tests/benchmarks/render_speed.py
	$(BIN)/python tests/benchmarks/cli_speed.py

# Engine benchmark (minutes): prints a table, writes bench/results.json and bench/chart.svg.
# BENCH_FLAGS=--prune empties the whole build cache first, as on a fresh machine.
bench-engine: $(STAMP)
	$(BIN)/python tests/benchmarks/engine_bench.py $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
