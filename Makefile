# Grantflow — the two commands of the README, and the pieces they stand on.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PG_URL := postgres://postgres@127.0.0.1:5432/grantflow

.PHONY: run test venv fonts sysdeps apt lint messages graphs benchmark

# A venv with the project and its test tools; reinstalled when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

# System packages from Debian, installed only when missing: CJK fonts for the PDFs (run and
# test) and Chromium for the browser tests (test).
define apt_install
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $(1)
endef

fonts:
	@fc-list :lang=zh 2>/dev/null | grep -q . || $(MAKE) --no-print-directory apt PKGS=fonts-noto-cjk

sysdeps: fonts
	@command -v chromium >/dev/null || $(MAKE) --no-print-directory apt PKGS=chromium

apt:
	$(call apt_install,$(PKGS))

run: venv fonts
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

# The whole suite: on PostgreSQL when DATABASE_URL is set or one answers on 127.0.0.1:5432.
test: venv sysdeps
	@if [ -z "$$DATABASE_URL" ] && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  export DATABASE_URL=$(PG_URL); fi; \
	if [ -z "$$CELERY_TEST_BROKER_URL" ] && (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then \
	  export CELERY_TEST_BROKER_URL=redis://127.0.0.1:6379/15; fi; \
	echo "Database: $${DATABASE_URL:-sqlite}"; \
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && \
	$(PY) manage.py makemigrations --check --dry-run --settings=config.settings.test && \
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

messages: venv
	$(PY) manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=tests --ignore=benchmarks
	$(PY) manage.py compilemessages --ignore=.venv

# The state-machine pictures of docs/, drawn from the code (needs Debian's graphviz for SVG).
graphs: venv
	export DJANGO_SETTINGS_MODULE=config.settings.base; \
	for m in grants.Application grants.Project review.ReviewAssignment integrity.MisconductCase finance.Contract finance.Disbursement finance.BudgetAdjustment; do \
	  f=docs/state-machines/$$(echo $$m | cut -d. -f2 | tr A-Z a-z); \
	  $(PY) -c "import django; django.setup(); from django.utils import translation; \
	    translation.activate('en'); from django.core.management import call_command; \
	    call_command('graph_transitions', '$$m', skip_checks=True)" > $$f.dot && \
	  dot -Tsvg $$f.dot -o $$f.svg; \
	done

benchmark: venv
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) benchmarks/run.py $(BENCH_ARGS)

# Issue 7 (backup): the database and the media folders into backups/<UTC timestamp>/, and back
# (docs/backup.md). `make restore BACKUP=backups/<timestamp> [DATABASE_URL=...]` wants an empty
# database; RESTORE_ARGS=--force drops what is in it.
.PHONY: backup restore
backup: venv
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) manage.py backup $(BACKUP_ARGS)

restore: venv
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=backups/<timestamp> [DATABASE_URL=...]"; exit 2; }
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) manage.py restore $(BACKUP) $(RESTORE_ARGS)
