# privacyops: `make run` starts the whole product on the embedded default, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed

AXE := var/axe/node_modules/axe-core/axe.min.js

# Where `make run` serves: `PORT=NNNN make run` or `make run PORT=NNNN`, else PORT in .env, else 8000.
dotenv = $(shell sed -n 's/^$(1)=//p' .env 2>/dev/null | tail -n 1)
PORT := $(or $(PORT),$(call dotenv,PORT),8000)
# The address in emailed links. honcho gives each process type its own PORT (web PORT, worker
# PORT+100, beat PORT+200), so the worker's own default would not be the web's address.
SITE_URL := $(or $(SITE_URL),$(call dotenv,SITE_URL),http://127.0.0.1:$(PORT))

.PHONY: run test lint messages install install-dev clean bench bench-quick

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(RUNTIME_STAMP) $@

install: $(RUNTIME_STAMP)
install-dev: $(DEV_STAMP)

messages: $(RUNTIME_STAMP)
	@$(BIN)/python scripts/compile_messages.py

# honcho runs with --env /dev/null: it would load .env over the real environment (and its PORT over
# --port); the settings and gunicorn.conf.py read .env themselves, the real environment winning.
run: install messages
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py create_first_staff
	@echo ""
	@echo "  Admin:           http://127.0.0.1:$(PORT)/admin/"
	@echo "  Privacy policy:  http://127.0.0.1:$(PORT)/privacy/"
	@echo "  Requests (DSAR): http://127.0.0.1:$(PORT)/dsar/"
	@echo "  API schema:      http://127.0.0.1:$(PORT)/api/openapi.json  (docs: /api/docs)"
	@echo "  Health:          http://127.0.0.1:$(PORT)/healthz"
	@echo "  Web server (gunicorn), Celery worker and beat are starting; Ctrl-C stops all of it."
	@echo ""
	PATH="$(abspath $(BIN)):$$PATH" SITE_URL="$(SITE_URL)" \
	  $(BIN)/honcho --env /dev/null --procfile Procfile start --port $(PORT)

# The accessibility engine the policy page's browser test injects (skipped where npm is missing).
$(AXE):
	@command -v npm >/dev/null 2>&1 && npm install --prefix var/axe --no-save --no-audit --no-fund --silent axe-core@4.14.1 \
	  || echo "npm not found: the accessibility test will be skipped"

test: install-dev messages $(AXE)
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run
	DEBUG=False SECRET_KEY=ci-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') \
	  FIELD_ENCRYPTION_KEY=$$($(BIN)/python -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())') \
	  ACCESS_LOG_CHAIN_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(48))') \
	  ALLOWED_HOSTS=privacy.example.com \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

# Every benchmark in bench/ against PostgreSQL (DATABASE_URL-independent: each script uses its own
# database on 127.0.0.1); a dated section is appended to docs/BENCHMARKS.md.
bench: install-dev
	$(BIN)/python bench/run_all.py

bench-quick: install-dev
	$(BIN)/python bench/run_all.py --quick --no-write

clean:
	rm -rf $(VENV) var
