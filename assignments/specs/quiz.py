"""The practice quiz, as data: ``python assignments/specs/quiz.py`` writes source/quiz/quiz.ipynb.

Five multiple-choice questions (2 points each, autograded by hidden tests) and one written
answer graded by hand (4 points). Edit the questions here, never the notebook's JSON.
"""

from __future__ import annotations

from pathlib import Path

from mlcicd.course.grading import answer, build_notebook, markdown, tests, write_notebook, written
from mlcicd.errors import InputError

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

# (question, four options A-D, the correct letter). The questions, their correct answers and the
# option letters are the seed lesson's (answers A, D, C, A, B); the wrong options are built from
# the seed's lists of common mistakes.
QUESTIONS = [
    (
        "Why is CI/CD for machine-learning projects different from CI/CD for traditional software?",
        [
            "Because ML CI/CD must handle data and model versioning in addition to code.",
            "Because ML code changes more often, so its pipeline has to run more builds of the code.",
            "Because ML pipelines are simpler: a model only needs training, not testing.",
            "Because ML projects are deployed by hand, so their pipelines need fewer automated "
            "steps.",
        ],
        "A",
    ),
    (
        "Which step is unique to ML CI/CD pipelines compared with traditional software pipelines?",
        [
            "Compiling the source code into an installable package.",
            "Running the unit tests of the code.",
            "Deploying the build artefact to the production servers.",
            "Validating model accuracy on new data.",
        ],
        "D",
    ),
    (
        "A workflow runs these steps in order:\n\n"
        "```yaml\n"
        "steps:\n"
        "  - name: Data Validation\n"
        "    run: python validate_data.py\n"
        "  - name: Train Model\n"
        "    run: python train.py\n"
        "  - name: Test Model\n"
        "    run: python test_model.py\n"
        "  - name: Deploy Model\n"
        "    run: python deploy.py\n"
        "```\n\n"
        "What is the main reason for including the *Data Validation* step?",
        [
            "To check the training scripts for syntax errors before they run.",
            "To compile the model before it is deployed.",
            "To ensure the input data meets quality standards before training.",
            "To check that the deployed model answers requests in production.",
        ],
        "C",
    ),
    (
        "A model was deployed a while ago and performed well at first. Since then the pipeline "
        "has run every step without an error, but the deployed model now performs poorly on "
        "new data. What is the most likely reason?",
        [
            "The pipeline skipped retraining the model with updated data.",
            "The training code has a syntax error that the pipeline did not report.",
            "The deployment server is too slow to answer the requests.",
            "The unit tests of the prediction code were not run.",
        ],
        "A",
    ),
    (
        "Which combination of steps keeps the quality of an ML model in production over time?",
        [
            "Code linting, unit tests and a code review for every change.",
            "Data validation, model retraining, and performance monitoring.",
            "A manual approval of every release and a nightly backup of the server.",
            "Faster build machines, cached dependencies and tests run in parallel.",
        ],
        "B",
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
