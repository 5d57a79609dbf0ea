"""Mutation testing of the assignments' hidden tests: does every wrong answer lose points?

``python -m mlcicd.course.mutants`` (what ``make mutants`` runs) takes each reference answer of each
assignment, makes every single-site change a learner's slip could make -- a number moved by one,
an operator or a comparison swapped, ``and``/``or`` swapped, a ``not`` dropped, a boolean
flipped, a returned value emptied, a multiple-choice letter changed -- and grades each mutated
notebook as a submission with real ``nbgrader autograde``. A mutant is *killed* when it earns less
than full marks. A surviving mutant is either a gap in the hidden tests or *equivalent* (it
behaves exactly like the reference, so no test can tell); equivalent ones are listed, with the
reason, in ``assignments/specs/equivalent_mutants.json`` and left out of the score.

The report (``build/mutants/report.md`` and ``report.json``) gives the mutation score per
assignment and every survivor. The goal is that at least 95% of the non-equivalent mutants lose
points; the exit code is 1 below it.

>>> [m.describe() for m in mutations("x = 1 < 2", [(1, 1)])]
['1:4 1 -> 2', '1:4 1 -> 0', '1:6 < -> <=', '1:8 2 -> 3', '1:8 2 -> 1']
"""

from __future__ import annotations

import argparse
import ast
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlcicd.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "assignments"
EQUIVALENT_FILE = COURSE / "specs" / "equivalent_mutants.json"
GOAL = 0.95
GENERATED = ("release", "submitted", "autograded", "feedback", "downloaded", "exchange")

_BINOPS = {"+": "-", "-": "+", "*": "/", "/": "*", "//": "/", "%": "//", "**": "*"}
_CMPOPS = {
    "<": "<=",
    "<=": "<",
    ">": ">=",
    ">=": ">",
    "==": "!=",
    "!=": "==",
    "is": "is not",
    "is not": "is",
    "in": "not in",
    "not in": "in",
}
_BOOLOPS = {"and": "or", "or": "and"}
_LETTERS = "ABCDE"


@dataclass(frozen=True)
class Mutation:
    """One single-site change of a source text: ``old`` at (line, col) becomes ``new``."""

    line: int  # 1-based line in the cell
    col: int  # 0-based character column
    old: str
    new: str
    kind: str

    def apply(self, source: str) -> str:
        lines = source.split("\n")
        text = lines[self.line - 1]
        assert text[self.col : self.col + len(self.old)] == self.old, (self, text)
        lines[self.line - 1] = text[: self.col] + self.new + text[self.col + len(self.old) :]
        return "\n".join(lines)

    def describe(self) -> str:
        return f"{self.line}:{self.col} {self.old} -> {self.new}"


