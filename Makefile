# The two commands a newcomer runs: `make course` (run the course) and `make test` (run the tests).
# Both bootstrap .venv when it is missing or older than pyproject.toml, and are quick when current.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# parallel test workers (2 cores here); override with `make test JOBS=1`
JOBS   ?= 2

.PHONY: help venv course test lab bench mutants lint clean

help:
	@echo "make course   run the course: execute every lesson into build/course/"
	@echo "make test     run the tests (library, command line, notebooks, nbgrader round trip)"
	@echo "make lab      open JupyterLab on the course"
	@echo "make bench    run the benchmarks (not part of make test)"
	@echo "make mutants  mutation-test the assignments' hidden tests (not part of make test)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

course: $(STAMP)
	$(PY) -m mlcicd.course

test: $(STAMP)
	$(PY) -m pytest -q -n $(JOBS) --dist loadgroup

# JupyterLab starts in assignments/ (nbgrader reads nbgrader_config.py from the working folder, so
# the Nbgrader menu and the formgrader find the course) and shows the whole repository.
lab: $(STAMP)
	cd assignments && PATH="$(abspath $(VENV))/bin:$$PATH" "$(abspath $(VENV))/bin/jupyter" lab \
		--ServerApp.root_dir=.. --LabApp.default_url=/lab/tree/notebooks/01_software_vs_ml_cicd.ipynb

bench: $(STAMP)
	$(PY) -m benchmarks

# every single-site mutation of each reference answer, autograded; report in build/mutants/
# (MUTANTS_ARGS="quiz --limit 10" to test less)
mutants: $(STAMP)
	$(PY) -m mlcicd.mutants $(MUTANTS_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf build .pytest_cache .ruff_cache

# the instructor's nbgrader workflow (assign, collect, autograde, feedback, grades, formgrader)
-include mk/instructor.mk
