# `make run` and `make test` each do all set-up on a fresh machine first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# The Codex CLI that tests/integration/test_codex.py drives, from npm: installed into .cache/ on
# first use and cached there; changing CODEX_VERSION installs that version next time.
CODEX_VERSION := 0.169.0
NODE_DIR := .cache/node
CODEX_STAMP := $(NODE_DIR)/.codex-$(CODEX_VERSION).installed

.PHONY: run replay test lint services bench bench-faults bench-hostile bench-batch clean codex

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(CODEX_STAMP):
	npm install --no-audit --no-fund --save-exact --prefix $(NODE_DIR) @openai/codex@$(CODEX_VERSION)
	touch $@

codex: $(CODEX_STAMP)

run: $(STAMP)
	$(BIN)/python -m adapter --host $(HOST) --port $(PORT)

replay: $(STAMP)
	$(BIN)/python -m adapter --host $(HOST) --port $(PORT) --replay

# The linter, then the type checker (strict on adapter/, as [tool.mypy] in pyproject.toml says).
lint: $(STAMP)
	$(BIN)/ruff check adapter tests
	$(BIN)/mypy

# The real servers the integration tests start and stop themselves (PostgreSQL, Redis, haproxy),
# installed from the distribution's packages when a binary is missing (nothing to do when all
# three are there). A failed install stops `make test` here, saying what is missing: the tests
# need these servers and never skip them.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo -n)
services:
	@missing=""; \
	{ ls /usr/lib/postgresql/*/bin/initdb || command -v initdb; } >/dev/null 2>&1 \
		|| missing="$$missing postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	{ command -v haproxy || test -x /usr/sbin/haproxy; } >/dev/null 2>&1 \
		|| missing="$$missing haproxy"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing (for the integration tests on real servers)"; \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install \
			-y -qq --no-install-recommends $$missing; } \
		|| { echo "could not install$$missing, which the tests need (apt-get install$$missing)"; \
			exit 1; }; \
	fi

test: lint services $(CODEX_STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run

bench-faults: $(STAMP)
	$(BIN)/python -m tests.bench.faults

# Hostile requests against the adapter (tests/bench/README.md); ADAPTER_DIR=<checkout> measures
# another checkout's code, e.g. a worktree of an older commit.
bench-hostile: $(STAMP)
	$(BIN)/python -m tests.bench.hostile $(if $(ADAPTER_DIR),--adapter-dir $(ADAPTER_DIR))

# A 100,000-line chat batch through a real adapter process: time and peak RSS of the upload,
# batches.create, polling and the download (tests/bench/README.md); LINES=N for another size.
bench-batch: $(STAMP)
	$(BIN)/python -m tests.bench.batch --lines $(or $(LINES),100000)

clean:
	rm -rf $(VENV) build *.egg-info $(NODE_DIR)
