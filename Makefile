# The commands of the README. Each creates the virtual environment on first
# use and installs it from the lock (constraints.txt).
SHELL := /bin/bash
# Python 3.11 (Airflow 3.3 and the lock are resolved for it).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed

export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export JIRASYNC_SANDBOX_PORT ?= 8900

.PHONY: demo celery-demo test airflow bench lint lock venv clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	# Compiled bytecode: the environment may set PYTHONDONTWRITEBYTECODE, and
	# without .pyc files every process would compile Airflow and Great
	# Expectations again (seconds per process, and the tests start many).
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode \
		-r requirements-dev.txt -c constraints.txt -e .
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/jirasync demo

# The syncs on the CeleryExecutor: PostgreSQL and Redis on this machine, two Celery workers
# (make celery-demo AIRFLOW_PORT=8081 moves the api-server).
celery-demo: $(STAMP)
	$(BIN)/jirasync celery-demo --port $(AIRFLOW_PORT)

# The browser tests drive Debian's Chromium: installed here where it is missing (as root, or
# through sudo).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# One worker per core and one more: the browser and end-to-end tests spend much of their time
# waiting on Airflow's scheduler and the sandbox, and the extra worker fills it (on two cores the
# suite took 740 s with three workers against 903 s with two). A test file stays on one worker, so
# an end-to-end module seeds its sandbox world once, and the browser tests share one Airflow. The
# files are handed out in the order tests/conftest.py gives them (slowest first), not reordered by
# their number of tests, as xdist would.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# make airflow AIRFLOW_PORT=8081 serves the UI on another port.
AIRFLOW_PORT ?= 8080
airflow: $(STAMP)
	$(BIN)/jirasync airflow --port $(AIRFLOW_PORT)

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Re-resolve the lock after a change to requirements*.txt.
lock:
	test -x $(BIN)/uv || (test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); $(BIN)/python -m pip install --quiet uv==$(UV_VERSION))
	$(BIN)/uv pip compile --python-version 3.11 --no-header --quiet requirements-dev.txt -o constraints.txt

clean:
	rm -rf $(VENV) .airflow .airflow-celery .pytest_cache
