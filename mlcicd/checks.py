"""Checks of scalar arguments, with one message style for the whole library.

Modelled on scikit-learn's ``sklearn.utils.check_scalar`` (a name, a type, bounds that are
inclusive or not): each function returns the value as a plain Python type, or raises
:class:`~mlcicd.errors.InputError` with a one-line message naming the parameter and the bad value.
A ``bool`` is never accepted as a number (``True`` is an ``int`` in Python, but never what a
caller meant by ``n_jobs=True``).

>>> check_int(4, "n_jobs", low=1)
4
>>> check_int(0, "n_jobs", low=1)
Traceback (most recent call last):
...
mlcicd.errors.InputError: n_jobs must be an int >= 1, got 0
>>> check_choice("twice", "validation", ("each", "once", "off"))
Traceback (most recent call last):
...
mlcicd.errors.InputError: validation must be one of 'each', 'once', 'off', got 'twice'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

from mlcicd.errors import InputError


def _bounds(low: Any, high: Any, low_open: bool, high_open: bool) -> str:
    """' in [0, 1)', ' >= 1', ' < 5' or '' (no bounds)."""
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def _within(value: Any, low: Any, high: Any, low_open: bool, high_open: bool) -> bool:
    if low is not None and (value <= low if low_open else value < low):
        return False
    return not (high is not None and (value >= high if high_open else value > high))


def is_int(value: Any) -> bool:
    """True for a Python or NumPy integer, False for a ``bool``.

    >>> is_int(3), is_int(True), is_int(3.0)
    (True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """True for a real number that is not NaN and not a ``bool``.

    >>> is_number(0.5), is_number(True), is_number(float("nan")), is_number("1")
    (True, False, False, False)
    """
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value


def check_int(
    value: Any,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
) -> int:
    """``value`` as an ``int`` if it is an integer (not a bool) with ``low <= value <= high``.

    >>> check_int(True, "n_rows", low=2)
    Traceback (most recent call last):
    ...
    mlcicd.errors.InputError: n_rows must be an int >= 2, got True
    >>> check_int(11, "k", low=1, high=10)
    Traceback (most recent call last):
    ...
    mlcicd.errors.InputError: k must be an int in [1, 10], got 11
    """
    if not is_int(value) or not _within(value, low, high, False, False):
        raise InputError(f"{name} must be an int{_bounds(low, high, False, False)}, got {value!r}")
    return int(value)


def check_number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = False,
) -> float:
    """``value`` as a ``float`` if it is a real number (not a bool, not NaN) within the bounds;
    ``low_open``/``high_open`` exclude the bound itself, ``finite`` excludes +-infinity.

    >>> check_number(0.0, "tolerance", low=0)
    0.0
    >>> check_number(-1, "tolerance", low=0)
    Traceback (most recent call last):
    ...
    mlcicd.errors.InputError: tolerance must be a number >= 0, got -1
    >>> check_number(float("inf"), "slack", low=0, finite=True)
    Traceback (most recent call last):
    ...
    mlcicd.errors.InputError: slack must be a finite number >= 0, got inf
    """
    ok = is_number(value) and _within(value, low, high, low_open, high_open)
    if not ok or (finite and not math.isfinite(value)):
        kind = "a finite number" if finite else "a number"
        bounds = _bounds(low, high, low_open, high_open)
        raise InputError(f"{name} must be {kind}{bounds}, got {value!r}")
    return float(value)


def check_fraction(value: Any, name: str, *, closed: str = "both") -> float:
    """``value`` as a ``float`` in the unit interval; ``closed`` says which ends belong to it:
    ``"both"`` for [0, 1], ``"neither"`` for (0, 1), ``"low"`` for [0, 1), ``"high"`` for (0, 1].

    >>> check_fraction(0.05, "alpha", closed="neither")
    0.05
    >>> check_fraction(1, "alpha", closed="neither")
    Traceback (most recent call last):
    ...
    mlcicd.errors.InputError: alpha must be a number in (0, 1), got 1
    """
    ends = {"both": (False, False), "neither": (True, True), "low": (False, True)}
    ends["high"] = (True, False)
    if closed not in ends:
        raise ValueError(f"closed must be one of {', '.join(map(repr, ends))}, got {closed!r}")
    low_open, high_open = ends[closed]
    return check_number(value, name, low=0, high=1, low_open=low_open, high_open=high_open)


def check_bool(value: Any, name: str) -> bool:
    """``value`` if it is ``True`` or ``False`` (not 0 or 1, not a string).

    >>> check_bool("yes", "require_significance")
    Traceback (most recent call last):
    ...
    mlcicd.errors.InputError: require_significance must be True or False, got 'yes'
    """
    if not isinstance(value, bool):
        raise InputError(f"{name} must be True or False, got {value!r}")
    return value


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``.

    >>> check_choice("once", "validation", ("each", "once", "off"))
    'once'
    """
    choices = tuple(choices)
    try:
        ok = value in choices
    except TypeError:  # an unhashable value asked of a set or dict
        ok = False
    if not ok:
        listed = ", ".join(repr(c) for c in choices)
        raise InputError(f"{name} must be one of {listed}, got {value!r}")
    return value


def check_ints(values: Any, name: str, *, low: int | None = None) -> list[int]:
    """A non-empty sequence of ints, each ``>= low``, as a list of ``int``.

    >>> check_ints((10, 100), "sizes", low=1)
    [10, 100]
    >>> check_ints((10, 0), "sizes", low=1)
    Traceback (most recent call last):
    ...
    mlcicd.errors.InputError: sizes must be a non-empty list of ints >= 1, got (10, 0)
    """
    ok = isinstance(values, Sequence) and not isinstance(values, str | bytes) and len(values) > 0
    if not ok or not all(is_int(v) and _within(v, low, None, False, False) for v in values):
        bounds = _bounds(low, None, False, False)
        raise InputError(f"{name} must be a non-empty list of ints{bounds}, got {values!r}")
    return [int(v) for v in values]
