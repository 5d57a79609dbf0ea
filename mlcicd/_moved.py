"""Module names from before the library's layers became folders still import, with a warning.

``import mlcicd.growth`` (a notebook or a submission written for an older release) loads
:mod:`mlcicd.measure.growth` and warns with a :class:`DeprecationWarning` naming the new place.
The module object is the same, so its functions and classes are the new ones.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from types import ModuleType

MOVED = {
    "mlcicd.autograde": "mlcicd.course.autograde",
    "mlcicd.cache": "mlcicd.pipeline.cache",
    "mlcicd.codecheck": "mlcicd.measure.codecheck",
    "mlcicd.disk_cache": "mlcicd.pipeline.disk_cache",
    "mlcicd.grading": "mlcicd.course.grading",
    "mlcicd.growth": "mlcicd.measure.growth",
    "mlcicd.mutants": "mlcicd.course.mutants",
    "mlcicd.parallel": "mlcicd.pipeline.parallel",
    "mlcicd.release": "mlcicd.rollout",
    "mlcicd.runner": "mlcicd.pipeline.runner",
    "mlcicd.sample_app": "mlcicd.measure.sample_app",
    "mlcicd.sandbox": "mlcicd.course.sandbox",
    "mlcicd.scaling": "mlcicd.measure.scaling",
    "mlcicd.software_ci": "mlcicd.measure.software_ci",
    "mlcicd.stages": "mlcicd.pipeline.stages",
    "mlcicd.widgets": "mlcicd.course.widgets",
}


def new_name(name: str) -> str | None:
    """Where the module ``name`` lives now (``None`` when it did not move).

    >>> new_name("mlcicd.growth"), new_name("mlcicd.sample_app.invoice"), new_name("mlcicd.data")
    ('mlcicd.measure.growth', 'mlcicd.measure.sample_app.invoice', None)
    """
    for old, new in MOVED.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old) :]
    return None


class _OldNames(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if not name.startswith("mlcicd.") or new_name(name) is None:
            return None
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec) -> ModuleType:
        target = new_name(spec.name)
        assert target is not None  # find_spec answered only for a moved name
        warnings.warn(
            f"{spec.name} moved to {target}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(target)

    def exec_module(self, module: ModuleType) -> None:
        """The module was executed under its new name already."""


def install() -> None:
    """Let the old names import (once per process)."""
    if not any(isinstance(finder, _OldNames) for finder in sys.meta_path):
        sys.meta_path.append(_OldNames())
