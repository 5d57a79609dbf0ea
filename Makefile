# The two commands a newcomer runs: `make course` (run the course) and `make test` (run the tests).
# Both bootstrap .venv when it is missing or older than pyproject.toml, and are quick when current.
# `make course` installs only what the lessons need (the runtime dependencies); `make test` and
# `make bench` add the dev extra, `make site` the site extra. uv installs (about 40 s for the dev
# extra, against 100 s for pip): the one on PATH, else one pip puts into .venv first; pip installs
# when that fails, or with INSTALLER=pip. Both resolve the same requirements in pyproject.toml, and
# both compile the bytecode at install time (uv only when asked): where PYTHONDONTWRITEBYTECODE is
# set, as on some CI machines, every process would otherwise compile pandas and scikit-learn anew.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
INSTALLER ?= uv
UV     := $(or $(shell command -v uv 2>/dev/null),$(VENV)/bin/uv)
# $(call install,REQUIREMENT): uv when it is there (and wanted), pip otherwise
ifeq ($(INSTALLER),uv)
install = if [ -x "$(UV)" ]; then "$(UV)" pip install --quiet --compile-bytecode --python $(PY) $(1); \
	else $(PY) -m pip install --quiet $(1); fi
else
install = $(PY) -m pip install --quiet $(1)
endif
COURSE_STAMP := $(VENV)/.installed-course
STAMP        := $(VENV)/.installed-dev
SITE_STAMP   := $(VENV)/.installed-site
# parallel test workers (2 cores here); override with `make test JOBS=1`
JOBS   ?= 2

.PHONY: help venv course site test test-fast lab bench mutants lint format clean

help:
	@echo "make course   run the course: execute every lesson into build/course/ (FORCE=1: all)"
	@echo "make site     the executed course as a static website in build/site/"
	@echo "make test     run the tests (library, command line, notebooks, nbgrader round trip)"
	@echo "make test-fast  the library and the command line only (no notebooks, grading or browser)"
	@echo "make lab      open JupyterLab on the course"
	@echo "make bench    run the benchmarks (not part of make test)"
	@echo "make mutants  mutation-test the assignments' hidden tests (not part of make test)"
	@echo "make lint     ruff and mypy (make format fixes what ruff can)"

venv: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)
ifeq ($(INSTALLER),uv)
	@[ -x "$(UV)" ] || $(PY) -m pip install --quiet uv || echo "no uv: pip installs instead"
else
	$(PY) -m pip install --quiet --upgrade pip
endif

# the dev extra includes the runtime dependencies, so it satisfies the course's stamp too
$(COURSE_STAMP): pyproject.toml | $(PY)
	$(call install,-e .)
	@touch $(COURSE_STAMP)

$(STAMP): pyproject.toml | $(PY)
	$(call install,-e ".[dev]")
	@touch $(COURSE_STAMP) $(SITE_STAMP) $(STAMP)

$(SITE_STAMP): pyproject.toml | $(PY)
	$(call install,-e ".[site]")
	@touch $(COURSE_STAMP) $(SITE_STAMP)

# lessons run in parallel (one kernel per core); unchanged lessons are reused from build/course/
course: $(COURSE_STAMP)
	$(PY) -m mlcicd.course $(if $(FORCE),--force)

# the executed lessons of build/course/ (run `make course` first when they are missing), offline
site: $(SITE_STAMP)
	@ls build/course/*.ipynb >/dev/null 2>&1 || $(MAKE) course
	$(PY) docs/site/build_site.py

test: $(STAMP)
	$(PY) -m pytest -q -n $(JOBS) --dist loadgroup

# the edit-run loop: the steps, the engine, the measurements, the command line and the docstring
# examples of mlcicd/ (about 2 minutes)
test-fast: $(STAMP)
	$(PY) -m pytest -q -n $(JOBS) tests/steps tests/pipeline tests/measure tests/faces mlcicd

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
	$(PY) -m mlcicd.course.mutants $(MUTANTS_ARGS)

# ruff (style, imports, bugbear, simplifications, pytest style, complexity) and mypy (types)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# rewrite the code to the project's style (what `make lint` checks, where ruff can fix it)
format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf build .pytest_cache .ruff_cache

# the instructor's nbgrader workflow (assign, collect, autograde, feedback, grades, formgrader)
-include mk/instructor.mk
