"""Helpers for hidden tests: what a test cell imports while a submission is graded.

A hidden test runs in the student's kernel, so whatever it imports is paid once per submission:
this module imports only the standard library (``mlcicd.course.grading`` imports nbgrader,
sqlalchemy and tornado, about 2 s on the course's 2-core machine).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator, MutableMapping

__all__ = ["count_calls"]


@contextlib.contextmanager
def count_calls(namespace: MutableMapping, *functions: str) -> Iterator[dict[str, int]]:
    """Count the calls of library functions however a learner's code reaches them.

    ``functions`` are dotted names (``"mlcicd.training.train_model"``). While the block runs,
    the function is replaced by a counting wrapper in its module and under every name of
    ``namespace`` (a notebook's ``globals()``) bound to it, so ``train_model(...)``,
    ``mlcicd.training.train_model(...)`` and an alias all count. Yields ``{short name: calls}``.

    >>> import mlcicd.measure.growth
    >>> with count_calls({}, "mlcicd.measure.growth.fit_exponent") as calls:
    ...     _ = mlcicd.measure.growth.fit_exponent([1, 2, 4], [2, 4, 8])
    >>> calls
    {'fit_exponent': 1}
    """
    calls: dict[str, int] = {}
    undo: list[tuple[object, str, object]] = []

    def counting(short: str, original):
        def wrapper(*args, **kwargs):
            calls[short] += 1
            return original(*args, **kwargs)

        return wrapper

    try:
        for dotted in functions:
            module_name, _, short = dotted.rpartition(".")
            module = importlib.import_module(module_name)
            original = getattr(module, short)
            wrapper = counting(short, original)
            calls[short] = 0
            undo.append((module, short, original))
            setattr(module, short, wrapper)
            for key, value in list(namespace.items()):
                if value is original:
                    undo.append((namespace, key, original))
                    namespace[key] = wrapper
        yield calls
    finally:
        for owner, key, original in reversed(undo):
            if isinstance(owner, MutableMapping):
                owner[key] = original
            else:
                setattr(owner, key, original)
