"""Run the course: execute every lesson notebook with papermill and report what happened.

``python -m mlcicd.course`` (what ``make course`` runs) executes ``notebooks/*.ipynb`` into
``build/course/`` with the learners' full-size parameters and prints a table of notebook, status
and seconds in reading order; ``--ci`` passes each notebook's small CI parameters instead (kept in
the notebook's metadata under ``mlcicd.ci_parameters``). Lessons run in parallel, one kernel per
core (``--jobs N``), and a status line shows which lesson is at which cell of how many and for how
long. A lesson whose notebook, parameters and library code (``mlcicd/**/*.py``) are unchanged since
its last successful run is not executed again: its row says "cached" and its executed copy and
results are reused (``--force`` runs everything). The exit code is 1 when any notebook fails. Each
notebook writes what it computed to ``<output_dir>/results.json`` so tests can check the numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mlcicd.outcomes import CACHED, FAILED, OK

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "build" / "course"
LIBRARY = ROOT / "mlcicd"
KEY_FILE = ".course-key"  # inside a lesson's output folder, written only after a successful run


@dataclass(frozen=True)
class NotebookRun:
    notebook: str
    status: str  # OK, FAILED or CACHED (mlcicd.outcomes)
    seconds: float
    output: Path
    error: str = ""

    @property
    def results(self) -> dict:
        """What the notebook recorded in its ``results.json`` (empty when it wrote none)."""
        path = self.output.parent / self.output.stem / "results.json"
        return json.loads(path.read_text()) if path.exists() else {}


def save_results(output_dir: str | os.PathLike, results: dict) -> Path:
    """Record what a notebook computed in ``<output_dir>/results.json`` (what the tests read)."""
    from mlcicd.files import atomic_write_json

    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return atomic_write_json(folder / "results.json", results)


def lesson_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The lesson notebooks in reading order (their file names start with the lesson number)."""
    return sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))


def _course_metadata(notebook: Path) -> dict:
    meta = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
    return dict(meta.get("mlcicd", {}))


def ci_parameters(notebook: Path) -> dict:
    """The small parameters CI passes to ``notebook`` (from its metadata)."""
    return dict(_course_metadata(notebook).get("ci_parameters", {}))


def starts_first(notebook: Path) -> bool:
    """True for a lesson whose metadata says ``"starts_first": true``: one much longer than the
    others (lesson 6 with its full-size sweep, lesson 8 with its workflow of some 40
    command-line processes), which the course starts before the rest so that the others run
    beside it instead of after it."""
    return _course_metadata(notebook).get("starts_first") is True


def _ipc_kernel_manager():
    """A kernel manager that talks to its kernel over Unix sockets, not TCP ports.

    Parallel test workers start many kernels at once; TCP ports are picked by the client and
    can race. IPC sockets live under a fresh temporary name per kernel, so they cannot.
    """
    import tempfile
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum, default

    class IPCKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        @default("ip")
        def _ip_unique(self) -> str:
            return str(Path(tempfile.gettempdir()) / f"mlcicd-kernel-{uuid.uuid4().hex[:16]}")

    return IPCKernelManager


