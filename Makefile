# gdlab — the two commands are `make run` and `make test`; both set themselves up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.gdlab-installed

.PHONY: install run test lint ui exps exps-spread bench lr-find server ci ci-pipeline clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create the virtual environment and install gdlab with its dev tools

run: install  ## run the whole pipeline (dvc repro) on params.yaml
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro

test: install  ## run the test suite
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

lr-find: install  ## learning-rate guidance for params.yaml: L (1/L, 2/L) and the LR range test
	$(BIN)/gdlab lr-find --plot reports/figures/lr_find.png

lint: install  ## ruff
	$(BIN)/ruff check src tests pipeline bench scripts examples

ui: install  ## MLflow UI on 127.0.0.1 against the project's store
	$(BIN)/mlflow ui --host 127.0.0.1 --port 5000 --backend-store-uri "sqlite:///$(CURDIR)/mlflow.db"

exps: install  ## the experiments side by side (some 180 columns): CV means, the optimiser, learning rate, batch size and schedule trained with, the other params.yaml keys that differ
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc exp show --no-pager --only-changed \
		--drop '^(?!params\.yaml:(?!(optimizer\.(name|learning_rate)|train\.batch_size|schedule\.name)$$))' \
		--keep '^(Experiment|mean\.|trained\.(optimizer|lr|batch|schedule)$$)'

exps-spread: install  ## make exps and every column it leaves out: Created, CV std, test metrics, the other trained values and params.yaml keys that differ
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc exp show --no-pager --only-changed \
		--drop '^(?!params\.yaml:|trained\.)' \
		--keep '^(Experiment|Created|mean\.|std\.|test\.|trained\.(optimizer|lr|batch|schedule)$$)'

server: install  ## shared MLflow server on 127.0.0.1 (GDLAB_SERVER_STORE=postgresql://..., else SQLite)
	$(BIN)/python -m gdlab.server

ci: install lint test ci-pipeline  ## the steps of .github/workflows/ci.yml, locally

ci-pipeline: install  ## dvc repro on scripts/ci_params.yaml in a worktree; metrics/params diff vs main
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/ci_pipeline.py

bench: install  ## benchmarks (needs the bench extra: torch)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

clean-venv:
	rm -rf $(VENV)
