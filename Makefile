# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOME_DIR ?= ./clientfolio-data
STAMP := $(VENV)/.installed

SYSDEPS := fonts-noto-cjk
BENCHDEPS := tesseract-ocr tesseract-ocr-chi-sim

.PHONY: run test bench lint clean sysdeps

# Debian packages the tests need (CJK fonts to render test scans); installed only when missing.
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

lint: $(STAMP)
	$(BIN)/lint-imports

test: $(STAMP) sysdeps lint
	$(BIN)/pytest -q

bench: $(STAMP)
	@$(MAKE) --no-print-directory sysdeps EXTRA_SYSDEPS="$(BENCHDEPS)"
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
