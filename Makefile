# The README's two commands: `make chat` and `make test`. Everything they need is set up here.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
BIN := .venv/bin

.PHONY: chat test test-fast lint bench model install clean wheel constraints \
	rasa-validate rasa-train rasa-test rasa-shell rasa-interactive dashboard-shot

chat: model
	@$(BIN)/signpost chat

test: lint model
	$(BIN)/pytest

# Everything but the slow tests (training, the wheel, nginx, rasa run, the stock-Rasa benchmark): a few minutes.
test-fast: lint model
	$(BIN)/pytest -m "not slow"

# ruff (configured in pyproject.toml): the lint rules, then whether everything is formatted.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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
# Every package is pinned by constraints.txt (the set a fresh install resolved; `make constraints` remakes it).
.venv/.installed: pyproject.toml constraints.txt scripts/find-python
	@python=$$(scripts/find-python) && echo "Using $$python" && "$$python" -m venv .venv
	@echo "Installing Signpost and Rasa into .venv (about 2 minutes the first time)..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]' 2>&1 \
		| { grep -v -e '^WARNING: Location' -e 'DEPRECATION' -e 'pip 23.1 will enforce' || true; }
	@touch $@

# The wheel to deploy (docs/deploy.md): dist/signpost-VERSION-py3-none-any.whl, carrying services and safety patterns.
wheel: install
	@rm -rf build dist/signpost-*.whl
	@$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation -w dist .
	@rm -rf build
	@ls dist/signpost-*.whl

# Remakes constraints.txt from a fresh resolve of pyproject.toml (needs the network; about 15 minutes).
constraints:
	@python=$$(scripts/find-python) && rm -rf .constraints-venv && "$$python" -m venv .constraints-venv
	@.constraints-venv/bin/python -m pip install --quiet --disable-pip-version-check '.[test]'
	@{ sed -n '1,3p' constraints.txt; .constraints-venv/bin/python -m pip freeze --exclude signpost; } > constraints.new
	@mv constraints.new constraints.txt && rm -rf .constraints-venv build && echo "constraints.txt remade"

# Rasa's own commands on this project's layout (the domain is the responses/ folder, the training data nlu/). Each
# uses endpoints.yml, so the redacting tracker store: nothing typed is kept. Servers listen on 127.0.0.1 only.
MODEL = $$($(BIN)/python -c 'from bot.model_files import latest_model; print(latest_model())')
RASA_ENV = RASA_TELEMETRY_ENABLED=false

rasa-validate: install
	$(RASA_ENV) $(BIN)/rasa data validate --domain responses --data nlu --config config.yml --fail-on-warnings

rasa-train: install
	$(RASA_ENV) $(BIN)/rasa train --domain responses --data nlu --config config.yml --out models

rasa-test: model
	$(RASA_ENV) $(BIN)/rasa test core --stories tests --model $(MODEL) --endpoints endpoints.yml --e2e \
		--fail-on-prediction-errors --out results

rasa-shell: model
	$(RASA_ENV) $(BIN)/rasa shell --model $(MODEL) --endpoints endpoints.yml -i 127.0.0.1

# For a developer writing training stories from their own typing: interactive learning must see the text it writes
# into the training data, so it uses endpoints.interactive.yml (Rasa's ordinary in-memory store). Never give it to
# young people; it listens on port 5005 of every interface (rasa interactive has no --interface).
rasa-interactive: install
	$(RASA_ENV) $(BIN)/rasa interactive --domain responses --data nlu --config config.yml \
		--endpoints endpoints.interactive.yml --e2e --skip-visualization --out models

clean:
	rm -rf .venv models .rasa .pytest_cache build dist
