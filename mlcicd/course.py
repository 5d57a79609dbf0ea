"""Run the course: execute every lesson notebook with papermill and report what happened.

``python -m mlcicd.course`` (what ``make course`` runs) executes ``notebooks/*.ipynb`` in reading
order into ``build/course/`` with the learners' full-size parameters and prints a table of
notebook, status and seconds; ``--ci`` passes each notebook's small CI parameters instead (kept in
the notebook's metadata under ``mlcicd.ci_parameters``). The exit code is 1 when any notebook
fails. Each notebook writes what it computed to ``<output_dir>/results.json`` so tests can check
the numbers, not only that no cell raised.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "build" / "course"


@dataclass(frozen=True)
class NotebookRun:
    notebook: str
    status: str  # "ok" or "failed"
    seconds: float
    output: Path
    error: str = ""

    @property
    def results(self) -> dict:
        """What the notebook recorded in its ``results.json`` (empty when it wrote none)."""
        path = self.output.parent / self.output.stem / "results.json"
        return json.loads(path.read_text()) if path.exists() else {}


def save_results(output_dir: str | Path, results: dict) -> Path:
    """Record what a notebook computed in ``<output_dir>/results.json`` (what the tests read)."""
    from mlcicd.files import atomic_write_json

    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return atomic_write_json(folder / "results.json", results)


def lesson_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The lesson notebooks in reading order (their file names start with the lesson number)."""
    return sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))


def ci_parameters(notebook: Path) -> dict:
    """The small parameters CI passes to ``notebook`` (from its metadata)."""
    meta = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
    return dict(meta.get("mlcicd", {}).get("ci_parameters", {}))


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


def run_notebook(
    notebook: Path,
    build: Path = BUILD,
    *,
    ci: bool = False,
    timeout: int = 600,
    parameters: dict | None = None,
) -> NotebookRun:
    """Execute one notebook into ``build/<name>.ipynb``; its results go to ``build/<name>/``.

    ``parameters`` override the notebook's parameters (after the CI ones when ``ci``)."""
    import papermill

    build.mkdir(parents=True, exist_ok=True)
    output = build / notebook.name
    out_dir = build / notebook.stem
    if out_dir.is_dir():  # every run starts from nothing: no results or registries of the last one
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    params = {**(ci_parameters(notebook) if ci else {}), **(parameters or {})}
    params["output_dir"] = str(out_dir)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=params,
            cwd=str(notebook.parent),
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=timeout,
            kernel_manager_class=_ipc_kernel_manager(),
        )
    except Exception as exc:
        return NotebookRun(notebook.name, "failed", time.perf_counter() - start, output, _why(exc))
    return NotebookRun(notebook.name, "ok", time.perf_counter() - start, output)


def _why(exc: Exception) -> str:
    """One line for a failed run: the failing cell's error, or the first line of the message."""
    if hasattr(exc, "ename"):  # papermill's PapermillExecutionError carries the cell's error
        return f"cell {getattr(exc, 'exec_count', '?')}: {exc.ename}: {exc.evalue}"
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
    parser.add_argument("notebooks", nargs="*", type=Path, help="only these notebooks")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or lesson_notebooks()
    missing = [str(p) for p in notebooks if not p.is_file()]
    if missing:
        print(f"mlcicd.course: error: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    if not notebooks:
        return _pipeline_only()
    runs = []
    for nb in notebooks:
        print(f"running {nb.name} ...", flush=True)
        runs.append(run_notebook(nb, args.build, ci=args.ci))
    print(format_table(runs))
    print(f"executed notebooks are in {args.build}")
    return 0 if all(r.status == "ok" for r in runs) else 1


def _pipeline_only() -> int:
    """Before any lesson exists, the course is the end-to-end pipeline on the embedded data."""
    from mlcicd.cli import main as cli

    BUILD.mkdir(parents=True, exist_ok=True)
    return cli(["pipeline", "--versions", "10", "--registry", str(BUILD / "registry")])


if __name__ == "__main__":
    sys.exit(main())
