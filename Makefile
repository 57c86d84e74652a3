# Grantflow — the two commands of the README, and the pieces they stand on.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PG_URL := postgres://postgres@127.0.0.1:5432/grantflow

.PHONY: run test venv fonts sysdeps apt lint messages graphs benchmark lock audit-deps

# A venv with the project and its test tools, installed from the lock file (exact versions,
# checked hashes); reinstalled when pyproject.toml or requirements.lock changes.
$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q -e . --no-deps
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
	$(MAKE) --no-print-directory audit-deps && \
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

# Issue 7 (security): the lock file and the audit of what it pins (docs/security.md).
# Regenerate after changing pyproject.toml's dependencies (or to take upgrades).
lock: venv
	$(VENV)/bin/pip-compile -q --extra dev --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

# Known vulnerabilities (PyPI's advisory data) in the locked versions: fails on any finding,
# and on any package it could not check. Where PyPI's per-version JSON API cannot be reached
# it warns and goes on, unless AUDIT_REQUIRED=1 (CI with internet): then it fails closed.
AUDIT_PROBE := https://pypi.org/pypi/pip/24.0/json
audit-deps: venv
	@if $(PY) -c "import urllib.request as u; u.urlopen('$(AUDIT_PROBE)', timeout=20)" 2>/dev/null; then \
	  $(VENV)/bin/pip-audit --strict --vulnerability-service pypi --no-deps --disable-pip \
	    -r requirements.lock; \
	elif [ -n "$$AUDIT_REQUIRED" ]; then \
	  echo "audit-deps: PyPI's vulnerability data cannot be reached and AUDIT_REQUIRED is set." >&2; \
	  exit 1; \
	else \
	  echo "audit-deps: WARNING: PyPI's vulnerability data cannot be reached from here;" \
	    "dependencies NOT audited (set AUDIT_REQUIRED=1 to fail instead)." >&2; \
	fi
# Issue 7 (runtime): a local "production" stack on one machine (docs/deploy.md): gunicorn with
# two worker processes on 127.0.0.1:$(PROD_PORT), two Celery workers and beat, against the
# local PostgreSQL and Redis; pids and logs under var/. Settings from deploy/local.env (when
# present) else deploy/local.env.example; a variable already set in the environment wins
# (e.g. `DATABASE_URL=postgres://…/other make prod-up`).
PROD_PORT ?= 8100
PROD_ENV := $(firstword $(wildcard deploy/local.env) deploy/local.env.example)
PROD_VAR := var
PROD_SHELL := while IFS='=' read -r k v; do [ -n "$${!k+x}" ] || export "$$k=$$v"; \
  done < <(grep -E '^[A-Z_]+=' $(PROD_ENV)); \
  export PROMETHEUS_MULTIPROC_DIR=$$PWD/$(PROD_VAR)/prometheus GUNICORN_BIND=127.0.0.1:$(PROD_PORT)

.PHONY: prod-up prod-down prod-status

prod-up: venv
	@mkdir -p $(PROD_VAR)/log $(PROD_VAR)/run
	@$(PROD_SHELL); \
	createdb --maintenance-db="$${DATABASE_URL%/*}/postgres" "$${DATABASE_URL##*/}" 2>/dev/null || true; \
	$(PY) manage.py collectstatic --noinput -v0 && $(PY) manage.py migrate --noinput -v0 || exit 1; \
	start() { nohup "$$@" >> $(PROD_VAR)/log/$$name.log 2>&1 & echo $$! > $(PROD_VAR)/run/$$name.pid; }; \
	name=web start $(VENV)/bin/gunicorn -c deploy/gunicorn.conf.py config.wsgi; \
	for n in 1 2; do \
	  name=worker$$n start $(VENV)/bin/celery -A config worker --hostname=worker$$n@%h \
	    --loglevel=INFO --without-heartbeat --without-gossip --without-mingle; \
	done; \
	name=beat start $(VENV)/bin/celery -A config beat --loglevel=INFO \
	  --schedule=$(PROD_VAR)/run/celerybeat-schedule
	@for i in $$(seq 1 30); do curl -fs -o /dev/null http://127.0.0.1:$(PROD_PORT)/healthz && break; sleep 1; done
	@echo "Grantflow on http://127.0.0.1:$(PROD_PORT)/ — logs in $(PROD_VAR)/log, make prod-status, make prod-down"

prod-down:
	@for p in web worker1 worker2 beat; do \
	  f=$(PROD_VAR)/run/$$p.pid; [ -f $$f ] || continue; pid=$$(cat $$f); \
	  kill -TERM $$pid 2>/dev/null && echo "stopping $$p ($$pid)"; \
	  for i in $$(seq 1 30); do kill -0 $$pid 2>/dev/null || break; sleep 1; done; \
	  rm -f $$f; \
	done

prod-status:
	@for p in web worker1 worker2 beat; do \
	  f=$(PROD_VAR)/run/$$p.pid; \
	  if [ -f $$f ] && kill -0 $$(cat $$f) 2>/dev/null; then echo "$$p: running ($$(cat $$f))"; \
	  else echo "$$p: stopped"; fi; \
	done
	@curl -sS -w '\nHTTP %{http_code}\n' http://127.0.0.1:$(PROD_PORT)/readyz
# Issue 7 (backup): the database and the media folders into backups/<UTC timestamp>/, and back
# (docs/backup.md). `make restore BACKUP=backups/<timestamp> [DATABASE_URL=...]` wants an empty
# database; RESTORE_ARGS=--force drops what is in it.
.PHONY: backup restore
backup: venv
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) manage.py backup $(BACKUP_ARGS)

restore: venv
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=backups/<timestamp> [DATABASE_URL=...]"; exit 2; }
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) manage.py restore $(BACKUP) $(RESTORE_ARGS)
