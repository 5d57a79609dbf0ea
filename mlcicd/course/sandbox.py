"""Kernels for student code: resource limits, a scrubbed environment, a private working folder.

Autograding runs a student's code on the instructor's machine. ``assignments/nbgrader_config.py``
makes nbgrader start every grading kernel through :class:`SandboxedKernelManager`, which

* hands the kernel a scrubbed environment: only what Python and Jupyter need (``PATH``, the
  locale, ``PYTHONPATH``, the kernel's own ``JPY_*`` variables, ``NBGRADER_EXECUTION``), with
  ``HOME`` and ``TMPDIR`` pointing into a fresh folder -- no instructor variable, token or path;
* starts the kernel in a fresh working folder holding a copy of the assignment's files (not the
  notebooks), so a relative path such as ``../../gradebook.db`` never reaches the course;
* and starts it through ``python -m mlcicd.course.sandbox``, which sets the limits below and then
  replaces itself with the kernel -- or, with a warm template (below), has the kernel forked.

Warm kernels (``c.SandboxedKernelManager.preload``, set in nbgrader_config.py; empty by default).
Most of a kernel's start is importing the same modules for every submission. With a preload
list, each grader process starts one *template* (:mod:`mlcicd.course.warm`) under the same
environment rules as a kernel (scrubbed, its own HOME and TMPDIR), which imports those modules and
then only forks. The launcher (``python -m mlcicd.course.sandbox --template SOCKET -- KERNEL...``)
sends the template the kernel's command, environment, folder, limits and control group; the
forked child joins the group, sets the limits (after the fork, so CPU time counts from zero),
moves to the folder, takes the kernel's environment, re-seeds ``random`` and NumPy's global
generator, and runs ipykernel in-process. The launcher stays the process jupyter_client sees: it
passes on SIGINT and SIGTERM and exits with the kernel's status; when it is killed, the template
kills its child. Isolation is unchanged: every kernel is a new process, the template never runs
notebook code (a child's changes, even a crash, stay in the child: copy-on-write), and it holds
nothing the kernel may not see. What changes for the student's code: the preloaded modules are
already in ``sys.modules`` at the first cell, and all kernels of one grader share the template's
string hash seed (``PYTHONHASHSEED``). If the template cannot fork (it died, its socket is gone,
another Python is asked for), the launcher starts the kernel the plain way.

The limits (environment variables of the grader, read when a kernel starts):

================================  =========  ==================================================
``MLCICD_SANDBOX_MEMORY_MB``       2048       address space of the kernel: a memory bomb fails
                                              its cell with ``MemoryError``
``MLCICD_SANDBOX_CPU_SECONDS``     600        CPU time of the whole kernel: beyond it the kernel
                                              is killed (its later tests fail)
``MLCICD_SANDBOX_PROCESSES``       256        processes and threads of the kernel (a fork bomb
                                              fails with ``BlockingIOError``)
``MLCICD_SANDBOX_FILE_MB``         64         the largest file the kernel may write
================================  =========  ==================================================

The process limit is a ``pids`` control group per kernel where the grader may create one (as root
on Linux; the group also lets the grader kill whatever a kernel left running), and otherwise the
process limit of the grader's user (``RLIMIT_NPROC``, which the kernel may not raise).
What this does *not* prevent: code reading or writing, by absolute path, any file that the
grader's user may read or write -- and a kernel running as root may raise its own limits. Grade as
an ordinary user, or in a container (assignments/README.md says how), when that matters.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import sys
import tempfile
from pathlib import Path

LIMITS = {
    "MLCICD_SANDBOX_MEMORY_MB": 2048,
    "MLCICD_SANDBOX_CPU_SECONDS": 600,
    "MLCICD_SANDBOX_PROCESSES": 256,
    "MLCICD_SANDBOX_FILE_MB": 64,
}
KEPT = (
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "PYTHONPATH",
    "NBGRADER_EXECUTION",
    "TZ",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
)
# a kernel needs few threads; fewer threads also keep the process limit meaningful
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
WORK_DIR_COPY_LIMIT = 50 * 2**20  # assignment files copied into the kernel's folder, at most


def limits(environ: dict | os._Environ = os.environ) -> dict[str, int]:
    """The configured limits (positive integers; a bad value is refused naming the variable)."""
    from mlcicd.errors import InputError

    found = {}
    for name, default in LIMITS.items():
        raw = environ.get(name, str(default))
        try:
            value = int(raw)
        except ValueError:
            raise InputError(f"{name}={raw!r}: not an integer") from None
        if value <= 0:
            raise InputError(f"{name}={raw!r}: must be positive")
        found[name] = value
    return found


def scrubbed_env(environ: dict, home: Path) -> dict[str, str]:
    """What a grading kernel may see of ``environ``: the basics, a private HOME and TMPDIR."""
    env = {k: v for k, v in environ.items() if k in KEPT or k.startswith("JPY_")}
    env.setdefault("PATH", os.defpath)
    # the grader's python first, so the kernel finds the same packages
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    env.update(ONE_THREAD)
    for folder in ("home", "tmp", "jupyter", "ipython", "matplotlib"):
        (home / folder).mkdir(exist_ok=True)
    env.update(
        HOME=str(home / "home"),
        TMPDIR=str(home / "tmp"),
        JUPYTER_CONFIG_DIR=str(home / "jupyter"),
        JUPYTER_DATA_DIR=str(home / "jupyter"),
        JUPYTER_RUNTIME_DIR=str(home / "jupyter"),
        IPYTHONDIR=str(home / "ipython"),
        MPLCONFIGDIR=str(home / "matplotlib"),
        MPLBACKEND="module://matplotlib_inline.backend_inline",
    )
    for name, value in limits(environ).items():
        env[name] = str(value)
    return env


def _copy_assignment_files(source: Path, target: Path) -> None:
    """The assignment's data files (not notebooks) into the kernel's folder, up to a size."""
    budget = WORK_DIR_COPY_LIMIT
    for path in sorted(source.rglob("*")) if source.is_dir() else []:
        if not path.is_file() or path.suffix == ".ipynb" or path.is_symlink():
            continue
        size = path.stat().st_size
        if size > budget:
            continue
        budget -= size
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)


def make_pids_group(name: str, max_tasks: int) -> Path | None:
    """A ``pids`` control group allowing ``max_tasks`` tasks, or None where none can be made."""
    for root in CGROUP_ROOTS:
        group = root / f"mlcicd-{name}"
        try:
            group.mkdir()
        except OSError:
            continue
        try:
            (group / "pids.max").write_text(str(max_tasks))
            return group
        except OSError:
            group.rmdir()
    return None


def remove_pids_group(group: Path) -> None:
    """Kill whatever still runs in ``group`` (a fork bomb's leftovers), then remove it."""
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except OSError:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        try:
            group.rmdir()  # refused while a killed task is not reaped yet
            return
        except OSError:
            time.sleep(0.05)


def _sandboxed_manager_class():
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum, List, Unicode, default

    class SandboxedKernelManager(AsyncKernelManager):
        """An AsyncKernelManager whose kernels start inside the sandbox (see the module).

        Kernels talk over Unix sockets, not TCP ports: graders running side by side cannot race
        for a port, and nothing listens on the network.
        """

        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)
        preload = List(
            Unicode(),
            config=True,
            help="Modules a warm template imports once; each kernel is forked from it "
            "(mlcicd.course.warm). Empty: every kernel starts a new interpreter.",
        )

        @default("ip")
        def _ip_unique(self) -> str:
            return str(Path(tempfile.gettempdir()) / f"mlcicd-grade-{uuid.uuid4().hex[:16]}")

        _sandbox_dir: Path | None = None
        _cgroup: Path | None = None

        async def _async_pre_start_kernel(self, **kw):
            kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
            self._sandbox_dir = Path(tempfile.mkdtemp(prefix="mlcicd-sandbox-"))
            # as deep as nbgrader's autograded/<student>/<assignment>/, so a relative path aimed
            # at the course (../../../gradebook.db) lands inside the sandbox
            work = self._sandbox_dir / "autograded" / "student" / "assignment"
            work.mkdir(parents=True)
            cwd = kw.get("cwd")
            if cwd:
                _copy_assignment_files(Path(cwd), work)
            kw["cwd"] = str(work)
            kw["env"] = scrubbed_env(dict(kw.get("env") or os.environ), self._sandbox_dir)
            self._cgroup = make_pids_group(
                self._sandbox_dir.name, limits(kw["env"])["MLCICD_SANDBOX_PROCESSES"]
            )
            if self._cgroup is not None:
                kw["env"]["MLCICD_SANDBOX_CGROUP"] = str(self._cgroup)
            launcher = [sys.executable, "-m", "mlcicd.course.sandbox"]
            socket = self._template(kw["env"])
            if socket:
                launcher += ["--template", socket]
            return [*launcher, "--", *kernel_cmd], kw

        def _template(self, env: dict[str, str]) -> str | None:
            if not self.preload:
                return None
            from mlcicd.course import warm

            try:
                return warm.template_socket(list(self.preload), env)
            except Exception as exc:  # grading goes on with plain kernels
                self.log.warning("warm kernel template not started: %s", exc)
                return None

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart=restart)
            if self._cgroup is not None:
                remove_pids_group(self._cgroup)
                self._cgroup = None
            if not restart and self._sandbox_dir is not None:
                shutil.rmtree(self._sandbox_dir, ignore_errors=True)
                self._sandbox_dir = None

    return SandboxedKernelManager


