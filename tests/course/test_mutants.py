"""The mutation test's mutants: every single-site slip it promises, applied exactly where it says."""

from __future__ import annotations

import ast

import pytest

from mlcicd.course import grading
from mlcicd.course import mutants as mt
from mlcicd.course.grading import answer, build_notebook

CELL = """def f(x, items):
    ### BEGIN SOLUTION
    total = 0
    for item in items:
        if item not in x and not item is None:
            total += item * 2
    return total >= 10 or False
    ### END SOLUTION
"""


def kinds(source, regions):
    return [(m.kind, m.old, m.new) for m in mt.mutations(source, regions)]


def test_each_kind_of_slip_is_made_once_per_site():
    found = kinds(CELL, mt.solution_lines(CELL))
    assert ("constant moved", "0", "1") in found and ("constant moved", "0", "-1") in found
    assert ("comparison swapped", "not in", "in") in found
    assert ("comparison swapped", "is", "is not") in found
    assert ("not dropped", "not ", "") in found
    assert ("boolean operator swapped", "and", "or") in found
    assert ("operator swapped", "+=", "-=") in found
    assert ("operator swapped", "*", "/") in found
    assert ("comparison swapped", ">=", ">") in found
    assert ("boolean flipped", "False", "True") in found
    assert ("return emptied", "total >= 10 or False", "None") in found
    assert len(found) == len(set(found))  # no site is mutated twice the same way


def test_only_solution_lines_are_mutated_and_every_mutant_still_parses():
    regions = mt.solution_lines(CELL)
    assert regions == [(3, 7)]
    for mutation in mt.mutations(CELL, regions):
        assert 3 <= mutation.line <= 7
        mutated = mutation.apply(CELL)
        ast.parse(mutated)
        assert mutated != CELL
        # exactly one line differs
        diff = [a for a, b in zip(CELL.split("\n"), mutated.split("\n"), strict=True) if a != b]
        assert len(diff) == 1


def test_quiz_letters_change_and_operators_inside_brackets_are_found():
    assert kinds('answer = "B"', [(1, 1)]) == [("letter changed", '"B"', '"C"')]
    assert kinds("y = (a + b) * c", [(1, 1)]) == [
        ("operator swapped", "+", "-"),
        ("operator swapped", "*", "/"),
    ]
    assert kinds("y = 'x'", [(1, 1)]) == []  # other strings are not letters to change


def test_mutants_of_a_notebook_have_distinct_stable_keys(tmp_path, monkeypatch):
    import nbformat

    nb = build_notebook(
        [
            answer("a1", "### BEGIN SOLUTION\nd = {'a': 0, 'b': 0}\n### END SOLUTION"),
            grading.tests("t1", "assert d == {'a': 0, 'b': 0}", 1),
        ]
    )
    folder = tmp_path / "source" / "hw"
    folder.mkdir(parents=True)
    nbformat.write(nb, str(folder / "hw.ipynb"))
    found = mt.mutants_of("hw", course=tmp_path)
    assert len(found) == 4
    assert len({m.key for m in found}) == 4
    mutated = mt.mutated_notebook(nb, found[0])
    assert mutated.cells[0].source != nb.cells[0].source
    assert nb.cells[0].source.endswith("### END SOLUTION")  # the reference is untouched


def test_bad_options_are_refused_in_one_line(capsys):
    assert mt.main(["no_such_assignment"]) == 2
    assert "unknown assignment(s) no_such_assignment" in capsys.readouterr().err
    assert mt.main(["quiz", "--jobs", "0"]) == 2


def test_equivalent_mutants_file_is_read_and_bad_json_named(tmp_path):
    path = tmp_path / "eq.json"
    path.write_text('{"quiz": {"k": "why"}}')
    assert mt.load_equivalent(path) == {"quiz": {"k": "why"}}
    path.write_text("{not json")
    with pytest.raises(mt.InputError, match=r"eq.json"):
        mt.load_equivalent(path)
