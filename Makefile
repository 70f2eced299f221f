# Two commands for a fresh machine:
#   make demo   installs what is needed and runs the demo
#   make test   installs what is needed and runs the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install system-deps lint bench bench-district question-model clean crash-test messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml setup.py | $(BIN)/python
	$(BIN)/pip install -q -e '.[demo,test,dev]'
	touch $@

install: $(VENV)/.installed

system-deps:
	sh scripts/install-system-deps.sh

demo: install
	$(BIN)/linli demo

test: system-deps install
	$(BIN)/python -m pytest -p no:cacheprovider

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/run_all.py

# Extract the message keys from the code, update every part's .po catalogues and compile the .mo
# files the bot reads (linli.common.catalogues; README "Messages and languages").
messages: install
	$(BIN)/python -m linli.common.catalogues

# The district benchmark (issue 11): a local Synapse, the bot process and 2,000 rooms, then a
# synthetic 300,000-member sync stream; writes bench/results/district.json. Smaller or more:
#   make bench-district DISTRICT_ARGS="--rooms 200 --members 20000"   (--pg: PostgreSQL too)
DISTRICT_ARGS ?=
bench-district: install
	$(BIN)/python bench/district.py $(DISTRICT_ARGS)

# Rebuild the corpus from its generator and the shipped question model from the corpus.
question-model: install
	$(BIN)/python scripts/question_corpus.py
	$(BIN)/linli questions train

clean:
	rm -rf $(VENV) demo-data .pytest_cache

# The kill -9 crash test alone, with more rounds than `make test` runs, its table shown.
ROUNDS ?= 20
crash-test: install
	LINLI_CRASH_ROUNDS=$(ROUNDS) $(BIN)/python -m pytest -p no:cacheprovider -s tests/integration/test_crash.py
