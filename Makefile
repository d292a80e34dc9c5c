# The two setup commands of the README. Each is safe to run again.
VENV := .venv

.PHONY: run test

run:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e .
	$(VENV)/bin/partner-platform run

test:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	npm ci --prefix tests/node --no-audit --no-fund --silent
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium chromium-driver)
	$(VENV)/bin/pytest -p no:cacheprovider
