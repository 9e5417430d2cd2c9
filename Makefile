# kejie — two commands on a fresh machine:
#   make demo   install, load the bundled sample, build the index, serve on http://127.0.0.1:8000/
#   make test   install (incl. headless Chromium for the browser tests and LibreOffice Calc for the print check) and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test install system-deps lint bench clean wheel-check

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# the CPU build of torch that lies on this machine; must come before sentence-transformers
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash scripts/system-deps.sh

demo: install
	$(BIN)/kejie serve --load-sample

test: install system-deps
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q -m slow

# build the wheel, install it non-editable into a fresh venv, run `kejie rank` with the domain dictionary
wheel-check: install
	VENV=$(VENV) bash scripts/wheel-check.sh

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/bench_planner.py

clean:
	rm -rf $(VENV) var
