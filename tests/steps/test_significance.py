"""Confidence intervals, the exact McNemar test and the holdout sizes they imply."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from mlcicd.errors import InputError
from mlcicd.significance import (
    Interval,
    McNemar,
    bootstrap_interval,
    mcnemar_test,
    rows_for_margin,
    rows_to_detect,
    wilson_interval,
)

# ---------------------------------------------------------------------------------- intervals


def test_wilson_interval_matches_the_closed_form():
    # 137 of 143 right, z = 1.959964: centre and half-width written out by hand
    z, n, p = 1.959963984540054, 143, 137 / 143
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    interval = wilson_interval(137, 143)
    assert interval.estimate == pytest.approx(p)
    assert (interval.low, interval.high) == pytest.approx((centre - half, centre + half))
    assert (round(interval.low, 3), round(interval.high, 3)) == (0.911, 0.981)
    assert interval.width == pytest.approx(interval.high - interval.low)
    assert interval.to_dict()["method"] == "wilson" and interval.n == 143


def test_wilson_interval_stays_in_zero_one_and_is_not_a_point_at_the_edges():
    every = wilson_interval(50, 50)
    assert every.high == 1.0 and 0.9 < every.low < 1.0
    none = wilson_interval(0, 50)
    assert none.low == 0.0 and 0.0 < none.high < 0.1


def test_wilson_interval_narrows_with_more_rows_and_widens_with_confidence():
    assert wilson_interval(1370, 1430).width < wilson_interval(137, 143).width / 3
    assert wilson_interval(137, 143, 0.99).width > wilson_interval(137, 143, 0.95).width


def test_bootstrap_agrees_with_wilson_and_is_seeded():
    flags = np.array([True] * 137 + [False] * 6)
    boot = bootstrap_interval(flags, seed=0)
    assert isinstance(boot, Interval) and boot.method == "bootstrap"
    assert boot.estimate == pytest.approx(137 / 143)
    wilson = wilson_interval(137, 143)
    assert abs(boot.low - wilson.low) < 0.02 and abs(boot.high - wilson.high) < 0.02
    assert bootstrap_interval(flags, seed=0) == boot
    assert bootstrap_interval(list(flags.astype(int)), seed=0) == boot


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: wilson_interval(5, 3), r"successes=5, n=3: expected 0 <= successes <= n"),
        (lambda: wilson_interval(0, 0), "n >= 1"),
        (lambda: wilson_interval(2.5, 3), "successes must be an int, got 2.5"),
        (lambda: wilson_interval(2, 3, 1.0), r"confidence must be a number in \(0, 1\), got 1.0"),
        (lambda: bootstrap_interval([]), "correct: expected a non-empty 1-D list"),
        (lambda: bootstrap_interval([0, 2]), "correct: expected True/False"),
        (
            lambda: bootstrap_interval([1, 0], n_resamples=5),
            "n_resamples must be an int >= 100, got 5",
        ),
    ],
)
def test_bad_interval_input(call, match):
    with pytest.raises(InputError, match=match):
        call()


# ---------------------------------------------------------------------------------- McNemar


def test_mcnemar_counts_the_discordant_rows_and_uses_the_binomial_test():
    candidate = [True] * 130 + [False] * 8 + [True] * 2 + [False] * 3
    reference = [True] * 130 + [True] * 8 + [False] * 2 + [False] * 3
    t = mcnemar_test(candidate, reference)
    assert (t.b, t.c, t.n) == (2, 8, 143)
    assert t.p_value == binomtest(2, 10, 0.5).pvalue == pytest.approx(0.109375)
    assert not t.significant
    assert t.difference == pytest.approx(-6 / 143)
    assert "2 rows only the candidate gets right, 8 only the reference" in t.describe()
    assert "not significant at alpha 0.05" in t.describe()


def test_mcnemar_is_significant_for_a_large_one_sided_gap_and_symmetric():
    candidate = [False] * 50 + [True] * 3 + [True] * 90
    reference = [True] * 50 + [False] * 3 + [True] * 90
    t = mcnemar_test(candidate, reference)
    assert (t.b, t.c) == (3, 50) and t.significant and t.p_value < 1e-10
    swapped = mcnemar_test(reference, candidate)
    assert (swapped.b, swapped.c) == (50, 3) and swapped.p_value == t.p_value
    assert not mcnemar_test(candidate, reference, alpha=1e-12).significant


def test_mcnemar_without_disagreement_has_p_one():
    same = mcnemar_test([True, False, True], [True, False, True])
    assert (same.b, same.c, same.p_value, same.significant) == (0, 0, 1.0, False)


def test_mcnemar_round_trips_through_a_dict():
    t = mcnemar_test([True] * 5 + [False] * 5, [False] * 5 + [True] * 5, alpha=0.1)
    assert t.to_dict()["significant"] is False
    assert McNemar.from_dict(t.to_dict()) == t
    with pytest.raises(InputError, match="McNemar: expected an object with b, c, n, p_value"):
        McNemar.from_dict({"b": 1})


def test_mcnemar_refuses_rows_that_do_not_pair():
    with pytest.raises(InputError, match="candidate_correct has 3 rows, reference_correct 2"):
        mcnemar_test([True, True, False], [True, False])
    with pytest.raises(InputError, match=r"alpha must be a number in \(0, 1\), got 0"):
        mcnemar_test([True], [False], alpha=0)


# ---------------------------------------------------------------------------------- holdout sizes


def _p_at(n: int, gap: float, disagreement: float) -> float:
    b = round(n * (disagreement - gap) / 2)
    c = round(n * (disagreement + gap) / 2)
    return 1.0 if b + c == 0 else binomtest(b, b + c, 0.5).pvalue


@pytest.mark.parametrize(("gap_rows", "discordant_rows"), [(2, 6), (6, 10), (2, 4), (47, 53)])
def test_rows_to_detect_is_the_size_from_which_binomtest_stays_significant(
    gap_rows, discordant_rows
):
    gap, disagreement = gap_rows / 143, discordant_rows / 143
    n = rows_to_detect(gap, disagreement)
    assert all(_p_at(m, gap, disagreement) < 0.05 for m in range(n, n + 400))
    assert n == 1 or _p_at(n - 1, gap, disagreement) >= 0.05


def test_rows_to_detect_values():
    assert rows_to_detect(2 / 143, 6 / 143) == 984
    # 876 rows are already significant, 894 are not again: the answer is the size that stays
    assert _p_at(876, 2 / 143, 6 / 143) < 0.05 <= _p_at(894, 2 / 143, 6 / 143)
    assert rows_to_detect(6 / 143, 10 / 143) == 206
    assert rows_to_detect(0.001, 1.0, max_rows=1000) is None
    # a stricter alpha needs more rows
    assert rows_to_detect(6 / 143, 10 / 143, alpha=0.01) > 206


def test_rows_for_margin_is_the_first_size_whose_interval_is_that_narrow():
    # at accuracy 0.5 the Wilson interval is symmetric, so even sizes can be checked directly
    n = rows_for_margin(0.5, 0.05)
    for m in range((n - 20) // 2 * 2, n + 21, 2):
        reach = wilson_interval(m // 2, m).high - 0.5
        assert (reach <= 0.05) == (m >= n), m
    assert rows_for_margin(0.958, 0.01) == 1894
    # the textbook normal approximation z^2 p (1 - p) / margin^2 is close, a little smaller
    assert 1500 < 1.959963984540054**2 * 0.958 * 0.042 / 0.01**2 < 1894
    # 143 rows at 0.958 give an interval reaching about 0.047 below (and 0.023 above)
    assert rows_for_margin(0.958, 0.047) <= 143 < rows_for_margin(0.958, 0.046)
    assert rows_for_margin(0.5, 0.001, max_rows=1000) is None


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: rows_to_detect(0.1, 0.05), "gap=0.1 > disagreement=0.05"),
        (lambda: rows_to_detect(0, 0.05), r"gap must be a number in \(0, 1\], got 0"),
        (lambda: rows_to_detect(0.01, 1.5), "disagreement must be a number in .*, got 1.5"),
        (lambda: rows_for_margin(0.9, 0), "margin=0: no finite holdout"),
        (lambda: rows_for_margin(1.2, 0.01), r"accuracy must be a number in \[0, 1\], got 1.2"),
    ],
)
def test_bad_holdout_size_input(call, match):
    with pytest.raises(InputError, match=match):
        call()
