"""`make course`'s runner: executes notebooks, records results, reports failures in one line."""

from __future__ import annotations

import json

import nbformat

from mlcicd.course import ci_parameters, lesson_notebooks, main, run_notebook


def _notebook(path, body: str, ci: dict | None = None):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('n = 100\noutput_dir = "out"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if ci is not None:
        nb.metadata["mlcicd"] = {"ci_parameters": ci}
    nbformat.write(nb, str(path))
    return path


def test_runs_with_ci_parameters_and_records_results(tmp_path, jupyter_env):
    nb = _notebook(
        tmp_path / "01_demo.ipynb",
        "from mlcicd.course import save_results\nsave_results(output_dir, {'n': n})",
        ci={"n": 3},
    )
    assert ci_parameters(nb) == {"n": 3}
    run = run_notebook(nb, tmp_path / "build", ci=True)
    assert run.status == "ok", run.error
    assert run.results == {"n": 3}
    executed = nbformat.read(str(run.output), as_version=4)
    assert executed.cells[1].metadata["tags"] == ["injected-parameters"]


def test_a_failing_notebook_is_one_line_and_exit_1(tmp_path, jupyter_env, capsys):
    good = _notebook(tmp_path / "01_good.ipynb", "x = n + 1")
    bad = _notebook(tmp_path / "02_bad.ipynb", "raise ValueError('broken lesson')")
    code = main(["--build", str(tmp_path / "build"), str(good), str(bad)])
    out = capsys.readouterr().out
    assert code == 1
    assert "01_good.ipynb" in out and "02_bad.ipynb" in out
    assert "ValueError: broken lesson" in out


def test_missing_notebook_is_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "nope.ipynb")]) == 2
    assert "nope.ipynb" in capsys.readouterr().err


def test_every_lesson_has_ci_parameters_and_a_parameters_cell():
    lessons = lesson_notebooks()
    assert [p.name[:2] for p in lessons] == ["01", "02", "03", "04", "05", "06", "07", "08"]
    for path in lessons:
        nb = json.loads(path.read_text())
        assert ci_parameters(path), f"{path.name}: no mlcicd.ci_parameters in its metadata"
        first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
        assert "parameters" in first_code["metadata"].get("tags", []), path.name
        assert "output_dir" in "".join(first_code["source"]), path.name
