# Careline: `make run` serves the app, `make test` runs the suite. Both set everything up first
# and are quick the second time.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
SAMPLE_LIBRARY := kb/fixtures/sample_library.json
HOST ?= 127.0.0.1:8000
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_URL ?= redis://127.0.0.1:6379/0

export HF_HUB_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install setup run worker test test-integration fuzz lint format clean

install: $(INSTALLED)

$(INSTALLED): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing the requirements into $(VENV) (the first time: a few minutes, about 2 GB)..."
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

setup: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py import_library $(SAMPLE_LIBRARY) --if-empty
	$(PY) manage.py rebuild_index --if-stale
	$(PY) manage.py ensure_admin --address $(HOST)

run: setup
	$(PY) manage.py runserver $(HOST)

worker: install
	$(VENV)/bin/celery -A config worker --beat --loglevel=info --concurrency=2 --queues=celery,index-build

# The suite runs on pytest-xdist workers, one per core (JOBS=2: two; JOBS=0: in this process).
JOBS ?= auto
PYTEST_PARALLEL := -n $(JOBS) --dist loadgroup

test: setup
	$(PY) -m pytest -m "not integration" $(PYTEST_PARALLEL)

test-integration: install
	DATABASE_URL=$(POSTGRES_URL) CELERY_BROKER_URL=$(REDIS_URL) $(PY) -m pytest -m "integration"

# Schemathesis against a real gunicorn with its own database: no operation may answer a 5xx.
fuzz: install
	$(PY) tests/fuzz/run_schemathesis.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/mypy .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf var/ staticfiles/ .pytest_cache .mypy_cache .ruff_cache
