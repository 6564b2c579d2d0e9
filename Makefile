# gatelab: the user's entry points. Each target installs what it needs into .venv first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Without a GPU, pin PyTorch's CPU wheel; with one, let pip pick its default (CUDA) build.
# PIP_TORCH_ARGS passes extra pip options for that one install (e.g. another package index).
HAS_GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo yes)
TORCH_SPEC ?= $(if $(HAS_GPU),torch>=2.6,torch==2.13.0)
PIP_TORCH_ARGS ?=

TASK ?= fraud
TRIALS ?=
EPOCHS ?=
CELLS ?=
SEED ?=
CONFIG ?=
DATASET ?=
SEEDS ?=
# REPEATS=k runs the whole search k times with different sampler seeds; the verdict pools them.
REPEATS ?=
SWEEP ?=
THREADS ?=
# make claims: the rules of thumb tested (CLAIMS="R1 R3"; BUDGET=tiny|small|large, configs/claims.yaml).
CLAIMS ?=
BUDGET ?= small
HOST ?= 127.0.0.1
PORT ?= 5000
DASHBOARD_PORT ?= 8080
# make serve: the champion's scoring server, beside make ui.
SERVE_PORT ?= 5001
# Several workers, on this machine (LAUNCHER=local) or as a Slurm job array (LAUNCHER=slurm).
WORKERS ?=
LAUNCHER ?=
DEVICES ?=
SLURM ?=
BACKEND ?=
# The study storage and MLflow's backend database (a postgresql:// URL or a .journal path) reaches gatelab in the environment,
# so that a password in them is not echoed with the command.
STORAGE ?=
ifneq ($(STORAGE),)
export GATELAB_STORAGE := $(STORAGE)
endif
ifneq ($(BACKEND),)
export MLFLOW_BACKEND_STORE_URI := $(BACKEND)
endif

comma := ,
# DATASET names a preset of the task (configs/<task>/<DATASET>.yaml), layered before CONFIG.
LAYERS = $(strip $(DATASET) $(CONFIG))
CONFIG_ARGS = $(if $(LAYERS),--config '[$(subst $() $(),$(comma),$(LAYERS))]')
SWEEP_ARGS := --task $(TASK) $(CONFIG_ARGS) $(if $(TRIALS),--trials $(TRIALS)) \
	$(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(CELLS),--cells '[$(subst $() $(),$(comma),$(strip $(CELLS)))]') \
	$(if $(SEED),--seed $(SEED)) $(if $(DEVICES),--devices $(DEVICES))

.PHONY: install sweep worker report train claims ui dashboard serve serve-bench mlflow-server test bench clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" $(PIP_TORCH_ARGS)
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

sweep: $(STAMP)
	$(BIN)/gatelab sweep $(SWEEP_ARGS) $(if $(SEEDS),--seeds $(SEEDS)) $(if $(WORKERS),--workers $(WORKERS)) \
		$(if $(REPEATS),--repeats $(REPEATS)) $(if $(LAUNCHER),--launcher $(LAUNCHER)) $(if $(SLURM),--slurm '$(SLURM)')

worker: $(STAMP)
	$(BIN)/gatelab worker $(SWEEP_ARGS)

report: $(STAMP)
	$(BIN)/gatelab report --task $(TASK) $(if $(SWEEP),--sweep $(SWEEP)) $(if $(SEEDS),--seeds $(SEEDS))

train: $(STAMP)
	$(BIN)/gatelab train --task $(TASK) $(CONFIG_ARGS) $(if $(EPOCHS),--epochs $(EPOCHS)) \
		$(if $(CELL),--cell $(CELL)) $(if $(SEED),--seed $(SEED))

claims: $(STAMP)
	$(BIN)/gatelab claims --budget $(BUDGET) $(if $(CLAIMS),--claims '[$(subst $() $(),$(comma),$(strip $(CLAIMS)))]')

ui: $(STAMP)
	$(BIN)/gatelab ui --task $(TASK) --host $(HOST) --port $(PORT)

dashboard: $(STAMP)
	$(BIN)/gatelab dashboard --task $(TASK) $(if $(SWEEP),--sweep $(SWEEP)) --host $(HOST) --port $(DASHBOARD_PORT)

# The task's champion over HTTP (MLflow's scoring server); serve-bench measures it from a second shell.
serve: $(STAMP)
	$(BIN)/gatelab serve --task $(TASK) --host $(HOST) --port $(SERVE_PORT)

serve-bench: $(STAMP)
	$(BIN)/gatelab serve-bench --task $(TASK) --host $(HOST) --port $(SERVE_PORT)

# An MLflow tracking server for workers elsewhere: BACKEND=postgresql://... (default: the local store).
mlflow-server: $(STAMP)
	$(BIN)/gatelab ui --host $(HOST) --port $(PORT)

# TEST_WORKERS: test processes side by side (pytest-xdist), one PyTorch thread each, so that two of them
# do not oversubscribe two cores (torch's spinning threads then slow each step several times); the tests of
# the shared tiny sweep run in one of them (--dist loadgroup, tests/conftest.py), so it is built once.
TEST_WORKERS ?= 2
# ruff (lint, pyproject's [tool.ruff]) and mypy (types of platform/, [tool.mypy]) first: both must be clean.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -m "not slurm" -n $(TEST_WORKERS) --dist loadgroup

# Speed figures as a table; the JSON file's path is the last line. THREADS=1 on a machine shared with other jobs.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(if $(THREADS),--threads $(THREADS))

clean-venv:
	rm -rf $(VENV)