def library_fingerprint(library: Path = LIBRARY) -> str:
    """A digest of every ``*.py`` file under ``library`` (names and contents, in a fixed order)."""
    digest = hashlib.sha256()
    for path in sorted(library.rglob("*.py")):
        digest.update(path.relative_to(library).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(notebook: Path, params: dict, library_digest: str) -> str:
    """What a lesson's executed copy depends on: its notebook, its parameters and the library."""
    digest = hashlib.sha256()
    digest.update(notebook.read_bytes() + b"\0")
    digest.update(json.dumps(params, sort_keys=True, default=str).encode() + b"\0")
    digest.update(library_digest.encode())
    return digest.hexdigest()


def _params(notebook: Path, build: Path, ci: bool) -> dict:
    params = ci_parameters(notebook) if ci else {}
    params["output_dir"] = str(build / notebook.stem)
    return params


def is_cached(notebook: Path, build: Path, key: str) -> bool:
    """True when the last successful run of ``notebook`` into ``build`` had this key."""
    key_path = build / notebook.stem / KEY_FILE
    return (
        (build / notebook.name).is_file()
        and key_path.is_file()
        and key_path.read_text().strip() == key
    )


def code_cells(notebook: Path) -> int:
    """How many code cells papermill will run (the notebook's, plus the injected parameters)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    return sum(c.get("cell_type") == "code" for c in nb.get("cells", [])) + 1


def run_notebook(
    notebook: Path,
    build: Path = BUILD,
    *,
    ci: bool = False,
    timeout: int = 600,
    key: str = "",
    progress: Progress | None = None,
    parameters: dict | None = None,
) -> NotebookRun:
    """Execute one notebook into ``build/<name>.ipynb``; its results go to ``build/<name>/``.

    When ``key`` is given it is stored beside the results after a successful run (and only
    then), so the next run with the same key can reuse this one (a caller that passes
    ``parameters`` must fold them into the key). ``parameters`` override the notebook's
    parameters (after the CI ones when ``ci``).
    """
    import papermill

    build.mkdir(parents=True, exist_ok=True)
    output = build / notebook.name
    out_dir = build / notebook.stem
    if out_dir.is_dir():  # every run starts from nothing: no results or registries of the last one
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    params = {**_params(notebook, build, ci), **(parameters or {})}
    params["output_dir"] = str(out_dir)
    hooks = {}
    if progress is not None:
        progress.start(notebook.name, code_cells(notebook))
        hooks["on_cell_execute"] = lambda **_: progress.cell(notebook.name)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=params,
            # the kernel's working folder, set per kernel: papermill's ``cwd`` changes the whole
            # process's folder, which parallel runs in threads would race on
            resources={"metadata": {"path": str(notebook.parent)}},
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=timeout,
            kernel_manager_class=_ipc_kernel_manager(),
            **hooks,
        )
    except Exception as exc:
        run = NotebookRun(notebook.name, FAILED, time.perf_counter() - start, output, _why(exc))
    else:
        run = NotebookRun(notebook.name, OK, time.perf_counter() - start, output)
        if key:
            (out_dir / KEY_FILE).write_text(key + "\n")
    if progress is not None:
        progress.finish(run)
    return run


class Progress:
    """One status line for the lessons running now: lesson, cell k of n, seconds so far.

    On a terminal the line is redrawn in place every ``every`` seconds and at every cell; in a
    log (not a terminal) a line is printed at most every ``every`` seconds per lesson, so a long
    run is never silent and a short one is not noisy. Finished lessons get a line of their own.
    """

    def __init__(self, stream=None, *, live: bool | None = None, every: float | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.every = (1.0 if self.live else 10.0) if every is None else every
        self._lock = threading.Lock()
        self._running: dict[str, list] = {}  # name -> [cell, cells, start, last printed]
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.every > 0:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            if self.live:
                self._write("\r\x1b[K")

    def start(self, name: str, cells: int) -> None:
        with self._lock:
            self._running[name] = [0, cells, time.perf_counter(), 0.0]
            self._say(f"started {name} ({cells} code cells)")

    def cell(self, name: str) -> None:
        with self._lock:
            state = self._running.get(name)
            if state is None:
                return
            state[0] += 1
            now = time.perf_counter()
            if self.live:
                self._redraw()
            elif now - state[3] >= self.every:
                state[3] = now
                self._write(self._status(name, now) + "\n")

    def finish(self, run: NotebookRun) -> None:
        with self._lock:
            self._running.pop(run.notebook, None)
            self._say(f"{run.status:<6} {run.notebook} in {run.seconds:.1f} s")

    def _status(self, name: str, now: float) -> str:
        cell, cells, start, _ = self._running[name]
        return f"{name}: cell {cell}/{cells}, {now - start:.0f} s"

    def line(self) -> str:
        """The status of every lesson running now, in reading order."""
        now = time.perf_counter()
        return " | ".join(self._status(name, now) for name in sorted(self._running))

    def _say(self, message: str) -> None:
        if self.live:
            self._write("\r\x1b[K" + message + "\n")
            self._redraw()
        else:
            self._write(message + "\n")

    def _redraw(self) -> None:
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self._write("\r\x1b[K" + self.line()[:width])

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(self.every):
            with self._lock:
                if not self._running:
                    continue
                if self.live:
                    self._redraw()
                else:
                    now = time.perf_counter()
                    for name, state in sorted(self._running.items()):
                        if now - state[3] >= self.every:
                            state[3] = now
                            self._write(self._status(name, now) + "\n")


def run_course(
    notebooks: list[Path],
    build: Path = BUILD,
    *,
    ci: bool = False,
    jobs: int | None = None,
    force: bool = False,
    library: Path = LIBRARY,
    progress: Progress | None = None,
) -> list[NotebookRun]:
    """Run ``notebooks`` (``jobs`` at a time), reusing unchanged ones; returns the runs in the
    given order. Lessons marked :func:`starts_first` start first, the others in the given order."""
    digest = library_fingerprint(library)
    keys = {nb: cache_key(nb, _params(nb, build, ci), digest) for nb in notebooks}
    runs: dict[Path, NotebookRun] = {}
    todo = []
    for nb in notebooks:
        if not force and is_cached(nb, build, keys[nb]):
            runs[nb] = NotebookRun(nb.name, CACHED, 0.0, build / nb.name)
        else:
            todo.append(nb)
    if todo:
        todo.sort(key=lambda nb: not starts_first(nb))  # stable: the rest keep their order
        workers = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {
                nb: pool.submit(run_notebook, nb, build, ci=ci, key=keys[nb], progress=progress)
                for nb in todo
            }
            for nb, future in futures.items():
                runs[nb] = future.result()
    return [runs[nb] for nb in notebooks]


def _why(exc: Exception) -> str:
    """One line for a failed run: the failing cell's error, or the first line of the message."""
    if hasattr(exc, "ename"):  # papermill's PapermillExecutionError carries the cell's error
        return f"cell {getattr(exc, 'exec_count', '?')}: {exc.ename}: {getattr(exc, 'evalue', '')}"
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def format_table(runs: list[NotebookRun]) -> str:
    width = max([len("notebook")] + [len(r.notebook) for r in runs])
    lines = [f"{'notebook':<{width}}  {'status':<6}  {'seconds':>8}"]
    for r in runs:
        lines.append(f"{r.notebook:<{width}}  {r.status:<6}  {r.seconds:>8.1f}")
        if r.error:
            lines.append(f"{'':<{width}}  -> {r.error}")
    lines.append(f"{'total':<{width}}  {'':<6}  {sum(r.seconds for r in runs):>8.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlcicd.course", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--ci", action="store_true", help="use each notebook's small CI parameters")
    parser.add_argument("--build", type=Path, default=BUILD, help="where executed notebooks go")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="lessons run at once (default: cores)"
    )
    parser.add_argument(
        "--force", action="store_true", help="run every lesson, even unchanged ones"
    )
    parser.add_argument("notebooks", nargs="*", type=Path, help="only these notebooks")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        print(f"mlcicd.course: error: --jobs must be at least 1, got {args.jobs}", file=sys.stderr)
        return 2
    notebooks = args.notebooks or lesson_notebooks()
    missing = [str(p) for p in notebooks if not p.is_file()]
    if missing:
        print(f"mlcicd.course: error: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    if not notebooks:
        return _pipeline_only()
    print(f"running {len(notebooks)} notebooks, {args.jobs} at a time ...", flush=True)
    with Progress() as progress:
        runs = run_course(
            notebooks, args.build, ci=args.ci, jobs=args.jobs, force=args.force, progress=progress
        )
    print(format_table(runs))
    print(f"executed notebooks are in {args.build}")
    return 0 if all(r.status != FAILED for r in runs) else 1


def _pipeline_only() -> int:
    """Before any lesson exists, the course is the end-to-end pipeline on the embedded data."""
    from mlcicd.cli import main as cli

    BUILD.mkdir(parents=True, exist_ok=True)
    return cli(["pipeline", "--versions", "10", "--registry", str(BUILD / "registry")])


if __name__ == "__main__":  # python -m mlcicd.course.run (python -m mlcicd.course is the same)
    sys.exit(main())
