"""A learner's first minutes: a fresh clone's ``make course``, phase by phase, and its re-run.

Clones this repository (``git clone --local``, the committed tree) into a temporary folder and
times, in that clone: creating ``.venv`` and installing the course's runtime dependencies (what
``make course`` does first: ``make .venv/.installed-course``, uv from PATH or put into .venv by pip,
else pip; package
downloads come from the installer's cache or index), then ``python -m mlcicd.course`` (every lesson,
in parallel, one kernel per core; ``--ci`` parameters with ``--quick``), then the same command
again with nothing changed. Figures: the unchanged re-run over the first run (goal <= 0.05) and
clone-to-finished-course seconds over 120 (the issue's "under 2 minutes", goal <= 1).

When the install cannot run (no package index and nothing cached), the lessons run on this
interpreter's packages and the figure says the install was not measured.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import figure

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^(\d\d_\S+\.ipynb)\s+(ok|failed|cached)\s+([\d.]+)$", re.M)


def _timed(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, str, int]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout + done.stderr, done.returncode


def lesson_seconds(output: str) -> dict[str, tuple[str, float]]:
    """Each lesson's status and seconds from the course runner's table."""
    return {m.group(1): (m.group(2), float(m.group(3))) for m in ROW.finditer(output)}


def run(quick: bool) -> list:
    with tempfile.TemporaryDirectory(prefix="mlcicd-first-") as tmp:
        clone = Path(tmp) / "mlcicd"
        clone_s, out, code = _timed(
            ["git", "clone", "--quiet", "--local", str(ROOT), str(clone)], ROOT
        )
        if code:
            raise RuntimeError(f"git clone failed: {out.strip()}")
        venv_s, out, code = _timed(["make", ".venv/bin/python"], clone)
        install_s, install_out, install_code = _timed(["make", ".venv/.installed-course"], clone)
        installed = code == 0 and install_code == 0
        how = "uv" if shutil.which("uv") or (clone / ".venv" / "bin" / "uv").exists() else "pip"
        python = str(clone / ".venv" / "bin" / "python") if installed else sys.executable
        env = {**os.environ, "PYTHONPATH": str(clone)}
        cmd = [python, "-m", "mlcicd.course", *(["--ci"] if quick else [])]
        first_s, first_out, first_code = _timed(cmd, clone, env)
        again_s, again_out, _ = _timed(cmd, clone, env)
        shutil.rmtree(clone / "build", ignore_errors=True)
    lessons = lesson_seconds(first_out)
    cached = lesson_seconds(again_out)
    setup = clone_s + (venv_s + install_s if installed else 0.0)
    total = setup + first_s
    per_lesson = ", ".join(f"{name[:2]} {s:.0f} s" for name, (_, s) in lessons.items())
    install_note = (
        f"venv {venv_s:.1f} s, install ({how}) {install_s:.1f} s"
        if installed
        else f"install NOT measured ({install_out.strip().splitlines()[-1][:120] if install_out.strip() else 'failed'})"
    )
    mode = "CI parameters" if quick else "full parameters"
    numbers = {
        "clone_s": clone_s,
        "venv_s": venv_s if installed else None,
        "install_s": install_s if installed else None,
        "first_run_s": first_s,
        "rerun_s": again_s,
        "lessons": {k: v[1] for k, v in lessons.items()},
        "first_run_exit": first_code,
        "rerun_all_cached": all(s == "cached" for s, _ in cached.values()) and bool(cached),
        "cores": os.cpu_count(),
    }
    return [
        figure(
            "make course, unchanged re-run / first run",
            again_s / first_s,
            "<= 0.05",
            detail=f"{mode}: first {first_s:.1f} s, re-run {again_s:.2f} s "
            f"({len(cached)} rows, all cached: {numbers['rerun_all_cached']})",
            numbers=numbers,
        ),
        figure(
            "fresh clone to executed course / 120 s",
            total / 120.0,
            "<= 1",
            detail=f"{mode}: {total:.0f} s = clone {clone_s:.1f} s, {install_note}, "
            f"lessons {first_s:.0f} s on {os.cpu_count()} cores ({per_lesson})",
            numbers=numbers,
        ),
    ]


if __name__ == "__main__":
    for fig in run(quick="--quick" in sys.argv):
        print(fig.show())
