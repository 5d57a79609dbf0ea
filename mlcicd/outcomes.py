"""One vocabulary for how a unit of work ended, shared by the engine, the course and the lessons.

* ``ok``: it ran and succeeded (a stage, a CI step, a lesson);
* ``failed``: it ran and did not succeed (an error, or a check that blocks);
* ``rejected``: the quality gate ran and refused the candidate (the run goes on);
* ``skipped``: it did not run, because something before it failed or it was not needed;
* ``warning``: a check failed that does not block (a CI step with ``continue-on-error``);
* ``cached``: its result was reused from an earlier run instead of running again.

A graded submission has statuses of its own (graded, timed out, kernel died, ...): see
:mod:`mlcicd.course.autograde`.
"""

OK = "ok"
FAILED = "failed"
REJECTED = "rejected"
SKIPPED = "skipped"
WARNING = "warning"
CACHED = "cached"
