# The two commands: `make up` (run everything) and `make test` (run the whole suite).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO_RESIDENTS ?= 50000

.PHONY: up test setup services stop migrate demo lint format bench clean-var

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

services: setup
	$(PY) scripts/devservices.py start

stop:
	$(PY) scripts/devservices.py stop

migrate: services
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo --residents $(DEMO_RESIDENTS)
	$(PY) manage.py seed_national --if-empty

up: demo
	@bash scripts/ensure_system_packages.sh run
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py make_dev_pki
	$(PY) manage.py make_backup_keys
	@bash scripts/up.sh

test: services
	@bash scripts/ensure_system_packages.sh test
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) manage.py check
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py make_backup_keys
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format:
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .
