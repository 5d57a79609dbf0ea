"""The measurements: how a pipeline's cost grows, and the software CI pipeline it is compared with.

- :mod:`~mlcicd.measure.scaling`: sweeps over model versions, data size, features, model
  complexity and validation modes, each returning a table of seconds and counted work;
- :mod:`~mlcicd.measure.growth`: growth exponents fitted on those tables, and their plots;
- :mod:`~mlcicd.measure.software_ci`: a software CI pipeline (byte-compile, lint, unit tests,
  package) run on :mod:`~mlcicd.measure.sample_app`, whose cost does not grow with data;
- :mod:`~mlcicd.measure.codecheck`: the small linter that pipeline runs.
"""
