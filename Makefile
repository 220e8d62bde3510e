# The two set-up commands: `make run` (install, migrate, demo data, serve) and `make test`.
# Both create .venv with Python 3.11 when it is missing and reinstall only when a requirements file changed.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format worker beat bench migrate demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: $(PY) requirements/base.txt
	$(PY) -m pip install --quiet -r requirements/base.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-base requirements/dev.txt
	$(PY) -m pip install --quiet -r requirements/dev.txt
	touch $@

migrate: $(VENV)/.installed-base
	$(MANAGE) migrate --noinput

demo: migrate
	$(MANAGE) create_demo_users
	$(MANAGE) create_demo_book
	$(MANAGE) create_demo_claims
	$(MANAGE) generate_demo_data --claims 3000
	$(MANAGE) train_fraud_model --promote
	$(MANAGE) rescore --all
	$(MANAGE) refresh_kpis

run: demo
	@echo "Serving at http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /api/docs/, health: /health/)"
	$(MANAGE) runserver $(HOST):$(PORT)

# PostgreSQL when DATABASE_URL points there or a server answers on 127.0.0.1:5432, otherwise SQLite
# (tests marked `postgres` are then skipped, and the run says so in its header).
test: $(VENV)/.installed-dev
	@if [ -z "$$DATABASE_URL" ] && $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then \
		export DATABASE_URL=postgres://postgres@127.0.0.1:5432/insurance; \
		echo "make test: PostgreSQL answers on 127.0.0.1:5432, using it"; \
	elif [ -z "$$DATABASE_URL" ]; then \
		echo "make test: no PostgreSQL on 127.0.0.1:5432 and no DATABASE_URL: running on SQLite, PostgreSQL-only tests skipped"; \
	fi; \
	CHECK_TEMPLATES=1 $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DJANGO_SETTINGS_MODULE=insurance.settings.test $(MANAGE) makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=insurance.settings.test $(MANAGE) spectacular --validate --fail-on-warn --file /dev/null

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# A worker for a real broker: set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) first.
worker: $(VENV)/.installed-base
	$(VENV)/bin/celery -A insurance worker --loglevel=INFO

beat: $(VENV)/.installed-base
	$(VENV)/bin/celery -A insurance beat --loglevel=INFO

# Runs every benchmark script under bench/ (each prints its own figures).
bench: $(VENV)/.installed-dev
	@found=0; for script in bench/*.py; do [ -e "$$script" ] || continue; found=1; \
		echo "== $$script"; $(PY) "$$script" || exit 1; done; \
	[ $$found = 1 ] || echo "make bench: no benchmarks under bench/ yet"

clean:
	rm -rf $(VENV) var db.sqlite3
