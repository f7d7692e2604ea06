# Two commands on a fresh Linux machine with Python 3.11:
#   make run   - virtualenv in .venv, pinned requirements, `flask db upgrade`, gunicorn on 127.0.0.1:8000
#                (`make run PORT=8001` for another port; settings from the environment, else .env)
#   make test  - the same .venv plus requirements-dev.txt, then the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
# No PORT or WEB_CONCURRENCY default here: unset, they come from .env (read by config.py and
# gunicorn.conf.py), else their defaults there. `make run PORT=8001` wins over both.
export FLASK_APP := app

.PHONY: run test mutate lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

# The Docker image's start path (serving/start.sh): a taken port is one line; if the database is
# down, migrations retry in the background while the server boots anyway (docs/operations.md).
run: $(VENV)/.runtime-installed
	PATH="$(abspath $(BIN)):$$PATH" $(if $(PORT),PORT=$(PORT)) exec sh serving/start.sh $(HOST)

# Branch coverage (pyproject.toml [tool.coverage]) is printed before pytest's summary line.
test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest --cov --cov-report=term $(PYTEST_ARGS)

# Mutation testing (not in CI; slow): mutmut over the promise modules of pyproject.toml
# [tool.mutmut], then the score per module and the survivors. MUTANTS="api.cache*" narrows it;
# results are kept in mutants/ and a second run resumes (delete mutants/ after changing tests).
MUTANTS ?=
MUTATE_CHILDREN ?= 2
mutate: $(VENV)/.dev-installed
	$(BIN)/mutmut run --max-children $(MUTATE_CHILDREN) $(MUTANTS)
	$(BIN)/python -m tests.support.mutation_score

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/core.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache mutants .coverage .coverage.*