def __getattr__(name: str):
    # jupyter_client is imported only when a grader asks for the class (the launcher below
    # runs in every kernel's start and should stay light)
    if name == "SandboxedKernelManager":
        cls = _sandboxed_manager_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


# --- the launcher: runs in the kernel's process, then becomes the kernel -----------------------


def _set_limits(values: dict[str, int], *, processes: bool = True) -> None:
    mb = 2**20
    memory = values["MLCICD_SANDBOX_MEMORY_MB"] * mb
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = values["MLCICD_SANDBOX_CPU_SECONDS"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    size = values["MLCICD_SANDBOX_FILE_MB"] * mb
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    if processes:
        procs = values["MLCICD_SANDBOX_PROCESSES"]
        resource.setrlimit(resource.RLIMIT_NPROC, (procs, procs))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # writing past the file limit raises OSError in the cell instead of killing the kernel
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def enter_sandbox(values: dict[str, int], group: str) -> None:
    """Put this process in the kernel's pids group (if any) and set its limits."""
    if group:  # the grader made a pids group for this kernel: join it
        (Path(group) / "cgroup.procs").write_text(str(os.getpid()))
    elif os.geteuid() != 0:
        # the process limit counts every process of this user: leave room for those running
        values["MLCICD_SANDBOX_PROCESSES"] += _tasks_of_this_user()
    _set_limits(values, processes=not group)


def launch(argv: list[str]) -> None:
    """``python -m mlcicd.course.sandbox [--template SOCKET] -- KERNEL ARGV...``: start the kernel.

    With a template (see :mod:`mlcicd.course.warm`) the kernel is forked from it and this process
    waits for it, passing on signals; otherwise, or when the template cannot fork, this process
    limits itself and becomes the kernel.
    """
    template = ""
    if argv[:1] == ["--template"] and len(argv) > 1:
        template, argv = argv[1], argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("mlcicd.course.sandbox: no kernel command after --", file=sys.stderr)
        sys.exit(2)
    values = limits()
    group = os.environ.pop("MLCICD_SANDBOX_CGROUP", "")
    if template:
        from mlcicd.course import warm

        code = warm.run_forked(template, argv, dict(os.environ), os.getcwd(), values, group)
        if code is not None:
            if code < 0:  # killed by a signal: end the same way, as the kernel itself would
                signal.signal(-code, signal.SIG_DFL)
                os.kill(os.getpid(), -code)
            sys.exit(code if code >= 0 else 1)
    enter_sandbox(values, group)
    os.execvpe(argv[0], argv, os.environ)


def _tasks_of_this_user() -> int:
    """Processes and threads this user runs now (what RLIMIT_NPROC counts)."""
    count = 0
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and proc.stat().st_uid == os.getuid():
                count += len(os.listdir(proc / "task"))
        except OSError:
            continue
    return count


if __name__ == "__main__":
    launch(sys.argv[1:])
