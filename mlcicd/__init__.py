"""mlcicd: the stages of an ML CI/CD pipeline, small and real, and the measurement of their cost.

The library has four layers; a layer imports only from the layers above it in this list:

1. the base: :mod:`mlcicd.errors`, :mod:`mlcicd.files`;
2. the steps of an ML pipeline, one module each: :mod:`mlcicd.data`, :mod:`mlcicd.validation`,
   :mod:`mlcicd.training`, :mod:`mlcicd.evaluation` (the quality gate),
   :mod:`mlcicd.significance`, :mod:`mlcicd.behaviour`, :mod:`mlcicd.slices`,
   :mod:`mlcicd.skew`, :mod:`mlcicd.registry` (deploy and rollback), :mod:`mlcicd.monitoring`
   (drift) and :mod:`mlcicd.rollout` (shadow and canary releases);
3. the engine that runs them, :mod:`mlcicd.pipeline`, and the measurements of what it costs,
   :mod:`mlcicd.measure`;
4. the faces: :mod:`mlcicd.cli` (the command line), :mod:`mlcicd.report`, the course's tools
   (:mod:`mlcicd.course`) and the lessons' code (:mod:`mlcicd.lessons`).

docs/ARCHITECTURE.md draws the layers and says what each module is for.
"""

from mlcicd import _moved

__version__ = "0.1.0"

_moved.install()
