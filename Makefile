# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOME_DIR ?= ./clientfolio-data
STAMP := $(VENV)/.installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	@if [ ! -e "$(HOME_DIR)/clientfolio.db" ]; then \
		$(BIN)/clientfolio --home "$(HOME_DIR)" init && \
		$(BIN)/clientfolio --home "$(HOME_DIR)" demo; \
	fi
	$(BIN)/clientfolio --home "$(HOME_DIR)" status

lint: $(STAMP)
	$(BIN)/lint-imports

test: $(STAMP) lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
