"""The lessons' widgets work without a browser: their callbacks are plain methods."""

from __future__ import annotations

import pytest

from mlcicd.course.widgets import Explorer, SelfCheck, question_bank
from mlcicd.errors import InputError


def test_self_check_grades_and_explains():
    q = SelfCheck(
        "Which step is unique to ML pipelines?",
        ["compile", "validate model accuracy"],
        1,
        "Models.",
    )
    assert q.check(None) == (False, "Pick an option first.")
    ok, text = q.check(0)
    assert not ok and "compile" in text
    ok, text = q.check(1)
    assert ok and text == "Correct. Models."
    assert q.attempts == 2


def test_self_check_widget_click_shows_feedback():
    q = SelfCheck("Q?", ["a", "b", "c"], 2, "Because c.")
    box = q.widget
    box.radio.value = 0
    box.button.click()
    assert "Not quite" in box.feedback.value
    box.radio.value = 2
    box.button.click()
    assert "Correct" in box.feedback.value


@pytest.mark.parametrize(("options", "answer"), [(["only"], 0), (["a", "b"], 2), (["a", "b"], -1)])
def test_self_check_refuses_bad_definitions(options, answer):
    with pytest.raises(InputError):
        SelfCheck("Q?", options, answer)


def test_explorer_reruns_and_redraws():
    import ipywidgets as w

    calls = []

    def compute(n):
        calls.append(n)
        return list(range(n))

    def draw(result, ax):
        ax.plot(result)

    ex = Explorer(
        {"n": w.IntSlider(value=3, min=1, max=10)}, compute, draw, lambda r: f"{len(r)} points"
    )
    assert ex.update() == [0, 1, 2] and ex.summary == "3 points"
    box = ex.widget
    ex.controls["n"].value = 5
    box.children[0].children[-1].click()  # the Run button
    assert calls == [3, 5] and ex.summary == "5 points" and ex.runs == 2
    assert "5 points" in ex._label.value
    assert len(ex.figure.axes[0].lines[0].get_xdata()) == 5
    with pytest.raises(InputError):
        ex.update(m=1)


def test_explorer_draws_into_an_image_widget():
    import ipywidgets as w

    ex = Explorer({"n": w.IntSlider(value=2)}, lambda n: list(range(n)), lambda r, ax: ax.plot(r))
    box = ex.widget
    ex.update()
    first = ex._image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    ex.update(n=7)
    assert ex._image.value != first
    assert box.children[-1] is ex._image


def test_self_check_gives_each_wrong_option_its_own_feedback():
    q = SelfCheck(
        "2 + 2?", ["3", "4", "5"], 1, "Arithmetic.", feedback={0: "one short", 2: "one over"}
    )
    assert q.check(0) == (False, "Not quite: one short")
    assert q.check(2) == (False, "Not quite: one over")
    assert q.check(1) == (True, "Correct. Arithmetic.")
    with pytest.raises(InputError, match="feedback"):
        SelfCheck("?", ["a", "b"], 0, feedback={0: "the answer cannot be wrong"})


def test_question_bank_checks_entries_and_hands_out_fresh_questions():
    bank = {"q": {"question": "2 + 2?", "options": ["3", "4"], "answer": 1, "feedback": {0: "no"}}}
    ask = question_bank(bank)
    first, second = ask("q"), ask("q")
    assert first is not second and first.check(1)[0]
    with pytest.raises(InputError, match="unknown id 'x'"):
        ask("x")
    with pytest.raises(InputError, match="answer"):
        question_bank({"bad": {"question": "?", "options": ["a", "b"], "answer": 5}})
    with pytest.raises(InputError, match="question 'typo'"):
        question_bank({"typo": {"question": "?", "options": ["a", "b"], "answr": 0}})
