# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOME_DIR ?= ./clientfolio-data
STAMP := $(VENV)/.installed

SYSDEPS := fonts-noto-cjk chromium
PORT ?= 8000
BENCHDEPS := tesseract-ocr tesseract-ocr-chi-sim

.PHONY: run test bench lint clean sysdeps messages

# Debian packages the tests need (CJK fonts to render test scans and pages, chromium for the browser tests);
# installed only when missing.
sysdeps:
	@missing=$$(for p in $(SYSDEPS) $(EXTRA_SYSDEPS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get install -y -q $$missing >/dev/null 2>&1 || \
			{ $$sudo apt-get update -q >/dev/null && $$sudo apt-get install -y -q $$missing >/dev/null; }; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	@if [ ! -e "$(HOME_DIR)/clientfolio.db" ]; then \
		$(BIN)/clientfolio --home "$(HOME_DIR)" init && \
		$(BIN)/clientfolio --home "$(HOME_DIR)" demo && \
		$(BIN)/clientfolio --home "$(HOME_DIR)" worker --once; \
	fi
	$(BIN)/clientfolio --home "$(HOME_DIR)" status
	@echo ""
	@echo "Open http://127.0.0.1:$(PORT)/ and sign in as frontdesk (clerk), wang.am (account manager, own"
	@echo "customers), reader (viewer), li.manager, audit or admin (these set up two-step sign-in first);"
	@echo "every demo password is Clientfolio-Demo-2025. Ctrl-C stops the server."
	$(BIN)/clientfolio --home "$(HOME_DIR)" serve --port $(PORT)

lint: $(STAMP)
	$(BIN)/lint-imports

test: $(STAMP) sysdeps lint
	$(BIN)/pytest -q

bench: $(STAMP)
	@$(MAKE) --no-print-directory sysdeps EXTRA_SYSDEPS="$(BENCHDEPS)"
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench

# The web pages' text: extract every _() / translate() into the template, merge it into the zh_CN catalogue
# (new entries arrive untranslated: tests/unit/test_translations.py fails until each has its Chinese).
LOCALES_DIR := src/clientfolio/entrypoints/web/locales
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k translate:2 -k N_ --no-location --omit-header --sort-output \
		-o $(LOCALES_DIR)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALES_DIR)/messages.pot -d $(LOCALES_DIR) -l zh_CN \
		--no-fuzzy-matching

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
