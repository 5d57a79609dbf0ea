"""The interactive faces of the lessons: self-check questions and explorers.

Both keep their logic in plain methods (``SelfCheck.check``, ``Explorer.update``) that tests call
without a browser; the ipywidgets only wire those methods to clicks and slider moves.

>>> q = SelfCheck("2 + 2?", ["3", "4"], answer=1, explanation="Arithmetic.",
...               feedback={0: "That is 1 + 2."})
>>> q.check(1)[0], q.check(0)
(True, (False, 'Not quite: That is 1 + 2.'))

A lesson keeps its questions, answers and feedback in its module (a question bank), so the
notebook cell shows only ``check_yourself("id")`` and never the answer:

>>> ask = question_bank({"sum": {"question": "2 + 2?", "options": ["3", "4"], "answer": 1,
...                              "explanation": "Arithmetic.", "feedback": {0: "That is 1 + 2."}}})
>>> ask("sum").question
'2 + 2?'
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlcicd.errors import InputError


class SelfCheck:
    """A multiple-choice question with instant feedback."""

    def __init__(
        self,
        question: str,
        options: Sequence[str],
        answer: int,
        explanation: str = "",
        feedback: Mapping[int, str] | Sequence[str | None] | None = None,
    ):
        if len(options) < 2:
            raise InputError("options: a question needs at least two options")
        if not 0 <= answer < len(options):
            raise InputError(f"answer: {answer} is not an option index (0..{len(options) - 1})")
        if feedback is None:
            feedback = {}
        elif not isinstance(feedback, Mapping):
            feedback = {i: text for i, text in enumerate(feedback) if text}
        unknown = [i for i in feedback if not 0 <= i < len(options) or i == answer]
        if unknown:
            raise InputError(f"feedback: option(s) {unknown} are not wrong options of the question")
        self.question, self.options = question, list(options)
        self.answer, self.explanation = answer, explanation
        self.feedback = {int(i): str(text) for i, text in feedback.items()}
        self.attempts = 0
        self._widget = None

    def check(self, choice: int | None) -> tuple[bool, str]:
        """Grade ``choice`` (an option index); return (correct, feedback text)."""
        if choice is None:
            return False, "Pick an option first."
        self.attempts += 1
        if choice == self.answer:
            return True, f"Correct. {self.explanation}".strip()
        if choice in self.feedback:
            return False, f"Not quite: {self.feedback[choice]}"
        return False, f"Not quite: '{self.options[choice]}' is not it. Think again and retry."

    @property
    def widget(self):
        """The ipywidgets face: radio buttons, a Check button and a feedback line."""
        if self._widget is None:
            self._widget = self._build()
        return self._widget

    def _build(self):
        import ipywidgets as w

        radio = w.RadioButtons(
            options=[(o, i) for i, o in enumerate(self.options)],
            value=None,
            layout=w.Layout(width="max-content"),
        )
        button = w.Button(description="Check", button_style="info")
        feedback = w.HTML()

        def on_click(_):
            ok, text = self.check(radio.value)
            colour = "green" if ok else "#b00"
            feedback.value = f"<span style='color:{colour}'>{html.escape(text)}</span>"

        button.on_click(on_click)
        box = w.VBox([w.HTML(f"<b>{html.escape(self.question)}</b>"), radio, button, feedback])
        box.radio, box.button, box.feedback = radio, button, feedback
        return box

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def question_bank(questions: Mapping[str, Mapping[str, Any]]) -> Callable[[str], SelfCheck]:
    """``ask = question_bank({...})``; ``ask("id")`` is a fresh :class:`SelfCheck` for that entry.

    Each entry holds ``question``, ``options``, ``answer`` (an option index), ``explanation`` and
    ``feedback`` (one text per wrong option). Every entry is checked when the bank is made.
    """
    for key, entry in questions.items():
        try:
            SelfCheck(**entry)
        except TypeError as exc:
            raise InputError(f"question {key!r}: {exc}") from None

    def ask(key: str) -> SelfCheck:
        if key not in questions:
            raise InputError(f"question: unknown id {key!r} (known: {', '.join(questions)})")
        return SelfCheck(**questions[key])

    ask.questions = questions  # type: ignore[attr-defined]
    return ask


class Explorer:
    """Controls that re-run a real computation and redraw its plot.

    ``compute(**values)`` does the work and returns a result; ``draw(result, ax)`` plots it on a
    matplotlib axis; ``describe(result)`` (optional) gives the one-line summary shown above the plot.
    """

    def __init__(
        self,
        controls: Mapping[str, Any],
        compute: Callable[..., Any],
        draw: Callable[[Any, Any], None],
        describe: Callable[[Any], str] | None = None,
        *,
        run_button: bool = True,
        figsize: tuple[float, float] = (7, 4),
    ):
        self.controls = dict(controls)
        self.compute, self.draw, self.describe = compute, draw, describe
        self.run_button, self.figsize = run_button, figsize
        self.last_result: Any = None
        self.last_values: dict[str, Any] = {}
        self.summary = ""
        self.runs = 0
        self._widget = None

    def values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def update(self, **overrides: Any):
        """Re-run ``compute`` with the controls' values (or ``overrides``) and redraw."""
        import matplotlib.pyplot as plt

        values = {**self.values(), **overrides}
        unknown = set(overrides) - set(self.controls)
        if unknown:
            raise InputError(f"update: unknown control(s) {', '.join(sorted(unknown))}")
        self.last_result = self.compute(**values)
        self.last_values = values
        self.runs += 1
        self.summary = self.describe(self.last_result) if self.describe else ""
        fig, ax = plt.subplots(figsize=self.figsize)
        self.draw(self.last_result, ax)
        fig.tight_layout()
        self.figure = fig
        if self._widget is not None:
            self._show(fig)
        else:
            plt.close(fig)
        return self.last_result

    @property
    def widget(self):
        if self._widget is None:
            self._widget = self._build()
        return self._widget

    def _build(self):
        import ipywidgets as w

        self._label = w.HTML()
        # the plot is a PNG in an Image widget: no Output-widget capture, which headless
        # executors (nbclient) handle poorly, and a redraw is one state update the browser sees
        self._image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        children = list(self.controls.values())
        if self.run_button:
            button = w.Button(description="Run", button_style="primary")
            button.on_click(lambda _: self.update())
            children.append(button)
        else:
            for control in self.controls.values():
                control.observe(lambda _: self.update(), names="value")
        return w.VBox(
            [w.HBox(children, layout=w.Layout(flex_flow="row wrap")), self._label, self._image]
        )

    def _show(self, fig) -> None:
        import io

        import matplotlib.pyplot as plt

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=96)
        plt.close(fig)
        self._label.value = f"<b>{html.escape(self.summary)}</b>" if self.summary else ""
        self._image.value = buffer.getvalue()

    def _ipython_display_(self):
        from IPython.display import display

        widget = self.widget
        self.update()
        display(widget)