def _char_col(lines: list[str], line: int, byte_col: int) -> int:
    """ast gives UTF-8 byte offsets; the text is spliced by characters."""
    return len(lines[line - 1].encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


def _tokens_between(lines, start: tuple[int, int], end: tuple[int, int]):
    """The (operator or name) tokens strictly between two positions (line, char col)."""
    (l0, c0), (l1, c1) = start, end
    if l0 == l1:
        chunk = [lines[l0 - 1][c0:c1]]
    else:
        chunk = [lines[l0 - 1][c0:], *lines[l0 : l1 - 1], lines[l1 - 1][:c1]]
    text = "\n".join(chunk)
    toks = []
    try:  # a fragment may hold an unbalanced bracket: keep the tokens read before the error
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            toks.append(tok)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    found = []
    for tok in toks:
        if tok.type not in (tokenize.OP, tokenize.NAME) or tok.string in "()":
            continue
        tl, tc = tok.start
        line = l0 + tl - 1
        col = c0 + tc if tl == 1 else tc
        found.append((line, col, tok.string))
    return found


def _start(lines, node) -> tuple[int, int]:
    return node.lineno, _char_col(lines, node.lineno, node.col_offset)


def _end(lines, node) -> tuple[int, int]:
    return node.end_lineno, _char_col(lines, node.end_lineno, node.end_col_offset)


def _operator(lines, left, right, choices) -> tuple[int, int, str] | None:
    """Where the operator between two operands sits (``not in``/``is not`` as one)."""
    toks = _tokens_between(lines, _end(lines, left), _start(lines, right))
    words = [t[2] for t in toks]
    joined = " ".join(words)
    if joined in choices and toks:
        return toks[0][0], toks[0][1], joined
    return None


def _number_moves(value) -> list:
    if isinstance(value, int):
        return [value + 1, value - 1]
    if value == 0:
        return [1.0]
    return [value * 2, value / 2]


# one branch per kind of mutation, read top to bottom: a dispatch reads best as one function
def mutations(source: str, regions: Iterable[tuple[int, int]]) -> list[Mutation]:  # noqa: C901
    """Every single-site mutation of ``source`` on the lines of ``regions`` (1-based, inclusive).

    The whole source is parsed (so ``return`` inside a function is fine); only nodes that start
    and end inside a region are mutated.
    """
    tree = ast.parse(source)
    lines = source.split("\n")
    spans = list(regions)

    def inside(node) -> bool:
        return any(a <= node.lineno and node.end_lineno <= b for a, b in spans)

    found: list[Mutation] = []

    def add(line, col, old, new, kind):
        found.append(Mutation(line, col, old, new, kind))

    for node in ast.walk(tree):
        if not hasattr(node, "lineno") or not inside(node):
            continue
        if isinstance(node, ast.Constant):
            line, col = _start(lines, node)
            end_line, end_col = _end(lines, node)
            if end_line != line:
                continue
            text = lines[line - 1][col:end_col]
            value = node.value
            if isinstance(value, bool):
                add(line, col, text, str(not value), "boolean flipped")
            elif isinstance(value, int | float):
                if text.startswith(("0x", "0o", "0b")) or "_" in text:
                    continue
                for new in _number_moves(value):
                    add(line, col, text, repr(new), "constant moved")
            elif isinstance(value, str) and len(value) == 1 and value in _LETTERS:
                quote = text[0]
                new = _LETTERS[(_LETTERS.index(value) + 1) % len(_LETTERS)]
                add(line, col, text, f"{quote}{new}{quote}", "letter changed")
        elif isinstance(node, ast.BinOp):
            where = _operator(lines, node.left, node.right, _BINOPS)
            if where:
                add(*where, _BINOPS[where[2]], "operator swapped")
        elif isinstance(node, ast.AugAssign):
            toks = _tokens_between(lines, _end(lines, node.target), _start(lines, node.value))
            if toks and toks[0][2].endswith("=") and toks[0][2][:-1] in _BINOPS:
                line, col, op = toks[0]
                add(line, col, op, _BINOPS[op[:-1]] + "=", "operator swapped")
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for left, right in itertools.pairwise(operands):
                where = _operator(lines, left, right, _CMPOPS)
                if where:
                    add(*where, _CMPOPS[where[2]], "comparison swapped")
        elif isinstance(node, ast.BoolOp):
            for left, right in zip(node.values, node.values[1:], strict=False):
                where = _operator(lines, left, right, _BOOLOPS)
                if where:
                    add(*where, _BOOLOPS[where[2]], "boolean operator swapped")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            line, col = _start(lines, node)
            o_line, o_col = _start(lines, node.operand)
            if o_line == line:
                add(line, col, lines[line - 1][col:o_col], "", "not dropped")
        elif isinstance(node, ast.Return) and node.value is not None:
            v_line, v_col = _start(lines, node.value)
            e_line, e_col = _end(lines, node.value)
            returned = lines[v_line - 1][v_col:e_col] if e_line == v_line else None
            if returned and returned != "None":
                add(v_line, v_col, returned, "None", "return emptied")
    found.sort(key=lambda m: (m.line, m.col))  # stable: a site's variants keep their order
    return list(dict.fromkeys(found))  # one mutation per site and replacement


# --- notebooks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutant:
    """A submission: the reference notebook with one mutation in one answer cell."""

    assignment: str
    notebook: str
    cell: str
    mutation: Mutation
    line_text: str

    @property
    def key(self) -> str:
        """Stable across runs while the line is unchanged (what equivalent_mutants.json names)."""
        m = self.mutation
        return (
            f"{self.notebook}/{self.cell}: {self.line_text.strip()} | @{m.col} {m.old} -> {m.new}"
        )


def solution_lines(source: str) -> list[tuple[int, int]]:
    """1-based inclusive line ranges between ``### BEGIN SOLUTION`` and ``### END SOLUTION``."""
    from mlcicd.course.grading import BEGIN_SOLUTION, END_SOLUTION

    spans, start = [], None
    for number, line in enumerate(source.split("\n"), start=1):
        if BEGIN_SOLUTION in line:
            start = number + 1
        elif END_SOLUTION in line and start is not None:
            spans.append((start, number - 1))
            start = None
    return spans


def answer_cells(nb) -> Iterator[tuple[str, str]]:
    """(grade_id, source) of the autograded answer cells (code with a solution region)."""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            yield meta["grade_id"], cell.source


def mutants_of(assignment: str, course: Path = COURSE) -> list[Mutant]:
    import nbformat

    found = []
    for path in sorted((course / "source" / assignment).glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for cell, source in answer_cells(nb):
            lines = source.split("\n")
            for mutation in mutations(source, solution_lines(source)):
                found.append(
                    Mutant(assignment, path.stem, cell, mutation, lines[mutation.line - 1])
                )
    return found


def mutated_notebook(source_nb, mutant: Mutant):
    import copy

    nb = copy.deepcopy(source_nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == mutant.cell:
            cell.source = mutant.mutation.apply(cell.source)
            return nb
    raise InputError(f"{mutant.notebook}: no cell {mutant.cell}")


# --- grading -----------------------------------------------------------------------------------


def _env(home: Path) -> dict:
    env = dict(os.environ)
    for var in (
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "IPYTHONDIR",
        "MPLCONFIGDIR",
    ):
        folder = home / var.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[var] = str(folder)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def _nbgrader(course: Path, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _prepare_shard(work: Path, assignment: str, students: dict[str, dict], env: dict) -> Path:
    """A course copy holding one shard's submissions (student id -> {notebook: nb})."""
    import nbformat

    course = work / "assignments"
    shutil.copytree(
        COURSE, course, ignore=shutil.ignore_patterns(*GENERATED, "gradebook.db", "__pycache__")
    )
    for student, notebooks in students.items():
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, str(folder / f"{name}.ipynb"))
    return course


def _scores(course: Path, assignment: str) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions(assignment):
            # the autograded items only: a written answer waits for the instructor
            auto = [g for nb in sub.notebooks for g in nb.grades if g.auto_score is not None]
            got = sum(float(g.auto_score) for g in auto)
            scores[sub.student.id] = (got, sum(float(g.max_score) for g in auto))
    return scores


def grade(assignment: str, students: dict[str, dict], jobs: int, work: Path) -> dict:
    """Autograde ``students`` ({id: {notebook: nb}}) in ``jobs`` course copies at once.

    Returns ``{student id: (score, max score)}`` over the autograded items; a student nbgrader
    could not grade is absent.
    """
    ids = sorted(students)
    shards = [ids[i::jobs] for i in range(jobs) if ids[i::jobs]]
    courses, procs = [], []
    for index, shard in enumerate(shards):
        env = _env(work / f"home-{index}")
        course = _prepare_shard(
            work / f"shard-{index}", assignment, {s: students[s] for s in shard}, env
        )
        courses.append((course, env))
        procs.append(_nbgrader(course, env, "generate_assignment", assignment, "--force"))
    for proc in procs:
        proc.communicate()
    procs = [_nbgrader(c, e, "autograde", assignment, "--force") for c, e in courses]
    for proc in procs:
        proc.communicate()
    scores: dict = {}
    for course, _ in courses:
        scores.update(_scores(course, assignment))
    return scores


# --- the run -----------------------------------------------------------------------------------


@dataclass
class AssignmentResult:
    assignment: str
    reference_full_marks: bool
    mutants: int = 0
    killed: int = 0
    equivalent: list[dict] = field(default_factory=list)
    survivors: list[dict] = field(default_factory=list)
    ungraded: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        counted = self.mutants - len(self.equivalent)
        return self.killed / counted if counted else 1.0


def load_equivalent(path: Path = EQUIVALENT_FILE) -> dict[str, dict[str, str]]:
    """``{assignment: {mutant key: why it is equivalent}}``."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    return {a: dict(entries) for a, entries in data.items()}


def run_assignment(assignment: str, jobs: int, work: Path, limit: int | None = None):
    import nbformat

    start = time.perf_counter()
    sources = {
        p.stem: nbformat.read(str(p), as_version=4)
        for p in sorted((COURSE / "source" / assignment).glob("*.ipynb"))
    }
    found = mutants_of(assignment)[:limit]
    students = {"reference": dict(sources)}
    by_id = {}
    for number, mutant in enumerate(found):
        student = f"m{number:04d}"
        by_id[student] = mutant
        notebooks = dict(sources)
        notebooks[mutant.notebook] = mutated_notebook(sources[mutant.notebook], mutant)
        students[student] = notebooks
    scores = grade(assignment, students, jobs, work / assignment)
    ref = scores.get("reference")
    result = AssignmentResult(assignment, bool(ref and ref[0] == ref[1]), mutants=len(found))
    equivalent = load_equivalent().get(assignment, {})
    for student, mutant in by_id.items():
        entry = {"key": mutant.key, "kind": mutant.mutation.kind, "student": student}
        if student not in scores:
            result.ungraded.append(mutant.key)
            result.killed += 1  # nbgrader could not grade it: it cannot earn full marks
        elif scores[student][0] < scores[student][1]:
            result.killed += 1
        elif mutant.key in equivalent:
            result.equivalent.append({**entry, "why": equivalent[mutant.key]})
        else:
            result.survivors.append(entry)
    result.seconds = time.perf_counter() - start
    return result


def report_markdown(results: list[AssignmentResult]) -> str:
    rows = [
        "| assignment | mutants | killed | equivalent | survived | score |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        rows.append(
            f"| {r.assignment} | {r.mutants} | {r.killed} | {len(r.equivalent)} | "
            f"{len(r.survivors)} | {r.score:.1%} |"
        )
    total = sum(r.mutants - len(r.equivalent) for r in results)
    killed = sum(r.killed for r in results)
    overall = killed / total if total else 1.0
    text = [
        "# Mutation test of the assignments' hidden tests",
        "",
        *rows,
        "",
        f"Overall: {killed} of {total} non-equivalent mutants lose points ({overall:.1%}; "
        f"goal {GOAL:.0%}).",
    ]
    for r in results:
        if not r.reference_full_marks:
            text.append(f"\n**{r.assignment}: the reference answers did not get full marks.**")
        if r.survivors:
            text.append(f"\n## {r.assignment}: survivors\n")
            text += [f"- `{s['key']}` ({s['kind']})" for s in r.survivors]
        if r.equivalent:
            text.append(f"\n## {r.assignment}: equivalent mutants\n")
            text += [f"- `{e['key']}`: {e['why']}" for e in r.equivalent]
    return "\n".join(text) + "\n"


def _write_report(out: Path, results: list[AssignmentResult]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(report_markdown(results), encoding="utf-8")
    (out / "report.json").write_text(
        json.dumps([{**asdict(r), "score": r.score} for r in results], indent=2), encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlcicd.course.mutants", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("assignments", nargs="*", help="assignments to test (default: all)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="course copies graded at once (default: the number of cores)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="test only the first N mutants of each assignment (a quick look)",
    )
    parser.add_argument("--list", action="store_true", help="list the mutants, grade nothing")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "build" / "mutants",
        help="folder for report.md and report.json (default: build/mutants)",
    )
    args = parser.parse_args(argv)
    known = sorted(p.name for p in (COURSE / "source").iterdir() if p.is_dir())
    unknown = [a for a in args.assignments if a not in known]
    if unknown:
        print(
            f"mutants: unknown assignment(s) {', '.join(unknown)} (known: {', '.join(known)})",
            file=sys.stderr,
        )
        return 2
    if args.jobs < 1:
        print("mutants: --jobs must be at least 1", file=sys.stderr)
        return 2
    chosen = args.assignments or known
    if args.list:
        for assignment in chosen:
            for mutant in mutants_of(assignment)[: args.limit]:
                print(f"{assignment}: {mutant.key} ({mutant.mutation.kind})")
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="mlcicd-mutants-") as tmp:
        for assignment in chosen:
            result = run_assignment(assignment, args.jobs, Path(tmp), args.limit)
            print(
                f"{assignment}: {result.killed}/{result.mutants - len(result.equivalent)} killed"
                f" ({result.score:.1%}), {len(result.survivors)} survived, "
                f"{len(result.equivalent)} equivalent, {result.seconds:.0f} s",
                flush=True,
            )
            results.append(result)
            _write_report(args.out, results)  # after each assignment: a long run shows progress
    print(f"report: {args.out / 'report.md'}")
    bad = [r.assignment for r in results if not r.reference_full_marks]
    if bad:
        print(f"mutants: the reference answers of {', '.join(bad)} lost points", file=sys.stderr)
        return 1
    total = sum(r.mutants - len(r.equivalent) for r in results)
    killed = sum(r.killed for r in results)
    return 0 if not total or killed / total >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
