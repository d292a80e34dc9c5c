# The two setup commands of the README. Each is safe to run again.
VENV := .venv
# The signed contract's fonts: Noto for every script (domain/documents/fonts.py).
FONTS := fonts-noto-core fonts-noto-cjk

.PHONY: run test

run:
	dpkg -s $(FONTS) >/dev/null 2>&1 || (apt-get update && apt-get install -y $(FONTS))
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e .
	$(VENV)/bin/partner-platform run

test:
	dpkg -s $(FONTS) >/dev/null 2>&1 || (apt-get update && apt-get install -y $(FONTS))
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	npm ci --prefix tests/node --no-audit --no-fund --silent
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium chromium-driver)
	$(VENV)/bin/pytest -p no:cacheprovider
