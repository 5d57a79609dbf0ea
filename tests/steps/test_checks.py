"""The scalar argument checks: one message style, bools never count as numbers."""

import doctest

import numpy as np
import pytest

import mlcicd.checks
from mlcicd.checks import (
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_ints,
    check_number,
)
from mlcicd.errors import InputError


def test_doctests():
    assert doctest.testmod(mlcicd.checks).failed == 0


def test_int_accepts_numpy_ints_and_refuses_bools_and_floats():
    assert check_int(np.int64(3), "k", low=1) == 3 and type(check_int(np.int64(3), "k")) is int
    for bad in (True, 3.0, "3", None):
        with pytest.raises(InputError, match=f"k must be an int, got {bad!r}"):
            check_int(bad, "k")
    with pytest.raises(InputError, match=r"k must be an int in \[1, 3\], got 4"):
        check_int(4, "k", low=1, high=3)


def test_number_bounds_open_and_closed():
    assert check_number(0, "x", low=0) == 0.0
    with pytest.raises(InputError, match=r"x must be a number > 0, got 0"):
        check_number(0, "x", low=0, low_open=True)
    with pytest.raises(InputError, match=r"x must be a number < 1, got 1"):
        check_number(1, "x", high=1, high_open=True)
    with pytest.raises(InputError, match="x must be a number, got nan"):
        check_number(float("nan"), "x")
    with pytest.raises(InputError, match="x must be a number, got False"):
        check_number(False, "x")
    assert check_number(float("inf"), "x", low=0) == float("inf")


@pytest.mark.parametrize(
    ("closed", "inside", "outside", "shown"),
    [
        ("both", (0, 1), (-0.1, 1.1), "[0, 1]"),
        ("neither", (0.5,), (0, 1), "(0, 1)"),
        ("low", (0,), (1,), "[0, 1)"),
        ("high", (1,), (0,), "(0, 1]"),
    ],
)
def test_fraction_ends(closed, inside, outside, shown):
    for value in inside:
        assert check_fraction(value, "share", closed=closed) == value
    for value in outside:
        with pytest.raises(InputError) as info:
            check_fraction(value, "share", closed=closed)
        assert str(info.value) == f"share must be a number in {shown}, got {value!r}"


def test_bool_choice_and_lists():
    assert check_bool(False, "flag") is False
    with pytest.raises(InputError, match="flag must be True or False, got 1"):
        check_bool(1, "flag")
    assert check_choice(None, "backend", (None, "loky")) is None
    with pytest.raises(InputError, match=r"backend must be one of None, 'loky', got \[\]"):
        check_choice([], "backend", (None, "loky"))
    assert check_ints([np.int32(2), 3], "sizes", low=2) == [2, 3]
    for bad in ([], "12", (1, True), 5):
        with pytest.raises(InputError, match="sizes must be a non-empty list of ints"):
            check_ints(bad, "sizes", low=1)
