# Two commands do all the set-up on a fresh machine:
#   make run    - the sync server with demo data on an embedded SQLite file (ws://127.0.0.1:8080/sync)
#   make test   - lint and the whole test suite (Python + stock JS automerge-repo clients + the JS
#                 SDK and the offline web app, which it builds)
# Both create the virtualenv and install what they need on first use.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := tests/interop/node_modules/.installed
# The JS SDK and the offline web app (docs/js-sdk.md): packages from the committed lock, and the
# app built into client_sdk/js/dist/app (git-ignored), which the server serves at /app/.
JS_DIR := client_sdk/js
JS_STAMP := $(JS_DIR)/node_modules/.installed
APP_BUILT := $(JS_DIR)/dist/app/index.html
APP_SOURCES := $(shell find $(JS_DIR)/src $(JS_DIR)/app -type f 2>/dev/null) $(JS_DIR)/vite.config.ts
HOST ?= 127.0.0.1
PORT ?= 8080
DATA_DIR ?= data

.PHONY: run test lint install app system-packages soak clean

# Debian packages the tests drive: chromium for the browser tests (no browser is downloaded);
# postgresql, from which the tests of several instances on one database start their own
# throw-away server (tests/harness/postgres.py). Under `make test` (so in CI) a missing
# PostgreSQL fails those tests instead of skipping them (SOTAY_REQUIRE_POSTGRES=1).
SYSTEM_PACKAGES := chromium postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[server,dev]'
	touch $(STAMP)

$(NODE_STAMP): tests/interop/package.json tests/interop/package-lock.json
	# npm 11 leaves the optional cbor-extract binaries out of the lock, which `npm ci` rejects;
	# `npm install` honours the committed lock (exact versions) and does not rewrite it.
	cd tests/interop && npm install --no-audit --no-fund
	touch $(NODE_STAMP)

$(JS_STAMP): $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	# As for tests/interop: `npm install` honours the committed lock and leaves it as it is.
	cd $(JS_DIR) && npm install --no-audit --no-fund
	touch $(JS_STAMP)

$(APP_BUILT): $(JS_STAMP) $(APP_SOURCES)
	cd $(JS_DIR) && npx vite build --logLevel warn
	touch $(APP_BUILT)

app: $(APP_BUILT)

install: $(STAMP) $(NODE_STAMP) $(JS_STAMP)

system-packages:
	@dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1 || { \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $(SYSTEM_PACKAGES); }

run: $(STAMP) $(APP_BUILT)
	$(PY) server.py --demo --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

lint: $(STAMP) $(JS_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	cd $(JS_DIR) && npx tsc --noEmit -p .

test: install system-packages lint app
	$(PY) tests/fetch_test_images.py
	SOTAY_REQUIRE_POSTGRES=1 $(PY) -m pytest -q

soak: install system-packages
	$(PY) tests/fetch_test_images.py
	SOTAY_SOAK=1 SOTAY_REQUIRE_POSTGRES=1 $(PY) -m pytest -q -s tests/property tests/test_crash_soak.py

clean:
	rm -rf $(VENV) tests/interop/node_modules $(JS_DIR)/node_modules $(JS_DIR)/dist $(JS_DIR)/.conformance \
		$(DATA_DIR) .pytest_cache .ruff_cache .hypothesis
