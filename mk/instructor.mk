# The instructor's nbgrader workflow (assignments/README.md tells the story). Included by the
# Makefile, which defines VENV and STAMP. nbgrader always runs in assignments/, beside its
# nbgrader_config.py; paths given on the command line are relative to the repository.
#
#   make assign                          student versions of every assignment -> assignments/release/
#   make students STUDENTS=class.csv     add or update students (CSV: id,first_name,last_name,email)
#   make collect ASSIGNMENT=quiz FROM=downloads/
#                                        FROM holds <student_id>.zip files, or <student_id>/ folders
#   make autograde ASSIGNMENT=quiz       grade what was collected, JOBS at a time (default: every
#                                        core; STUDENT=id for one student, SCHEDULER=tcp://host:8786
#                                        for a dask cluster); account in build/autograde-quiz.csv
#   make formgrader                      JupyterLab on the course: Nbgrader > Formgrader, for
#                                        written answers and a look at any submission
#   make feedback ASSIGNMENT=quiz        HTML feedback -> assignments/feedback/<student>/<assignment>/
#   make grades                          every score -> build/grades.csv (GRADES=path to change it)

INSTRUCTOR_MK := $(lastword $(MAKEFILE_LIST))
COURSE_DIR  := assignments
ASSIGNMENTS := $(sort $(notdir $(patsubst %/,%,$(wildcard $(COURSE_DIR)/source/*/))))
ASSIGNMENT  ?=
STUDENT     ?=
STUDENTS    ?= $(COURSE_DIR)/students.csv
FROM        ?=
GRADES      ?= build/grades.csv
# extra options for nbgrader, e.g. NBGRADER_ARGS=--force to grade again what was graded before
NBGRADER_ARGS ?=

# $(call nbgrader,ARGS): run nbgrader in the course folder with this venv's tools on PATH
nbgrader = (cd $(COURSE_DIR) && PATH="$(abspath $(VENV))/bin:$$PATH" "$(abspath $(VENV))/bin/nbgrader" $(1))
need_assignment = @test -n "$(ASSIGNMENT)" || { echo "make $@: set ASSIGNMENT to one of: $(ASSIGNMENTS)" >&2; exit 2; }

.PHONY: help-instructor assignment-notebooks assign students collect autograde autograde-serial feedback grades formgrader

help-instructor:
	@sed -n '5,15p' $(INSTRUCTOR_MK) | sed 's/^# \{0,1\}//'

# rebuild the source notebooks that are generated from assignments/specs/*.py
assignment-notebooks: $(STAMP)
	@for spec in $(COURSE_DIR)/specs/*.py; do $(abspath $(VENV))/bin/python $$spec || exit 1; done

assign: $(STAMP)
	@for a in $(or $(ASSIGNMENT),$(ASSIGNMENTS)); do \
	  $(call nbgrader,generate_assignment $$a $(NBGRADER_ARGS)) || exit 1; \
	done
	@echo "student versions: $(COURSE_DIR)/release/<assignment>/ (hand these out)"

students: $(STAMP)
	@test -f "$(STUDENTS)" || { echo "make students: STUDENTS=$(STUDENTS): no such file (a CSV with columns id,first_name,last_name,email)" >&2; exit 2; }
	$(call nbgrader,db student import "$(abspath $(STUDENTS))")

collect: $(STAMP)
	$(need_assignment)
	@test -d "$(FROM)" || { echo "make collect: FROM=$(FROM) is not a folder (it holds <student_id>.zip files or <student_id>/ folders)" >&2; exit 2; }
	@if ls "$(FROM)"/*.zip >/dev/null 2>&1; then \
	  mkdir -p $(COURSE_DIR)/downloaded/$(ASSIGNMENT)/archive && \
	  cp "$(FROM)"/*.zip $(COURSE_DIR)/downloaded/$(ASSIGNMENT)/archive/ && \
	  $(call nbgrader,zip_collect $(ASSIGNMENT) --force); \
	else \
	  for dir in "$(FROM)"/*/; do \
	    student=$$(basename "$$dir"); dest=$(COURSE_DIR)/submitted/$$student/$(ASSIGNMENT); \
	    mkdir -p "$$dest" && cp -R "$$dir". "$$dest"/ || exit 1; \
	    echo "collected $$student -> $$dest"; \
	  done; \
	fi

# in parallel (mlcicd/course/autograde.py): the same gradebook a serial `nbgrader autograde` writes.
# JOBS is passed only when given on the command line, else every core grades.
SCHEDULER ?=
autograde: $(STAMP)
	$(need_assignment)
	$(PY) -m mlcicd.course.autograde $(ASSIGNMENT) --course $(COURSE_DIR) \
		$(if $(filter command line environment,$(origin JOBS)),--jobs $(JOBS)) \
		$(if $(STUDENT),--student $(STUDENT)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) \
		--csv build/autograde-$(ASSIGNMENT).csv

# one submission after another with nbgrader's own command (NBGRADER_ARGS passed through)
autograde-serial: $(STAMP)
	$(need_assignment)
	$(call nbgrader,autograde $(ASSIGNMENT) $(if $(STUDENT),--student=$(STUDENT)) $(NBGRADER_ARGS))

feedback: $(STAMP)
	$(need_assignment)
	$(call nbgrader,generate_feedback $(ASSIGNMENT) $(if $(STUDENT),--student=$(STUDENT)) $(NBGRADER_ARGS))
	@echo "feedback: $(COURSE_DIR)/feedback/<student>/$(ASSIGNMENT)/*.html"

grades: $(STAMP)
	@mkdir -p "$(dir $(abspath $(GRADES)))"
	$(call nbgrader,export --to "$(abspath $(GRADES))")
	@echo "grades: $(GRADES)"

formgrader: $(STAMP)
	@echo "In JupyterLab open the Nbgrader menu > Formgrader (stop with Ctrl-C)."
	cd $(COURSE_DIR) && PATH="$(abspath $(VENV))/bin:$$PATH" "$(abspath $(VENV))/bin/jupyter" lab --ServerApp.root_dir=.
