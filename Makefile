# Two commands set everything up: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-fast fuzz bench bench-public bench-till system-deps clean

# Stamps make the second run fast: pip runs again only when pyproject.toml changes.
$(VENV)/.run-stamp: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-stamp: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.run-stamp

# Debian packages the tests need, and only the tests: Chromium for the browser tests, poppler
# and zbar to read the PDFs and QR codes back, LibreOffice Calc (headless) to open the claim's
# CSV and XLSX, Node to run the till's port of the rules (decide.js) against the engine's table
# and npm to install axe-core (the accessibility check).
# Only installed when missing; needs root, as on CI.  `make run` needs none of
# them: the CJK font the PDFs embed comes with the package (reports/cjk_font/).
SYSTEM_TOOLS := /usr/bin/chromium:chromium /usr/bin/pdftoppm:poppler-utils /usr/bin/zbarimg:zbar-tools \
  /usr/bin/soffice:libreoffice-calc-nogui /usr/bin/node:nodejs /usr/bin/npm:npm
system-deps:
	@missing=""; for pair in $(SYSTEM_TOOLS); do f=$${pair%%:*}; p=$${pair##*:}; \
	  [ -e "$$f" ] || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (install them with apt-get as root)"; fi; fi

run: $(VENV)/.run-stamp
	CANTEEN_ENV=development $(BIN)/canteen init --if-missing --with-demo
	CANTEEN_ENV=development $(BIN)/canteen serve --host $(HOST) --port $(PORT)

# axe-core (from npm, pinned by package-lock.json): the browser tests inject it into the till
# and the diner's pages to check their accessibility.  npm runs again only when package.json or
# the lock file changes.
node_modules/.axe-stamp: package.json package-lock.json | system-deps
	npm ci --no-audit --no-fund
	touch $@

test: $(VENV)/.test-stamp system-deps node_modules/.axe-stamp
	$(BIN)/python -m pytest -q --durations=15

FUZZ_EXAMPLES ?= 200
fuzz: $(VENV)/.test-stamp
	CANTEEN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -s tests/security/test_fuzz.py

bench: $(VENV)/.test-stamp
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done
	@echo "== bench/bench_sales_http.py --engine postgresql"
	$(BIN)/python bench/bench_sales_http.py --engine postgresql

# The public "today" page in Chromium at phone size: bytes transferred and time to the dishes.
bench-public: $(VENV)/.test-stamp system-deps
	$(BIN)/python bench/bench_public_page.py

# The till in Chromium: bytes of a signed-in cashier's first load, and an offline reload to a usable till.
bench-till: $(VENV)/.test-stamp system-deps
	$(BIN)/python bench/bench_till_load.py

clean:
	rm -rf $(VENV) .pytest_cache
