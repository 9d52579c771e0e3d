# The README's two commands: `make chat` and `make test`. Everything they need is set up here.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
BIN := .venv/bin

.PHONY: chat test bench model install clean dashboard-shot

chat: model
	@$(BIN)/signpost chat

test: model
	$(BIN)/pytest

bench: model
	$(BIN)/python -m benchmarks.run

# A screenshot of the moderators' dashboard front page (made-up demo counts), for a reviewer: needs chromium.
dashboard-shot: install
	$(BIN)/python -m bot.stats.browser dashboard-shot.png

# Trains only when the training data or config changed (the model's name carries their fingerprint).
model: install
	@$(BIN)/signpost train

install: .venv/.installed

# Rasa 3.6 needs Python 3.10: scripts/find-python finds one or says clearly what is missing.
.venv/.installed: pyproject.toml scripts/find-python
	@python=$$(scripts/find-python) && echo "Using $$python" && "$$python" -m venv .venv
	@echo "Installing Signpost and Rasa into .venv (about 2 minutes the first time)..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]' 2>&1 \
		| { grep -v -e '^WARNING: Location' -e 'DEPRECATION' -e 'pip 23.1 will enforce' || true; }
	@touch $@

clean:
	rm -rf .venv models .rasa .pytest_cache
