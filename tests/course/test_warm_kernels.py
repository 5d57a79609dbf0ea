"""Warm grading kernels: forked from a template that only imported modules, each still a new,
sandboxed process; the template ends with its grader, and a dead template falls back to a plain
kernel."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlcicd.course import warm
from mlcicd.course.sandbox import SandboxedKernelManager

pytestmark = pytest.mark.xdist_group("test_warm_kernels")

ROOT = Path(__file__).resolve().parents[2]
PRELOAD = ["ipykernel.kernelapp", "pandas", "matplotlib"]
PROBE = textwrap.dedent(
    """
    import json, os, sys
    import matplotlib
    print(json.dumps({
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "pandas": "pandas" in sys.modules,
        "marker": getattr(json, "marker", None),
        "cwd": os.getcwd(),
        "secret": os.environ.get("MLCICD_TEST_INSTRUCTOR_SECRET"),
        "home": os.environ["HOME"],
        "mpl": [matplotlib.get_configdir(), matplotlib.get_cachedir()],
    }))
    json.marker = 1
    """
)


async def _run(code: str, preload: list[str], *, interrupt_after: float | None = None) -> dict:
    """Start a kernel through the sandbox, run ``code``, stop it; what it printed and where."""
    km = SandboxedKernelManager(kernel_name="python3", preload=preload)
    await km.start_kernel()
    sandbox = km._sandbox_dir
    kc = km.client()
    kc.start_channels()
    out: list[str] = []
    errors: list[str] = []

    def hook(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            errors.append(msg["content"]["ename"])

    try:
        await kc.wait_for_ready(timeout=120)
        if interrupt_after is None:
            await kc.execute_interactive(code, output_hook=hook, timeout=120)
        else:
            msg_id = kc.execute(code)
            await asyncio.sleep(interrupt_after)
            await km.interrupt_kernel()
            while True:
                msg = await kc.get_iopub_msg(timeout=60)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                hook(msg)
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    break
    finally:
        kc.stop_channels()
        launcher = km.provisioner.process.pid if km.provisioner else None
        await km.shutdown_kernel(now=True)
    seen = json.loads("".join(out)) if out and interrupt_after is None else {}
    return {"seen": seen, "errors": errors, "sandbox": sandbox, "launcher": launcher}


def _gone(pid: int, seconds: float = 15) -> bool:
    """Whether ``pid`` ends (or is a zombie) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def templates():
    warm.stop_templates()
    yield
    warm.stop_templates()


def test_each_kernel_is_a_fresh_fork_of_the_warm_template(templates, monkeypatch):
    monkeypatch.setenv("MLCICD_TEST_INSTRUCTOR_SECRET", "s3cret")
    first = asyncio.run(_run(PROBE, PRELOAD))
    second = asyncio.run(_run(PROBE, PRELOAD))
    (template,) = warm.template_pids()
    a, b = first["seen"], second["seen"]
    assert a["ppid"] == b["ppid"] == template  # both forked from the one template
    assert a["pid"] != b["pid"] and template not in (a["pid"], b["pid"])
    assert a["pandas"] and b["pandas"]  # imported before the first cell ran: preloaded
    assert a["marker"] is None and b["marker"] is None  # the first kernel's change did not leak
    assert a["secret"] is None and b["secret"] is None
    assert a["cwd"] == str(first["sandbox"] / "autograded" / "student" / "assignment")
    assert b["cwd"] == str(second["sandbox"] / "autograded" / "student" / "assignment")
    assert a["home"] == str(first["sandbox"] / "home")  # the kernel's own HOME, not the template's
    assert b["mpl"] == [str(second["sandbox"] / "matplotlib")] * 2  # not the template's folder
    assert _gone(a["pid"]) and _gone(b["pid"])  # stopped with their launchers


def test_without_preload_kernels_start_plainly(templates):
    seen = asyncio.run(_run(PROBE, []))["seen"]
    assert not seen["pandas"] and warm.template_pids() == []


def test_an_interrupt_reaches_the_forked_kernel(templates):
    run = asyncio.run(_run("while True:\n    pass", PRELOAD, interrupt_after=2))
    assert run["errors"] == ["KeyboardInterrupt"]


def test_a_dead_template_falls_back_to_a_plain_kernel_then_is_restarted(templates, monkeypatch):
    asyncio.run(_run(PROBE, PRELOAD))
    (template,) = warm.template_pids()
    socket = next(t.socket for t in warm._templates.values())
    os.kill(template, signal.SIGKILL)
    assert _gone(template)
    # the launcher is told to use the dead template's socket: it starts the kernel plainly
    monkeypatch.setattr(warm, "template_socket", lambda preload, env: socket)
    seen = asyncio.run(_run(PROBE, PRELOAD))["seen"]
    assert seen["ppid"] != template and not seen["pandas"]
    monkeypatch.undo()
    # the grader notices the template died and starts another one
    seen = asyncio.run(_run(PROBE, PRELOAD))["seen"]
    (new,) = warm.template_pids()
    assert new != template and seen["ppid"] == new and seen["pandas"]


def test_the_template_ends_with_its_grader(tmp_path):
    script = textwrap.dedent(
        """
        import os, sys, time
        from mlcicd.course import warm
        socket = warm.template_socket(["json"], dict(os.environ))
        print(warm.template_pids()[0], socket, flush=True)
        time.sleep(600)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    grader = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert grader.stdout is not None
        pid, socket = grader.stdout.readline().split()
        assert Path(socket).is_socket()
        assert oct(Path(socket).parent.stat().st_mode & 0o777) == "0o700"
        assert not _gone(int(pid), 0.5)
        grader.kill()
        grader.wait()
        assert _gone(int(pid))
        deadline = time.monotonic() + 10
        while Path(socket).parent.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(socket).parent.exists()  # its folder removed too
    finally:
        grader.kill()
        grader.wait()
        if grader.stdout is not None:
            grader.stdout.close()
