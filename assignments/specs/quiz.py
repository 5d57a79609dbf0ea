"""The practice quiz, as data: ``python assignments/specs/quiz.py`` writes source/quiz/quiz.ipynb.

Five multiple-choice questions (2 points each, autograded by hidden tests) and one written
answer graded by hand (4 points). Edit the questions here, never the notebook's JSON.
"""

from __future__ import annotations

from pathlib import Path

from mlcicd.errors import InputError
from mlcicd.grading import answer, build_notebook, markdown, tests, write_notebook, written

POINTS = 2
WRITTEN_POINTS = 4
OUTPUT = Path(__file__).resolve().parent.parent / "source" / "quiz" / "quiz.ipynb"

INTRO = """
# Practice quiz: why CI/CD for machine learning is different

Five multiple-choice questions and one short written answer. For each multiple-choice question,
set the variable in the answer cell to the letter of your choice, as a string: for example
`answer_1 = "B"`. The cell below each answer checks only that the answer has the right form;
whether it is correct is checked when the quiz is graded.

Before you submit, restart the kernel and run all cells (or click **Validate**).
"""

# (question, four options A-D, the correct letter)
QUESTIONS = [
    (
        "Why does CI/CD for a machine-learning system need more than CI/CD for ordinary software?",
        [
            "Machine-learning code is written in Python, which needs its own kind of build server.",
            "Models cannot be unit tested, so the pipeline leaves out the test stage.",
            "Besides the code, the pipeline has to version and track the data and the trained "
            "models.",
            "Models are released less often, so automating their pipeline matters less.",
        ],
        "C",
    ),
    (
        "Which pipeline step has no counterpart in the CI/CD pipeline of ordinary software?",
        [
            "Measuring how accurate the freshly trained model is on data it has not seen.",
            "Compiling the source code into an installable package.",
            "Running a linter over the code.",
            "Copying the build artefact to the production server.",
        ],
        "A",
    ),
    (
        "A workflow runs four steps in this order: *Data Validation*, *Train Model*, "
        "*Test Model*, *Deploy Model*. What is the *Data Validation* step there for?",
        [
            "To look for syntax errors in the training script before it runs.",
            "To measure the accuracy of the model that is in production right now.",
            "To compress the data so that training finishes sooner.",
            "To make sure the incoming data meets the expected quality standards before any "
            "training happens.",
        ],
        "D",
    ),
    (
        "Every stage of a team's pipeline finished without an error, yet the model it deployed "
        "makes poor predictions in production. What is the most likely cause?",
        [
            "The production server ran out of disk space during the deployment.",
            "The model was deployed without being retrained on the updated data.",
            "The training code contains a syntax error that the linter missed.",
            "The unit tests of the prediction API took too long to run.",
        ],
        "B",
    ),
    (
        "Which group of steps keeps the quality of a deployed model up over time?",
        [
            "Linting the code, running the unit tests and reviewing every pull request.",
            "A manual sign-off for every release and a nightly backup of the server.",
            "Validating the data, retraining the model and monitoring its performance.",
            "Faster build machines, cached dependencies and tests run in parallel.",
        ],
        "C",
    ),
]

WRITTEN_QUESTION = f"""
## Question 6 (written, {WRITTEN_POINTS} points)

The course's pipeline loop trains, validates, deploys and monitors each of $n$ model versions,
so its running time grows as $O(n)$. Suppose an automated data validation step now runs before
training, once for every model version. What happens to the time complexity of the loop, and
how does the cost of the new step compare with the cost of training? Answer in two to four
sentences in the cell below.
"""

MODEL_ANSWER = """
The loop still runs once per model version, so the pipeline stays $O(n)$ in the number of
versions: validation adds a constant amount of work to every iteration and only raises the
constant factor. That work is one pass over the batch (rows times columns), usually much cheaper
than training, which may pass over the data many times. It can even save time overall, because
a batch that fails validation stops the iteration before the expensive training starts.
"""

RUBRIC = """
**Grading guide** (2 + 1 + 1 points): still linear in the number of versions / only the constant
grows (2); validation is linear in the data size and cheaper than training (1); mentions that
failing early can skip training, or that the total is the sum of the step costs (1).
"""


def question_cells(number: int, text: str, options: list[str], correct: str) -> list:
    letters = "ABCD"
    if len(options) != 4 or correct not in letters:
        raise InputError(f"question {number}: needs four options and a correct letter in A-D")
    listing = "\n".join(
        f"- **{letter}.** {option}" for letter, option in zip(letters, options, strict=True)
    )
    name = f"answer_{number}"
    return [
        markdown(f"## Question {number} ({POINTS} points)\n\n{text}\n\n{listing}"),
        answer(
            f"q{number}-answer",
            f"""
            # Set {name} to "A", "B", "C" or "D".
            ### BEGIN SOLUTION
            {name} = "{correct}"
            ### END SOLUTION
            """,
        ),
        tests(
            f"q{number}-test",
            f"""
            # Checks the form of your answer; whether it is right is checked at grading time.
            assert isinstance({name}, str) and {name} in ("A", "B", "C", "D"), (
                "{name} must be one of the strings 'A', 'B', 'C' or 'D'"
            )
            ### BEGIN HIDDEN TESTS
            assert type({name}) is str and {name} == "{correct}", "question {number}: not this option"
            ### END HIDDEN TESTS
            """,
            POINTS,
        ),
    ]


def build():
    cells = [markdown(INTRO)]
    for number, (text, options, correct) in enumerate(QUESTIONS, start=1):
        cells += question_cells(number, text, options, correct)
    cells += [
        markdown(WRITTEN_QUESTION),
        written("q6-written", MODEL_ANSWER.strip() + "\n\n" + RUBRIC.strip(), WRITTEN_POINTS),
    ]
    return build_notebook(cells)


if __name__ == "__main__":
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(build(), OUTPUT)
    print(f"wrote {OUTPUT}")
