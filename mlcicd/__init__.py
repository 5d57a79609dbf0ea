"""mlcicd: the stages of an ML CI/CD pipeline, small and real, and the measurement of their cost.

Modules, one per concept: :mod:`mlcicd.data`, :mod:`mlcicd.validation`, :mod:`mlcicd.training`,
:mod:`mlcicd.evaluation` (the quality gate), :mod:`mlcicd.registry` (deploy and rollback),
:mod:`mlcicd.monitoring` (drift and retraining), :mod:`mlcicd.pipeline` (the runner) and
:mod:`mlcicd.cli` (the command line).
"""

__version__ = "0.1.0"
