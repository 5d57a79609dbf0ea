"""`make course`'s runner: executes notebooks, records results, reports failures in one line."""

from __future__ import annotations

import json

import nbformat

from mlcicd.course import run as course_run
from mlcicd.course.run import ci_parameters, lesson_notebooks, main, run_notebook


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
    assert [p.name[:2] for p in lessons] == [
        "01",
        "02",
        "03",
        "04",
        "05",
        "06",
        "07",
        "08",
        "09",
        "10",
    ]
    for path in lessons:
        nb = json.loads(path.read_text())
        assert ci_parameters(path), f"{path.name}: no mlcicd.ci_parameters in its metadata"
        first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
        assert "parameters" in first_code["metadata"].get("tags", []), path.name
        assert "output_dir" in "".join(first_code["source"]), path.name


# --- the course runner's cache, parallel runs and progress (issue 13) ---------------------------

import io  # noqa: E402

from mlcicd.course.run import Progress, library_fingerprint, run_course  # noqa: E402

RECORD = "from mlcicd.course import save_results\nsave_results(output_dir, {'n': n, 'tag': TAG})"


def _lessons(folder, tags=("a", "b", "c")):
    folder.mkdir(parents=True, exist_ok=True)
    return [
        _notebook(folder / f"0{i}_lesson.ipynb", f"TAG = {tag!r}\n" + RECORD, ci={"n": i})
        for i, tag in enumerate(tags, start=1)
    ]


def _library(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stage.py").write_text("VALUE = 1\n")
    return folder


def _statuses(runs):
    return [(r.notebook, r.status) for r in runs]


def test_parallel_runs_keep_reading_order_and_results(tmp_path, jupyter_env):
    nbs = _lessons(tmp_path / "nb")
    lib = _library(tmp_path / "lib")
    runs = run_course(nbs, tmp_path / "build", ci=True, jobs=2, library=lib)
    assert _statuses(runs) == [(nb.name, "ok") for nb in nbs], [r.error for r in runs]
    assert [r.results for r in runs] == [
        {"n": 1, "tag": "a"},
        {"n": 2, "tag": "b"},
        {"n": 3, "tag": "c"},
    ]


def test_a_lesson_marked_starts_first_starts_first_and_the_table_keeps_reading_order(
    tmp_path, monkeypatch
):
    nbs = _lessons(tmp_path / "nb")
    marked = nbformat.read(str(nbs[2]), as_version=4)
    marked.metadata["mlcicd"]["starts_first"] = True
    nbformat.write(marked, str(nbs[2]))
    started = []

    def record(nb, build, **_):
        started.append(nb.name)
        return course_run.NotebookRun(nb.name, "ok", 0.0, build / nb.name)

    monkeypatch.setattr(course_run, "run_notebook", record)
    runs = run_course(nbs, tmp_path / "build", ci=True, jobs=1, library=_library(tmp_path / "lib"))
    assert started == [nbs[2].name, nbs[0].name, nbs[1].name]
    assert [r.notebook for r in runs] == [nb.name for nb in nbs]


def test_cache_reruns_only_what_changed(tmp_path, jupyter_env):
    nbs = _lessons(tmp_path / "nb")
    lib = _library(tmp_path / "lib")
    build = tmp_path / "build"
    first = run_course(nbs, build, ci=True, jobs=2, library=lib)
    assert [r.status for r in first] == ["ok", "ok", "ok"]
    # unchanged: nothing executes, the executed copies and results are reused
    again = run_course(nbs, build, ci=True, jobs=2, library=lib)
    assert [r.status for r in again] == ["cached"] * 3
    assert again[1].results == {"n": 2, "tag": "b"}
    assert again[1].output.is_file()
    # one lesson edited: only that one runs, and its new result is the one recorded
    _notebook(nbs[1], "TAG = 'B2'\n" + RECORD, ci={"n": 2})
    edited = run_course(nbs, build, ci=True, jobs=2, library=lib)
    assert [r.status for r in edited] == ["cached", "ok", "cached"]
    assert edited[1].results == {"n": 2, "tag": "B2"}
    # other parameters (full run instead of CI) are another key
    full = run_course(nbs[:1], build, ci=False, jobs=1, library=lib)
    assert [r.status for r in full] == ["ok"] and full[0].results["n"] == 100
    # the library changed: every lesson runs again
    before = library_fingerprint(lib)
    (lib / "stage.py").write_text("VALUE = 2\n")
    assert library_fingerprint(lib) != before
    touched = run_course(nbs, build, ci=True, jobs=2, library=lib)
    assert [r.status for r in touched] == ["ok", "ok", "ok"]
    # force runs everything even when nothing changed
    forced = run_course(nbs, build, ci=True, jobs=2, library=lib, force=True)
    assert [r.status for r in forced] == ["ok", "ok", "ok"]


def test_a_failed_lesson_is_never_cached(tmp_path, jupyter_env):
    lib = _library(tmp_path / "lib")
    bad = _notebook(tmp_path / "01_bad.ipynb", "raise ValueError('broken lesson')")
    build = tmp_path / "build"
    for _ in range(2):
        (run,) = run_course([bad], build, ci=True, jobs=1, library=lib)
        assert run.status == "failed" and "ValueError: broken lesson" in run.error
    assert not (build / "01_bad" / ".course-key").exists()


def test_progress_names_lesson_and_cell_of_how_many(tmp_path, jupyter_env):
    nbs = _lessons(tmp_path / "nb", tags=("a",))
    stream = io.StringIO()
    with Progress(stream, live=False, every=0) as progress:
        (run,) = run_course(
            nbs,
            tmp_path / "build",
            ci=True,
            jobs=1,
            progress=progress,
            library=_library(tmp_path / "lib"),
        )
    log = stream.getvalue()
    assert run.status == "ok", run.error
    # two code cells of its own plus papermill's injected parameters cell
    assert "started 01_lesson.ipynb (3 code cells)" in log
    assert [f"cell {k}/3" in log for k in (1, 2, 3)] == [True, True, True]
    assert "ok     01_lesson.ipynb in" in log


def test_cached_rows_in_the_table_and_force_flag(tmp_path, jupyter_env, capsys):
    nb = _notebook(tmp_path / "01_demo.ipynb", "x = n + 1")
    args = ["--ci", "--jobs", "1", "--build", str(tmp_path / "build"), str(nb)]
    assert main(args) == 0
    assert main(args) == 0
    assert "01_demo.ipynb  cached" in capsys.readouterr().out
    assert main(["--force", *args]) == 0
    out = capsys.readouterr().out
    assert "01_demo.ipynb  ok" in out and "01_demo.ipynb  cached" not in out
    assert main(["--jobs", "0", str(nb)]) == 2


def test_parallel_kernels_start_in_their_own_notebook_folder(tmp_path, jupyter_env):
    import os

    body = "import os\nfrom mlcicd.course import save_results\nsave_results(output_dir, {'cwd': os.getcwd()})"
    folders = [tmp_path / "one", tmp_path / "two"]
    nbs = []
    for i, folder in enumerate(folders, start=1):
        folder.mkdir()
        nbs.append(_notebook(folder / f"0{i}_where.ipynb", body))
    here = os.getcwd()
    runs = run_course(nbs, tmp_path / "build", jobs=2, library=_library(tmp_path / "lib"))
    assert [r.results.get("cwd") for r in runs] == [str(f) for f in folders], [
        r.error for r in runs
    ]
    assert os.getcwd() == here  # the test process's own folder is left alone
