# Prachar — `make run`, `make demo`, `make test`, `make deploy STAGE=dev`, `make bench`, `make destroy STAGE=dev`,
# `make redrive STAGE=dev`.
# The first target you run creates .venv and installs the pinned requirements.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STAGE ?= dev

.PHONY: run demo test lint unit functional e2e bench deploy destroy redrive examples clean chaos

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

run: $(STAMP)
	$(PY) -m local run

demo: $(STAMP)
	$(PY) -m local demo

test: lint
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

lint: $(STAMP)
	$(PY) -m ruff check .
	$(VENV)/bin/cfn-lint infra/resources.yaml

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

functional: $(STAMP)
	$(PY) -m pytest -q tests/functional

e2e: $(STAMP)
	$(PY) -m pytest -q tests/e2e

bench: $(STAMP)
	$(PY) -m bench

deploy: $(STAMP)
	$(PY) -m infra.deploy --stage $(STAGE) $(if $(CAMPAIGN),--campaign $(CAMPAIGN)) $(if $(TRACING),--tracing)

chaos: $(STAMP)
	$(PY) -m chaos --backend fakes --posts 1000
	$(PY) -m chaos --backend stack --posts 100
	PRACHAR_FUZZ_EXAMPLES=10000 $(PY) -m pytest -q --hypothesis-show-statistics tests/unit/test_parser_fuzz.py tests/unit/test_whatsapp_webhook.py

destroy: $(STAMP)
	$(PY) -m infra.destroy --stage $(STAGE) $(if $(YES),--yes)

redrive: $(STAMP)
	$(PY) -m infra.redrive --stage $(STAGE) $(if $(QUEUE),--queue $(QUEUE))

examples: $(STAMP)
	$(PY) -m tools.example_campaign

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
